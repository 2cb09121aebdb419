"""CPU arithmetic: subnormal floats are flushed to zero in a process that runs the model."""

from __future__ import annotations

import subprocess
import sys


def test_flush_denormals_makes_subnormal_results_zero() -> None:
    # in a child process: the setting is process-wide and would leak into other tests
    script = (
        "import torch\n"
        "from training.cpu import flush_denormals\n"
        "tiny = torch.tensor([1e-39], dtype=torch.float32)\n"
        "assert tiny.item() != 0.0  # subnormal, kept by default\n"
        "assert flush_denormals()\n"
        "assert (tiny * 1.0).item() == 0.0\n"
        "assert torch.tensor([1e-30]).mul(1.0).item() != 0.0  # normal floats are untouched\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
