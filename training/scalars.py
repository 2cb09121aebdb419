"""TensorBoard scalars of a training run, written by rank 0 beside its metrics CSV.

The CSV is the run's record (restored from the checkpoint on resume); the event files are for
watching it live: ``tensorboard --logdir runs`` shows the loss parts, the learning rate, the
throughput and, with ``--eval-every``, R1 and mAP under both MARS protocols as they come in.
Written with PyTorch's own ``SummaryWriter`` (which needs the ``tensorboard`` package).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from training.metrics import ProtocolResult
from training.pipeline import StepStats

FLUSH_S = 20  # seconds an event may wait in memory before TensorBoard can see it


def step_scalars(stats: StepStats, clips_per_s: float) -> dict[str, float]:
    return {"loss/total": stats.loss, "loss/triplet": stats.triplet,
            "loss/cross_entropy": stats.cross_entropy, "train/lr": stats.lr,
            "train/clips_per_s": clips_per_s}


def eval_scalars(results: Sequence[ProtocolResult]) -> dict[str, float]:
    """``eval/<protocol>_R1`` and ``eval/<protocol>_mAP`` for each protocol scored."""
    scalars = {}
    for result in results:
        scalars[f"eval/{result.protocol}_R1"] = result.rank(1)
        scalars[f"eval/{result.protocol}_mAP"] = result.mAP
    return scalars


class Scalars:
    """Event files in ``out`` (rank 0; a no-op elsewhere). On resume from step S, events of
    steps >= S left by the interrupted run are purged from TensorBoard's view, so each step is
    shown once, as the CSV does."""

    def __init__(self, out: Path, *, enabled: bool, resumed_at: int | None = None) -> None:
        self.writer: Any = None
        if not enabled:
            return
        from torch.utils.tensorboard import SummaryWriter  # needs tensorboard; rank 0 only

        out.mkdir(parents=True, exist_ok=True)
        self.writer = SummaryWriter(log_dir=str(out), purge_step=resumed_at,
                                    flush_secs=FLUSH_S)

    def add(self, step: int, scalars: dict[str, float]) -> None:
        if self.writer is None:
            return
        for tag, value in scalars.items():
            self.writer.add_scalar(tag, value, global_step=step)

    def flush(self) -> None:
        if self.writer is not None:
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
