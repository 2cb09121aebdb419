"""Errors raised while building the re-ID network or loading its weights."""

from training.errors import TrainingError


class ModelError(TrainingError):
    """A model configuration, input or weights file that the network cannot use."""


class PretrainedWeightsError(ModelError):
    """The ImageNet weights file is missing, unreadable or does not fit the backbone."""
