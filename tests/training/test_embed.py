"""Embedding a gallery into HDFS: one Parquet row per tracklet under the dataset, committed last,
a no-op when repeated with the same model, a new version beside it for a new model, and the same
features from a two-rank torchrun run (each rank a slice, rank 0 commits)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from hadoop.fs import resolve
from ingest.dataset import open_dataset
from training.embed import COMMIT, FeatureCommit, embed_dataset
from training.features import extract_features
from training.gallery import FeatureGallery
from training.model import load_exported
from training.model.exported import save_exported

from .conftest import tiny_engine

pytestmark = pytest.mark.cluster


def test_embedding_writes_one_row_per_tracklet_once(small_dataset: str, tiny_export: Path) -> None:
    exported = load_exported(tiny_export)
    first = embed_dataset(small_dataset, exported, workers=0, progress=False)
    assert first.written
    assert first.url == f"{small_dataset}/features/{exported.version}/test"
    fs, root = resolve(first.url)
    commit = FeatureCommit.read(fs, f"{root}/{COMMIT}")
    data = open_dataset(small_dataset)
    test = data.select(split="test")
    assert (commit.rows, commit.dim, commit.fingerprint) == (
        len(test), exported.preprocessing.feature_dim, exported.fingerprint)
    assert [s.path.rsplit("/", 1)[-1] for s in fs.list(root)] == sorted(
        [COMMIT, *commit.parts])  # no temporary files left
    table = pq.ParquetFile(io.BytesIO(fs.read_file(f"{root}/{commit.parts[0]}"))).read()
    assert table.column_names == ["tracklet_id", "pid", "camid", "split", "role", "num_frames",
                                  "feature"]
    assert table.column("tracklet_id").to_pylist() == [r.tracklet_id for r in test]
    assert table.column("num_frames").to_pylist() == [r.num_frames for r in test]
    want = extract_features(exported.model, data, test, device=torch.device("cpu"), workers=0,
                            progress=False)
    stored = FeatureGallery(first.url).features_of(np.arange(len(test)))
    np.testing.assert_array_equal(stored, want)

    modified = {s.path: s.modification_time for s in fs.list(root)}
    again = embed_dataset(small_dataset, exported, workers=0, progress=False)
    assert not again.written
    assert again.rows == len(test)
    assert {s.path: s.modification_time for s in fs.list(root)} == modified


def test_a_new_model_writes_a_new_version_beside_the_old(small_dataset: str, tiny_export: Path,
                                                         tmp_path: Path) -> None:
    old = load_exported(tiny_export)
    embed_dataset(small_dataset, old, workers=0, progress=False)
    other = tiny_engine(seed=1).gather_model()
    assert other is not None
    new = save_exported(other, tmp_path / "other.pt", source={"seed": 1})
    assert new.version != old.version
    result = embed_dataset(small_dataset, load_exported(new.path), workers=0, progress=False)
    assert result.written
    fs, root = resolve(f"{small_dataset}/features")
    versions = {s.path.rsplit("/", 1)[-1] for s in fs.list(root)}
    assert {old.version, new.version} <= versions
    assert FeatureGallery(f"{small_dataset}/features/{old.version}/test").commit.fingerprint == \
        old.fingerprint


@pytest.mark.slow
def test_torchrun_ranks_embed_slices_and_rank_zero_commits(small_dataset: str, tmp_path: Path
                                                           ) -> None:
    engine = tiny_engine(seed=2)
    model = engine.gather_model()
    assert model is not None
    exported = save_exported(model, tmp_path / "two.pt", source={"seed": 2})
    command = [str(Path(sys.executable).parent / "torchrun"), "--standalone",
               "--nproc-per-node", "2", "-m", "training.embed", "--data", small_dataset,
               "--model", str(exported.path), "--workers", "0", "--no-progress",
               "--device", "cpu"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "embedded" in done.stdout
    gallery = FeatureGallery(f"{small_dataset}/features/{exported.version}/test")
    assert gallery.commit.parts == ["part-00000-of-00002.parquet", "part-00001-of-00002.parquet"]
    data = open_dataset(small_dataset)
    test = data.select(split="test")
    assert gallery.meta().tracklet_ids == [r.tracklet_id for r in test]
    want = extract_features(model, data, test, device=torch.device("cpu"), workers=0,
                            progress=False)
    np.testing.assert_allclose(gallery.features_of(np.arange(len(test))), want, atol=1e-5)
