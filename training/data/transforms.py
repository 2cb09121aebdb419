"""Clip-consistent augmentation: one random draw per clip, applied to all T frames alike.

A tracklet's frames show one person moving; flipping or cropping frames independently would
teach the temporal layers (the non-local blocks) noise. Training: resize, horizontal flip, pad +
random crop, light jitter (a brightness and colour cast for the clip, as another camera would
light the person), normalise, random erasing (one rectangle for the clip). Evaluation: resize
and normalise only. Built on torchvision's v2 functional ops, which take (T, 3, H, W) batches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torchvision.transforms.v2 import functional as tvf

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class AugmentConfig:
    height: int = 256
    width: int = 128
    flip_p: float = 0.5
    pad: int = 10
    erase_p: float = 0.5
    erase_area: tuple[float, float] = (0.02, 0.4)
    erase_ratio: tuple[float, float] = (0.3, 3.3)
    light: float = 0.0  # brightness x U(1 +- light), each channel also x U(1 +- light / 2)

    def __post_init__(self) -> None:
        if not 0 <= self.light < 1:
            raise ValueError(f"light jitter must be in [0, 1), got {self.light}")


def to_tensor(frames: list[np.ndarray]) -> Tensor:
    """Decoded HxWx3 uint8 frames -> a (T, 3, H, W) uint8 tensor."""
    return torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).contiguous()


def eval_clip(frames: Tensor, config: AugmentConfig) -> Tensor:
    """(T, 3, H, W) uint8 -> normalised float32 at the configured size."""
    clip = tvf.resize(frames, [config.height, config.width], antialias=True)
    return tvf.normalize(clip.float().div_(255), IMAGENET_MEAN, IMAGENET_STD)


def train_clip(frames: Tensor, config: AugmentConfig, rng: np.random.Generator) -> Tensor:
    """(T, 3, H, W) uint8 -> augmented, normalised float32; every frame gets the same draw."""
    clip = tvf.resize(frames, [config.height, config.width], antialias=True)
    if rng.random() < config.flip_p:
        clip = tvf.horizontal_flip(clip)
    if config.pad:
        clip = tvf.pad(clip, [config.pad])
        top = int(rng.integers(0, 2 * config.pad + 1))
        left = int(rng.integers(0, 2 * config.pad + 1))
        clip = tvf.crop(clip, top, left, config.height, config.width)
    clip = clip.float().div_(255)
    if config.light:
        gain = rng.uniform(1 - config.light, 1 + config.light) * rng.uniform(
            1 - config.light / 2, 1 + config.light / 2, size=3)
        clip = clip.mul_(torch.as_tensor(gain, dtype=torch.float32).view(1, 3, 1, 1)).clamp_(0, 1)
    clip = tvf.normalize(clip, IMAGENET_MEAN, IMAGENET_STD)
    if rng.random() < config.erase_p:
        box = _erase_box(config, rng)
        if box is not None:
            top, left, h, w = box
            clip[..., top:top + h, left:left + w] = 0.0
    return clip


def _erase_box(config: AugmentConfig, rng: np.random.Generator
               ) -> tuple[int, int, int, int] | None:
    """A random rectangle as torchvision's RandomErasing draws it (up to 10 tries)."""
    area = config.height * config.width
    for _ in range(10):
        target = area * rng.uniform(*config.erase_area)
        ratio = math.exp(rng.uniform(math.log(config.erase_ratio[0]),
                                     math.log(config.erase_ratio[1])))
        h = round(math.sqrt(target * ratio))
        w = round(math.sqrt(target / ratio))
        if 0 < h < config.height and 0 < w < config.width:
            return (int(rng.integers(0, config.height - h + 1)),
                    int(rng.integers(0, config.width - w + 1)), h, w)
    return None
