"""NVAN: ResNet-50 (last stride 1) + 5 non-local blocks + BN neck, as an ordered list of units.

``VideoReIDNet.units`` holds the network as contiguous cut units (stem, one per bottleneck with
its non-local block, head). ``forward`` runs whichever units the module holds, in order, so a
pipeline stage is a copy of the model that keeps a contiguous run of them (``stage_copy``) and
its parameter names stay those of the full model.
"""

import copy
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import Tensor, nn

from training.model.backbone import (
    PRESETS,
    BackbonePreset,
    PresetName,
    build_bottlenecks,
    load_torchvision_weights,
)
from training.model.errors import ModelError
from training.model.nonlocal_block import NonLocalBlock
from training.model.units import BottleneckUnit, Head, NeckFeature, Stem


@dataclass(frozen=True)
class ModelConfig:
    """What the network is; defaults are NVAN's (full ResNet-50-NL, T=8, 256x128 frames)."""

    num_classes: int
    seq_len: int = 8
    preset: PresetName = "resnet50"
    last_stride: int = 1
    nonlocal_blocks: bool = True
    # A torchvision resnet50 state_dict file (ImageNet weights); never downloaded.
    pretrained: Path | None = None
    neck_feature: NeckFeature = "bn"
    frame_size: tuple[int, int] = (256, 128)  # (height, width) of the input frames

    def __post_init__(self) -> None:
        checks = [
            (self.num_classes >= 1, f"num_classes must be >= 1, got {self.num_classes}"),
            (self.seq_len >= 1, f"seq_len must be >= 1, got {self.seq_len}"),
            (self.preset in PRESETS, f"preset must be in {sorted(PRESETS)}, got {self.preset!r}"),
            (self.last_stride in (1, 2), f"last_stride must be 1 or 2, got {self.last_stride}"),
            (
                self.neck_feature in ("bn", "pre_bn"),
                f"neck_feature must be 'bn' or 'pre_bn', got {self.neck_feature!r}",
            ),
            (
                len(self.frame_size) == 2 and min(self.frame_size) >= 32,
                f"frame_size must be (height, width), each >= 32, got {self.frame_size}",
            ),
        ]
        errors = [message for ok, message in checks if not ok]
        if errors:
            raise ModelError("invalid ModelConfig: " + "; ".join(errors))

    @property
    def backbone(self) -> BackbonePreset:
        return PRESETS[self.preset]


class VideoReIDNet(nn.Module):
    """Clips (B, T, 3, H, W) -> (pre-BN feature, logits) in training, a feature in evaluation."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        preset = config.backbone
        self.feature_dim = preset.feature_dim
        units: dict[str, nn.Module] = {"stem": Stem(preset)}
        for spec in build_bottlenecks(preset, config.last_stride):
            non_local = None
            if config.nonlocal_blocks and spec.nonlocal_channels is not None:
                non_local = NonLocalBlock(spec.nonlocal_channels)
            units[spec.name] = BottleneckUnit(spec.block, non_local)
        units["head"] = Head(preset.feature_dim, config.num_classes, config.neck_feature)
        self.units = nn.ModuleDict(units)
        if config.pretrained is not None:
            load_torchvision_weights(self, config.pretrained)

    def forward(self, clips: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        """Run the units this module holds, in order (all of them unless it is a stage copy)."""
        *body, last = self.units.values()
        x = clips
        for unit in body:
            x = unit(x)
        return last(x)

    @property
    def nonlocal_blocks(self) -> list[NonLocalBlock]:
        return [m for m in self.modules() if isinstance(m, NonLocalBlock)]

    def stage_copy(self, start: int, stop: int) -> "VideoReIDNet":
        """A deep copy holding only units[start:stop], under the full model's parameter names."""
        names = list(self.units)
        if not 0 <= start < stop <= len(names):
            raise ModelError(
                f"stage units [{start}, {stop}) are not a non-empty range of the {len(names)} "
                f"units {names[0]!r}..{names[-1]!r}"
            )
        stage = copy.deepcopy(self)
        for name in names[:start] + names[stop:]:
            del stage.units[name]
        return stage

    def example_clips(self, batch_size: int) -> Tensor:
        """Zero clips of the configured shape, e.g. a pipeline's static example input."""
        height, width = self.config.frame_size
        return torch.zeros(batch_size, self.config.seq_len, 3, height, width)

    def unit_input_shapes(self, batch_size: int) -> dict[str, torch.Size]:
        """The shape of the tensor each unit receives for a batch of configured clips.

        Computed on a meta-device twin of the model, so no arithmetic runs and no BatchNorm
        statistics are touched (shape inference by a real forward would corrupt them).
        """
        with torch.device("meta"):
            twin = VideoReIDNet(replace(self.config, pretrained=None)).eval()
            x = self.example_clips(batch_size)
        shapes: dict[str, torch.Size] = {}
        for name, unit in twin.units.items():
            shapes[name] = x.shape
            if name != "head":
                x = unit(x)
        return shapes
