"""Tracklet features: every frame, in chunks of T, averaged per tracklet.

MARS test tracklets run to hundreds of frames; each is read from HDFS with one range read,
decoded, cut into T-frame chunks (the last padded), and the model's evaluation feature of the
chunks is averaged. Chunks of several tracklets are batched together up to ``max_clips``.
Evaluation, the gallery embedding and the search's queries all take their features from here,
so they agree.

Each chunk's feature is the mean of the chunk's and its mirror image's (:func:`clip_features`).

A bad frame never ends an evaluation: it is left out of its tracklet's mean and logged by name.
A tracklet with no usable frame gets a NaN row; :func:`usable_rows` leaves such tracklets out of
scoring, and the callers report how many.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader

from ingest.dataset import ShardedDataset, TrackletRecord
from training.cpu import flush_denormals
from training.data.clips import EvalTracklets, TrackletChunks, frame_chunks
from training.data.transforms import AugmentConfig
from training.model import VideoReIDNet
from training.progress import Progress

log = logging.getLogger(__name__)


def _first(items: list[TrackletChunks]) -> TrackletChunks:
    return items[0]


@torch.no_grad()
def extract_features(model: VideoReIDNet, data: ShardedDataset,
                     records: Sequence[TrackletRecord], *, device: torch.device,
                     workers: int = 2, max_clips: int = 32, progress: bool = True) -> np.ndarray:
    """(len(records), D) float32 features in ``records`` order; NaN rows for tracklets with
    no usable frame."""
    flush_denormals()
    config = model.config
    height, width = config.frame_size
    dataset = EvalTracklets(data, list(records), config.seq_len,
                            AugmentConfig(height=height, width=width))
    loader = DataLoader(dataset, batch_size=1, num_workers=workers, collate_fn=_first,
                        multiprocessing_context="forkserver" if workers else None)
    model = model.eval().to(device)
    features = np.zeros((len(records), model.feature_dim), dtype=np.float32)
    bar = Progress(len(records), unit="tracklet", desc="features", enabled=progress)
    tally = _BadTally()
    for positions, clips, sizes in _batches(tally.usable(enumerate(loader), features, bar),
                                            max_clips):
        out = torch.cat([clip_features(model, part.to(device)).float().cpu()
                         for part in clips.split(max_clips)])
        for position, chunk in zip(positions, torch.split(out, sizes), strict=True):
            features[position] = chunk.mean(dim=0).numpy()
        bar.update(len(positions))
    bar.close()
    if tally.frames:
        log.warning("features: %d bad frame(s) left out, %d tracklet(s) with no usable frame",
                    tally.frames, tally.empty)
    return features


@dataclass
class _BadTally:
    frames: int = 0  # bad frames seen
    empty: int = 0  # tracklets with no usable frame

    def usable(self, items: Iterable[tuple[int, TrackletChunks]], features: np.ndarray,
               bar: Progress) -> Iterator[tuple[int, TrackletChunks]]:
        """The items that have frames to embed; each bad frame is logged and counted, and a
        tracklet with no usable frame gets a NaN row instead of an item."""
        for position, item in items:
            for frame in item.bad_frames:
                log.warning("bad frame: %s", frame)
            self.frames += len(item.bad_frames)
            if len(item.clips):
                yield position, item
            else:
                features[position] = np.nan
                self.empty += 1
                bar.update(1)


def usable_rows(features: np.ndarray, records: Sequence[TrackletRecord], what: str,
                ) -> tuple[np.ndarray, list[TrackletRecord], list[str]]:
    """``features`` and ``records`` without the tracklets that had no usable frame (NaN rows),
    and those tracklets' ids, which are logged as left out of ``what``."""
    keep = ~np.isnan(features).any(axis=1)
    if keep.all():
        return features, list(records), []
    left_out = [r.tracklet_id for r, ok in zip(records, keep, strict=True) if not ok]
    log.warning("%s leaves out %d tracklet(s) with no usable frame: %s", what, len(left_out),
                ", ".join(left_out[:10]) + (" ..." if len(left_out) > 10 else ""))
    return features[keep], [r for r, ok in zip(records, keep, strict=True) if ok], left_out


@torch.no_grad()
def frames_feature(model: VideoReIDNet, frames: list[np.ndarray], *, device: torch.device,
                   max_clips: int = 32) -> np.ndarray:
    """(D,) float32 feature of one tracklet given as decoded HxWx3 RGB frames (e.g. person
    crops from footage that is in no dataset), computed as ``extract_features`` does."""
    flush_denormals()
    height, width = model.config.frame_size
    clips = frame_chunks(frames, model.config.seq_len, AugmentConfig(height=height, width=width))
    model = model.eval().to(device)
    out = torch.cat([clip_features(model, part.to(device)).float().cpu()
                     for part in clips.split(max_clips)])
    return out.mean(dim=0).numpy()


def clip_features(model: VideoReIDNet, clips: torch.Tensor) -> torch.Tensor:
    """The model's feature of each (T, 3, H, W) clip averaged with that of its mirror image
    (test-time flip, fast-reid's ``TEST.FLIP``). Training flips clips at random, so to the model
    a person and their mirror image are one identity; the average of the two is steadier than
    either, and costs a second forward pass."""
    return (model(clips) + model(clips.flip(-1))) / 2


def _batches(items: Iterator[tuple[int, TrackletChunks]], max_clips: int
             ) -> Iterator[tuple[list[int], torch.Tensor, list[int]]]:
    """Group tracklets so their chunks make batches of about ``max_clips`` clips (a longer
    tracklet is a group of its own, run in pieces)."""
    positions: list[int] = []
    parts: list[torch.Tensor] = []
    for position, item in items:
        if parts and sum(len(p) for p in parts) + len(item.clips) > max_clips:
            yield positions, torch.cat(parts), [len(p) for p in parts]
            positions, parts = [], []
        positions.append(position)
        parts.append(item.clips)
    if parts:
        yield positions, torch.cat(parts), [len(p) for p in parts]
