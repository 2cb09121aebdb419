"""Pipeline-parallel training step: balance, bubble, memory, exactness and throughput.

Why: the paper splits NVAN over nodes to train faster and fit bigger batches. This measures
whether our split does what a pipeline promises, on this machine: K stages in K processes
(gloo over 127.0.0.1, one thread each) against one process training on the same batch.
- stage_balance: max/mean over stages of each stage's measured compute (forward+backward
  chunks) per step; ``predicted_balance`` is the profiler's forecast for the chosen split.
- bubble: the share of the pipelined training pass a stage spends waiting, measured as
  1 - compute / wall time of the pass, mean over stages; vs GPipe's (K-1)/(M+K-1).
- stage_mem_vs_single: the largest stage's peak memory over one step (above the memory in
  use before it) divided by the single process's, same batch (target <= 1/K + 0.15).
- max_abs_grad_diff: the first pipelined step's gradients against single-process gradient
  accumulation over the same micro-batches, exact full-batch triplet included.
- clips/s of the single process (M=1; on both cores, and on one) and of the pipeline;
  ``exact_pass_frac`` is the share of the pipelined step spent in the exact triplet's extra
  forward-only pass.

Each stage's CPU seconds per step are printed next to its wall seconds: on a shared machine a
stage can wait for a core, which shows as compute time it did not spend on the CPU.

Run from the repository root: ``.venv/bin/python -m benchmarks.pipeline [--quick]``.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import Tensor

from benchmarks.model import MARS_TRAIN_IDS, step_peak_mib
from hadoop.cli import ArgumentParser, positive_int, run
from training.losses import reid_loss
from training.model import NVAN, ModelConfig, VideoReIDNet
from training.pipeline import SCHEDULES, PipelineConfig, PipelineEngine

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class BenchConfig:
    device: str = "cpu"
    stages: int = 2
    microbatches: int = 8
    schedules: tuple[str, ...] = ("1f1b", "gpipe")  # the first gives the headline figures
    ids: int = 8  # NVAN's batch: 8 identities x 4 tracklets
    clips_per_id: int = 4
    seq_len: int = 4
    frame_size: tuple[int, int] = (128, 64)
    steps: int = 4
    single_threads: int = 2  # the single process may use every core the pipeline uses

    @property
    def batch_size(self) -> int:
        return self.ids * self.clips_per_id

    def model_config(self) -> ModelConfig:
        return ModelConfig(
            MARS_TRAIN_IDS, seq_len=self.seq_len, preset="small", frame_size=self.frame_size
        )


def batch(cfg: BenchConfig, seed: int) -> tuple[Tensor, Tensor]:
    gen = torch.Generator().manual_seed(seed)
    clips = torch.randn(cfg.batch_size, cfg.seq_len, 3, *cfg.frame_size, generator=gen)
    return clips, torch.arange(cfg.ids).repeat_interleave(cfg.clips_per_id)


class PassClock:
    """Wall and compute seconds of the pipelined step's two passes on one stage."""

    def __init__(self) -> None:
        self.phase = "train"
        self.active = False  # eval() runs through step(): time only the outer call
        self.reset()

    def reset(self) -> None:
        self.wall = {"eval": 0.0, "train": 0.0}
        self.compute = {"eval": 0.0, "train": 0.0}

    def phase_timer(self, phase: str, fn: F) -> F:
        def timed(*args: Any, **kwargs: Any) -> Any:
            if self.active:
                return fn(*args, **kwargs)
            self.phase, self.active = phase, True
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.wall[phase] += time.perf_counter() - start
                self.active = False

        return timed  # type: ignore[return-value]

    def compute_timer(self, fn: F) -> F:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.compute[self.phase] += time.perf_counter() - start

        return timed  # type: ignore[return-value]


def instrument(engine: PipelineEngine) -> PassClock:
    """Time the schedule's passes and the stage's forward/backward chunks (compute only: the
    schedule waits for received tensors before calling them)."""
    clock = PassClock()
    stage, schedule = engine.pipeline_stage, engine.schedule
    if stage is None or schedule is None:
        raise ValueError("only a multi-stage engine has a pipeline to instrument (--stages >= 2)")
    stage.forward_one_chunk = clock.compute_timer(stage.forward_one_chunk)  # type: ignore[method-assign]
    stage.backward_one_chunk = clock.compute_timer(stage.backward_one_chunk)  # type: ignore[method-assign]
    schedule.eval = clock.phase_timer("eval", schedule.eval)  # type: ignore[method-assign]
    schedule.step = clock.phase_timer("train", schedule.step)  # type: ignore[method-assign]
    return clock


def reference_grads(cfg: BenchConfig, clips: Tensor, labels: Tensor) -> dict[str, Tensor]:
    """Single-process gradient accumulation over the same micro-batches (seed 0 weights)."""
    torch.manual_seed(0)
    model = VideoReIDNet(cfg.model_config()).train()
    outputs = [model(x) for x in clips.chunk(cfg.microbatches)]
    features = torch.cat([f for f, _ in outputs])
    logits = torch.cat([logit for _, logit in outputs])
    reid_loss(features, logits, labels, label_smoothing=NVAN.label_smoothing).total.backward()
    return {n: p.grad for n, p in model.named_parameters() if p.grad is not None}


