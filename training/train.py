"""Pipeline-parallel training from HDFS, launched by torchrun (through training.launch).

    python -m training.launch --standalone --nproc-per-node 2 -m training.train \\
        --data hdfs://127.0.0.10:8020/reid/mars \\
        --stages 2 --microbatches 4 --checkpoint hdfs://127.0.0.10:8020/reid/runs/mars/ckpt

World size = stages x replicas (PP x DP). Every rank opens the dataset's index; the first stage
of each replica streams its P x K clips from HDFS (one range read per clip at most), the last stage
takes the labels of the same batches from the same deterministic sampler, so nothing but
activations crosses stage boundaries. Checkpoints go to HDFS every ``--checkpoint-every`` steps
(each stage writes its own file, rank 0 commits); ``--resume`` continues from the newest one,
also after torchrun restarts killed workers (``--max-restarts``). Rank 0 writes the metrics CSV,
TensorBoard scalars and the loss plot (redrawn at each checkpoint) into ``--out``, and shows a
progress bar on a terminal or a progress line every ``--progress-every`` seconds in a log.
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import os
import socket
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader

from hadoop.cli import (
    ArgumentParser,
    entry_point,
    fraction,
    fraction_below_one,
    int_at_least,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
)
from hadoop.fs import atomic_write, describe
from hadoop.siteconf import host_port
from hadoop.topology import load_rack_table
from ingest.dataset import ShardedDataset, TrackletRecord, open_dataset
from training.checkpoint import BestCheckpoint, CheckpointInfo, CheckpointStore
from training.cpu import flush_denormals, share_cores
from training.data.clips import ClipBatch, TrainClips, collate_clips
from training.data.locality import identity_racks
from training.data.sampler import PKSampler
from training.data.transforms import AugmentConfig
from training.errors import TrainingError
from training.model import NVAN, ModelConfig
from training.model.backbone import PRESETS
from training.pipeline import (
    AMP_CHOICES,
    SCHEDULES,
    AmpName,
    OptimConfig,
    PipelineConfig,
    PipelineEngine,
    StepStats,
    precision_problem,
)
from training.progress import EVERY_S, Progress
from training.report import plot_training_loss
from training.resume import given_flags, resumed_args, stored_settings
from training.scalars import Scalars, eval_scalars, step_scalars
from training.train_eval import BEST_BY, TrainEvaluator

LOG_COLUMNS = ("step", "epoch", "loss", "triplet", "cross_entropy", "lr", "clips_per_s",
               "seconds", "elapsed")
logger = logging.getLogger("training.train")
FRAME_SIDE = int_at_least(32)  # pixels: ResNet-50 downsamples by 32
PK = int_at_least(2)  # batch-hard triplets need two identities and two tracklets of each


@dataclass(frozen=True)
class TrainConfig:
    data: str
    checkpoint: str
    out: Path
    stages: int = 1
    microbatches: int = 1
    schedule: str = "gpipe"
    preset: str = "resnet50"
    pretrained: Path | None = None
    seq_len: int = NVAN.seq_len
    height: int = 256
    width: int = 128
    ids_per_batch: int = NVAN.ids_per_batch
    tracklets_per_id: int = NVAN.tracklets_per_id
    epochs: int = NVAN.epochs
    max_steps: int = 0  # 0: run every epoch
    lr: float = NVAN.lr
    weight_decay: float = NVAN.weight_decay
    warmup_epochs: float = NVAN.warmup_epochs
    decay_epochs: int = NVAN.lr_step_epochs
    checkpoint_every: int = 200
    eval_every: int = 0  # steps; 0: no evaluation during training
    keep_checkpoints: int = 2
    resume: bool = False
    workers: int = 2
    seed: int = 0
    device: str = "cpu"
    rack_aware: bool = False
    erase_p: float = 0.5
    light_jitter: float = 0.0
    label_smoothing: float = NVAN.label_smoothing
    progress: bool = True
    progress_every: float = EVERY_S  # seconds between progress lines without a terminal
    amp: AmpName | None = None  # autocast dtype ("bf16")
    channels_last: bool = False
    compile: bool = False

    @property
    def batch_size(self) -> int:
        return self.ids_per_batch * self.tracklets_per_id


# What a checkpoint does not store: where this invocation reads and writes, and this process's
# own settings. What a resumed run may change: how and how long it is executed, not what it
# computes (every other stored field must agree with a flag given again: training.resume).
NOT_STORED = frozenset({"data", "checkpoint", "resume", "device", "progress", "progress_every"})
CHANGEABLE_ON_RESUME = frozenset({"stages", "schedule", "workers", "checkpoint_every",
                                  "eval_every", "keep_checkpoints", "out", "epochs", "max_steps",
                                  "channels_last", "compile"})


@dataclass(frozen=True)
class TrainingResult:
    steps: int
    epochs: float  # steps / steps per epoch: a run stopped by --max-steps ends mid-epoch
    seconds: float
    last: StepStats | None
    checkpoint: CheckpointInfo | None
    bad_frames: int = 0  # frames the loader replaced in this run, all replicas (each is logged)
    best: BestCheckpoint | None = None  # with --eval-every, on rank 0


def train(config: TrainConfig) -> TrainingResult:
    """Run (or resume) a training job on this rank; a collective over torchrun's ranks."""
    began = time.monotonic()
    device = torch.device(config.device)
    flush_denormals()
    if device.type == "cpu":
        share_cores(int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    data = open_dataset(config.data)
    records = data.select(split="train")
    if not records:
        raise TrainingError(f"{config.data} has no training tracklets")
    clips = TrainClips(data, records, config.seq_len,
                       AugmentConfig(height=config.height, width=config.width,
                                     erase_p=config.erase_p, light=config.light_jitter),
                       seed=config.seed)
    model_config = ModelConfig(num_classes=clips.num_classes, seq_len=config.seq_len,
                               preset=config.preset, pretrained=config.pretrained,  # type: ignore[arg-type]
                               frame_size=(config.height, config.width))
    store = CheckpointStore(config.checkpoint)
    logger.info("data: %s; checkpoints: %s", describe(config.data), store.where)
    resume = store.latest() if config.resume else None
    resplit = resume is not None and resume.stages != config.stages
    steps_per_epoch = _steps_per_epoch(records, config)
    pipeline = PipelineConfig(
        stages=config.stages, microbatches=config.microbatches,
        schedule=config.schedule,  # type: ignore[arg-type]
        label_smoothing=config.label_smoothing,
        amp=config.amp, channels_last=config.channels_last, compile=config.compile,
        # the saved split, or (another number of stages) a new one balanced by the profiler
        boundaries=tuple(resume.boundaries) if resume is not None and not resplit else None,
        optim=OptimConfig(lr=config.lr, weight_decay=config.weight_decay,
                          warmup_epochs=config.warmup_epochs, decay_epochs=config.decay_epochs,
                          steps_per_epoch=steps_per_epoch))
    engine = PipelineEngine.create(model_config, pipeline, config.batch_size, device,
                                   seed=config.seed)
    layout = engine.layout
    step = 0
    if resume is not None:
        if resume.replicas not in (None, layout.dp_size):
            raise TrainingError(
                f"{config.checkpoint} step {resume.step} was saved by {resume.replicas} "
                f"data-parallel replica(s), this run has {layout.dp_size}: an epoch has another "
                f"number of steps then; launch {config.stages * resume.replicas} processes")
        if resplit:  # every stage file, merged, and this stage's share of it taken
            engine.load_state_dict(store.load_merged(resume))
            if layout.rank == 0:
                logger.info("re-split %d stages %s into %d stages %s", resume.stages,
                            resume.boundaries, config.stages, list(engine.plan.boundaries))
        else:
            engine.load_state_dict(store.load_stage(resume, engine.stage_index))
        step = resume.step
    log = _TrainLog(config.out, enabled=layout.rank == 0, restored=store.metrics_csv(resume)
                    if resume is not None else None)
    if layout.rank == 0:  # the engine has logged its split
        logger.info("%d steps per epoch of %d clips x %d replicas; %s", steps_per_epoch,
                    config.batch_size, layout.dp_size,
                    f"resuming at step {step}" if resume else "starting fresh")
    evaluator = TrainEvaluator(data, config.data, store, layout, device, config.workers,
                               config.keep_checkpoints) if config.eval_every else None
    identity_racks_, rank_racks = _locality(config, data, records, layout.dp_size, engine)
    sampler = PKSampler(records, config.ids_per_batch, config.tracklets_per_id, seed=config.seed,
                        rank=layout.dp_rank, world=layout.dp_size,
                        identity_racks=identity_racks_, rank_racks=rank_racks)
    total = config.epochs * steps_per_epoch
    if config.max_steps:
        total = min(total, config.max_steps)
    progress = Progress(total, initial=step, enabled=config.progress and layout.rank == 0,
                        every_s=config.progress_every)
    scalars = Scalars(config.out, enabled=layout.rank == 0,
                      resumed_at=step if resume is not None else None)
    last: StepStats | None = None
    committed = resume
    run = list(sampler.run(step, total))  # every remaining batch's (epoch, tracklet) keys
    bad_frames = 0
    for keys, clip_batch in zip(run, _clip_stream(clips, run, engine, config), strict=True):
        epoch = keys[0][0]
        labels = torch.tensor([clips.class_of_pid[records[i].pid] for _, i in keys])
        for bad in clip_batch.bad_frames if clip_batch is not None else ():
            logger.warning("step %d: bad frame skipped: %s", step + 1, bad)
            bad_frames += 1
        tick = time.monotonic()
        last = engine.step(clip_batch.clips if clip_batch is not None else None,
                           labels if engine.is_last else None)
        step += 1
        seconds = time.monotonic() - tick
        rate = config.batch_size * layout.dp_size / seconds
        log.write(step, epoch, last, rate, seconds, time.monotonic() - began)
        scalars.add(step, step_scalars(last, rate))
        progress.update(epoch=epoch, loss=f"{last.loss:.3f}", lr=f"{last.lr:.1e}",
                        clips_s=f"{rate:.1f}")
        evaluate = evaluator is not None and (step % config.eval_every == 0 or step == total)
        if step % config.checkpoint_every == 0 or step == total or evaluate:
            committed = _save(store, engine, step, epoch + 1, model_config, log, config)
            evaluation = evaluator(committed) if evaluate and evaluator is not None else None
            if evaluation is not None:
                scalars.add(step, eval_scalars(evaluation.results))
            if layout.rank == 0:  # what a person watching the run looks at, up to this step
                plot_training_loss(log.path, config.out / "loss.png")
                scalars.flush()
    progress.close()
    scalars.close()
    bad_frames = _total(bad_frames, engine)
    return TrainingResult(steps=step, epochs=step / steps_per_epoch,
                          seconds=time.monotonic() - began, last=last, checkpoint=committed,
                          bad_frames=bad_frames,
                          best=evaluator.best if evaluator is not None else None)


def _total(count: int, engine: PipelineEngine) -> int:
    """``count`` summed over every rank (only first stages load clips); a collective."""
    if not dist.is_initialized():
        return count
    total = torch.tensor([count], dtype=torch.int64, device=engine.device)
    dist.all_reduce(total)
    return int(total.item())


def _steps_per_epoch(records: list[TrackletRecord], config: TrainConfig) -> int:
    """The same for every rank: PKSampler deals identities evenly across replicas."""
    world = int(os.environ.get("WORLD_SIZE", "1"))  # a multiple of stages: check_flags
    return len(PKSampler(records, config.ids_per_batch, config.tracklets_per_id,
                         world=world // config.stages))


def _clip_stream(clips: TrainClips, run: list[list[tuple[int, int]]], engine: PipelineEngine,
                 config: TrainConfig) -> Iterable[ClipBatch | None]:
    """The first stage's clips, streamed from HDFS by one DataLoader for the whole run (its
    workers are forkserver children, which open their own HDFS clients); None elsewhere."""
    if not engine.is_first:
        return repeat(None, len(run))
    loader = DataLoader(clips, batch_sampler=run, num_workers=config.workers,
                        collate_fn=collate_clips, pin_memory=engine.device.type == "cuda",
                        multiprocessing_context="forkserver" if config.workers else None,
                        prefetch_factor=4 if config.workers else None)
    return iter(loader)


def _locality(config: TrainConfig, data: ShardedDataset, records: list[TrackletRecord],
              replicas: int, engine: PipelineEngine,
              ) -> tuple[dict[int, frozenset[str]] | None, list[str] | None]:
    """Rack-aware dealing: each replica reads identities whose data its rack holds."""
    if not config.rack_aware:
        return None, None
    racks: list[str | None] = [None] * replicas
    mine = client_rack()
    if dist.is_initialized() and engine.layout.dp_group is not None:
        dist.all_gather_object(racks, mine, group=engine.layout.dp_group)
    else:
        racks = [mine]
    if any(rack is None for rack in racks):
        raise TrainingError("--rack-aware: this host's rack is unknown (its address is not in "
                            "racks.csv; see `python -m hadoop.cluster client-rack`)")
    return identity_racks(data, records), [str(rack) for rack in racks]


def client_rack() -> str | None:
    """The rack the NameNode sees this process on: the rack table's rack of the source address
    this host uses to reach the NameNode (None if the address is not in the table)."""
    from hadoop.siteconf import namenode_url  # the cluster address, from the environment
    host, port = host_port(namenode_url())
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect((host, port))
        address = probe.getsockname()[0]
    finally:
        probe.close()
    table = load_rack_table(Path(__file__).resolve().parents[1] / "hadoop" / "conf" / "racks.csv")
    rack = table.rack_of(address)
    return None if rack == "/default-rack" else rack


def _save(store: CheckpointStore, engine: PipelineEngine, step: int, epoch: int,
          model_config: ModelConfig, log: _TrainLog, config: TrainConfig
          ) -> CheckpointInfo | None:
    """Each stage (of replica 0) writes its file; rank 0 commits once all are written, with the
    run's configuration (what ``--resume`` continues with)."""
    layout = engine.layout
    if layout.dp_rank == 0:
        store.save_stage(step, engine.stage_index, engine.config.stages, engine.state_dict())
    if dist.is_initialized():
        dist.barrier()
    info = None
    if layout.rank == 0:
        info = store.commit(step, epoch, engine.config.stages, model_config,
                            boundaries=list(engine.plan.boundaries),
                            metrics_csv=log.path.read_bytes() if log.path.exists() else None,
                            training=stored_settings(config, not_stored=NOT_STORED),
                            replicas=layout.dp_size)
        store.prune(keep=config.keep_checkpoints)
    if dist.is_initialized():
        dist.barrier()
    return info


class _TrainLog:
    """The metrics CSV (rank 0 only): one row per step; restored from the checkpoint on resume
    so the log stays continuous."""

    def __init__(self, out: Path, *, enabled: bool, restored: bytes | None) -> None:
        self.path = out / "metrics.csv"
        self.enabled = enabled
        if not enabled:
            return
        out.mkdir(parents=True, exist_ok=True)
        if restored is None:
            header = io.StringIO(newline="")
            csv.writer(header).writerow(LOG_COLUMNS)
            restored = header.getvalue().encode()
        atomic_write(self.path, restored)

    def write(self, step: int, epoch: int, stats: StepStats, clips_per_s: float,
              seconds: float, elapsed: float) -> None:
        """One step: ``seconds`` of optimiser step, ``elapsed`` wall time since this process
        started (data loading and checkpoints included)."""
        if not self.enabled:
            return
        with self.path.open("a", newline="") as handle:
            csv.writer(handle).writerow([step, epoch, f"{stats.loss:.6f}", f"{stats.triplet:.6f}",
                                         f"{stats.cross_entropy:.6f}", f"{stats.lr:.3e}",
                                         f"{clips_per_s:.2f}", f"{seconds:.3f}",
                                         f"{elapsed:.2f}"])


def build_parser() -> argparse.ArgumentParser:
    d = TrainConfig(data="", checkpoint="", out=Path())
    p = ArgumentParser(prog="python -m training.launch --nproc-per-node K -m training.train",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="the ingested dataset: hdfs://host:port/reid/"
                   "<name> (a path without hdfs:// is a local directory)")
    p.add_argument("--checkpoint", help="checkpoint directory: hdfs://... or a local path "
                   "(default: <data's parent>/runs/<name>/checkpoints)")
    p.add_argument("--out", type=Path, help="local metrics CSV and loss plot "
                   "(default: runs/<dataset name>)")
    p.add_argument("--stages", type=positive_int, default=d.stages, help="pipeline stages K")
    p.add_argument("--microbatches", type=positive_int, default=d.microbatches,
                   help="equal micro-batches of >= 2 clips per batch")
    p.add_argument("--schedule", choices=SCHEDULES, default=d.schedule)
    p.add_argument("--preset", choices=sorted(PRESETS), default=d.preset)
    p.add_argument("--pretrained", type=Path, help="torchvision resnet50 state_dict file")
    p.add_argument("--seq-len", type=positive_int, default=d.seq_len, help="frames per clip (T)")
    p.add_argument("--height", type=FRAME_SIDE, default=d.height, help="frame height")
    p.add_argument("--width", type=FRAME_SIDE, default=d.width, help="frame width")
    p.add_argument("--ids-per-batch", type=PK, default=d.ids_per_batch, help="P (>= 2)")
    p.add_argument("--tracklets-per-id", type=PK, default=d.tracklets_per_id,
                   help="K (>= 2)")
    p.add_argument("--epochs", type=positive_int, default=d.epochs)
    p.add_argument("--max-steps", type=non_negative_int, default=d.max_steps,
                   help="stop early (0: no)")
    p.add_argument("--lr", type=positive_float, default=d.lr)
    p.add_argument("--weight-decay", type=non_negative_float, default=d.weight_decay)
    p.add_argument("--warmup-epochs", type=non_negative_float, default=d.warmup_epochs)
    p.add_argument("--decay-epochs", type=positive_int, default=d.decay_epochs,
                   help="x0.1 learning rate every this many epochs")
    p.add_argument("--erase-p", type=fraction, default=d.erase_p, help="random erasing chance")
    p.add_argument("--light-jitter", type=fraction_below_one, default=d.light_jitter,
                   help="each training clip's brightness x U(1 +- this), each colour channel "
                   "also x U(1 +- this / 2): invariance to the cameras' lighting (0: off)")
    p.add_argument("--label-smoothing", type=fraction_below_one, default=d.label_smoothing,
                   help="label smoothing of the identity cross-entropy")
    p.add_argument("--checkpoint-every", type=positive_int, default=d.checkpoint_every,
                   help="steps")
    p.add_argument("--eval-every", type=non_negative_int, default=d.eval_every,
                   help="steps (the unit of --checkpoint-every; the run logs its steps per "
                   "epoch): every this many and at the last step, checkpoint, score the test "
                   f"split under both MARS protocols on every rank, log R1/mAP, and point "
                   f"best.json at the best checkpoint ({BEST_BY}); 0: never")
    p.add_argument("--keep-checkpoints", type=positive_int, default=d.keep_checkpoints,
                   help="checkpoints kept in HDFS (older ones are deleted, except the best)")
    p.add_argument("--resume", action="store_true",
                   help="continue from the newest checkpoint, with the configuration it stored "
                   "(flags given again must agree with it, except the pipeline layout, loader "
                   "workers, checkpoint and evaluation cadence, --out, --epochs and --max-steps); "
                   "starts fresh if there is none")
    p.add_argument("--workers", type=non_negative_int, default=d.workers, help="DataLoader workers")
    p.add_argument("--seed", type=non_negative_int, default=d.seed)
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda if present; "
                   "each rank takes cuda:LOCAL_RANK)")
    p.add_argument("--rack-aware", action="store_true",
                   help="deal identities to replicas whose rack holds their data")
    p.add_argument("--no-progress", action="store_true", help="no progress bar or lines")
    p.add_argument("--progress-every", type=positive_float, default=d.progress_every,
                   help="seconds between progress lines when stderr is not a terminal (a log "
                   "file gets lines instead of a redrawn bar)")
    p.add_argument("--amp", choices=AMP_CHOICES, default=d.amp,
                   help="mixed precision: bf16 autocast of each stage's forward (CUDA or CPU; "
                   "fp16 is refused: it would need loss scaling across stages)")
    p.add_argument("--channels-last", action="store_true",
                   help="NHWC convolution weights (CUDA only)")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile each stage (refused where it cannot run)")
    return p


def microbatch_problem(ids_per_batch: int, tracklets_per_id: int, microbatches: int) -> str | None:
    """Why ``--microbatches`` cannot split a P x K batch (None if it can): pipeline shapes are
    static, so micro-batches are equal, and BatchNorm needs two clips in each."""
    batch = ids_per_batch * tracklets_per_id
    if batch % microbatches == 0 and batch // microbatches >= 2:
        return None
    return (f"--microbatches {microbatches} must split the batch of {batch} clips (--ids-per-batch "
            f"{ids_per_batch} x --tracklets-per-id {tracklets_per_id}) into equal micro-batches "
            "of at least 2 clips")


def check_flags(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Flags that are valid alone but clash, refused before a process group or HDFS is touched."""
    problem = microbatch_problem(args.ids_per_batch, args.tracklets_per_id, args.microbatches)
    if problem:
        parser.error(problem)
    if args.schedule == "1f1b" and args.microbatches < args.stages:
        parser.error(f"--schedule 1f1b needs --microbatches >= --stages, not {args.microbatches} "
                     f"< {args.stages} (use gpipe, or more micro-batches)")
    try:
        device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    except RuntimeError as exc:
        parser.error(f"--device {args.device}: {exc}")
    problem = precision_problem(device, args.amp, args.channels_last, args.compile)
    if problem:
        parser.error(problem)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world % args.stages:
        parser.error(f"--stages {args.stages} needs a multiple of {args.stages} processes, not "
                     f"{world}: launch with `torchrun --nproc-per-node {args.stages} ...`")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    name = args.data.rstrip("/").rsplit("/", 1)[-1]
    parent = args.data.rstrip("/").rsplit("/", 1)[0]
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda":
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    values = {k: v for k, v in vars(args).items()
              if k not in ("checkpoint", "out", "device", "no_progress") and v is not None}
    return TrainConfig(**values, checkpoint=args.checkpoint or f"{parent}/runs/{name}/checkpoints",
                       out=args.out or Path("runs") / name, device=device,
                       progress=not args.no_progress)


def resumed_flags(parser: argparse.ArgumentParser, argv: list[str] | None,
                  args: argparse.Namespace) -> argparse.Namespace:
    """The flags of the run to resume: those its checkpoint stored, where not given again."""
    checkpoint = config_from_args(args).checkpoint
    info = CheckpointStore(checkpoint).latest()
    if info is None:
        return args  # nothing to resume: a fresh run
    if info.training is None:
        logger.warning("%s step %d stores no training configuration (an older checkpoint): "
                       "resuming with the flags given", checkpoint, info.step)
        return args
    given = given_flags(parser, sys.argv[1:] if argv is None else argv, args)
    return resumed_args(args, given, info.training, config_type=TrainConfig,
                        changeable=CHANGEABLE_ON_RESUME, where=f"{checkpoint} (step {info.step})")


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.resume:
        args = resumed_flags(parser, argv, args)
    check_flags(parser, args)
    config = config_from_args(args)
    try:
        result = train(config)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    if int(os.environ.get("RANK", "0")) == 0 and result.last is None:
        print(f"nothing to train: {config.checkpoint} is already at step {result.steps}")
    elif int(os.environ.get("RANK", "0")) == 0 and result.last is not None:
        print(f"trained {result.steps} steps ({result.epochs:.4g} epochs) in "
              f"{result.seconds:.0f} s; last loss {result.last.loss:.4f}; checkpoint "
              f"{config.checkpoint} step {result.checkpoint.step if result.checkpoint else '-'};"
              f" metrics {config.out / 'metrics.csv'}; {result.bad_frames} bad frames "
              "skipped" + (" (each logged above)" if result.bad_frames else ""))
        if result.best is not None:
            scores = "; ".join(f"{protocol} R1 {s['R1']:.3f} mAP {s['mAP']:.3f}"
                               for protocol, s in result.best.scores.items())
            print(f"best checkpoint: step {result.best.info.step} ({scores}); "
                  f"python -m training.evaluate --best --checkpoint {config.checkpoint}")
    return 0


cli = entry_point(main)

if __name__ == "__main__":  # torchrun runs `-m training.train`
    cli()
