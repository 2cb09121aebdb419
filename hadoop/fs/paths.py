"""The one rule that says which filesystem a path names: a path is local unless it says
``hdfs://``.

``/scratch/ckpt``, ``ckpt`` and ``file:///scratch/ckpt`` are local paths (made absolute here, so
a path pickled into another process or a Spark executor means the same file);
``hdfs://host:port/reid/x`` is ``/reid/x`` on that NameNode, and ``hdfs:///reid/x`` the same
path on the configured one (``fs.defaultFS`` in ``hadoop/conf/core-site.xml``). Every command
line flag that takes a dataset, checkpoint or source goes through :func:`resolve`, and messages
name the filesystem used (:func:`describe`).
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from hadoop.fs.base import FileSystem
from hadoop.fs.errors import StorageError
from hadoop.fs.hdfs import HdfsFS, RetryPolicy
from hadoop.fs.local import LocalFS


def is_hdfs(location: str) -> bool:
    return urlsplit(location).scheme.lower() == "hdfs"


def resolve(location: str, retry: RetryPolicy | None = None) -> tuple[FileSystem, str]:
    """The filesystem ``location`` names and the absolute path in it (trailing ``/`` dropped)."""
    parts = urlsplit(location)
    scheme = parts.scheme.lower()
    if scheme == "hdfs":
        fs: FileSystem = HdfsFS(f"hdfs://{parts.netloc}" if parts.netloc else None, retry)
        return fs, (parts.path.rstrip("/") or "/")
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise StorageError(f"{location!r}: a file:// URL names no host")
        return LocalFS(), os.path.abspath(parts.path or "/")
    if "://" in location:
        raise StorageError(f"{location!r}: unsupported scheme {scheme}:// (use a local path or "
                           "hdfs://host:port/path)")
    return LocalFS(), os.path.abspath(location)


def describe(location: str) -> str:
    """``location`` with the filesystem it names, for messages: ``HDFS hdfs://h:p/x`` or
    ``local /abs/x``."""
    fs, path = resolve(location)
    return f"{fs.kind} {fs.location(path)}"
