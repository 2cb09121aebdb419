"""The per-rank trainer: one stage of the NVAN network, its optimiser, one call per step.

Every rank of a torchrun job builds the same engine; the first stage is fed the clips, the last
the labels of the same batch (from the same deterministic sampler), the others neither. K = 1
is a plain single-process (or data-parallel) training step behind the same API, so a training
script has one path.

BatchNorm across micro-batches: each micro-batch is normalised with its own statistics and
updates the running statistics once, exactly as gradient accumulation over the same
micro-batches does (so a step makes M running-statistic updates). This is what any pipeline
must do, since no stage ever holds the whole batch's activations at once; with M = 1 it is the
plain full-batch step. The extra forward pass of the exact triplet (see ``exact_triplet``)
restores the buffers it touched, so it changes nothing.

Data parallelism (world size > K): DDP over each stage's data-parallel group; each replica
trains on its own P x K batch, mines triplets within it, and gradients are averaged.
"""

import logging
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from typing import Any, cast

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.distributed.checkpoint.state_dict import (
    get_optimizer_state_dict,
    set_optimizer_state_dict,
)
from torch.distributed.pipelining import PipelineStage, Schedule1F1B, ScheduleGPipe
from torch.distributed.pipelining.schedules import PipelineScheduleSingle
from torch.nn.parallel import DistributedDataParallel
from torch.optim import Adam
from torch.optim.lr_scheduler import LambdaLR

from training.model import ModelConfig, VideoReIDNet
from training.pipeline.balance import StagePlan, plan_stages, profile_units
from training.pipeline.config import PipelineConfig
from training.pipeline.errors import PipelineError
from training.pipeline.exact_triplet import (
    MicrobatchLoss,
    MicroTarget,
    preserved_buffers,
    triplet_and_feature_grad,
)
from training.pipeline.mesh import ParallelLayout, build_layout
from training.pipeline.optim import build_optimizer
from training.pipeline.precision import StageIO, autocast_dtype, to_channels_last
from training.pipeline.stages import build_pipeline_stage, own_entries

logger = logging.getLogger(__name__)

SCHEDULE_CLASSES: dict[str, type[PipelineScheduleSingle]] = {
    "gpipe": ScheduleGPipe,
    "1f1b": Schedule1F1B,
}


@dataclass(frozen=True)
class StepStats:
    """One step's losses (mean over data-parallel replicas), identical on every rank."""

    loss: float
    triplet: float
    cross_entropy: float
    lr: float  # the learning rate this step used
    step: int  # optimiser steps taken so far, this one included


