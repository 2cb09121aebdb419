"""The training package's error base.

Every deliberate error of :mod:`training` (a model, pipeline, checkpoint, loss input, frame,
evaluation or report that cannot be used) derives from :class:`TrainingError`, and through it
from the project's one root, :class:`hadoop.errors.ReidError`, which every command line maps to
one line and exit code 2.
"""

from hadoop.errors import ReidError


class TrainingError(ReidError):
    """The run cannot start or continue as configured; the message names what to fix."""
