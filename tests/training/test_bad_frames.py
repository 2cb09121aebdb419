"""Bad frames: the one frame check at validation, ingest and reading, and a loader that never
ends a run on a bad frame.

Four kinds of broken frame, each as real data breaks: NUL padding after the end marker, a zeroed
second half (markers intact, the entropy-coded data destroyed), a truncated file, bytes that
are not a JPEG. Validation (``--files read``) and the ingest refuse the same frames with the
same reason; whatever the ingest stores reads back; a frame damaged in a shard after the ingest
is replaced by the loader, counted, named, and training runs to its end.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from pyspark import SparkContext

from hadoop.cluster import LocalCluster
from hadoop.fs import resolve
from ingest import mars
from ingest.dataset import ShardedDataset, TrackletRecord, open_dataset
from ingest.dataset_manifest import Manifest, read_manifest
from ingest.shards import Quarantined, TrackletToPack, group_of, index_table, pack_group
from ingest.spark_ingest import MIB, IngestConfig, run_ingest
from training.data.clips import TrainClips
from training.data.rrs import rrs_indices
from training.data.sampler import PKSampler
from training.data.transforms import AugmentConfig
from training.features import extract_features, usable_rows
from training.model import ModelConfig, VideoReIDNet
from training.train import TrainConfig, TrainingResult, train

AUGMENT = AugmentConfig(height=64, width=32, pad=2)
TINY = ModelConfig(num_classes=4, seq_len=2, preset="small", frame_size=(64, 32))


def nul_padded(data: bytes) -> bytes:
    return data + bytes(64)


def zeroed_middle(data: bytes) -> bytes:
    """Zeros from the middle up to the end marker, which stays: a zero run of only a few
    hundred bytes can still be valid entropy-coded data (the frame decodes, garbled), which
    no decoder can tell; this much never decodes."""
    middle = len(data) // 2
    return data[:middle] + bytes(len(data) - middle - 2) + data[-2:]


def truncated(data: bytes) -> bytes:
    return data[:len(data) // 2]


def not_a_jpeg(data: bytes) -> bytes:
    return b"this is not a JPEG"


DAMAGE: dict[str, tuple[Callable[[bytes], bytes], str]] = {  # kind -> damage, expected reason
    "nul-padded": (nul_padded, "64 NUL bytes after the JPEG end marker"),
    "zeroed-middle": (zeroed_middle, "does not decode: Corrupt JPEG data"),
    "truncated": (truncated, "truncated JPEG (no EOI end marker)"),
    "not-a-jpeg": (not_a_jpeg, "not a JPEG (no SOI marker)"),
}


def damaged_tree(small_mars: Path, dest: Path, kinds: list[str]) -> dict[str, str]:
    """A copy of ``small_mars`` with the 2nd frame of one training tracklet per kind damaged
    (each tracklet keeps its other frames); returns kind -> the frame's path in the tree."""
    shutil.copytree(small_mars, dest)
    tracklets = [t for t in mars.read_mars(dest, files="none").tracklets
                 if t.split == "train" and len(t.frames) >= 3]
    damaged = {}
    for kind, tracklet in zip(kinds, tracklets, strict=False):
        frame = dest / tracklet.frames[1]
        frame.write_bytes(DAMAGE[kind][0](frame.read_bytes()))
        damaged[kind] = tracklet.frames[1]
    assert len(damaged) == len(kinds)
    return damaged


# --- without a cluster: the shard layout in memory ------------------------------------------


class MemoryShards:
    """Shard files in memory, read by range as the dataset reads HDFS."""

    def __init__(self) -> None:
        self.files: dict[str, bytearray] = {}

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        return bytes(self.files[path][offset:offset + length])


def pack_locally(tree: Path) -> tuple[ShardedDataset, MemoryShards, list[Quarantined]]:
    """The ingest's packing (``pack_group``, as each Spark task runs it) of ``tree`` into
    memory, opened as a dataset."""
    groups: dict[str, list[TrackletToPack]] = {}
    for t in mars.read_mars(tree, files="none").tracklets:
        group = group_of(t.pid, t.camid, 4)
        groups.setdefault(group, []).append(
            TrackletToPack(t.tracklet_id, t.pid, t.camid, t.split, t.role, group, t.frames))
    store, rows, quarantine = MemoryShards(), [], []
    for group, tracklets in groups.items():
        frames = ((t, [(tree / f).read_bytes() for f in t.frames]) for t in tracklets)
        for shard in pack_group(group, 0, frames, MIB, quarantine):
            store.files[f"/mem/{shard.path}"] = bytearray(b"".join(shard.chunks))
            rows += shard.rows
    data = ShardedDataset("mem:/mem", Manifest("mem", []), index_table(rows), store, "/mem")
    return data, store, quarantine