class PipelineEngine:
    """This rank's stage of a K-stage pipeline (x D replicas); build it with ``create``."""

    def __init__(
        self,
        *,
        model_config: ModelConfig,
        config: PipelineConfig,
        layout: ParallelLayout,
        plan: StagePlan,
        module: VideoReIDNet,
        batch_size: int,
        device: torch.device,
    ) -> None:
        self.model_config = model_config
        self.config = config
        self.layout = layout
        self.plan = plan
        self.module = module  # this stage's units, under the full model's names
        self.batch_size = batch_size
        self.device = device
        self.steps = 0
        self.optimizer: Adam
        self.scheduler: LambdaLR
        self.optimizer, self.scheduler = build_optimizer(module, config.optim)
        self.loss = MicrobatchLoss(config.microbatches, config.label_smoothing)
        # what runs the stage: the module (under the full model's names, which state_dict
        # uses), in float32-boundary autocast, DDP and torch.compile as configured
        if config.channels_last:
            to_channels_last(module)
        self.train_module: nn.Module = module
        if config.amp is not None or config.channels_last:
            self.train_module = StageIO(module, device, autocast_dtype(config.amp))
        self.ddp: DistributedDataParallel | None = None
        if layout.dp_size > 1:
            self.ddp = DistributedDataParallel(
                self.train_module,
                device_ids=[device] if device.type == "cuda" else None,
                process_group=layout.dp_group,
            )
            self.train_module = self.ddp
        if config.compile:
            self.train_module = cast(nn.Module, torch.compile(self.train_module))
        self.pipeline_stage: PipelineStage | None = None
        self.schedule: PipelineScheduleSingle | None = None
        if config.stages > 1:
            if layout.pp_group is None:
                raise PipelineError("a multi-stage engine needs a pipeline process group")
            self.pipeline_stage = build_pipeline_stage(
                self.train_module,
                module,
                self.unit_range,
                layout.pp_rank,
                config.stages,
                batch_size // config.microbatches,
                device,
                layout.pp_group,
            )
            self.schedule = SCHEDULE_CLASSES[config.schedule](
                self.pipeline_stage, config.microbatches, loss_fn=self.loss, scale_grads=False
            )

    @classmethod
    def create(
        cls,
        model_config: ModelConfig,
        config: PipelineConfig,
        batch_size: int,
        device: torch.device,
        *,
        seed: int = 0,
    ) -> "PipelineEngine":
        """Join the PP x DP layout, build the network from ``seed`` (identically on every
        rank), split it (profiled on rank 0 unless ``config.boundaries`` is given) and keep
        this rank's stage. Clips are (batch_size, T, 3, H, W) as ``model_config`` says."""
        microbatches = config.microbatches
        if batch_size % microbatches or batch_size // microbatches < 2:
            raise PipelineError(
                f"batch size {batch_size} must split into {microbatches} equal micro-batches of "
                "at least 2 clips (pipeline shapes are static; BatchNorm needs 2 samples)"
            )
        layout = build_layout(config.stages, device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = VideoReIDNet(model_config).train()
        plan = _plan_split(model, config, batch_size // microbatches, device, layout)
        if layout.rank == 0:
            logger.info("pipeline split: %s", plan.describe())
        start, stop = plan.stage_range(layout.pp_rank)
        module = model.stage_copy(start, stop).to(device).train()
        return cls(
            model_config=model_config,
            config=config,
            layout=layout,
            plan=plan,
            module=module,
            batch_size=batch_size,
            device=device,
        )

    @property
    def stage_index(self) -> int:
        return self.layout.pp_rank

    @property
    def is_first(self) -> bool:
        return self.stage_index == 0

    @property
    def is_last(self) -> bool:
        return self.stage_index == self.config.stages - 1

    @property
    def unit_range(self) -> tuple[int, int]:
        return self.plan.stage_range(self.stage_index)

    @property
    def unit_names(self) -> tuple[str, ...]:
        return self.plan.unit_names[slice(*self.unit_range)]

    @property
    def lr(self) -> float:
        """The learning rate the next step will use."""
        return float(self.scheduler.get_last_lr()[0])

    def step(self, clips: Tensor | None, labels: Tensor | None) -> StepStats:
        """One optimiser step on one P x K batch; a collective over all ranks.

        The first stage needs ``clips`` (batch_size, T, 3, H, W), the last ``labels``
        (batch_size,); other ranks may pass None.
        """
        clip_mbs = self._clip_microbatches(clips) if self.is_first else None
        labels = self._check_labels(labels) if self.is_last else None
        lr = self.lr
        self.optimizer.zero_grad(set_to_none=True)
        self.loss.reset()
        targets: list[MicroTarget] | None = None
        triplet: Tensor | None = None
        if self.config.microbatches == 1:
            targets = None if labels is None else [MicroTarget(labels, None)]
        else:
            features = self._forward_only(clip_mbs, labels)
            if labels is not None and features is not None:
                triplet, feature_grad = triplet_and_feature_grad(features, labels)
                targets = [
                    MicroTarget(mb_labels, mb_grad)
                    for mb_labels, mb_grad in zip(
                        labels.chunk(self.config.microbatches),
                        feature_grad.chunk(self.config.microbatches),
                        strict=True,
                    )
                ]
        self._train_pass(clip_mbs, targets)
        self.optimizer.step()
        self.scheduler.step()
        self.steps += 1
        return self._shared_stats(triplet, lr)

    def state_dict(self) -> dict[str, Any]:
        """This stage's model, optimiser and schedule state under full-model names.

        Tensors are the live ones: serialise the result before the next ``step``.
        """
        return {
            "model": self.module.state_dict(),
            "optimizer": get_optimizer_state_dict(self.module, self.optimizer),
            "scheduler": self.scheduler.state_dict(),
            "steps": self.steps,
            "boundaries": self.plan.boundaries,
            "stage_index": self.stage_index,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore this stage from its own ``state_dict()`` or from a merged one (a superset:
        see ``merge_stage_states``), which also resumes on a different split."""
        model_names = list(self.module.state_dict())
        self.module.load_state_dict(own_entries(state["model"], model_names, "model state"))
        trainable = [n for n, p in self.module.named_parameters() if p.requires_grad]
        saved = state["optimizer"]
        listed = {name: True for g in saved["param_groups"] for name in g["params"]}
        own_entries(listed, trainable, "optimizer state")
        mine = set(trainable)
        set_optimizer_state_dict(
            self.module,
            self.optimizer,
            {
                "state": {k: v for k, v in saved["state"].items() if k in mine},
                "param_groups": [
                    {**g, "params": [n for n in g["params"] if n in mine]}
                    for g in saved["param_groups"]
                ],
            },
        )
        self.scheduler.load_state_dict(state["scheduler"])
        self.steps = int(state["steps"])

    def gather_model(self) -> VideoReIDNet | None:
        """The whole trained network, unsplit, in eval mode, on CPU, for evaluation.

        A collective over the pipeline group: pipeline rank 0 of every replica gets the model,
        the other ranks None.
        """
        state = {k: v.detach().cpu() for k, v in self.module.state_dict().items()}
        if self.config.stages > 1:
            gathered: list[dict[str, Tensor] | None] | None = None
            if self.is_first:
                gathered = [None] * self.config.stages
            dist.gather_object(state, gathered, group=self.layout.pp_group, group_dst=0)
            if gathered is None:
                return None
            state = {k: v for part in gathered if part is not None for k, v in part.items()}
        model = VideoReIDNet(replace(self.model_config, pretrained=None))
        model.load_state_dict(state)
        return model.eval()

    def _clip_microbatches(self, clips: Tensor | None) -> list[Tensor]:
        height, width = self.model_config.frame_size
        expected = (self.batch_size, self.model_config.seq_len, 3, height, width)
        if clips is None or tuple(clips.shape) != expected:
            got = None if clips is None else tuple(clips.shape)
            raise PipelineError(
                f"stage {self.stage_index} (first) needs clips shaped {expected} every step "
                f"(static pipeline shapes: drop the last partial batch), got {got}"
            )
        return list(clips.to(self.device, non_blocking=True).chunk(self.config.microbatches))

    def _check_labels(self, labels: Tensor | None) -> Tensor:
        if labels is None or tuple(labels.shape) != (self.batch_size,):
            got = None if labels is None else tuple(labels.shape)
            raise PipelineError(
                f"stage {self.stage_index} (last) needs labels shaped ({self.batch_size},) "
                f"every step, got {got}"
            )
        return labels.to(self.device, non_blocking=True)

    def _forward_only(self, clip_mbs: list[Tensor] | None, labels: Tensor | None) -> Tensor | None:
        """Pass 1 of the exact triplet: every micro-batch's embedding, on the last stage."""
        with torch.no_grad(), preserved_buffers(self.module):
            if self.schedule is None:
                assert clip_mbs is not None  # K = 1: this rank is the first stage
                return torch.cat([self.train_module(x)[0] for x in clip_mbs])
            kwargs: dict[str, Any] = {}
            if clip_mbs is not None:
                kwargs["arg_mbs"] = [(x,) for x in clip_mbs]
            if labels is not None:
                mb_labels = labels.chunk(self.config.microbatches)
                kwargs["target_mbs"] = [MicroTarget(y, None) for y in mb_labels]
            output = self.schedule.eval(**kwargs)
        return output[0] if self.is_last else None

    def _train_pass(self, clip_mbs: list[Tensor] | None, targets: list[MicroTarget] | None) -> None:
        if self.schedule is None:
            assert clip_mbs is not None  # K = 1: this rank is the first stage ...
            assert targets is not None  # ... and the last
            last = len(clip_mbs) - 1
            for index, (x, target) in enumerate(zip(clip_mbs, targets, strict=True)):
                # Data parallel: average gradients once, after the last micro-batch.
                if self.ddp is not None and index < last:
                    context: AbstractContextManager[object] = self.ddp.no_sync()
                else:
                    context = nullcontext()
                with context:
                    self.loss(self.train_module(x), target).backward()
            return
        kwargs: dict[str, Any] = {"return_outputs": False}
        if clip_mbs is not None:
            kwargs["arg_mbs"] = [(x,) for x in clip_mbs]
        if targets is not None:
            kwargs["target_mbs"] = targets
        self.schedule.step(**kwargs)

    def _shared_stats(self, triplet: Tensor | None, lr: float) -> StepStats:
        values = torch.zeros(3, dtype=torch.float64, device=self.device)
        if self.is_last:
            cross_entropy = torch.stack(self.loss.cross_entropy).mean()
            if triplet is None:
                (triplet,) = self.loss.triplet
            values = torch.stack([triplet + cross_entropy, triplet, cross_entropy]).double()
        if self.layout.distributed:
            dist.all_reduce(values)  # only last stages contribute: a sum over replicas
            values /= self.layout.dp_size
        loss, triplet_value, cross_entropy_value = values.tolist()
        return StepStats(loss, triplet_value, cross_entropy_value, lr, self.steps)


def _plan_split(
    model: VideoReIDNet,
    config: PipelineConfig,
    microbatch_size: int,
    device: torch.device,
    layout: ParallelLayout,
) -> StagePlan:
    """The configured split, or one balanced from rank 0's profile of the units (every rank
    must hold the same split, and concurrent profiles on shared hardware would disagree)."""
    names = tuple(model.units)
    if config.boundaries is not None:
        if config.boundaries[-1] != len(names):
            raise PipelineError(
                f"boundaries {config.boundaries} must end at the model's {len(names)} units "
                f"({names[0]}..{names[-1]})"
            )
        return StagePlan(config.boundaries, names)
    if config.stages == 1:
        return StagePlan((0, len(names)), names)
    costs = None
    if layout.rank == 0:
        costs = profile_units(model, microbatch_size, device, config.profile_repeats)
    shared = [costs]
    dist.broadcast_object_list(shared, src=0, device=device if device.type == "cuda" else None)
    if shared[0] is None:
        raise PipelineError("rank 0 did not share its unit profile")
    return plan_stages(shared[0], config.stages)
