"""A small trained checkpoint in the session cluster, and its export, for the export, embed and
search tests: a K = 1 pipeline engine takes a few steps on random clips in this process (no
torchrun: the tests are about what comes after training), then saves and commits its stage
file the way ``training.train`` does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from training.checkpoint import CheckpointStore
from training.model import ModelConfig
from training.pipeline import PipelineConfig, PipelineEngine


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One intra-op thread: on a shared 2-core machine, OpenMP threads waiting on each other
    behind other processes turn a 0.1 s step into seconds."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


TINY = ModelConfig(num_classes=8, seq_len=4, preset="small", frame_size=(64, 32))


def tiny_engine(seed: int = 0, steps: int = 2) -> PipelineEngine:
    engine = PipelineEngine.create(TINY, PipelineConfig(), batch_size=4,
                                   device=torch.device("cpu"), seed=seed)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(steps):  # moves the BatchNorm statistics away from their initial values
        clips = torch.randn(4, TINY.seq_len, 3, *TINY.frame_size, generator=generator)
        engine.step(clips, torch.tensor([0, 1, 0, 1]))
    return engine


def commit_checkpoint(url: str, engine: PipelineEngine) -> None:
    store = CheckpointStore(url)
    store.save_stage(engine.steps, 0, 1, engine.state_dict())
    store.commit(engine.steps, 1, 1, TINY, boundaries=list(engine.plan.boundaries))


@pytest.fixture(scope="session")
def tiny_checkpoint(small_dataset: str) -> tuple[str, PipelineEngine]:
    """(checkpoint URL, the live engine it was saved from)."""
    url = f"{small_dataset}-runs/tiny/checkpoints"
    engine = tiny_engine()
    commit_checkpoint(url, engine)
    return url, engine


@pytest.fixture(scope="session")
def tiny_export(tiny_checkpoint: tuple[str, PipelineEngine],
                tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checkpoint exported to a local model file."""
    from training.export import export_checkpoint

    out = tmp_path_factory.mktemp("export") / "tiny.pt"
    export_checkpoint(tiny_checkpoint[0], out, portable=None)
    return out
