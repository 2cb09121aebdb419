"""Training checkpoints: one file per pipeline stage, committed by a pointer file.

Layout under the checkpoint directory (an ``hdfs://`` URL, or a local path: ``hadoop.fs.paths``)::

    step-000200/stage-0-of-2.pt     model + optimizer + scheduler state of stage 0
    step-000200/stage-1-of-2.pt
    step-000200/metrics.csv         the training log up to that step
    latest.json                     the commit: step, epoch, model config, the run's resolved
                                    training configuration, stage files
    best.json                       the best evaluated checkpoint so far and its scores
                                    (``training.train --eval-every``); pruning keeps its step

Each file is written atomically (``FileSystem.write_file``); ``latest.json`` is replaced only after
every stage has written its file, so a run killed mid-save resumes from the previous
checkpoint. Parameter names are the full model's, so the stage files of one step merge into an
unsplit model for evaluation, or re-split for a run resumed on another number of stages.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass, replace
from typing import Any

import torch

from hadoop.fs import describe, resolve
from training.errors import TrainingError
from training.model import ModelConfig, VideoReIDNet
from training.pipeline import PipelineError, merge_stage_states

LATEST = "latest.json"
BEST = "best.json"


class CheckpointError(TrainingError):
    """A checkpoint is missing, incomplete, or does not fit the model being trained."""


@dataclass(frozen=True)
class CheckpointInfo:
    step: int
    epoch: int
    stages: int
    boundaries: list[int]  # the pipeline split, in unit indices
    model_config: dict[str, Any]
    files: list[str]  # relative to the checkpoint directory, one per stage
    metrics: str | None
    # the run's resolved training configuration (``training.train.TrainConfig`` as JSON values),
    # which ``--resume`` continues with; None in checkpoints written before it was recorded
    training: dict[str, Any] | None = None
    replicas: int | None = None  # data-parallel replicas when saved (None: not recorded)

    def config(self) -> ModelConfig:
        """The trained model's config; its ``pretrained`` file (recorded for provenance) is not
        needed to rebuild it, since the checkpoint holds every weight."""
        values = dict(self.model_config)
        values["frame_size"] = tuple(values["frame_size"])
        values["pretrained"] = None
        return ModelConfig(**values)


@dataclass(frozen=True)
class BestCheckpoint:
    """The pointer ``best.json``: a committed checkpoint and the scores that made it the best."""

    info: CheckpointInfo
    scores: dict[str, dict[str, float]]  # protocol -> {"R1": ..., "mAP": ...}
    chosen_by: str  # which score ranks checkpoints, e.g. "standard mAP"


class CheckpointStore:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.fs, self.root = resolve(self.url)
        self.where = describe(self.url)  # says which filesystem: HDFS or local

    @staticmethod
    def stage_file(step: int, stage: int, stages: int) -> str:
        return f"step-{step:06d}/stage-{stage}-of-{stages}.pt"

    def save_stage(self, step: int, stage: int, stages: int, state: dict[str, Any]) -> None:
        buffer = io.BytesIO()
        torch.save(state, buffer)
        self.fs.write_file(f"{self.root}/{self.stage_file(step, stage, stages)}",
                           buffer.getvalue(), overwrite=True)

    def commit(self, step: int, epoch: int, stages: int, config: ModelConfig, *,
               boundaries: list[int], metrics_csv: bytes | None = None,
               training: dict[str, Any] | None = None, replicas: int | None = None
               ) -> CheckpointInfo:
        """Make step ``step`` the one to resume from (call once every stage file is written)."""
        files = [self.stage_file(step, s, stages) for s in range(stages)]
        missing = [f for f in files if not self.fs.exists(f"{self.root}/{f}")]
        if missing:
            raise CheckpointError(f"{self.url}: cannot commit step {step}, missing {missing}")
        metrics = None
        if metrics_csv is not None:
            metrics = f"step-{step:06d}/metrics.csv"
            self.fs.write_file(f"{self.root}/{metrics}", metrics_csv, overwrite=True)
        model_config = asdict(config)
        model_config["pretrained"] = None if config.pretrained is None else str(config.pretrained)
        info = CheckpointInfo(step=step, epoch=epoch, stages=stages, boundaries=boundaries,
                              model_config=model_config, files=files, metrics=metrics,
                              training=training, replicas=replicas)
        self.fs.write_file(f"{self.root}/{LATEST}", json.dumps(asdict(info), indent=2).encode(),
                           overwrite=True)
        return info

    def latest(self) -> CheckpointInfo | None:
        path = f"{self.root}/{LATEST}"
        if not self.fs.exists(path):
            return None
        try:
            return CheckpointInfo(**json.loads(self.fs.read_file(path)))
        except (ValueError, TypeError) as exc:
            raise CheckpointError(f"{self.url}/{LATEST} is not a checkpoint pointer: {exc}"
                                  ) from exc

    def require_latest(self) -> CheckpointInfo:
        info = self.latest()
        if info is None:
            raise CheckpointError(f"no checkpoint at {self.url} ({LATEST} does not exist)")
        return info

    def at_step(self, step: int) -> CheckpointInfo:
        """The checkpoint of ``step``: the committed one, or an older one still kept beside it
        (same split and model; its ``epoch`` is the committed one's, older ones record none)."""
        info = self.require_latest()
        if step == info.step:
            return info
        files = [self.stage_file(step, s, info.stages) for s in range(info.stages)]
        missing = [f for f in files if not self.fs.exists(f"{self.root}/{f}")]
        if missing:
            raise CheckpointError(f"{self.url} keeps no complete step {step} (missing "
                                  f"{missing[0]}); the committed step is {info.step}")
        return replace(info, step=step, files=files, metrics=None)

    def mark_best(self, best: BestCheckpoint) -> None:
        """Point ``best.json`` at ``best.info`` (a committed step), replacing it atomically."""
        document = {"checkpoint": asdict(best.info), "scores": best.scores,
                    "chosen_by": best.chosen_by}
        self.fs.write_file(f"{self.root}/{BEST}", json.dumps(document, indent=2).encode(),
                           overwrite=True)

    def best(self) -> BestCheckpoint | None:
        path = f"{self.root}/{BEST}"
        if not self.fs.exists(path):
            return None
        try:
            document = json.loads(self.fs.read_file(path))
            return BestCheckpoint(info=CheckpointInfo(**document["checkpoint"]),
                                  scores=document["scores"], chosen_by=document["chosen_by"])
        except (ValueError, TypeError, KeyError) as exc:
            raise CheckpointError(f"{self.url}/{BEST} is not a best-checkpoint pointer: {exc}"
                                  ) from exc

    def require_best(self) -> BestCheckpoint:
        best = self.best()
        if best is None:
            raise CheckpointError(f"no best checkpoint at {self.url} ({BEST} does not exist: "
                                  "train with --eval-every)")
        return best

    def load_stage(self, info: CheckpointInfo, stage: int) -> dict[str, Any]:
        data = self.fs.read_file(f"{self.root}/{info.files[stage]}")
        return dict(torch.load(io.BytesIO(data), map_location="cpu", weights_only=True))

    def metrics_csv(self, info: CheckpointInfo) -> bytes | None:
        return None if info.metrics is None else self.fs.read_file(f"{self.root}/{info.metrics}")

    def load_merged(self, info: CheckpointInfo) -> dict[str, Any]:
        """Every stage file of ``info`` merged by the pipeline's ``merge_stage_states`` (which
        refuses files of different splits or a stage missing or repeated): model, optimiser and
        schedule state under full-model names, which an engine of any split can load."""
        try:  # the engine's own merge: one split, every stage once
            return merge_stage_states([self.load_stage(info, s) for s in range(info.stages)])
        except (PipelineError, KeyError) as exc:
            raise CheckpointError(f"{self.url} step {info.step} does not merge into one model: "
                                  f"{exc}") from exc

    def load_model(self, info: CheckpointInfo | None = None) -> VideoReIDNet:
        """The unsplit model of a checkpoint (``load_merged``), eval mode."""
        info = info or self.require_latest()
        merged = self.load_merged(info)
        model = VideoReIDNet(info.config())
        missing, unexpected = model.load_state_dict(merged["model"], strict=False)
        if missing or unexpected:
            raise CheckpointError(f"{self.url} step {info.step} does not fit the model: missing "
                                  f"{missing[:3]}, unexpected {unexpected[:3]}")
        return model.eval()

    def prune(self, keep: int) -> None:
        """Delete all but the newest ``keep`` step directories (never the committed one, nor the
        best one)."""
        info, best = self.latest(), self.best()
        steps = sorted(s.path.rsplit("/", 1)[-1] for s in self.fs.list(self.root)
                       if s.isdir and s.path.rsplit("/", 1)[-1].startswith("step-"))
        kept = {f"step-{i.step:06d}" for i in (info, best.info if best else None) if i}
        for name in steps[:-keep] if keep else steps:
            if name not in kept:
                self.fs.delete(f"{self.root}/{name}", recursive=True)
