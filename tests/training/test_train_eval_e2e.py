"""``--eval-every`` on a real 2-stage torchrun run from HDFS: every rank takes part in the
evaluation, R1/mAP reach the log and TensorBoard, a ``best`` pointer is left beside ``latest``
(its step kept by pruning) and ``training.evaluate --best`` scores that checkpoint to the same
figures; without a terminal, progress comes as lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from hadoop.cluster import LocalCluster
from training import evaluate
from training.checkpoint import CheckpointStore

pytestmark = [pytest.mark.cluster, pytest.mark.slow]
SMALL = ["--preset", "small", "--seq-len", "4", "--height", "64", "--width", "32",
         "--ids-per-batch", "4", "--tracklets-per-id", "2", "--warmup-epochs", "1",
         "--lr", "1e-3", "--erase-p", "0", "--workers", "1"]


def test_eval_every_leaves_a_best_checkpoint_that_evaluate_reads(
        cluster: LocalCluster, small_dataset: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    ckpt = f"{small_dataset}-runs/eval-every"
    out = tmp_path / "run"
    command = [sys.executable, "-m", "training.launch", "--standalone", "--nproc-per-node", "2",
               "-m", "training.train", "--data", small_dataset, "--stages", "2",
               "--microbatches", "2", "--max-steps", "12", "--eval-every", "6",
               "--checkpoint-every", "100", "--keep-checkpoints", "1", "--checkpoint", ckpt,
               "--out", str(out), "--progress-every", "0.01", *SMALL]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-3000:]
    assert "step 6 evaluation" in log
    assert "step 12 evaluation" in log
    assert "over 2 ranks" in log  # data parallel: both ranks extracted features
    assert "12/12 steps (100%)" in log  # progress lines, not a redrawn bar
    assert "\r" not in log

    store = CheckpointStore(ckpt)
    best = store.require_best()
    assert best.info.step in (6, 12)
    assert best.chosen_by == "standard mAP"
    kept = sorted(s.path.rsplit("/", 1)[-1] for s in store.fs.list(store.root) if s.isdir)
    assert kept == sorted({f"step-{best.info.step:06d}", "step-000012"})  # best survives pruning

    events = EventAccumulator(str(out))
    events.Reload()
    by_step = {e.step: e.value for e in events.Scalars("eval/standard_mAP")}
    assert sorted(by_step) == [6, 12]
    assert by_step[best.info.step] == pytest.approx(best.scores["standard"]["mAP"])
    assert max(by_step.values()) == pytest.approx(best.scores["standard"]["mAP"])
    assert [e.step for e in events.Scalars("loss/total")] == list(range(1, 13))
    assert (out / "loss.png").stat().st_size > 0

    capsys.readouterr()
    assert evaluate.main(["--data", small_dataset, "--checkpoint", ckpt, "--best",
                          "--report", str(tmp_path / "report"), "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    report = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert report["info"]["checkpoint step"] == best.info.step, printed
    for protocol, scores in best.scores.items():  # the same figures as during training
        assert report["protocols"][protocol]["mAP"] == pytest.approx(scores["mAP"], abs=1e-4)
        assert report["protocols"][protocol]["rank1"] == pytest.approx(scores["R1"], abs=1e-4)