def damage_in_shard(data: ShardedDataset, store: MemoryShards, record: TrackletRecord,
                    frame: int) -> None:
    """Zero the middle of one stored frame (same length, markers kept): the shard changed
    after the ingest checked it."""
    start = record.offset + int(record.frame_offsets[frame])
    length = int(record.frame_lengths[frame])
    shard = store.files[f"{data.root}/{record.shard}"]
    shard[start:start + length] = zeroed_middle(bytes(shard[start:start + length]))


def test_validation_and_ingest_refuse_each_kind_with_one_reason(small_mars: Path,
                                                                tmp_path: Path) -> None:
    tree = tmp_path / "mars"
    damaged = damaged_tree(small_mars, tree, list(DAMAGE))
    _, _, quarantine = pack_locally(tree)
    refused = {q.frame: q.reason for q in quarantine if q.frame}
    assert set(refused) == set(damaged.values())
    validated = mars.read_mars(tree, strict=False, files="read")
    problems = [p for p in validated.problems if p.kind == mars.ProblemKind.NOT_JPEG]
    assert len(problems) == len(DAMAGE)
    for kind, frame in damaged.items():
        assert refused[frame].startswith(DAMAGE[kind][1]), kind
        [problem] = [p for p in problems if frame.rsplit("/", 1)[-1] in p.reason]
        assert problem.reason.endswith(refused[frame])


def test_nul_padded_frame_is_quarantined_and_every_stored_frame_reads_back(
        small_mars: Path, tmp_path: Path) -> None:
    tree = tmp_path / "mars"
    [padded] = damaged_tree(small_mars, tree, ["nul-padded"]).values()
    data, _, quarantine = pack_locally(tree)
    assert [(q.frame, q.reason) for q in quarantine] == [
        (padded, "64 NUL bytes after the JPEG end marker")]
    for record in data.records:
        assert all(blob.endswith(b"\xff\xd9") for blob in data.read_frames(record))


def test_loader_replaces_a_frame_damaged_after_ingest_and_names_it(small_mars: Path) -> None:
    data, store, _ = pack_locally(small_mars)
    records = data.select(split="train")
    index, record = next((i, r) for i, r in enumerate(records) if r.num_frames >= 2)
    picks = sorted(set(rrs_indices(record.num_frames, 4, np.random.default_rng((0, 0, index)))))
    damage_in_shard(data, store, record, picks[-1])  # the last frame this clip uses
    clips = TrainClips(data, records, seq_len=4, augment=AUGMENT, seed=0)
    [sample] = clips.__getitems__([(0, index)])
    [bad] = sample.bad_frames
    assert (bad.tracklet_id, bad.frame, bad.shard) == (record.tracklet_id, picks[-1],
                                                       data.shard_path(record))
    assert bad.reason.startswith("does not decode")
    assert bad.remedy == f"replaced by frame {picks[-2]}"
    assert f"frame {picks[-1]} of tracklet {record.tracklet_id} in /mem/" in str(bad)
    assert sample.clip.shape == (4, 3, 64, 32)
    assert torch.isfinite(sample.clip).all()
    assert sample.label == clips.class_of_pid[record.pid]


def test_clip_without_a_good_frame_comes_from_the_same_identity(small_mars: Path) -> None:
    data, store, _ = pack_locally(small_mars)
    records = data.select(split="train")
    pids = [r.pid for r in records]
    index, record = next((i, r) for i, r in enumerate(records) if pids.count(r.pid) >= 2)
    for frame in range(record.num_frames):
        damage_in_shard(data, store, record, frame)
    clips = TrainClips(data, records, seq_len=4, augment=AUGMENT, seed=0)
    [sample] = clips.__getitems__([(0, index)])
    assert sample.bad_frames
    assert {b.tracklet_id for b in sample.bad_frames} == {record.tracklet_id}
    [remedy] = {b.remedy for b in sample.bad_frames}
    stand_in = remedy.removeprefix("clip replaced by one of tracklet ")
    assert stand_in != record.tracklet_id
    assert next(r for r in records if r.tracklet_id == stand_in).pid == record.pid
    assert sample.label == clips.class_of_pid[record.pid]


# --- on the cluster: spark ingest, HDFS shards, training to the end ------------------------


def train_small(url: str, out: Path, epochs: int = 3) -> TrainingResult:
    """A short single-process run (small model) with one DataLoader worker, as train.py runs
    it under torchrun."""
    return train(TrainConfig(data=url, checkpoint=f"{url}-runs/{out.name}", out=out,
                             preset="small", seq_len=4, height=64, width=32, ids_per_batch=2,
                             tracklets_per_id=2, epochs=epochs, warmup_epochs=1, workers=1,
                             progress=False))


