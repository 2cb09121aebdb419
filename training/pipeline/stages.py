"""Pipeline stages with static shapes, and merging per-stage state back into one model.

Every stage is built with example tensors for its input and output: without them
torch.distributed.pipelining infers shapes by running a forward on the first step (torch 2.13
ran it on uninitialised tensors and left BatchNorm running statistics inf/NaN for good). The
examples live on the meta device, so they cost no memory; only their shape, dtype and
requires_grad matter. Outputs must be marked requires_grad: torch 2.15 derives the shape of
the gradient a stage receives from them and otherwise expects none.
"""

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.distributed.pipelining import PipelineStage

from training.model import VideoReIDNet
from training.pipeline.errors import PipelineError


def stage_example_io(
    model: VideoReIDNet, start: int, stop: int, microbatch_size: int
) -> tuple[Tensor, tuple[Tensor, ...]]:
    """Meta tensors shaped like the micro-batch input and output of units[start:stop]."""
    shapes = model.unit_input_shapes(microbatch_size)
    names = list(shapes)
    meta = torch.device("meta")
    example_input = torch.empty(shapes[names[start]], device=meta, requires_grad=start > 0)
    if stop < len(names):
        outputs: tuple[Tensor, ...] = (
            torch.empty(shapes[names[stop]], device=meta, requires_grad=True),
        )
    else:  # the head, training mode: (pre-BN feature, logits)
        outputs = (
            torch.empty(microbatch_size, model.feature_dim, device=meta, requires_grad=True),
            torch.empty(microbatch_size, model.config.num_classes, device=meta, requires_grad=True),
        )
    return example_input, outputs


def build_pipeline_stage(
    module: nn.Module,
    model: VideoReIDNet,
    unit_range: tuple[int, int],
    stage_index: int,
    num_stages: int,
    microbatch_size: int,
    device: torch.device,
    group: torch.distributed.ProcessGroup,
) -> PipelineStage:
    """Wrap ``module`` (the stage copy of ``model``, possibly inside DDP) as a static stage."""
    example_input, example_outputs = stage_example_io(model, *unit_range, microbatch_size)
    return PipelineStage(
        module,
        stage_index,
        num_stages,
        device,
        input_args=example_input,
        output_args=example_outputs,
        group=group,
    )


def merge_stage_states(states: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One full-model state from every stage's ``PipelineEngine.state_dict()``, in any order.

    Model and optimiser entries are keyed by full-model names, so the merge is a union; the
    result loads into an unsplit ``VideoReIDNet`` (``state["model"]``) or into an engine of
    any split (each stage takes its own names).
    """
    if not states:
        raise PipelineError("merge_stage_states needs the state of at least one stage")
    boundaries = {tuple(s["boundaries"]) for s in states}
    if len(boundaries) != 1:
        raise PipelineError(f"stage states come from different splits: {sorted(boundaries)}")
    stages = sorted(s["stage_index"] for s in states)
    expected = list(range(len(next(iter(boundaries))) - 1))
    if stages != expected:
        raise PipelineError(f"need the states of stages {expected} once each, got {stages}")
    model: dict[str, Tensor] = {}
    optimizer_state: dict[str, Any] = {}
    groups: list[dict[str, Any]] = []
    for state in sorted(states, key=lambda s: s["stage_index"]):
        model.update(state["model"])
        optimizer_state.update(state["optimizer"]["state"])
        for index, group in enumerate(state["optimizer"]["param_groups"]):
            if index == len(groups):
                groups.append({**group, "params": list(group["params"])})
            else:
                groups[index]["params"].extend(group["params"])
    return {
        **states[0],
        "stage_index": None,
        "model": model,
        "optimizer": {"state": optimizer_state, "param_groups": groups},
    }


def own_entries(state: Mapping[str, Any], names: Sequence[str], what: str) -> dict[str, Any]:
    """The entries of ``state`` for ``names``; a clear error naming what a checkpoint lacks."""
    missing = [name for name in names if name not in state]
    if missing:
        raise PipelineError(
            f"{what} lacks {len(missing)} entries of this stage, e.g. {missing[:3]}: it was "
            "saved from another split; merge all stages' states (merge_stage_states) or pass "
            "the saved boundaries in PipelineConfig"
        )
    return {name: state[name] for name in names}
