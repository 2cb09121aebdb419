"""Errors raised while planning, building or running the pipeline-parallel trainer."""


class PipelineError(ValueError):
    """A pipeline configuration, launch layout, input batch or checkpoint the engine cannot use."""