def pipeline_rank(rank: int, cfg: BenchConfig, schedule: str, store: str, out_dir: str) -> None:
    """One stage of the pipeline: equivalence step, timed steps, then one memory step."""
    os.environ["GLOO_SOCKET_IFNAME"] = "lo"
    torch.set_num_threads(1)
    device = torch.device(cfg.device if cfg.device == "cpu" else f"cuda:{rank}")
    dist.init_process_group(
        "gloo" if device.type == "cpu" else "nccl",
        init_method=f"file://{store}",
        rank=rank,
        world_size=cfg.stages,
    )
    try:
        config = PipelineConfig(
            stages=cfg.stages,
            microbatches=cfg.microbatches,
            schedule=schedule,  # type: ignore[arg-type]
        )
        engine = PipelineEngine.create(cfg.model_config(), config, cfg.batch_size, device)
        clock = instrument(engine)

        def step(seed: int) -> None:
            clips, labels = batch(cfg, seed)
            engine.step(clips if engine.is_first else None, labels if engine.is_last else None)

        clock.reset()
        step(0)
        expected = reference_grads(cfg, *batch(cfg, 0))
        grad_diff = max(
            (p.grad.cpu() - expected[n]).abs().max().item()
            for n, p in engine.module.named_parameters()
            if p.grad is not None
        )
        seconds, cpu_seconds, walls, computes = [], [], [], []
        for seed in range(1, cfg.steps + 1):
            clock.reset()
            dist.barrier()
            start, cpu_start = time.perf_counter(), time.process_time()
            step(seed)
            seconds.append(time.perf_counter() - start)
            cpu_seconds.append(time.process_time() - cpu_start)
            walls.append(dict(clock.wall))
            computes.append(dict(clock.compute))
        peak = step_peak_mib(lambda: step(99), device)
        result = {
            "stage": engine.stage_index,
            "units": [engine.unit_names[0], engine.unit_names[-1]],
            "predicted_balance": engine.plan.balance(),
            "plan": engine.plan.describe(),
            "step_s": statistics.median(seconds),
            "cpu_s": statistics.median(cpu_seconds),
            "train_wall_s": statistics.median(w["train"] for w in walls),
            "train_compute_s": statistics.median(c["train"] for c in computes),
            "eval_wall_s": statistics.median(w["eval"] for w in walls),
            "compute_s": statistics.median(c["train"] + c["eval"] for c in computes),
            "peak_mib": peak,
            "grad_diff": grad_diff,
        }
        Path(out_dir, f"rank{rank}.json").write_text(json.dumps(result))
    finally:
        dist.destroy_process_group()


@dataclass(frozen=True)
class SingleResult:
    step_s: float
    peak_mib: float


def single_process(cfg: BenchConfig, threads: int, microbatches: int) -> SingleResult:
    """The same batch trained by one process: the plain step (one micro-batch), or the same
    micro-batches as the pipeline with its exact triplet (what pipelining adds is the rest)."""
    torch.set_num_threads(threads)
    device = torch.device(cfg.device)
    engine = PipelineEngine.create(
        cfg.model_config(), PipelineConfig(microbatches=microbatches), cfg.batch_size, device
    )
    clips, labels = batch(cfg, 0)

    def step() -> None:
        engine.step(clips, labels)

    step()  # warm-up
    start = time.perf_counter()
    for _ in range(cfg.steps):
        step()
    seconds = (time.perf_counter() - start) / cfg.steps
    return SingleResult(seconds, step_peak_mib(step, device))


def run_pipeline(cfg: BenchConfig, schedule: str) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        mp.spawn(pipeline_rank, args=(cfg, schedule, f"{tmp}/store", tmp), nprocs=cfg.stages)
        return [json.loads(Path(tmp, f"rank{r}.json").read_text()) for r in range(cfg.stages)]


