"""Torch datasets over the ingested tracklets: training clips and test-time chunks.

Each item needs one HDFS range read (spanning just the frames it needs) and decodes only those
frames. The store (HdfsFS) opens its client lazily in each DataLoader worker process. A training
batch is fetched as a whole (``__getitems__``): clips whose byte ranges lie close together in a
shard (a P x K batch takes K tracklets of each identity, and the ingest packs an identity's
tracklets side by side) share one read, and all the batch's reads are in flight at once, so
each round trip to a DataNode overlaps the others and the decoding of earlier clips
(``benchmarks/loader.py``).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from ingest.dataset import ShardedDataset, TrackletRecord
from ingest.ranges import DEFAULT_MAX_GAP, coalesce
from training.data.decode import Decoder, decode_frames
from training.data.rrs import all_frame_chunks, rrs_indices
from training.data.transforms import AugmentConfig, eval_clip, to_tensor, train_clip


@dataclass(frozen=True)
class ClipSample:
    clip: Tensor  # (T, 3, H, W) float32
    label: int  # class index of the identity (training) or the pid itself (evaluation)
    camid: int


class TrainClips(Dataset[ClipSample]):
    """Item (epoch, i): a T-frame RRS clip of training tracklet i, augmented; deterministic for
    (seed, epoch, i), so every rank and restart sees the same clip for the same sample. The
    epoch is part of the key because DataLoader workers outlive epochs.

    ``reads_in_flight`` threads per process issue a batch's range reads concurrently; clips of a
    batch whose ranges in a shard are at most ``max_gap`` bytes apart share a read."""

    def __init__(self, data: ShardedDataset, records: list[TrackletRecord], seq_len: int,
                 augment: AugmentConfig, *, seed: int = 0, decoder: Decoder = "simplejpeg",
                 reads_in_flight: int = 4, max_gap: int = DEFAULT_MAX_GAP) -> None:
        if reads_in_flight < 1:
            raise ValueError(f"reads_in_flight must be >= 1, got {reads_in_flight}")
        if max_gap < 0:
            raise ValueError(f"max_gap must be >= 0 bytes, got {max_gap}")
        self.data = data
        self.records = records
        self.seq_len = seq_len
        self.augment = augment
        self.seed = seed
        self.decoder = decoder
        self.reads_in_flight = reads_in_flight
        self.max_gap = max_gap
        self._pool: ThreadPoolExecutor | None = None  # per process, made on first use
        pids = sorted({r.pid for r in records})
        self.class_of_pid = {pid: i for i, pid in enumerate(pids)}

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_pool": None}  # threads do not cross into worker processes

    @property
    def num_classes(self) -> int:
        return len(self.class_of_pid)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, key: tuple[int, int]) -> ClipSample:
        return self.__getitems__([key])[0]

    def __getitems__(self, keys: list[tuple[int, int]]) -> list[ClipSample]:
        """A batch of clips: every read is submitted first (nearby clips coalesced into one),
        then clips are decoded and augmented in order as their bytes arrive."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.reads_in_flight, thread_name_prefix="clip-read")
        plans = []
        for epoch, index in keys:
            record = self.records[index]
            rng = np.random.default_rng((self.seed, epoch, index))
            picks = rrs_indices(record.num_frames, self.seq_len, rng)
            plans.append((record, rng, picks, sorted(set(picks))))
        wanted = [self.data.frame_range(record, unique) for record, _, _, unique in plans]
        reads: dict[int, tuple[Future[bytes], int]] = {}  # plan -> the read serving it, its start
        for span, members in coalesce(wanted, max_gap=self.max_gap):
            reading = self._pool.submit(self.data.store.read_range, span.path, span.start,
                                        span.length)
            reads.update(dict.fromkeys(members, (reading, span.start)))
        samples = []
        for plan, (record, rng, picks, unique) in enumerate(plans):
            reading, start = reads[plan]
            blobs = dict(zip(unique, self.data.cut_frames(record, unique, reading.result(),
                                                          start), strict=True))
            frames = decode_frames([blobs[i] for i in picks], self.decoder)
            clip = train_clip(to_tensor(frames), self.augment, rng)
            samples.append(ClipSample(clip, self.class_of_pid[record.pid], record.camid))
        return samples


@dataclass(frozen=True)
class TrackletChunks:
    clips: Tensor  # (chunks, T, 3, H, W): every frame, in chunks of T
    pid: int
    camid: int
    row: int  # the record's row in the index


class EvalTracklets(Dataset[TrackletChunks]):
    """Item i: all frames of test tracklet i in chunks of T, for feature extraction."""

    def __init__(self, data: ShardedDataset, records: list[TrackletRecord], seq_len: int,
                 augment: AugmentConfig, *, decoder: Decoder = "simplejpeg") -> None:
        self.data = data
        self.records = records
        self.seq_len = seq_len
        self.augment = augment
        self.decoder = decoder

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> TrackletChunks:
        record = self.records[index]
        frames = decode_frames(self.data.read_frames(record), self.decoder)
        return TrackletChunks(frame_chunks(frames, self.seq_len, self.augment), record.pid,
                              record.camid, record.row)


def frame_chunks(frames: list[np.ndarray], seq_len: int, augment: AugmentConfig) -> Tensor:
    """Decoded HxWx3 frames of one tracklet -> (chunks, T, 3, H, W) evaluation clips: every
    frame, in chunks of T. Frames of different sizes (person crops from new footage) are
    resized one by one, then stacked."""
    if len({frame.shape for frame in frames}) == 1:
        clip = eval_clip(to_tensor(frames), augment)
    else:
        clip = torch.cat([eval_clip(to_tensor([frame]), augment) for frame in frames])
    return clip[torch.as_tensor(all_frame_chunks(len(frames), seq_len))]


def collate_clips(samples: list[ClipSample]) -> tuple[Tensor, Tensor, Tensor]:
    """-> clips (B, T, 3, H, W), labels (B,), camids (B,)."""
    return (torch.stack([s.clip for s in samples]),
            torch.tensor([s.label for s in samples]),
            torch.tensor([s.camid for s in samples]))
