"""The pipelined step on K = 2 and 3 processes (gloo, 127.0.0.1) against single-process steps.

Reference ("gradient accumulation"): one unsplit copy of the same network (same seed) runs the
same micro-batches one after another in training mode, so each is normalised by its own
BatchNorm statistics and updates the running statistics once, exactly what a pipeline does;
the full-batch loss triplet(all embeddings) + CE(all logits) is then backpropagated once. With
one micro-batch this is the plain single-process step. Tolerance: fp32 on the CPU, the only
differences being the order in which per-micro-batch gradients are summed: gradients agree to
``GRAD_ATOL`` absolute + ``GRAD_RTOL`` relative, losses to ``LOSS_RTOL``.

Each scenario runs in freshly spawned processes joined through a file store; one thread each.
"""

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import Tensor, nn

from training.losses import reid_loss
from training.model import NVAN, ModelConfig, VideoReIDNet
from training.pipeline import (
    OptimConfig,
    PipelineConfig,
    PipelineEngine,
    ScheduleName,
    merge_stage_states,
)

SMALL = ModelConfig(num_classes=4, seq_len=2, preset="small", frame_size=(64, 32))
IDS, CLIPS_PER_ID = 4, 2
BATCH = IDS * CLIPS_PER_ID
GRAD_ATOL, GRAD_RTOL, LOSS_RTOL = 1e-6, 1e-4, 1e-5
CPU = torch.device("cpu")


def batch(seed: int) -> tuple[Tensor, Tensor]:
    """Identity-major P x K clips and labels, as the sampler lays a batch out."""
    gen = torch.Generator().manual_seed(seed)
    clips = torch.randn(BATCH, SMALL.seq_len, 3, *SMALL.frame_size, generator=gen)
    return clips, torch.arange(IDS).repeat_interleave(CLIPS_PER_ID)


def reference_step(clips: Tensor, labels: Tensor, microbatches: int) -> tuple[VideoReIDNet, float]:
    """Gradient accumulation over the micro-batches on one unsplit model (seed 0)."""
    torch.manual_seed(0)
    model = VideoReIDNet(SMALL).train()
    outputs = [model(x) for x in clips.chunk(microbatches)]
    terms = reid_loss(
        torch.cat([features for features, _ in outputs]),
        torch.cat([logits for _, logits in outputs]),
        labels,
        label_smoothing=NVAN.label_smoothing,  # the engine's default
    )
    terms.total.backward()
    return model, terms.total.item()


def max_grad_diff(stage: nn.Module, reference: nn.Module) -> float:
    """Largest |stage grad - reference grad| over the stage's parameters, checked close."""
    worst = 0.0
    for name, param in stage.named_parameters():
        expected = reference.get_parameter(name).grad
        if expected is None:
            assert param.grad is None, name
            continue
        assert param.grad is not None, name
        torch.testing.assert_close(param.grad, expected, atol=GRAD_ATOL, rtol=GRAD_RTOL)
        worst = max(worst, (param.grad - expected).abs().max().item())
    return worst


def assert_bn_buffers(stage: nn.Module, reference: nn.Module | None, updates: int) -> None:
    """Finite running statistics, one counter update per micro-batch, equal to the reference."""
    norms = [
        (n, m) for n, m in stage.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
    ]
    assert norms, "every stage of NVAN holds BatchNorm layers"
    for name, norm in norms:
        for statistic in (norm.running_mean, norm.running_var):
            assert statistic is not None
            assert torch.isfinite(statistic).all(), name
        assert norm.num_batches_tracked is not None
        assert int(norm.num_batches_tracked) == updates, name
    if reference is not None:
        for name, buffer in stage.named_buffers():
            torch.testing.assert_close(buffer, reference.get_buffer(name), atol=1e-6, rtol=1e-5)


def pipelined_step(engine: PipelineEngine, seed: int) -> float:
    clips, labels = batch(seed)
    stats = engine.step(clips if engine.is_first else None, labels if engine.is_last else None)
    return stats.loss


def check_against_reference(
    stages: int, schedule: ScheduleName, microbatches: int
) -> PipelineEngine:
    config = PipelineConfig(stages=stages, microbatches=microbatches, schedule=schedule)
    engine = PipelineEngine.create(SMALL, config, BATCH, CPU, seed=0)
    clips, labels = batch(1)
    stats = engine.step(clips if engine.is_first else None, labels if engine.is_last else None)
    reference, loss = reference_step(clips, labels, microbatches)
    assert stats.loss == pytest.approx(loss, rel=LOSS_RTOL)
    assert stats.loss == pytest.approx(stats.triplet + stats.cross_entropy, rel=1e-6)
    diff = max_grad_diff(engine.module, reference)
    assert_bn_buffers(engine.module, reference, updates=microbatches)
    print(
        f"K={stages} {schedule} M={microbatches} stage {engine.stage_index} "
        f"units {engine.unit_range}: loss {stats.loss:.6f} vs {loss:.6f}, "
        f"max |grad diff| {diff:.2e}"
    )
    return engine


