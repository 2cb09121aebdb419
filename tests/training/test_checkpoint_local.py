"""A checkpoint directory without ``hdfs://`` is a local directory (issue: it used to be created
in HDFS), committed the same way: stage files first, then the pointer file."""

from __future__ import annotations

import os
from pathlib import Path

from training.checkpoint import LATEST, CheckpointStore
from training.model import ModelConfig, VideoReIDNet

SMALL = ModelConfig(num_classes=4, seq_len=2, preset="small", frame_size=(64, 32))


def test_a_local_checkpoint_path_is_written_to_local_disk(tmp_path: Path) -> None:
    root = tmp_path / "scratch" / "ckpt"
    store = CheckpointStore(str(root))
    assert store.where == f"local {root}"
    model = VideoReIDNet(SMALL)
    for step in (10, 20):
        store.save_stage(step, 0, 1, {"model": model.state_dict(), "stage_index": 0,
                                      "boundaries": [0, 9],
                                      "optimizer": {"state": {}, "param_groups": []}})
        store.commit(step, 0, 1, SMALL, boundaries=[], metrics_csv=b"step\n")
    store.prune(keep=1)
    assert sorted(os.listdir(root)) == [LATEST, "step-000020"]
    assert sorted(os.listdir(root / "step-000020")) == ["metrics.csv", "stage-0-of-1.pt"]
    assert store.require_latest().step == 20
    assert store.metrics_csv(store.require_latest()) == b"step\n"
    loaded = store.load_model()
    assert all(p.equal(q) for p, q in zip(loaded.parameters(), model.parameters(), strict=True))
