"""Torch datasets over the ingested tracklets: training clips and test-time chunks.

Each item needs one HDFS range read (spanning just the frames it needs) and decodes only those
frames. The store (``hadoop.fs``) opens its client lazily in each DataLoader worker process. A training
batch is fetched as a whole (``__getitems__``): clips whose byte ranges lie close together in a
shard (a P x K batch takes K tracklets of each identity, and the ingest packs an identity's
tracklets side by side) share one read, and all the batch's reads are in flight at once, so
each round trip to a DataNode overlaps the others and the decoding of earlier clips
(``benchmarks/loader.py``).

A bad frame never ends a training run: the ingest decodes every frame it stores, so one that
fails here changed afterwards (a damaged shard). Each such frame is replaced by the nearest good
frame of the same clip; a clip with no good frame is replaced by a clip of another tracklet of
the same identity (so the batch's labels stay true). Every bad frame travels with its batch
(:class:`ClipBatch` ``bad_frames``, named by tracklet, frame and shard) for the trainer to log
and count.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from hadoop.fs.ranges import DEFAULT_MAX_GAP, coalesce
from ingest.dataset import BadFrameError, ShardedDataset, TrackletRecord
from training.data.decode import Decoder, FrameDecodeError, decode_frame
from training.data.rrs import all_frame_chunks, rrs_indices
from training.data.transforms import AugmentConfig, eval_clip, to_tensor, train_clip
from training.errors import TrainingError


@dataclass(frozen=True)
class BadFrame:
    """A frame the loader could not use, why, and what the clip used instead."""

    tracklet_id: str
    frame: int  # index into the tracklet
    shard: str  # the shard file's path
    reason: str
    remedy: str

    def __str__(self) -> str:
        where = f"frame {self.frame} of tracklet {self.tracklet_id} in {self.shard}"
        return f"{where}: {self.reason}" + (f"; {self.remedy}" if self.remedy else "")


@dataclass(frozen=True)
class ClipSample:
    clip: Tensor  # (T, 3, H, W) float32
    label: int  # class index of the identity (training) or the pid itself (evaluation)
    camid: int
    bad_frames: tuple[BadFrame, ...] = ()


class ClipBatch(NamedTuple):
    clips: Tensor  # (B, T, 3, H, W)
    labels: Tensor  # (B,)
    camids: Tensor  # (B,)
    bad_frames: tuple[BadFrame, ...]  # frames of this batch the loader replaced


class UnreadableIdentityError(TrainingError):
    """Not one frame of an identity's tracklets can be used: more than a bad frame."""


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
        self._by_row = {r.row: r for r in records}
        self._tracklets_of_pid: dict[int, list[int]] = {}  # pid -> rows, in index order
        for r in records:
            self._tracklets_of_pid.setdefault(r.pid, []).append(r.row)

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
            reads.update(dict.fromkeys(members, (self._pool.submit(self.data.read_span, span),
                                                 span.start)))
        samples = []
        for plan, (record, rng, picks, unique) in enumerate(plans):
            reading, start = reads[plan]
            good, bad = self._decode(record, unique, reading.result(), start)
            if not good:
                record, picks, good, more = self._stand_in(record, rng, bad)
                bad += more
            frames = [good[_nearest(good, i)] for i in picks]
            clip = train_clip(to_tensor(frames), self.augment, rng)
            samples.append(ClipSample(clip, self.class_of_pid[record.pid], record.camid,
                                      tuple(_with_remedy(bad, record, good))))
        return samples

    def _decode(self, record: TrackletRecord, frames: list[int], data: bytes, data_start: int,
                ) -> tuple[dict[int, np.ndarray], list[BadFrame]]:
        return decode_usable(self.data, record, frames, data, data_start, self.decoder)

    def _stand_in(self, record: TrackletRecord, rng: np.random.Generator, bad: list[BadFrame],
                  ) -> tuple[TrackletRecord, list[int], dict[int, np.ndarray], list[BadFrame]]:
        """A clip of another tracklet of ``record``'s identity (the tracklet itself, redrawn,
        last) for a clip none of whose frames could be used; deterministic for the same data."""
        same = self._tracklets_of_pid[record.pid]
        first = same.index(record.row) + 1
        more: list[BadFrame] = []
        for row in [*same[first:], *same[:first]]:
            other = self._by_row[row]
            picks = rrs_indices(other.num_frames, self.seq_len, rng)
            unique = sorted(set(picks))
            span = self.data.frame_range(other, unique)
            good, failed = self._decode(other, unique, self.data.read_span(span), span.start)
            more += failed
            if good:
                return other, picks, good, more
        raise UnreadableIdentityError(
            f"{self.data.url}: no frame of identity {record.pid}'s {len(same)} training "
            f"tracklets could be used, e.g. {(bad + more)[0]}")


