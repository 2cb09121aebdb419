"""The ingest package's error base.

Every deliberate error of :mod:`ingest` (a MARS tree, a manifest, a dataset, a generator knob, a
Spark ingest that cannot proceed) derives from :class:`IngestError`, and through it from the
project's one root, :class:`hadoop.errors.ReidError`, which every command line maps to one line
and exit code 2.
"""

from hadoop.errors import ReidError


class IngestError(ReidError):
    """The ingest cannot proceed as asked; the message says which input, path or flag to fix."""
