"""CPU arithmetic settings for every process that runs the model (training and inference).

Subnormal ("denormal") float32 values are handled by x86 cores in microcode, many times slower
than normal ones. As a model trains, more and more activations, gradients and Adam moments
fall into that range, so a CPU run gets slower step by step for no gain in accuracy (float32
training never needs values below 1.2e-38). Flushing them to zero (the FTZ/DAZ flags) keeps the
step time flat (the README quotes step times with and without).
"""

from __future__ import annotations

import os

import torch


def flush_denormals() -> bool:
    """Treat subnormal float32 inputs and results as zero in this process (all its threads);
    False where the CPU cannot (the setting is then left as it was)."""
    return bool(torch.set_flush_denormal(True))


def share_cores(ranks_here: int) -> None:
    """Give each of this node's ``ranks_here`` ranks its share of the cores, unless
    ``OMP_NUM_THREADS`` already says: oversubscribed OpenMP threads spin-wait and can turn a
    0.1 s step into seconds."""
    if "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(max(1, len(os.sched_getaffinity(0)) // ranks_here))
