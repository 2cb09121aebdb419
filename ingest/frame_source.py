"""The frames of a MARS tree, where the ingest's Spark tasks read them: a local path or HDFS.

The ingest lists identity folders on the driver (sizes only, for the missing-frame check and the
fingerprint) and lets each Spark task read the frames of its own identity groups. Frame bytes
thus move once, from the source straight into the task that packs them, instead of through
Spark's shuffle. A local source must be visible at the same path to every executor (as with any
``file://`` input to Spark); an ``hdfs://`` landing directory always is. Which filesystem a
source names is ``hadoop.fs.paths``'s rule.
"""

from __future__ import annotations

from collections.abc import Iterable

from hadoop.fs import PathNotFoundError, resolve


class FrameSource:
    """A MARS tree's frame files, addressed by their path relative to the tree
    (``bbox_train/0001/0001C1T0001F001.jpg``). Pickles as its filesystem and absolute root."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._fs, root = resolve(source)
        self._root = root.rstrip("/") or "/"

    def sizes(self, folders: Iterable[str]) -> dict[str, int]:
        """Size of every ``.jpg`` in the given relative folders; a missing folder lists nothing."""
        found: dict[str, int] = {}
        for folder in folders:
            try:
                entries = self._fs.list(f"{self._root}/{folder}")
            except PathNotFoundError:
                continue
            found.update((f"{folder}/{e.name}", e.length) for e in entries
                         if not e.isdir and e.name.endswith(".jpg"))
        return found

    def read(self, frame: str) -> bytes | None:
        """The frame's bytes, or None when the file is gone (the packer quarantines it)."""
        try:
            return self._fs.read_file(f"{self._root}/{frame}")
        except PathNotFoundError:
            return None
