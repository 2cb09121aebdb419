"""NVAN video re-ID network (ResNet-50 + 5 non-local blocks + BN neck) in pipeline cut units."""

from training.model.backbone import PRESETS, BackbonePreset, load_torchvision_weights
from training.model.errors import ModelError, PretrainedWeightsError
from training.model.exported import ExportedModel, ExportError, load_exported
from training.model.nonlocal_block import NonLocalBlock, fused_attention, plain_attention
from training.model.nvan import ModelConfig, VideoReIDNet
from training.model.recipe import NVAN, NVANRecipe
from training.model.units import Head

__all__ = [
    "NVAN",
    "PRESETS",
    "BackbonePreset",
    "ExportError",
    "ExportedModel",
    "Head",
    "ModelConfig",
    "ModelError",
    "NVANRecipe",
    "NonLocalBlock",
    "PretrainedWeightsError",
    "VideoReIDNet",
    "fused_attention",
    "load_exported",
    "load_torchvision_weights",
    "plain_attention",
]
