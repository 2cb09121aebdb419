"""ResNet backbone presets built from torchvision's blocks, and ImageNet weight loading.

The "resnet50" preset is torchvision's resnet50 layer for layer (same module names and shapes
inside each unit), so its ImageNet ``state_dict`` loads by name from a local file. The "small"
preset keeps the same unit structure with a quarter of the width and fewer blocks, for tests
and the CPU demo.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from torch import Tensor, nn
from torchvision.models.resnet import Bottleneck, conv1x1

from training.model.errors import PretrainedWeightsError

PresetName = Literal["resnet50", "small"]


@dataclass(frozen=True)
class BackbonePreset:
    """Widths and depths of a bottleneck ResNet, and where the non-local blocks go."""

    stem_width: int
    planes: tuple[int, int, int, int]
    blocks: tuple[int, int, int, int]
    # A non-local block follows each of the last n bottlenecks of a layer (STE-NVAN: 2 in
    # layer2, 3 in layer3).
    nonlocal_last: tuple[int, int, int, int]

    @property
    def feature_dim(self) -> int:
        return self.planes[-1] * Bottleneck.expansion


PRESETS: dict[str, BackbonePreset] = {
    "resnet50": BackbonePreset(64, (64, 128, 256, 512), (3, 4, 6, 3), (0, 2, 3, 0)),
    "small": BackbonePreset(16, (16, 32, 64, 128), (2, 2, 3, 2), (0, 2, 3, 0)),
}


@dataclass(frozen=True)
class BottleneckSpec:
    """One bottleneck of the backbone: its unit name and whether a non-local block follows."""

    name: str  # "layer2_3": layer 2, block 3 (torchvision's "layer2.3")
    block: Bottleneck
    nonlocal_channels: int | None


def build_bottlenecks(preset: BackbonePreset, last_stride: int) -> Iterator[BottleneckSpec]:
    """The bottlenecks of layer1..layer4 in order, built as torchvision's ResNet builds them."""
    inplanes = preset.stem_width
    strides = (1, 2, 2, last_stride)
    for layer, (planes, depth, stride, n_nonlocal) in enumerate(
        zip(preset.planes, preset.blocks, strides, preset.nonlocal_last, strict=True), start=1
    ):
        outplanes = planes * Bottleneck.expansion
        for index in range(depth):
            block_stride = stride if index == 0 else 1
            downsample = None
            if block_stride != 1 or inplanes != outplanes:
                downsample = nn.Sequential(
                    conv1x1(inplanes, outplanes, block_stride), nn.BatchNorm2d(outplanes)
                )
            block = Bottleneck(inplanes, planes, block_stride, downsample)
            init_like_torchvision(block)
            inplanes = outplanes
            has_nonlocal = index >= depth - n_nonlocal
            yield BottleneckSpec(
                f"layer{layer}_{index}", block, outplanes if has_nonlocal else None
            )


def init_like_torchvision(module: nn.Module) -> None:
    """Torchvision's ResNet initialisation, so an untrained backbone starts where resnet50 does."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def torchvision_to_unit_key(key: str) -> str | None:
    """Map a torchvision resnet ``state_dict`` key to this model's name; None for the fc layer.

    "conv1.weight" -> "units.stem.conv1.weight";
    "layer2.3.bn1.bias" -> "units.layer2_3.bottleneck.bn1.bias". Keys of any other form are
    returned unchanged, so they match nothing in the model and are reported as unexpected.
    """
    top, _, rest = key.partition(".")
    if top == "fc":
        return None
    if top in ("conv1", "bn1"):
        return f"units.stem.{key}"
    index, _, inner = rest.partition(".")
    if top.startswith("layer") and index.isdigit() and inner:
        return f"units.{top}_{index}.bottleneck.{inner}"
    return key


def load_torchvision_weights(model: nn.Module, path: Path) -> None:
    """Copy a local torchvision resnet ``state_dict`` file into ``model``'s backbone by name.

    Never downloads. Every backbone tensor must be present with the same shape, so a file of
    another architecture fails here instead of silently training from half-random weights.
    """
    state = _read_state_dict(path)
    own = model.state_dict()
    backbone_keys = {k for k in own if k.startswith("units.stem.") or ".bottleneck." in k}
    mapped: dict[str, Tensor] = {}
    unexpected: list[str] = []
    mismatched: list[str] = []
    for key, tensor in state.items():
        name = torchvision_to_unit_key(key)
        if name is None:
            continue
        if name not in backbone_keys:
            unexpected.append(key)
        elif own[name].shape != tensor.shape:
            mismatched.append(f"{key} {tuple(tensor.shape)} vs {tuple(own[name].shape)}")
        else:
            mapped[name] = tensor
    missing = sorted(backbone_keys - {torchvision_to_unit_key(k) for k in state})
    problems = [
        f"{label} ({len(items)}): {', '.join(items[:5])}{' ...' if len(items) > 5 else ''}"
        for label, items in (
            ("shape mismatches", mismatched),
            ("keys the backbone does not have", unexpected),
            ("backbone keys missing from the file", missing),
        )
        if items
    ]
    if problems:
        raise PretrainedWeightsError(
            f"pretrained weights {path} do not fit this backbone (expected a torchvision "
            f"resnet50 state_dict and the 'resnet50' preset): " + "; ".join(problems)
        )
    model.load_state_dict(mapped, strict=False)


def _read_state_dict(path: Path) -> Mapping[str, Tensor]:
    if not path.is_file():
        raise PretrainedWeightsError(
            f"pretrained weights file {path} does not exist; pass the local path of "
            "torchvision's resnet50 ImageNet state_dict (nothing is downloaded at run time)"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch.load raises pickle, zip and runtime errors alike
        raise PretrainedWeightsError(
            f"cannot read pretrained weights {path} as a torch state_dict: {exc}"
        ) from exc
    if not isinstance(state, Mapping) or not all(
        isinstance(k, str) and isinstance(v, Tensor) for k, v in state.items()
    ):
        raise PretrainedWeightsError(
            f"pretrained weights {path} hold a {type(state).__name__}, not a state_dict of "
            "named tensors (save one with torch.save(resnet50.state_dict(), path))"
        )
    return state
