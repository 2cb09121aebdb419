"""Errors raised while planning, building or running the pipeline-parallel trainer."""

from training.errors import TrainingError


class PipelineError(TrainingError):
    """A pipeline configuration, launch layout, input batch or checkpoint the engine cannot use."""
