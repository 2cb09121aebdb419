"""Storage: the only package that talks to HDFS or decides between HDFS and local disk.

- :mod:`hadoop.fs.paths`: the rule (a path is local unless it says ``hdfs://``) and ``resolve``;
- :mod:`hadoop.fs.base`: the one filesystem interface; :mod:`hadoop.fs.local` and
  :mod:`hadoop.fs.hdfs` its backends (HDFS: exact range reads, bounded retries and NameNode
  waits, an injectable client);
- :mod:`hadoop.fs.atomic`: the one atomic-write helper (temporary name, then rename);
- :mod:`hadoop.fs.ranges`: byte ranges and read coalescing; :mod:`hadoop.fs.probe`: a
  background reader that proves reads survive faults;
- :mod:`hadoop.fs.errors`: the storage errors, ``ReidError``s that stand for the built-in errors
  the backends raise.
"""

from hadoop.fs.atomic import atomic_path, atomic_write, replace_tree
from hadoop.fs.base import FileInfo, FileSystem
from hadoop.fs.errors import (
    NameNodeUnreachableError,
    PathExistsError,
    PathNotFoundError,
    ReplicasExhaustedError,
    RequestFailedError,
    ShortReadError,
    StorageError,
    StoragePermissionError,
    WriteFailedError,
)
from hadoop.fs.hdfs import HdfsFS, RetryPolicy
from hadoop.fs.local import LocalFS
from hadoop.fs.paths import describe, is_hdfs, resolve

__all__ = [
    "FileInfo", "FileSystem", "HdfsFS", "LocalFS", "NameNodeUnreachableError",
    "PathExistsError", "PathNotFoundError", "ReplicasExhaustedError", "RequestFailedError",
    "RetryPolicy", "ShortReadError", "StorageError", "StoragePermissionError",
    "WriteFailedError", "atomic_path", "atomic_write", "describe", "is_hdfs", "replace_tree",
    "resolve",
]
