"""The trained model as one file: weights, ``ModelConfig`` and preprocessing, nothing else.

Why: training leaves per-stage checkpoint files behind a pointer in HDFS; a user who wants
features needs the network alone. ``save_exported`` writes one ``torch.save`` file of plain
containers and tensors (loadable with ``weights_only=True``, so opening it runs no code) and
``load_exported`` rebuilds the network from that file alone: no HDFS, no process group, no
training code path.

The file also carries what a feature means beyond the weights (the preprocessing: frame size,
normalisation, clip length, which neck feature, how a tracklet's clips are averaged) and a
fingerprint of config + weights that names the model's version (the gallery features in HDFS
are stored under it). A truncated or altered file fails its fingerprint check and is refused,
naming the file.

The portable form (``export_portable``) is a ``torch.export`` program of clips -> feature with
a dynamic batch dimension, loadable by ``torch.export.load`` without this package; the same
preprocessing record travels inside it as ``reid.json``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import uuid
import zipfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from training.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from training.model.errors import ModelError
from training.model.nvan import ModelConfig, VideoReIDNet

FORMAT = "reid-hdfs/exported-model"
FORMAT_VERSION = 1
PORTABLE_META = "reid.json"
_MAX_BATCH = 4096  # the portable program's largest batch of clips


class ExportError(ModelError):
    """An exported model file is missing, truncated, of another format or altered."""


@dataclass(frozen=True)
class Preprocessing:
    """How frames become the network's input, and how its outputs become a tracklet feature.

    Frames are RGB, resized (bilinear, antialiased) to ``frame_size``, scaled to [0, 1] and
    normalised with ``mean``/``std``; a tracklet's frames are cut into consecutive clips of
    ``seq_len`` (the last padded with the last frame) and the clips' features averaged.
    """

    frame_size: tuple[int, int]  # (height, width)
    seq_len: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    feature: str  # "bn" or "pre_bn": which neck output the feature is
    feature_dim: int

    @classmethod
    def of(cls, model: VideoReIDNet) -> Preprocessing:
        """What this code base's evaluation does for ``model`` (training.data.transforms)."""
        config = model.config
        height, width = config.frame_size
        return cls(frame_size=(height, width), seq_len=config.seq_len, mean=IMAGENET_MEAN,
                   std=IMAGENET_STD, feature=config.neck_feature, feature_dim=model.feature_dim)


@dataclass(frozen=True)
class ExportedModel:
    """A loaded export: the network (eval mode, CPU) and what its features mean."""

    model: VideoReIDNet
    preprocessing: Preprocessing
    fingerprint: str  # hex sha-256 of config + weights; its first 16 digits name the version
    source: dict[str, Any]  # where it came from (checkpoint URL, step), for provenance
    path: Path

    @property
    def version(self) -> str:
        return self.fingerprint[:16]


def config_dict(config: ModelConfig) -> dict[str, Any]:
    """The config as plain JSON values (``pretrained`` dropped: every weight is in the file)."""
    values = asdict(replace(config, pretrained=None))
    values["frame_size"] = list(config.frame_size)
    return values


def config_from_dict(values: dict[str, Any]) -> ModelConfig:
    return ModelConfig(**{**values, "frame_size": tuple(values["frame_size"]), "pretrained": None})


def model_fingerprint(config: ModelConfig, state: dict[str, Tensor]) -> str:
    """sha-256 over the config and every tensor (name, dtype, shape, bytes), in name order."""
    digest = hashlib.sha256(json.dumps(config_dict(config), sort_keys=True).encode())
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def save_exported(model: VideoReIDNet, path: Path, *, source: dict[str, Any]) -> ExportedModel:
    """Write ``model`` (whole, unsplit) to ``path`` atomically; returns it as loaded."""
    model = model.eval()
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    preprocessing = Preprocessing.of(model)
    fingerprint = model_fingerprint(model.config, state)
    document = {
        "format": FORMAT, "version": FORMAT_VERSION, "fingerprint": fingerprint,
        "model_config": config_dict(model.config), "preprocessing": _plain(preprocessing),
        "source": json.loads(json.dumps(source)), "state_dict": state,
    }
    buffer = io.BytesIO()
    torch.save(document, buffer)
    write_atomically(Path(path), buffer.getvalue())
    return ExportedModel(model, preprocessing, fingerprint, dict(source), Path(path))


