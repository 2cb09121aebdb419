"""The cut units of the video re-ID network: stem, one unit per bottleneck, head.

Every unit but the head maps a clip tensor (B, T, C, H, W) to another one, so a pipeline stage
boundary can fall between any two units and T travels in the tensor's shape. The 2-D layers
run on (B*T, C, H, W); a non-local block sees the clip as (B, C, T, H, W).
"""

from collections.abc import Callable
from typing import Literal

from torch import Tensor, nn
from torchvision.models.resnet import Bottleneck

from training.model.backbone import BackbonePreset, init_like_torchvision
from training.model.errors import ModelError
from training.model.nonlocal_block import NonLocalBlock

NeckFeature = Literal["bn", "pre_bn"]


def per_frame(layers: Callable[[Tensor], Tensor], clips: Tensor) -> Tensor:
    """Apply 2-D layers to every frame of (B, T, C, H, W) clips."""
    batch, frames = clips.shape[:2]
    return layers(clips.flatten(0, 1)).unflatten(0, (batch, frames))


class Stem(nn.Module):
    """conv1 -> bn1 -> maxpool without ReLU, as STE-NVAN (and reid-strong-baseline) use it."""

    def __init__(self, preset: BackbonePreset):
        super().__init__()
        self.conv1 = nn.Conv2d(3, preset.stem_width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(preset.stem_width)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        init_like_torchvision(self)

    def forward(self, clips: Tensor) -> Tensor:
        if clips.ndim != 5 or clips.shape[2] != 3:
            raise ModelError(
                f"clips must be shaped (batch, frames, 3, height, width); got {tuple(clips.shape)}"
            )
        return per_frame(lambda x: self.maxpool(self.bn1(self.conv1(x))), clips)


class BottleneckUnit(nn.Module):
    """One torchvision bottleneck, followed by the non-local block that STE-NVAN puts after it."""

    def __init__(self, bottleneck: Bottleneck, non_local: NonLocalBlock | None):
        super().__init__()
        self.bottleneck = bottleneck
        self.non_local = non_local

    def forward(self, clips: Tensor) -> Tensor:
        out = per_frame(self.bottleneck, clips)
        if self.non_local is None:
            return out
        # Contiguous, so the tensor can be sent as is when a pipeline cut falls here.
        return self.non_local(out.transpose(1, 2)).transpose(1, 2).contiguous()


class Head(nn.Module):
    """Average over (T, H, W) -> feature -> BatchNorm1d neck (bias frozen) -> classifier.

    Training returns (pre-BN feature for the triplet loss, logits for cross-entropy); evaluation
    returns the feature chosen by ``neck_feature`` (the BN one by default, as NVAN tests).
    """

    def __init__(self, in_features: int, num_classes: int, neck_feature: NeckFeature):
        super().__init__()
        self.neck_feature = neck_feature
        self.neck = nn.BatchNorm1d(in_features)
        self.neck.bias.requires_grad_(False)
        self.classifier = nn.Linear(in_features, num_classes, bias=False)
        nn.init.normal_(self.classifier.weight, std=0.001)

    def forward(self, clips: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        feature = clips.mean(dim=(1, 3, 4))
        if self.training:
            return feature, self.classifier(self.neck(feature))
        return self.neck(feature) if self.neck_feature == "bn" else feature
