"""Pipeline engine pieces in one process: split planner, profiler, exact triplet, optimiser, and
the K = 1 engine (plain and gradient-accumulation steps, checkpoints). The multi-process
pipelined steps are in test_pipeline_distributed.py."""

import copy
import itertools
import math

import pytest
import torch
from torch import Tensor, nn

from training.losses import batch_hard_triplet_loss, reid_loss
from training.model import ModelConfig, VideoReIDNet
from training.pipeline import (
    OptimConfig,
    PipelineConfig,
    PipelineEngine,
    PipelineError,
    balanced_boundaries,
    merge_stage_states,
    plan_stages,
    profile_units,
    triplet_and_feature_grad,
)
from training.pipeline.exact_triplet import preserved_buffers

SMALL = ModelConfig(num_classes=4, seq_len=2, preset="small", frame_size=(64, 32))
CPU = torch.device("cpu")


pytestmark = pytest.mark.usefixtures("one_thread")


def batch(seed: int, size: int = 8) -> tuple[Tensor, Tensor]:
    gen = torch.Generator().manual_seed(seed)
    clips = torch.randn(size, SMALL.seq_len, 3, *SMALL.frame_size, generator=gen)
    return clips, torch.arange(size // 2).repeat_interleave(2)


def brute_force_max_part(costs: list[float], stages: int) -> float:
    n = len(costs)
    best = math.inf
    for cuts in itertools.combinations(range(1, n), stages - 1):
        bounds = (0, *cuts, n)
        best = min(best, max(sum(costs[a:b]) for a, b in itertools.pairwise(bounds)))
    return best


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("stages", [1, 2, 3, 4])
def test_partition_minimises_the_slowest_stage(seed: int, stages: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    costs = (torch.rand(11, generator=gen) ** 3).tolist()  # skewed, like conv vs head units
    bounds = balanced_boundaries(costs, stages)
    assert (bounds[0], bounds[-1], len(bounds)) == (0, 11, stages + 1)
    assert all(a < b for a, b in itertools.pairwise(bounds))
    slowest = max(sum(costs[a:b]) for a, b in itertools.pairwise(bounds))
    assert slowest == pytest.approx(brute_force_max_part(costs, stages), rel=1e-12)


def test_partition_rejects_more_stages_than_units() -> None:
    with pytest.raises(PipelineError, match="cannot split 3 units into 4"):
        balanced_boundaries([1.0, 2.0, 3.0], 4)


def test_profiling_measures_every_unit_and_touches_nothing() -> None:
    model = VideoReIDNet(SMALL).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    costs = profile_units(model, microbatch_size=2, device=CPU, repeats=1)
    assert [c.name for c in costs] == list(model.units)
    assert all(c.seconds > 0 and c.activation_bytes > 0 for c in costs)
    assert costs[-1].parameter_bytes == sum(p.numel() * 4 for p in model.units["head"].parameters())
    for name, tensor in model.state_dict().items():  # BN running statistics and counters too
        assert torch.equal(tensor, before[name]), name
    assert all(p.grad is None for p in model.parameters())
    plan = plan_stages(costs, 3)
    balance = plan.balance()
    assert balance is not None
    assert balance >= 1.0
    text = plan.describe()
    assert all(part in text for part in ("stage 2: units", "head", "predicted balance"))


def test_triplet_feature_grad_is_the_full_batch_gradient() -> None:
    gen = torch.Generator().manual_seed(0)
    features = torch.randn(12, 8, generator=gen, requires_grad=True)
    labels = torch.arange(4).repeat_interleave(3)
    batch_hard_triplet_loss(features, labels).backward()
    loss, grad = triplet_and_feature_grad(features, labels)
    assert loss.item() == pytest.approx(batch_hard_triplet_loss(features, labels).item())
    assert features.grad is not None
    torch.testing.assert_close(grad, features.grad)


def test_per_microbatch_mining_differs_measurably() -> None:
    """Why exactness matters: mining within micro-batches is another loss, another gradient.
    (Labels laid out so that every micro-batch can be mined at all.)"""
    torch.manual_seed(0)
    model = VideoReIDNet(SMALL).train()
    clips, _ = batch(1)
    labels = torch.tensor([0, 1, 0, 1, 2, 3, 2, 3])  # each half: two identities, two clips each
    features, _ = model(clips)
    full, full_grad = triplet_and_feature_grad(features, labels)
    halves = [
        triplet_and_feature_grad(f, y)
        for f, y in zip(features.chunk(2), labels.chunk(2), strict=True)
    ]
    per_microbatch = (halves[0][0] + halves[1][0]) / 2
    per_microbatch_grad = torch.cat([grad for _, grad in halves]) / 2
    relative = (per_microbatch_grad - full_grad).norm() / full_grad.norm()
    assert abs(per_microbatch.item() - full.item()) > 1e-3
    assert relative > 0.1, relative


def reference_model(
    clips: Tensor, labels: Tensor, microbatches: int, label_smoothing: float = 0.0
) -> tuple[nn.Module, float]:
    torch.manual_seed(0)
    model = VideoReIDNet(SMALL).train()
    outputs = [model(x) for x in clips.chunk(microbatches)]
    terms = reid_loss(
        torch.cat([f for f, _ in outputs]),
        torch.cat([logit for _, logit in outputs]),
        labels,
        label_smoothing=label_smoothing,
    )
    terms.total.backward()
    return model, terms.total.item()


@pytest.mark.parametrize(
    ("microbatches", "label_smoothing"), [(1, 0.0), (2, 0.0), (4, 0.0), (2, 0.1)]
)
def test_single_stage_step_is_the_plain_or_accumulated_step(
    microbatches: int, label_smoothing: float
) -> None:
    config = PipelineConfig(microbatches=microbatches, label_smoothing=label_smoothing)
    engine = PipelineEngine.create(SMALL, config, 8, CPU)
    assert (engine.is_first, engine.is_last, engine.stage_index) == (True, True, 0)
    assert engine.unit_range == (0, len(engine.plan.unit_names))
    clips, labels = batch(1)
    stats = engine.step(clips, labels)
    reference, loss = reference_model(clips, labels, microbatches, label_smoothing)
    assert stats.loss == pytest.approx(loss, rel=1e-6)
    assert stats.step == 1
    for name, param in engine.module.named_parameters():
        expected = reference.get_parameter(name).grad
        if expected is not None:
            assert param.grad is not None
            torch.testing.assert_close(param.grad, expected, atol=1e-6, rtol=1e-4)
    for name, buffer in engine.module.named_buffers():  # M running-statistic updates
        torch.testing.assert_close(buffer, reference.get_buffer(name))


def test_preserved_buffers_undo_a_training_forward() -> None:
    model = VideoReIDNet(SMALL).train()
    before = [b.clone() for b in model.buffers()]
    with torch.no_grad(), preserved_buffers(model):
        model(batch(0)[0])
    assert all(torch.equal(a, b) for a, b in zip(before, model.buffers(), strict=True))


def test_lr_warms_up_linearly_then_decays_in_steps() -> None:
    config = OptimConfig(
        lr=1e-4, warmup_epochs=2, warmup_start=0.1, decay_epochs=3, gamma=0.1, steps_per_epoch=10
    )
    factors = [config.lr_factor(step) for step in range(70)]
    assert factors[0] == pytest.approx(0.1)
    assert factors[10] == pytest.approx(0.55)  # halfway through the warm-up
    assert factors[20:30] == pytest.approx([1.0] * 10)
    assert (factors[30], factors[60]) == pytest.approx((0.1, 0.01))
    engine = PipelineEngine.create(SMALL, PipelineConfig(microbatches=2, optim=config), 8, CPU)
    used = [engine.step(*batch(s)).lr for s in range(3)]
    assert used == pytest.approx([1e-5, 1e-5 + 9e-5 / 20, 1e-5 + 2 * 9e-5 / 20])
    assert engine.lr == pytest.approx(1e-4 * config.lr_factor(3))


def test_checkpoint_resumes_the_same_training() -> None:
    engine = PipelineEngine.create(SMALL, PipelineConfig(microbatches=2), 8, CPU, seed=3)
    engine.step(*batch(1))
    state = engine.state_dict()
    assert "units.head.classifier.weight" in state["model"]
    assert "units.head.classifier.weight" in state["optimizer"]["state"]
    saved = merge_stage_states([copy.deepcopy(state)])  # as if serialised: no live tensors
    resumed = PipelineEngine.create(SMALL, PipelineConfig(microbatches=2), 8, CPU, seed=99)
    resumed.load_state_dict(saved)
    assert (resumed.steps, resumed.lr) == (1, engine.lr)
    assert engine.step(*batch(2)).loss == pytest.approx(resumed.step(*batch(2)).loss, rel=1e-6)
    for (name, a), b in zip(
        engine.module.state_dict().items(), resumed.module.state_dict().values(), strict=True
    ):
        torch.testing.assert_close(a, b, msg=name)
    full = engine.gather_model()
    assert full is not None
    assert not full.training
    assert full(batch(0)[0]).shape == (8, full.feature_dim)


def test_checkpoint_from_another_split_is_refused_with_a_hint() -> None:
    engine = PipelineEngine.create(SMALL, PipelineConfig(), 8, CPU)
    state = engine.state_dict()
    partial = {**state, "model": {k: v for k, v in state["model"].items() if "head" not in k}}
    with pytest.raises(PipelineError, match="saved from another split"):
        engine.load_state_dict(partial)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stages": 0}, "stages must be >= 1"),
        ({"schedule": "zb"}, "schedule must be one of"),
        ({"stages": 3, "microbatches": 2, "schedule": "1f1b"}, "1f1b needs at least as many"),
        ({"stages": 2, "boundaries": (0, 11)}, "boundaries must be 3 increasing"),
        ({"stages": 2, "boundaries": (0, 5, 5)}, "boundaries must be 3 increasing"),
        ({"label_smoothing": 1.0}, "label_smoothing must be in"),
    ],
)
def test_invalid_configuration_names_the_field(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(PipelineError, match=message):
        PipelineConfig(**kwargs)  # type: ignore[arg-type]


def test_batches_and_launches_that_do_not_fit_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    with pytest.raises(PipelineError, match="2 clips"):
        PipelineEngine.create(SMALL, PipelineConfig(microbatches=4), 4, CPU)
    with pytest.raises(PipelineError, match="equal micro-batches"):
        PipelineEngine.create(SMALL, PipelineConfig(microbatches=3), 8, CPU)
    with pytest.raises(PipelineError, match="one process per stage"):
        PipelineEngine.create(SMALL, PipelineConfig(stages=2), 8, CPU)
    engine = PipelineEngine.create(SMALL, PipelineConfig(), 8, CPU)
    clips, labels = batch(0, size=6)
    with pytest.raises(PipelineError, match=r"clips shaped \(8, 2, 3, 64, 32\)"):
        engine.step(clips, labels)
    with pytest.raises(PipelineError, match=r"labels shaped \(8,\)"):
        engine.step(batch(0)[0], labels)
