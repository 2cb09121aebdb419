"""Automatic stage split: profile every cut unit, then partition them to balance the stages.

A pipeline runs at the pace of its slowest stage, so the split that matters minimises the
largest per-stage forward+backward time. Unit costs are measured, not guessed from FLOPs: on a
CPU the non-local blocks' attention and the early wide-resolution convolutions cost far more
than their parameter counts suggest. Each unit runs forward+backward on one micro-batch of the
real shape (what a stage runs per schedule slot) on the target device, in training mode, on a
deep copy of the model, so BatchNorm running statistics and gradients of the model being
trained are never touched.

Activation memory is measured device-independently as the bytes autograd saves for backward
(parameters excluded): under GPipe a stage holds that for all M micro-batches at once, under
1F1B for at most K - stage_index of them.
"""

import copy
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from training.model import VideoReIDNet
from training.pipeline.errors import PipelineError

MIB = 2**20


@dataclass(frozen=True)
class UnitCost:
    """One cut unit's measured cost for one micro-batch."""

    name: str
    seconds: float  # forward + backward
    activation_bytes: int  # saved by autograd for backward
    parameter_bytes: int


@dataclass(frozen=True)
class StagePlan:
    """A contiguous split of the units into stages and, when profiled, what it should cost."""

    boundaries: tuple[int, ...]  # stage i holds units[boundaries[i]:boundaries[i + 1]]
    unit_names: tuple[str, ...]
    costs: tuple[UnitCost, ...] | None = None  # None: split given by hand, not profiled

    @property
    def stages(self) -> int:
        return len(self.boundaries) - 1

    def stage_range(self, stage: int) -> tuple[int, int]:
        return self.boundaries[stage], self.boundaries[stage + 1]

    def stage_seconds(self) -> list[float] | None:
        if self.costs is None:
            return None
        return [
            sum(c.seconds for c in self.costs[slice(*self.stage_range(s))])
            for s in range(self.stages)
        ]

    def balance(self) -> float | None:
        """Predicted slowest stage over the mean stage (1.0 is a perfect split)."""
        seconds = self.stage_seconds()
        return None if seconds is None else max(seconds) / statistics.fmean(seconds)

    def describe(self) -> str:
        balance = self.balance()
        how = "given by hand" if balance is None else f"predicted balance (max/mean) {balance:.3f}"
        lines = [f"{self.stages} stage(s), split {self.boundaries} {how}"]
        for stage in range(self.stages):
            start, stop = self.stage_range(stage)
            line = f"  stage {stage}: units {self.unit_names[start]}..{self.unit_names[stop - 1]}"
            if self.costs is not None:
                costs = self.costs[start:stop]
                line += (
                    f", {sum(c.seconds for c in costs) * 1e3:.1f} ms fwd+bwd, "
                    f"{sum(c.activation_bytes for c in costs) / MIB:.1f} MiB saved activations "
                    f"per micro-batch, {sum(c.parameter_bytes for c in costs) / MIB:.1f} MiB "
                    "parameters"
                )
            lines.append(line)
        return "\n".join(lines)


def profile_units(
    model: VideoReIDNet, microbatch_size: int, device: torch.device, repeats: int = 3
) -> list[UnitCost]:
    """Median forward+backward seconds and saved-activation bytes of every unit, in order."""
    twin = copy.deepcopy(model).to(device).train()
    x: Tensor = twin.example_clips(microbatch_size).to(device).normal_()
    costs = []
    for index, (name, unit) in enumerate(twin.units.items()):
        unit_input = x.detach().requires_grad_(index > 0)  # a received activation needs its grad

        def forward_backward(
            unit: torch.nn.Module = unit, unit_input: Tensor = unit_input
        ) -> Tensor:
            output = unit(unit_input)
            outputs = output if isinstance(output, tuple) else (output,)
            torch.autograd.backward(outputs, [torch.ones_like(o) for o in outputs])
            return outputs[0]

        x = forward_backward()  # warm-up: kernel selection and first-touch allocation
        seconds = statistics.median(_timed(forward_backward, device) for _ in range(repeats))
        costs.append(
            UnitCost(
                name,
                seconds,
                _saved_activation_bytes(unit, unit_input),
                sum(p.numel() * p.element_size() for p in unit.parameters()),
            )
        )
    return costs


def balanced_boundaries(costs: Sequence[float], stages: int) -> tuple[int, ...]:
    """The contiguous split of ``costs`` into ``stages`` non-empty parts with the smallest
    maximum part sum (exact dynamic programme, O(stages x n^2) for n units)."""
    n = len(costs)
    if not 1 <= stages <= n:
        raise PipelineError(
            f"cannot split {n} units into {stages} non-empty stages; use 1..{n} stages"
        )
    prefix = [0.0]
    for cost in costs:
        prefix.append(prefix[-1] + cost)
    # best[k][j]: smallest max part sum splitting units[:j] into k parts; cut[k][j]: last cut.
    inf = float("inf")
    best = [[inf] * (n + 1) for _ in range(stages + 1)]
    cut = [[0] * (n + 1) for _ in range(stages + 1)]
    best[0][0] = 0.0
    for k in range(1, stages + 1):
        for j in range(k, n + 1):
            for i in range(k - 1, j):
                candidate = max(best[k - 1][i], prefix[j] - prefix[i])
                if candidate < best[k][j]:
                    best[k][j], cut[k][j] = candidate, i
    boundaries = [n]
    for k in range(stages, 0, -1):
        boundaries.append(cut[k][boundaries[-1]])
    return tuple(reversed(boundaries))


def plan_stages(costs: Sequence[UnitCost], stages: int) -> StagePlan:
    """The balanced split of the profiled units into ``stages`` stages."""
    boundaries = balanced_boundaries([c.seconds for c in costs], stages)
    return StagePlan(boundaries, tuple(c.name for c in costs), tuple(costs))


def _timed(step: Callable[[], object], device: torch.device) -> float:
    _synchronize(device)
    start = time.perf_counter()
    step()
    _synchronize(device)
    return time.perf_counter() - start


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _saved_activation_bytes(unit: torch.nn.Module, unit_input: Tensor) -> int:
    """Bytes of the distinct non-parameter tensors one forward saves for backward."""
    parameters = {p.untyped_storage().data_ptr() for p in unit.parameters()}
    saved: dict[int, int] = {}

    def pack(tensor: Tensor) -> Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in parameters:
            saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        unit(unit_input)
    return sum(saved.values())