def decode_usable(data: ShardedDataset, record: TrackletRecord, frames: Sequence[int],
                  blob: bytes, blob_start: int, decoder: Decoder,
                  ) -> tuple[dict[int, np.ndarray], list[BadFrame]]:
    """The ``frames`` of ``record`` that decode out of ``blob`` (shard bytes from
    ``blob_start``), by index, and the ones that do not (no remedy said yet)."""
    good, bad = {}, []
    for index in frames:
        try:
            good[index] = decode_frame(data.cut_frame(record, index, blob, blob_start), decoder)
        except (BadFrameError, FrameDecodeError) as exc:
            reason = exc.reason if isinstance(exc, BadFrameError) else str(exc)
            bad.append(BadFrame(record.tracklet_id, index, data.shard_path(record), reason,
                                remedy=""))
    return good, bad


def _nearest(good: dict[int, np.ndarray], index: int) -> int:
    """The good frame closest to ``index`` (the earlier one on a tie)."""
    return min(good, key=lambda g: (abs(g - index), g))


def _with_remedy(bad: list[BadFrame], used: TrackletRecord, good: dict[int, np.ndarray],
                 ) -> list[BadFrame]:
    """Say, for each bad frame, what the clip used in its place."""
    out = []
    for frame in bad:
        if frame.tracklet_id != used.tracklet_id:
            remedy = f"clip replaced by one of tracklet {used.tracklet_id}"
        else:
            remedy = f"replaced by frame {_nearest(good, frame.frame)}"
        out.append(replace(frame, remedy=remedy))
    return out


@dataclass(frozen=True)
class TrackletChunks:
    clips: Tensor  # (chunks, T, 3, H, W): every usable frame, in chunks of T (0 chunks: none)
    pid: int
    camid: int
    row: int  # the record's row in the index
    bad_frames: tuple[BadFrame, ...] = ()  # frames left out of the tracklet's feature


class EvalTracklets(Dataset[TrackletChunks]):
    """Item i: all frames of test tracklet i in chunks of T, for feature extraction.

    As in training, a bad frame does not end the run: it is left out of the tracklet's feature
    and named in the item's ``bad_frames``; a tracklet none of whose frames can be used comes
    back with no chunks, for the caller to leave out and report. A tracklet whose bytes fail
    the index's CRC but whose frames decode is used, and reported as one bad "frame" -1."""

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
        every = range(record.num_frames)
        span = self.data.frame_range(record, every)
        data = self.data.read_span(span)
        good, failed = decode_usable(self.data, record, every, data, span.start, self.decoder)
        bad = [replace(frame, remedy="left out of the tracklet's feature") for frame in failed]
        if zlib.crc32(data) != record.crc32:
            bad.insert(0, BadFrame(record.tracklet_id, -1, self.data.shard_path(record),
                                   "the tracklet's bytes fail the index's CRC check",
                                   "its frames that decode are used"))
        if good:
            clips = frame_chunks(list(good.values()), self.seq_len, self.augment)
        else:
            clips = torch.empty((0, self.seq_len, 3, self.augment.height, self.augment.width))
        return TrackletChunks(clips, record.pid, record.camid, record.row, tuple(bad))


def frame_chunks(frames: list[np.ndarray], seq_len: int, augment: AugmentConfig) -> Tensor:
    """Decoded HxWx3 frames of one tracklet -> (chunks, T, 3, H, W) evaluation clips: every
    frame, in chunks of T. Frames of different sizes (person crops from new footage) are
    resized one by one, then stacked."""
    if len({frame.shape for frame in frames}) == 1:
        clip = eval_clip(to_tensor(frames), augment)
    else:
        clip = torch.cat([eval_clip(to_tensor([frame]), augment) for frame in frames])
    return clip[torch.as_tensor(all_frame_chunks(len(frames), seq_len))]


def collate_clips(samples: list[ClipSample]) -> ClipBatch:
    return ClipBatch(torch.stack([s.clip for s in samples]),
                     torch.tensor([s.label for s in samples]),
                     torch.tensor([s.camid for s in samples]),
                     tuple(frame for s in samples for frame in s.bad_frames))
