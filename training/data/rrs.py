"""Restricted random sampling (RRS): T frames that cover a whole tracklet.

As the reference loaders implement it (STE-NVAN, Video-Person-ReID): ``interval =
ceil(F / T)``; the frame list is padded with its last frame to ``interval * T``, cut into T
chunks of ``interval``; training takes one random frame per chunk, testing the first of each.
Tracklets shorter than T therefore repeat their last frame.
"""

from __future__ import annotations

import math

import numpy as np


def rrs_indices(num_frames: int, seq_len: int, rng: np.random.Generator | None) -> list[int]:
    """Frame indices for one clip: random within each chunk with ``rng``, the chunk's first
    frame without (evaluation)."""
    if num_frames < 1 or seq_len < 1:
        raise ValueError(f"need num_frames >= 1 and seq_len >= 1, got {num_frames}, {seq_len}")
    interval = math.ceil(num_frames / seq_len)
    padded = np.minimum(np.arange(interval * seq_len), num_frames - 1).reshape(seq_len, interval)
    if rng is None:
        return padded[:, 0].tolist()
    picks = rng.integers(0, interval, size=seq_len)
    return padded[np.arange(seq_len), picks].tolist()


def all_frame_chunks(num_frames: int, seq_len: int) -> list[list[int]]:
    """Every frame, in consecutive chunks of T (the last padded with the last frame): the
    test-time clips whose features are averaged into the tracklet's feature."""
    if num_frames < 1 or seq_len < 1:
        raise ValueError(f"need num_frames >= 1 and seq_len >= 1, got {num_frames}, {seq_len}")
    chunks = math.ceil(num_frames / seq_len)
    frames = np.minimum(np.arange(chunks * seq_len), num_frames - 1)
    return frames.reshape(chunks, seq_len).tolist()
