"""GPU-ready flags on a machine without CUDA: what cannot run here is refused when the flags are
parsed, in one line naming the flag, exit 2, before any dataset or process group is touched.
(bf16 autocast itself trains on the CPU: tests/training/test_pipeline_distributed.py.)"""

from __future__ import annotations

import pytest
import torch
import torch._inductor.config

from hadoop.cli import run
from training.train import main

pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusals on CPU")
BASE = ["--data", "hdfs://127.0.0.1:9/reid/none"]  # never read


def refused(capsys: pytest.CaptureFixture[str], *flags: str) -> str:
    assert run(main, [*BASE, *flags]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("error: "), err
    return err


def test_channels_last_without_cuda_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert "--channels-last needs a CUDA device (this run is on cpu)" in refused(
        capsys, "--channels-last")


def test_fp16_is_refused_and_bf16_suggested(capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(capsys, "--amp", "fp16")
    assert "--amp fp16 needs loss scaling across every pipeline stage" in err
    assert "use --amp bf16" in err


def test_an_unknown_amp_type_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert "--amp: invalid choice: 'fp8'" in refused(capsys, "--amp", "fp8")


def test_compile_is_refused_where_torch_compile_cannot_run(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """No C++ compiler for inductor's CPU kernels (and no cached kernel to fall back on)."""
    monkeypatch.setattr(torch._inductor.config.cpp, "cxx", (None, "/nonexistent/c++"))
    monkeypatch.setattr(torch._inductor.config, "force_disable_caches", True)
    assert "--compile: torch.compile cannot run on cpu here:" in refused(capsys, "--compile")
