"""The frames of a MARS tree, where the ingest's Spark tasks read them: a local path or HDFS.

The ingest lists identity folders on the driver (sizes only, for the missing-frame check and the
fingerprint) and lets each Spark task read the frames of its own identity groups. Frame bytes
thus move once, from the source straight into the task that packs them, instead of through
Spark's shuffle. A local source must be visible at the same path to every executor (as with any
``file://`` input to Spark); an ``hdfs://`` landing directory always is.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ingest.hdfs_io import HdfsFS, split_url


class FrameSource:
    """A MARS tree's frame files, addressed by their path relative to the tree
    (``bbox_train/0001/0001C1T0001F001.jpg``). Pickles as its URL."""

    def __init__(self, source: str) -> None:
        nn, path = split_url(source)
        if nn is None:
            path = str(Path(path).absolute())  # executors may run in another directory
        self.source = source if nn is not None else path
        self._root = path.rstrip("/") or "/"
        self._hdfs = HdfsFS(nn) if nn is not None else None

    def __reduce__(self) -> tuple[type[FrameSource], tuple[str]]:
        return FrameSource, (self.source,)

    def sizes(self, folders: Iterable[str]) -> dict[str, int]:
        """Size of every ``.jpg`` in the given relative folders; a missing folder lists nothing."""
        found: dict[str, int] = {}
        for folder in folders:
            if self._hdfs is not None:
                try:
                    entries = [(os.path.basename(s.path), s.length)
                               for s in self._hdfs.list(f"{self._root}/{folder}")
                               if not s.isdir]
                except FileNotFoundError:
                    continue
            else:
                try:
                    with os.scandir(Path(self._root) / folder) as listing:
                        entries = [(e.name, e.stat().st_size) for e in listing if e.is_file()]
                except FileNotFoundError:
                    continue
            found.update((f"{folder}/{name}", size) for name, size in entries
                         if name.endswith(".jpg"))
        return found

    def read(self, frame: str) -> bytes | None:
        """The frame's bytes, or None when the file is gone (the packer quarantines it)."""
        try:
            if self._hdfs is not None:
                return self._hdfs.read_file(f"{self._root}/{frame}")
            with open(os.path.join(self._root, frame), "rb") as handle:  # no pathlib: 26k calls
                return handle.read()
        except FileNotFoundError:
            return None