def two_stages() -> None:
    """K = 2: GPipe and 1F1B against gradient accumulation, one micro-batch against the plain
    step, BatchNorm after several steps, and state saved, merged and resumed on a new split."""
    check_against_reference(2, "gpipe", 1)
    check_against_reference(2, "1f1b", 2)
    engine = check_against_reference(2, "gpipe", 4)
    for seed in (2, 3):
        pipelined_step(engine, seed)
    assert_bn_buffers(engine.module, None, updates=3 * 4)

    states: list[dict[str, object]] = [{}, {}]
    dist.all_gather_object(states, engine.state_dict())
    merged = merge_stage_states(states)
    full = engine.gather_model()
    if engine.is_first:
        assert full is not None
        for name, tensor in full.state_dict().items():
            assert torch.equal(tensor, merged["model"][name]), name
    else:
        assert full is None
    other_split = (0, 3, 11)  # the profiled split differs: (0, 4, 11) or nearby
    resumed = PipelineEngine.create(
        SMALL, PipelineConfig(stages=2, microbatches=4, boundaries=other_split), BATCH, CPU
    )
    resumed.load_state_dict(merged)
    assert resumed.steps == engine.steps == 3
    assert resumed.lr == engine.lr
    loss_before, loss_after = pipelined_step(engine, 4), pipelined_step(resumed, 4)
    assert loss_after == pytest.approx(loss_before, rel=LOSS_RTOL)
    continued, from_checkpoint = engine.gather_model(), resumed.gather_model()
    if continued is not None and from_checkpoint is not None:
        for (name, a), b in zip(
            continued.state_dict().items(), from_checkpoint.state_dict().values(), strict=True
        ):
            torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5, msg=name)


def three_stages() -> None:
    """K = 3: 1F1B over 4 micro-batches, GPipe with one micro-batch (the plain step)."""
    engine = check_against_reference(3, "1f1b", 4)
    pipelined_step(engine, 2)
    assert_bn_buffers(engine.module, None, updates=2 * 4)
    check_against_reference(3, "gpipe", 1)


def pipeline_x_data_parallel() -> None:
    """4 processes = 2 stages x 2 replicas: each replica its own batch, gradients averaged."""
    engine = PipelineEngine.create(SMALL, PipelineConfig(stages=2, microbatches=2), BATCH, CPU)
    assert (engine.layout.pp_size, engine.layout.dp_size) == (2, 2)
    replica_seed = 10 + engine.layout.dp_rank
    clips, labels = batch(replica_seed)
    stats = engine.step(clips if engine.is_first else None, labels if engine.is_last else None)
    references = [reference_step(*batch(10 + r), 2) for r in range(2)]
    assert stats.loss == pytest.approx(sum(loss for _, loss in references) / 2, rel=LOSS_RTOL)
    worst = 0.0
    for name, param in engine.module.named_parameters():
        first, second = (ref.get_parameter(name).grad for ref, _ in references)
        if first is None or second is None:  # the frozen neck bias
            continue
        assert param.grad is not None, name
        expected = (first + second) / 2
        torch.testing.assert_close(param.grad, expected, atol=GRAD_ATOL, rtol=GRAD_RTOL)
        worst = max(worst, (param.grad - expected).abs().max().item())
    print(f"PP x DP rank {engine.layout.rank}: max |grad diff| vs replica mean {worst:.2e}")


def two_stages_bf16_and_channels_last() -> None:
    """K = 2 under bf16 autocast and with channels_last weights (a CUDA layout, run here on the
    CPU for its stage-boundary handling): activations cross stages as float32 contiguous
    tensors, the losses match the float32 reference to bf16's precision (channels_last: to
    float32's; bf16 keeps 8 significant bits, and the loss differed by 0.3% when measured), and
    bf16 training lowers the loss over a few steps on one batch."""
    clips, labels = batch(1)
    _, reference_loss = reference_step(clips, labels, 2)
    for precision, rtol in (({"amp": "bf16"}, 1e-2), ({"channels_last": True}, LOSS_RTOL)):
        config = PipelineConfig(stages=2, microbatches=2, optim=OptimConfig(
            lr=1e-3, warmup_epochs=0), **precision)  # type: ignore[arg-type]
        engine = PipelineEngine.create(SMALL, config, BATCH, CPU, seed=0)
        losses = [pipelined_step(engine, 1) for _ in range(6 if "amp" in precision else 1)]
        assert losses[0] == pytest.approx(reference_loss, rel=rtol), precision
        print(f"{precision} stage {engine.stage_index}: losses {losses}")
        if "amp" in precision:  # bf16 arithmetic did run, and it trains
            assert losses[0] != reference_loss
            assert losses[-1] < 0.7 * losses[0], losses


SCENARIOS: dict[str, Callable[[], None]] = {
    "two_stages": two_stages,
    "three_stages": three_stages,
    "pipeline_x_data_parallel": pipeline_x_data_parallel,
    "two_stages_bf16_and_channels_last": two_stages_bf16_and_channels_last,
}


def _worker(rank: int, world: int, store: str, scenario: str) -> None:
    os.environ["GLOO_SOCKET_IFNAME"] = "lo"  # loopback (127.0.0.1) only
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    try:
        SCENARIOS[scenario]()
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize(
    ("scenario", "world"),
    [("two_stages", 2), ("three_stages", 3), ("pipeline_x_data_parallel", 4),
     ("two_stages_bf16_and_channels_last", 2)],
)
def test_pipelined_step_equals_single_process(scenario: str, world: int, tmp_path: Path) -> None:
    mp.spawn(_worker, args=(world, str(tmp_path / "store"), scenario), nprocs=world)
