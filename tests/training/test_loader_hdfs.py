"""The training data path against the real cluster: exact bytes, clips, faults mid-epoch."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from hadoop.cluster import LocalCluster
from ingest import mars
from ingest.dataset import RangeStore, ShardedDataset, open_dataset
from training.data.clips import EvalTracklets, TrainClips, collate_clips
from training.data.sampler import PKSampler
from training.data.transforms import AugmentConfig

pytestmark = pytest.mark.cluster
AUGMENT = AugmentConfig(height=64, width=32, pad=2)


@pytest.fixture(scope="module")
def data(small_dataset: str) -> ShardedDataset:
    return open_dataset(small_dataset)


def test_bytes_from_hdfs_equal_source_bytes(data: ShardedDataset, small_mars: Path) -> None:
    sources = {t.tracklet_id: t for t in mars.read_mars(small_mars, files="none").tracklets}
    for record in data.records:
        frames = sources[record.tracklet_id].frames
        assert data.read_frames(record) == [(small_mars / f).read_bytes() for f in frames]
        picks = [0, record.num_frames - 1]
        assert data.read_frames(record, picks) == [(small_mars / frames[i]).read_bytes()
                                                   for i in picks]


def train_loader(data: ShardedDataset, workers: int) -> tuple[DataLoader, TrainClips]:
    """One epoch of P x K batches, streamed by forkserver workers as train.py does."""
    train = data.select(split="train")
    clips = TrainClips(data, train, seq_len=4, augment=AUGMENT, seed=0)
    sampler = PKSampler(train, 2, 2, seed=0)
    loader = DataLoader(clips, batch_sampler=list(sampler.run(0, len(sampler))),
                        num_workers=workers, collate_fn=collate_clips,
                        multiprocessing_context="forkserver" if workers else None)
    return loader, clips


def test_an_epoch_of_pk_batches_through_two_workers(data: ShardedDataset) -> None:
    loader, clips = train_loader(data, workers=2)
    batches = list(loader)
    assert len(batches) == len(loader)
    for clip, labels, camids, bad_frames in batches:
        assert bad_frames == ()
        assert clip.shape == (4, 4, 3, 64, 32)
        assert clip.dtype == torch.float32
        assert len(set(labels.tolist())) == 2
        assert camids.min() >= 1
    seen = {int(label) for batch in batches for label in batch.labels}
    assert seen == set(range(clips.num_classes))
    again = list(train_loader(data, workers=0)[0])  # same seed, epoch: the same clips
    assert all(torch.equal(a[0], b[0]) for a, b in zip(batches, again, strict=True))


class CountingStore:
    """The dataset's own HDFS store, counting the range reads it is asked for."""

    def __init__(self, store: RangeStore) -> None:
        self.store = store
        self.reads = 0

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        self.reads += 1
        return self.store.read_range(path, offset, length)


def test_a_batch_shares_reads_and_gets_the_same_clips(small_dataset: str) -> None:
    counted = CountingStore(open_dataset(small_dataset).store)
    data = open_dataset(small_dataset, store=counted)
    train = data.select(split="train")
    batches = list(PKSampler(train, 2, 2, seed=0).run(0, 4))
    shared = TrainClips(data, train, seq_len=4, augment=AUGMENT, seed=0)
    alone = TrainClips(data, train, seq_len=4, augment=AUGMENT, seed=0, max_gap=0)
    for batch in batches:
        before = counted.reads
        together = shared.__getitems__(batch)
        assert counted.reads - before < len(batch)  # K tracklets of an identity lie together
        for key, sample in zip(batch, together, strict=True):
            one = alone[key]
            assert torch.equal(sample.clip, one.clip)
            assert (sample.label, sample.camid) == (one.label, one.camid)


def test_test_tracklets_come_in_chunks_of_t(data: ShardedDataset) -> None:
    test = data.select(split="test")
    longest = max(test, key=lambda r: r.num_frames)
    item = EvalTracklets(data, [longest], seq_len=4, augment=AUGMENT)[0]
    assert item.clips.shape == (-(-longest.num_frames // 4), 4, 3, 64, 32)
    assert item.pid == longest.pid


@pytest.mark.faults
def test_datanode_killed_mid_epoch_fails_no_sample(cluster: LocalCluster,
                                                   data: ShardedDataset) -> None:
    loader, _ = train_loader(data, workers=2)
    victim = cluster.datanodes[0].name
    delivered = 0
    try:
        for i, (clip, *_) in enumerate(loader):
            if i == 1:
                cluster.stop([victim], kill=True)
            delivered += clip.shape[0]
    finally:
        cluster.start([victim])
    assert delivered == len(loader) * 4