def parse_args(argv: list[str] | None) -> BenchConfig:
    d = BenchConfig()
    parser = ArgumentParser(description="Pipeline-parallel NVAN step on this machine.")
    parser.add_argument(
        "--quick", action="store_true", help="4 ids x 4 clips in 4 micro-batches, 2 timed steps"
    )
    parser.add_argument("--device", default=d.device, help="cpu, or cuda (one GPU per stage)")
    parser.add_argument("--stages", type=positive_int, default=d.stages)
    parser.add_argument("--microbatches", type=positive_int, default=d.microbatches)
    parser.add_argument(
        "--schedules",
        default=",".join(d.schedules),
        help="comma-separated, of gpipe and 1f1b; the first gives the headline figures",
    )
    parser.add_argument("--ids", type=positive_int, default=d.ids, help="identities per batch (P)")
    parser.add_argument("--clips-per-id", type=positive_int, default=d.clips_per_id,
                        help="K of P x K")
    parser.add_argument("--steps", type=positive_int, default=d.steps, help="timed steps")
    args = parser.parse_args(argv)
    unknown = set(args.schedules.split(",")) - set(SCHEDULES)
    if unknown:
        parser.error(f"--schedules: unknown {sorted(unknown)}; choose from {SCHEDULES}")
    cfg = BenchConfig(
        device=args.device,
        stages=args.stages,
        microbatches=args.microbatches,
        schedules=tuple(args.schedules.split(",")),
        ids=args.ids,
        clips_per_id=args.clips_per_id,
        steps=args.steps,
    )
    return replace(cfg, ids=4, microbatches=4, steps=2) if args.quick else cfg


def summarise(
    cfg: BenchConfig, ranks: list[dict[str, Any]], single: SingleResult
) -> dict[str, float]:
    k, m = cfg.stages, cfg.microbatches
    compute = [r["compute_s"] for r in ranks]
    return {
        "stage_balance": max(compute) / statistics.fmean(compute),
        "stage_mem_vs_single": max(r["peak_mib"] for r in ranks) / single.peak_mib,
        "max_abs_grad_diff": max(r["grad_diff"] for r in ranks),
        "predicted_balance": ranks[0]["predicted_balance"],
        "bubble": statistics.fmean(1 - r["train_compute_s"] / r["train_wall_s"] for r in ranks),
        "bubble_theory": (k - 1) / (m + k - 1),
        f"clips_per_s_k{k}": cfg.batch_size / max(r["step_s"] for r in ranks),
        "exact_pass_frac": statistics.fmean(r["eval_wall_s"] / r["step_s"] for r in ranks),
    }


def report(cfg: BenchConfig, schedule: str, ranks: list[dict[str, Any]]) -> None:
    print(f"pipeline K={cfg.stages}, M={cfg.microbatches}, {schedule}, 1 thread per stage:")
    print(ranks[0]["plan"])
    for r in ranks:
        print(
            f"  stage {r['stage']} ({r['units'][0]}..{r['units'][1]}): step {r['step_s']:.3f} s "
            f"({r['cpu_s']:.3f} s on CPU), "
            f"compute {r['compute_s']:.3f} s, training pass {r['train_compute_s']:.3f} of "
            f"{r['train_wall_s']:.3f} s busy, extra forward pass {r['eval_wall_s']:.3f} s, "
            f"peak {r['peak_mib']:.0f} MiB, max |grad diff| {r['grad_diff']:.2e}"
        )


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    spawn = multiprocessing.get_context("spawn")
    singles = []
    for threads, microbatches in ((cfg.single_threads, 1), (1, 1), (1, cfg.microbatches)):
        with ProcessPoolExecutor(1, mp_context=spawn, max_tasks_per_child=1) as pool:
            singles.append(pool.submit(single_process, cfg, threads, microbatches).result())
    single, single_1t, single_mb = singles
    h, w = cfg.frame_size
    print(
        f"small preset, {cfg.ids}x{cfg.clips_per_id} clips x T={cfg.seq_len} at {h}x{w}, "
        f"device {cfg.device}"
    )
    print(
        f"single process, M=1: {single.step_s:.3f} s/step with {cfg.single_threads} threads, "
        f"{single_1t.step_s:.3f} s/step with 1 thread, peak {single.peak_mib:.0f} MiB; "
        f"M={cfg.microbatches} (exact triplet), 1 thread: {single_mb.step_s:.3f} s/step"
    )
    figures: dict[str, float] = {}
    for index, schedule in enumerate(cfg.schedules):
        ranks = run_pipeline(cfg, schedule)
        report(cfg, schedule, ranks)
        summary = summarise(cfg, ranks, single)
        print(
            f"  measured bubble {summary['bubble']:.3f} vs (K-1)/(M+K-1) = "
            f"{summary['bubble_theory']:.3f}; largest stage / single process memory "
            f"{summary['stage_mem_vs_single']:.3f} (target <= {1 / cfg.stages + 0.15:.2f})"
        )
        suffix = "" if index == 0 else f"_{schedule}"
        figures.update({key + suffix: value for key, value in summary.items()})
        if index == 0:
            figures["clips_per_s_k1"] = cfg.batch_size / single.step_s
            figures["clips_per_s_k1_1thread"] = cfg.batch_size / single_1t.step_s
            figures["clips_per_s_k1_1thread_microbatched"] = cfg.batch_size / single_mb.step_s
    fields = " ".join(
        f"{key}={value:.2e}" if "grad_diff" in key else f"{key}={value:.3f}"
        for key, value in figures.items()
    )
    print(
        f"RESULT stages={cfg.stages} {fields} microbatches={cfg.microbatches} "
        f"schedule={cfg.schedules[0]} batch={cfg.batch_size} device={cfg.device}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(run(main))