def load_exported(path: str | Path) -> ExportedModel:
    """The network of an exported file, in eval mode on the CPU; refuses any other file."""
    path = Path(path)
    try:
        document = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise ExportError(f"{path}: no such exported model file") from exc
    except (RuntimeError, OSError, EOFError, ValueError, KeyError, pickle.UnpicklingError,
            zipfile.BadZipFile) as exc:
        raise ExportError(f"{path} is not a readable exported model (truncated or another "
                          f"kind of file): {_first_line(exc)}") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ExportError(f"{path} is not a {FORMAT} file (export one with python -m "
                          "training.export)")
    if document.get("version") != FORMAT_VERSION:
        raise ExportError(f"{path} is {FORMAT} version {document.get('version')}; this code "
                          f"reads version {FORMAT_VERSION}")
    try:
        config = config_from_dict(document["model_config"])
        preprocessing = _preprocessing(document["preprocessing"])
        state = document["state_dict"]
        model = VideoReIDNet(config)
        model.load_state_dict(state)
    except (KeyError, TypeError, ValueError, ModelError, RuntimeError) as exc:
        raise ExportError(f"{path} does not describe a network this code can build: "
                          f"{_first_line(exc)}") from exc
    fingerprint = model_fingerprint(config, state)
    if fingerprint != document.get("fingerprint"):
        raise ExportError(f"{path} fails its fingerprint check: its weights or config were "
                          "altered after export")
    if preprocessing != Preprocessing.of(model):
        raise ExportError(f"{path} was exported with preprocessing {preprocessing}, which this "
                          f"code does not apply ({Preprocessing.of(model)})")
    return ExportedModel(model.eval(), preprocessing, fingerprint, dict(document["source"]),
                         path)


def export_portable(exported: ExportedModel, path: Path) -> None:
    """A ``torch.export`` program of (B, T, 3, H, W) normalised clips -> (B, D) features, with
    the preprocessing record inside (``reid.json``); written atomically."""
    model = exported.model.eval()
    example = model.example_clips(2)
    batch = torch.export.Dim("batch", min=1, max=_MAX_BATCH)
    with torch.no_grad():
        program = torch.export.export(model, (example,), dynamic_shapes=({0: batch},),
                                      strict=False)
    meta = {"format": FORMAT, "version": FORMAT_VERSION, "fingerprint": exported.fingerprint,
            "model_config": config_dict(model.config),
            "preprocessing": _plain(exported.preprocessing), "source": exported.source}
    buffer = io.BytesIO()
    torch.export.save(program, buffer, extra_files={PORTABLE_META: json.dumps(meta)})
    write_atomically(Path(path), buffer.getvalue())


def load_portable(path: str | Path) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The portable program as a callable module, and its ``reid.json`` record."""
    path = Path(path)
    extra = {PORTABLE_META: ""}
    try:
        program = torch.export.load(path, extra_files=extra)
        meta = json.loads(extra[PORTABLE_META])
    except FileNotFoundError as exc:
        raise ExportError(f"{path}: no such portable model file") from exc
    except (RuntimeError, OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise ExportError(f"{path} is not a readable portable model (truncated or another kind "
                          f"of file): {_first_line(exc)}") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ExportError(f"{path} is a torch.export file without this project's {PORTABLE_META}")
    return program.module(), meta


def write_atomically(path: Path, data: bytes) -> None:
    """``data`` to a temporary name beside ``path``, then renamed over it: readers see the old
    file or the whole new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _plain(preprocessing: Preprocessing) -> dict[str, Any]:
    return json.loads(json.dumps(asdict(preprocessing)))


def _preprocessing(values: dict[str, Any]) -> Preprocessing:
    height, width = (int(v) for v in values["frame_size"])
    mean = tuple(float(v) for v in values["mean"])
    std = tuple(float(v) for v in values["std"])
    if len(mean) != 3 or len(std) != 3:
        raise KeyError("preprocessing mean and std need 3 channels each")
    return Preprocessing(frame_size=(height, width), seq_len=int(values["seq_len"]),
                         mean=(mean[0], mean[1], mean[2]), std=(std[0], std[1], std[2]),
                         feature=str(values["feature"]), feature_dim=int(values["feature_dim"]))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