def test_evaluation_leaves_bad_frames_and_unusable_tracklets_out_and_names_them(
        small_mars: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Feature extraction for evaluation, embedding and search goes on past bad frames: one
    damaged frame is left out of its tracklet's mean, a tracklet with no usable frame gets a
    NaN row that ``usable_rows`` drops, and each frame is logged by name."""
    data, store, _ = pack_locally(small_mars)
    test = data.select(split="test")
    one, every = [r for r in test if r.num_frames >= 3][:2]
    model = VideoReIDNet(TINY).eval()
    clean = extract_features(model, data, test, device=torch.device("cpu"), workers=0,
                             progress=False)
    damage_in_shard(data, store, one, 1)
    for frame in range(every.num_frames):
        damage_in_shard(data, store, every, frame)
    with caplog.at_level(logging.WARNING, logger="training.features"):
        features = extract_features(model, data, test, device=torch.device("cpu"), workers=0,
                                    progress=False)
    rows = {r.tracklet_id: i for i, r in enumerate(test)}
    assert np.isnan(features[rows[every.tracklet_id]]).all()
    others = [i for r, i in rows.items() if r not in (one.tracklet_id, every.tracklet_id)]
    assert np.isfinite(features[others]).all()
    np.testing.assert_allclose(features[others], clean[others], rtol=1e-5, atol=1e-6)
    assert np.isfinite(features[rows[one.tracklet_id]]).all()
    assert not np.allclose(features[rows[one.tracklet_id]], clean[rows[one.tracklet_id]])
    assert f"frame 1 of tracklet {one.tracklet_id} in /mem/" in caplog.text
    assert "left out of the tracklet's feature" in caplog.text
    assert "CRC check" in caplog.text
    assert f"{every.num_frames + 1 + 2} bad frame(s) left out, 1 tracklet(s) with no usable " \
        "frame" in caplog.text
    kept, records, left_out = usable_rows(features, test, "evaluation")
    assert left_out == [every.tracklet_id]
    assert f"evaluation leaves out 1 tracklet(s) with no usable frame: {every.tracklet_id}" \
        in caplog.text
    assert len(kept) == len(records) == len(test) - 1
    assert np.isfinite(kept).all()


@pytest.mark.cluster
@pytest.mark.slow
def test_bad_frame_tree_ingests_with_each_frame_named_and_trains_to_the_end(
        cluster: LocalCluster, small_mars: Path, sc: SparkContext, tmp_path: Path) -> None:
    tree = tmp_path / "mars"
    damaged = damaged_tree(small_mars, tree, list(DAMAGE))
    url = f"{cluster.namenode_url}/reid/bad-frames"
    result = run_ingest(sc, IngestConfig(source=str(tree), dest=url, shard_size=MIB,
                                         block_size=MIB))
    assert result.counts["quarantined_frames"] == len(DAMAGE)
    fs, root = resolve(url)
    manifest = read_manifest(fs, root)
    assert manifest is not None
    quarantined = {q["frame"]: q["reason"] for q in manifest.generations[0].quarantine}
    for kind, frame in damaged.items():
        assert quarantined[frame].startswith(DAMAGE[kind][1]), kind
    data = open_dataset(url)
    for record in data.records:  # the padded frame is not stored; all that is, reads back
        data.read_frames(record)
    trained = train_small(url, tmp_path / "run")
    assert trained.steps == 3 * len(PKSampler(data.select(split="train"), 2, 2))
    assert trained.bad_frames == 0


@pytest.mark.cluster
@pytest.mark.slow
def test_frame_damaged_in_hdfs_after_ingest_is_skipped_counted_and_named(
        cluster: LocalCluster, small_mars: Path, sc: SparkContext, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    url = f"{cluster.namenode_url}/reid/damaged-after-ingest"
    run_ingest(sc, IngestConfig(source=str(small_mars), dest=url, shard_size=MIB,
                                block_size=MIB))
    data = open_dataset(url)
    records = data.select(split="train")
    # the frame the first clip of step 1 uses (TrainClips' draw for (seed 0, epoch, index))
    epoch, index = next(iter(PKSampler(records, 2, 2, seed=0).run(0, 1)))[0]
    record = records[index]
    picks = rrs_indices(record.num_frames, 4, np.random.default_rng((0, epoch, index)))
    frame = max(picks)
    fs, root = resolve(url)
    shard = bytearray(fs.read_file(f"{root}/{record.shard}"))
    start = record.offset + int(record.frame_offsets[frame])
    length = int(record.frame_lengths[frame])
    shard[start:start + length] = zeroed_middle(bytes(shard[start:start + length]))
    fs.write_file(f"{root}/{record.shard}", bytes(shard), overwrite=True)

    with caplog.at_level(logging.WARNING, logger="training.train"):
        trained = train_small(url, tmp_path / "run")
    assert trained.steps == 3 * len(PKSampler(records, 2, 2))
    assert trained.bad_frames >= 1
    named = [r.getMessage() for r in caplog.records if "bad frame skipped" in r.getMessage()]
    assert len(named) == trained.bad_frames
    assert f"frame {frame} of tracklet {record.tracklet_id} in {root}/{record.shard}" in named[0]
    assert "does not decode" in named[0]
