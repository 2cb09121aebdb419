"""The ``best.json`` pointer beside ``latest.json``: written whole, read back, and its step kept
when older checkpoints are pruned."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from training.checkpoint import BEST, LATEST, BestCheckpoint, CheckpointError, CheckpointStore
from training.model import ModelConfig, VideoReIDNet

SMALL = ModelConfig(num_classes=4, seq_len=2, preset="small", frame_size=(64, 32))


def _save(store: CheckpointStore, step: int, model: VideoReIDNet) -> None:
    store.save_stage(step, 0, 1, {"model": model.state_dict(), "stage_index": 0,
                                  "boundaries": [0, 9],
                                  "optimizer": {"state": {}, "param_groups": []}})
    store.commit(step, step // 10, 1, SMALL, boundaries=[0, 9])


def test_best_pointer_survives_pruning_and_reads_back(tmp_path: Path) -> None:
    store = CheckpointStore(str(tmp_path / "ckpt"))
    assert store.best() is None
    models = {step: VideoReIDNet(SMALL) for step in (10, 20, 30)}
    scores = {"standard": {"R1": 0.75, "mAP": 0.5}, "official": {"R1": 0.7, "mAP": 0.4}}
    for step, model in models.items():
        _save(store, step, model)
        if step == 10:
            store.mark_best(BestCheckpoint(store.require_latest(), scores, "standard mAP"))
        store.prune(keep=1)
    assert sorted(os.listdir(tmp_path / "ckpt")) == [BEST, LATEST, "step-000010", "step-000030"]
    best = store.require_best()
    assert (best.info.step, best.info.epoch, best.scores, best.chosen_by) == (
        10, 1, scores, "standard mAP")
    loaded = store.load_model(best.info)  # the best step's weights, not the newest ones
    assert all(p.equal(q) for p, q in zip(loaded.parameters(), models[10].parameters(),
                                           strict=True))


def test_missing_or_broken_best_pointer_names_the_directory(tmp_path: Path) -> None:
    store = CheckpointStore(str(tmp_path))
    with pytest.raises(CheckpointError, match=f"no best checkpoint at {tmp_path}.*--eval-every"):
        store.require_best()
    (tmp_path / BEST).write_text('{"scores": {}}')
    with pytest.raises(CheckpointError, match=f"{tmp_path}/{BEST} is not a best-checkpoint"):
        store.best()
