"""JPEG decoding of the sampled frames only.

simplejpeg (libjpeg-turbo) is the default: the fastest correct decoder measured here (see
benchmarks/loader.py, which compares it with Pillow and torchvision.io.decode_jpeg).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Literal

import numpy as np
import simplejpeg
import torch
from PIL import Image
from torchvision.io import decode_jpeg
from training.errors import TrainingError

Decoder = Literal["simplejpeg", "pillow", "torchvision"]


class FrameDecodeError(TrainingError):
    """A frame's bytes are not a decodable JPEG."""


def _simplejpeg(data: bytes) -> np.ndarray:
    return np.asarray(simplejpeg.decode_jpeg(data, colorspace="RGB"))


def _pillow(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def _torchvision(data: bytes) -> np.ndarray:
    raw = torch.frombuffer(bytearray(data), dtype=torch.uint8)
    return decode_jpeg(raw).permute(1, 2, 0).numpy()


DECODERS: dict[Decoder, Callable[[bytes], np.ndarray]] = {
    "simplejpeg": _simplejpeg, "pillow": _pillow, "torchvision": _torchvision}


def decode_frame(blob: bytes, decoder: Decoder = "simplejpeg") -> np.ndarray:
    """An HxWx3 uint8 RGB array; :class:`FrameDecodeError` if ``blob`` does not decode."""
    try:
        return DECODERS[decoder](blob)
    except (ValueError, OSError, RuntimeError) as exc:
        raise FrameDecodeError(f"does not decode: {exc}") from exc


def decode_frames(blobs: list[bytes], decoder: Decoder = "simplejpeg") -> list[np.ndarray]:
    """HxWx3 uint8 RGB arrays, one per JPEG."""
    frames = []
    for index, blob in enumerate(blobs):
        try:
            frames.append(decode_frame(blob, decoder))
        except FrameDecodeError as exc:
            raise FrameDecodeError(f"frame {index} of the clip {exc}") from exc
    return frames
