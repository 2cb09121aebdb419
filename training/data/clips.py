"""Torch datasets over the ingested tracklets: training clips and test-time chunks.

Each item costs one HDFS range read (spanning just the frames it needs) and decodes only those
frames. The store (HdfsFS) opens its client lazily in each DataLoader worker process.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from ingest.dataset import ShardedDataset, TrackletRecord
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
    epoch is part of the key because DataLoader workers outlive epochs."""

    def __init__(self, data: ShardedDataset, records: list[TrackletRecord], seq_len: int,
                 augment: AugmentConfig, *, seed: int = 0, decoder: Decoder = "simplejpeg",
                 ) -> None:
        self.data = data
        self.records = records
        self.seq_len = seq_len
        self.augment = augment
        self.seed = seed
        self.decoder = decoder
        pids = sorted({r.pid for r in records})
        self.class_of_pid = {pid: i for i, pid in enumerate(pids)}

    @property
    def num_classes(self) -> int:
        return len(self.class_of_pid)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, key: tuple[int, int]) -> ClipSample:
        epoch, index = key
        record = self.records[index]
        rng = np.random.default_rng((self.seed, epoch, index))
        picks = rrs_indices(record.num_frames, self.seq_len, rng)
        unique = sorted(set(picks))
        blobs = dict(zip(unique, self.data.read_frames(record, unique), strict=True))
        frames = decode_frames([blobs[i] for i in picks], self.decoder)
        clip = train_clip(to_tensor(frames), self.augment, rng)
        return ClipSample(clip, self.class_of_pid[record.pid], record.camid)


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
        clip = eval_clip(to_tensor(frames), self.augment)
        chunks = torch.as_tensor(all_frame_chunks(record.num_frames, self.seq_len))
        return TrackletChunks(clip[chunks], record.pid, record.camid, record.row)


def collate_clips(samples: list[ClipSample]) -> tuple[Tensor, Tensor, Tensor]:
    """-> clips (B, T, 3, H, W), labels (B,), camids (B,)."""
    return (torch.stack([s.clip for s in samples]),
            torch.tensor([s.label for s in samples]),
            torch.tensor([s.camid for s in samples]))
