"""Clip features: a clip and its mirror image get the same feature (test-time flip), and a
gallery stored without it is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from training.embed import COMMIT, FORMAT, EmbedError
from training.features import clip_features
from training.gallery import FeatureGallery
from training.model import ModelConfig, VideoReIDNet

TINY = ModelConfig(num_classes=4, seq_len=2, preset="small", frame_size=(64, 32))


def test_a_clip_and_its_mirror_image_get_one_feature() -> None:
    torch.manual_seed(0)
    model = VideoReIDNet(TINY).eval()
    clips = torch.randn(3, 2, 3, 64, 32)
    with torch.no_grad():
        plain, mirrored = clip_features(model, clips), clip_features(model, clips.flip(-1))
        single = model(clips)
    torch.testing.assert_close(plain, mirrored)
    torch.testing.assert_close(plain, (single + model(clips.flip(-1))) / 2)
    assert not torch.allclose(plain, single)  # the mirror image does count


def test_a_gallery_embedded_without_the_flip_is_refused_by_name(tmp_path: Path) -> None:
    """Features stored before test-time flip would be compared with flipped queries."""
    commit = {"format": FORMAT, "model": "m", "fingerprint": "f", "split": "test", "dim": 4,
              "rows": 0, "parts": [], "dataset": "d", "dataset_batches": [],
              "preprocessing": {}, "model_source": "s", "seconds": 1.0}
    (tmp_path / COMMIT).write_text(json.dumps(commit))
    with pytest.raises(EmbedError, match=f"{tmp_path} was embedded by an earlier version"):
        FeatureGallery(str(tmp_path))
    (tmp_path / COMMIT).write_text(json.dumps({**commit, "flip_averaged": True}))
    assert FeatureGallery(str(tmp_path)).commit.flip_averaged
