#!/usr/bin/env bash
# `make demo`: the whole system end to end on the embedded default.
#   HDFS cluster -> MARS-format data (generated, or MARS=/path/to/MARS) -> spark-submit ingest
#   -> torchrun 2-stage pipeline training -> evaluation under both MARS protocols -> report
#   -> export the model -> embed the test gallery into HDFS -> search from a folder of crops.
# Re-runnable: the cluster and data are reused, the ingest is a no-op when up to date, training
# resumes from its newest HDFS checkpoint (and stops at once if it had finished).
# SEED=N (make demo SEED=N) trains with another seed, in its own run directory, report and model.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export SPARK_LOCAL_IP=127.0.0.1 OMP_NUM_THREADS=1
NAMENODE="hdfs://${REID_NAMENODE_HOST:-127.0.0.10}:8020"
SEED="${SEED:-0}"
began=$(date +%s)
stage() { printf '\n==> [%s/6] %s\n' "$1" "$2"; }

stage 1 "HDFS cluster"
if [ "${REID_CLUSTER:-local}" = external ]; then
  echo "    using the running cluster at $NAMENODE"
else
  $PY -m hadoop.cluster up
fi

stage 2 "MARS-format dataset"
if [ -n "${MARS:-}" ]; then
  SOURCE="$MARS"; NAME=mars
  echo "    real MARS at $SOURCE; checking it (strict)"
  $PY -m ingest.mars validate --strict "$SOURCE"
  TRAIN=(--preset resnet50 --seq-len 8 --height 256 --width 128 --ids-per-batch 8
         --tracklets-per-id 4 --microbatches 4 --epochs 200 --warmup-epochs 10
         --decay-epochs 50)
else
  SOURCE=data/mars-demo; NAME=demo
  if [ -f "$SOURCE/info/query_IDX.mat" ]; then
    echo "    reusing the generated dataset in $SOURCE"
  else
    $PY -m ingest.synthetic --out "$SOURCE" --ids 80 --seed 0 --force
  fi
  # a small NVAN (same units, narrower) that learns the generated identities in minutes; light
  # jitter, not erasing, is the augmentation that carries it to unseen identities (README)
  TRAIN=(--preset small --seq-len 4 --height 128 --width 64 --ids-per-batch 8
         --tracklets-per-id 4 --microbatches 2 --epochs 140 --lr 1e-3 --weight-decay 5e-4
         --warmup-epochs 2 --decay-epochs 110 --erase-p 0 --light-jitter 0.2)
fi
DATA="$NAMENODE/reid/$NAME"
RUN="$NAME"; [ "$SEED" = 0 ] || RUN="$NAME-seed$SEED"
CHECKPOINTS="$NAMENODE/reid/runs/$RUN/checkpoints"

stage 3 "spark-submit ingest into $DATA"
spark_jobs/submit spark_jobs/ingest.py --source "$SOURCE" --dest "$DATA"

stage 4 "torchrun: 2 pipeline stages on the CPU, streaming clips from HDFS"
$PY -m training.launch --standalone --nproc-per-node 2 -m training.train --data "$DATA" \
  --checkpoint "$CHECKPOINTS" --out "runs/$RUN" --stages 2 --resume --checkpoint-every 100 \
  --seed "$SEED" "${TRAIN[@]}"

stage 5 "evaluation (standard and official MARS protocols) and report"
$PY -m training.evaluate --data "$DATA" --checkpoint "$CHECKPOINTS" --report "reports/$RUN"

stage 6 "use the model: export, embed the gallery into HDFS, search from a folder of crops"
$PY -m training.export --checkpoint "$CHECKPOINTS" --out "models/$RUN.pt"
EMBEDDED=$($PY -m training.embed --data "$DATA" --model "models/$RUN.pt")
echo "$EMBEDDED"
FEATURES=$(sed -n 's/^features: //p' <<< "$EMBEDDED")
# the crops of one query tracklet of the source tree stand in for footage from a camera
CROPS="data/$NAME-crops"
if [ ! -d "$CROPS" ]; then
  TRACKLET=$($PY -c "import sys; from ingest.dataset import open_dataset; \
print(open_dataset(sys.argv[1]).select(split='test', roles=['query'])[0].tracklet_id)" "$DATA")
  mkdir -p "$CROPS.new"
  cp "$SOURCE"/bbox_test/*/"${TRACKLET#*/}"F*.jpg "$CROPS.new/"
  mv "$CROPS.new" "$CROPS"
fi
CAMERA=$(ls "$CROPS" | head -1 | sed -E 's/^[0-9-]+C([0-9]+)T.*/\1/')
$PY -m training.search --features "$FEATURES" --model "models/$RUN.pt" --query-dir "$CROPS" \
  --query-camera "$CAMERA" --exclude-same-camera --top-k 10 --out "reports/$RUN/search"
echo
echo "==> demo finished in $(( $(date +%s) - began )) s; open reports/$RUN/index.html and"
echo "    reports/$RUN/search/index.html"
