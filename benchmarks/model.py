"""The NVAN network's cost: parameters, forward+backward time and peak memory, fused attention.

Why: the paper fit only 2-3 clips per GPU because every non-local block stored a (THW x THW)
affinity matrix (4096 x 4096 per clip at layer2 with T=8). This measures what the fused
attention saves (``nl_mem_ratio`` = plain / fused peak memory of the five non-local blocks at
layer2/layer3 shapes; ``attn_mem_ratio`` the same for one layer2 attention alone), what one
forward+backward of the full ResNet-50-NL costs per clip, and whether the "small" preset keeps
a CPU training step of 32 clips x T=4 at 128x64 near 1-2 s on one core. Each measurement runs
in a fresh process; peak memory is that of one forward+backward above what was in use before
it (see ``step_peak_mib``).

Run from the repository root: ``.venv/bin/python -m benchmarks.model [--quick]``.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import torch
from torch import Tensor

from hadoop.cli import ArgumentParser, positive_int, run
from training.losses import reid_loss
from training.model import (
    ModelConfig,
    NonLocalBlock,
    VideoReIDNet,
    fused_attention,
    plain_attention,
)

MARS_TRAIN_IDS = 625
R = TypeVar("R")
MIB = 2**20
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters (malloc.h)


@dataclass(frozen=True)
class BenchConfig:
    device: str = "cpu"
    threads: int = 2
    # Full model step: P ids x K clips, T frames (issue 9: T=4, batch 2x2).
    ids: int = 2
    clips_per_id: int = 2
    seq_len: int = 4
    frame_size: tuple[int, int] = (256, 128)
    steps: int = 2
    # Non-local blocks alone at the full model's layer2/layer3 shapes (issue 9: 8 clips x T=8).
    nl_clips: int = 8
    nl_seq_len: int = 8
    # Small preset on one core: 8 ids x 4 clips x T=4 at 128x64.
    small_ids: int = 8
    small_frame_size: tuple[int, int] = (128, 64)
    small_steps: int = 3


@dataclass(frozen=True)
class Measurement:
    seconds: float  # per step (or per forward+backward)
    peak_mib: float  # above the memory in use before the step


@dataclass(frozen=True)
class FullModelResult:
    step: Measurement
    params: int
    nonlocal_blocks: int


def measure(step: Callable[[], None], steps: int, device: torch.device) -> Measurement:
    """Seconds per step over ``steps`` steps, then the peak memory of one more step.

    One untimed step first pages in the kernels' code and lets algorithms be picked; neither
    should count as the step's time or memory.
    """
    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    _synchronize(device)
    seconds = (time.perf_counter() - start) / steps
    return Measurement(seconds, step_peak_mib(step, device))


def step_peak_mib(step: Callable[[], None], device: torch.device) -> float:
    """Peak memory of one step above what was in use before it: allocated bytes on CUDA; on the
    CPU, resident memory (Linux's resettable VmHWM) with glibc set to hand every freed tensor
    back to the OS, since by default it keeps freed blocks resident and VmHWM would then miss
    a step that reuses them."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        start = torch.cuda.memory_allocated(device)
        step()
        torch.cuda.synchronize(device)
        return (torch.cuda.max_memory_allocated(device) - start) / MIB
    libc = ctypes.CDLL("libc.so.6")
    libc.mallopt(M_MMAP_THRESHOLD, 128 * 1024)
    libc.mallopt(M_TRIM_THRESHOLD, 128 * 1024)
    libc.malloc_trim(0)
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := current RSS
    start = _proc_status_kib("VmRSS")
    step()
    return (_proc_status_kib("VmHWM") - start) / 1024


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _proc_status_kib(field_name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field_name} line")


def full_model_step(cfg: BenchConfig) -> FullModelResult:
    """Forward + backward (no optimiser step) of the full ResNet-50-NL on one P x K batch."""
    torch.set_num_threads(cfg.threads)
    device = torch.device(cfg.device)
    model_cfg = ModelConfig(MARS_TRAIN_IDS, seq_len=cfg.seq_len, frame_size=cfg.frame_size)
    model = VideoReIDNet(model_cfg).to(device).train()
    clips = model.example_clips(cfg.ids * cfg.clips_per_id).normal_().to(device)
    labels = torch.arange(cfg.ids, device=device).repeat_interleave(cfg.clips_per_id)

    def step() -> None:
        model.zero_grad(set_to_none=True)
        features, logits = model(clips)
        reid_loss(features, logits, labels).total.backward()

    return FullModelResult(
        measure(step, cfg.steps, device),
        params=sum(p.numel() for p in model.parameters()),
        nonlocal_blocks=len(model.nonlocal_blocks),
    )


def nonlocal_blocks_step(cfg: BenchConfig, fused: bool) -> Measurement:
    """Forward + backward of NVAN's five non-local blocks alone, fused or plain attention."""
    torch.set_num_threads(cfg.threads)
    device = torch.device(cfg.device)
    torch.manual_seed(0)
    height, width = cfg.frame_size
    layer2 = [NonLocalBlock(512, fused=fused).to(device) for _ in range(2)]
    layer3 = [NonLocalBlock(1024, fused=fused).to(device) for _ in range(3)]
    shape2 = (cfg.nl_clips, 512, cfg.nl_seq_len, height // 8, width // 8)
    shape3 = (cfg.nl_clips, 1024, cfg.nl_seq_len, height // 16, width // 16)
    x2 = torch.randn(shape2, device=device, requires_grad=True)
    x3 = torch.randn(shape3, device=device, requires_grad=True)

    def chain(blocks: list[NonLocalBlock], x: Tensor) -> Tensor:
        for block in blocks:
            x = block(x)
        return x

    def step() -> None:
        loss = chain(layer2, x2).square().mean() + chain(layer3, x3).square().mean()
        loss.backward()

    return measure(step, 1, device)


def layer2_attention_step(cfg: BenchConfig, fused: bool) -> Measurement:
    """Forward + backward of one layer2 attention (4096 positions per clip at T=8) alone."""
    torch.set_num_threads(cfg.threads)
    device = torch.device(cfg.device)
    height, width = cfg.frame_size
    positions = cfg.nl_seq_len * (height // 8) * (width // 8)
    q, k, v = (
        torch.randn(cfg.nl_clips, 1, positions, 256, device=device, requires_grad=True)
        for _ in range(3)
    )
    attend = fused_attention if fused else plain_attention

    def step() -> None:
        attend(q, k, v).square().mean().backward()

    return measure(step, 1, device)


def small_model_step(cfg: BenchConfig) -> Measurement:
    """The CPU demo's training step on ONE core: small preset, 8 ids x 4 clips x T=4, 128x64."""
    torch.set_num_threads(1)
    device = torch.device(cfg.device)
    model_cfg = ModelConfig(
        MARS_TRAIN_IDS, seq_len=4, preset="small", frame_size=cfg.small_frame_size
    )
    model = VideoReIDNet(model_cfg).to(device).train()
    clips = model.example_clips(cfg.small_ids * 4).normal_().to(device)
    labels = torch.arange(cfg.small_ids, device=device).repeat_interleave(4)

    def step() -> None:
        model.zero_grad(set_to_none=True)
        features, logits = model(clips)
        reid_loss(features, logits, labels).total.backward()

    return measure(step, cfg.small_steps, device)


def run_isolated(pool: ProcessPoolExecutor, fn: Callable[..., R], *args: object) -> R:
    """Run one measurement in its own fresh process, so its peak memory is its own."""
    return pool.submit(fn, *args).result()


def parse_args(argv: list[str] | None) -> BenchConfig:
    defaults = BenchConfig()
    parser = ArgumentParser(description="Cost of the NVAN network and its attention.")
    parser.add_argument(
        "--quick", action="store_true", help="one timed step each, NL blocks at 2 clips"
    )
    parser.add_argument("--device", default=defaults.device, help="cpu or cuda[:n]")
    parser.add_argument("--threads", type=positive_int, default=defaults.threads,
                        help="CPU threads")
    parser.add_argument("--steps", type=positive_int, default=defaults.steps,
                        help="timed full steps")
    parser.add_argument("--nl-clips", type=positive_int, default=defaults.nl_clips)
    args = parser.parse_args(argv)
    cfg = BenchConfig(
        device=args.device, threads=args.threads, steps=args.steps, nl_clips=args.nl_clips
    )
    return replace(cfg, steps=1, nl_clips=2, small_steps=1) if args.quick else cfg


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn, max_tasks_per_child=1) as pool:
        full = run_isolated(pool, full_model_step, cfg)
        fused = run_isolated(pool, nonlocal_blocks_step, cfg, True)
        plain = run_isolated(pool, nonlocal_blocks_step, cfg, False)
        attn_fused = run_isolated(pool, layer2_attention_step, cfg, True)
        attn_plain = run_isolated(pool, layer2_attention_step, cfg, False)
        small = run_isolated(pool, small_model_step, cfg)
    clips = cfg.ids * cfg.clips_per_id
    per_clip = full.step.seconds / clips
    (height, width), (small_h, small_w) = cfg.frame_size, cfg.small_frame_size
    print(f"device {cfg.device}, {cfg.threads} threads (small preset: 1 thread)")
    print(
        f"full ResNet-50-NL: {full.params / 1e6:.3f} M parameters, "
        f"{full.nonlocal_blocks} non-local blocks"
    )
    print(
        f"  forward+backward, {cfg.ids}x{cfg.clips_per_id} clips x T={cfg.seq_len} at "
        f"{height}x{width}: {full.step.seconds:.2f} s/step, {per_clip:.2f} s/clip, "
        f"peak {full.step.peak_mib:.0f} MiB"
    )
    print(f"non-local blocks alone, {cfg.nl_clips} clips x T={cfg.nl_seq_len}:")
    for name, m in (("fused", fused), ("plain", plain)):
        print(f"  {name}: {m.seconds:.2f} s forward+backward, peak {m.peak_mib:.0f} MiB")
    print(f"one layer2 attention alone (q, k, v of {cfg.nl_clips} clips x 4096 x 256):")
    for name, m in (("fused", attn_fused), ("plain", attn_plain)):
        print(f"  {name}: {m.seconds:.2f} s forward+backward, peak {m.peak_mib:.0f} MiB")
    print(
        f"small preset, {cfg.small_ids * 4} clips x T=4 at {small_h}x{small_w}, 1 thread: "
        f"{small.seconds:.2f} s/step, peak {small.peak_mib:.0f} MiB"
    )
    print(
        f"RESULT params_m={full.params / 1e6:.3f} nonlocal_blocks={full.nonlocal_blocks} "
        f"full_s_per_clip={per_clip:.3f} full_step_s={full.step.seconds:.3f} "
        f"full_peak_mib={full.step.peak_mib:.0f} "
        f"nl_mem_ratio={plain.peak_mib / fused.peak_mib:.2f} "
        f"nl_plain_peak_mib={plain.peak_mib:.0f} nl_fused_peak_mib={fused.peak_mib:.0f} "
        f"nl_plain_s={plain.seconds:.3f} nl_fused_s={fused.seconds:.3f} nl_clips={cfg.nl_clips} "
        f"attn_mem_ratio={attn_plain.peak_mib / attn_fused.peak_mib:.2f} "
        f"small_step_s={small.seconds:.3f} device={cfg.device} threads={cfg.threads}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(run(main))
