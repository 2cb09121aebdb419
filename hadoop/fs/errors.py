"""The storage layer's errors, one per built-in error a backend's calls raise.

Both backends map their built-in errors (``FileNotFoundError`` from a local open, hdfs-native's
``FileNotFoundError`` or ``OSError``) to these, so a caller catches ``PathNotFoundError`` from
either filesystem, and the command line wrapper (:mod:`hadoop.cli`) prints any of them as one
line: each is a ``ReidError`` whose message names the full location (``hdfs://host:port/path``
or a local path). Like every project error, none is also a built-in error.
"""

from __future__ import annotations

from hadoop.errors import ReidError


class StorageError(ReidError):
    """Base class: a file operation on local disk or HDFS failed; the message names the path."""


class PathNotFoundError(StorageError):
    """The file or directory does not exist."""


class PathExistsError(StorageError):
    """The target exists and the caller did not ask to replace it."""


class StoragePermissionError(StorageError):
    """The filesystem refused the operation for this user."""


class NameNodeUnreachableError(StorageError):
    """No NameNode answered at the address within the bounded wait."""


class ShortReadError(StorageError):
    """The file holds fewer bytes than asked for (shorter than the index says)."""


class ReplicasExhaustedError(StorageError):
    """A read failed on every replica, on every attempt."""


class WriteFailedError(StorageError):
    """A write (pipeline to the DataNodes, then the rename into place) failed on every attempt;
    the target is unchanged."""


class RequestFailedError(StorageError):
    """A namespace request (stat, list) kept failing while the NameNode was reachable."""
