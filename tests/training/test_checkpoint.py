"""Loading a checkpoint's stage files into one model goes through the pipeline's merge and its
checks (one split, every stage once); the stage files are served by a small in-memory fake of
the HDFS store, which is all ``CheckpointStore.load_model`` reads."""

from __future__ import annotations

import io
from dataclasses import asdict
from typing import Any

import pytest
import torch

from training.checkpoint import CheckpointError, CheckpointInfo, CheckpointStore
from training.model import ModelConfig, VideoReIDNet

SMALL = ModelConfig(num_classes=5, seq_len=4, preset="small", frame_size=(64, 32))


class MemoryFiles:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def read_file(self, path: str) -> bytes:
        return self.files[path]


def stage_state(weights: dict[str, torch.Tensor], names: list[str], stage: int,
                boundaries: list[int]) -> dict[str, Any]:
    """A stage file's content as the engine saves it (optimiser state left empty)."""
    return {"model": {n: weights[n] for n in names}, "stage_index": stage,
            "boundaries": boundaries, "optimizer": {"state": {}, "param_groups": []}}


def store_with(states: list[dict[str, Any]]) -> tuple[CheckpointStore, CheckpointInfo]:
    store = CheckpointStore("hdfs://127.0.0.1:9/ckpt")  # never contacted: files in memory
    memory = MemoryFiles()
    files = []
    for index, state in enumerate(states):
        buffer = io.BytesIO()
        torch.save(state, buffer)
        files.append(f"step-000010/stage-{index}-of-{len(states)}.pt")
        memory.files[f"/ckpt/{files[-1]}"] = buffer.getvalue()
    store.fs = memory  # type: ignore[assignment]
    config = {**asdict(SMALL), "pretrained": None}
    info = CheckpointInfo(step=10, epoch=1, stages=len(states), boundaries=[], files=files,
                          model_config=config, metrics=None)
    return store, info


def test_stage_files_of_one_split_merge_into_the_saved_model() -> None:
    torch.manual_seed(0)
    weights = VideoReIDNet(SMALL).state_dict()
    names = list(weights)
    half = len(names) // 2
    store, info = store_with([stage_state(weights, names[:half], 0, [0, 3, 9]),
                              stage_state(weights, names[half:], 1, [0, 3, 9])])
    loaded = store.load_model(info).state_dict()
    assert all(torch.equal(loaded[n], weights[n]) for n in names)


def test_stage_files_of_different_splits_are_refused() -> None:
    """Two stage files that together hold every weight, but were saved with different splits
    (e.g. a stage rewritten by a resumed run on another split): a bare union of their entries
    would load a model mixed from two runs without a word."""
    weights = VideoReIDNet(SMALL).state_dict()
    names = list(weights)
    third = len(names) // 3
    store, info = store_with([stage_state(weights, names[:2 * third], 0, [0, 4, 9]),
                              stage_state(weights, names[third:], 1, [0, 3, 9])])
    with pytest.raises(CheckpointError, match="different splits"):
        store.load_model(info)


def test_a_stage_saved_twice_is_refused() -> None:
    weights = VideoReIDNet(SMALL).state_dict()
    names = list(weights)
    store, info = store_with([stage_state(weights, names, 0, [0, 3, 9]),
                              stage_state(weights, names, 0, [0, 3, 9])])
    with pytest.raises(CheckpointError, match=r"stages \[0, 1\] once each"):
        store.load_model(info)
