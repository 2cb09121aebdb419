"""The frames of a source, where the ingest's Spark tasks read them: local paths or HDFS.

The ingest lists frame folders on the driver (sizes only, for the missing-frame check and the
fingerprint) and lets each Spark task read the frames of its own identity groups. Frame bytes
thus move once, from the source straight into the task that packs them, instead of through
Spark's shuffle. A local source must be visible at the same path to every executor (as with any
``file://`` input to Spark); an ``hdfs://`` landing directory always is. Which filesystem a
path names is ``hadoop.fs.paths``'s rule.

A frame is named relative to the source's root (a MARS tree; a tracklet manifest's folder), or
by its own location (an absolute local path or an ``hdfs://`` URL, as a manifest may list them).
"""

from __future__ import annotations

from collections.abc import Iterable

from hadoop.fs import FileInfo, FileSystem, PathNotFoundError, resolve


def is_absolute(location: str) -> bool:
    """True for ``/x`` and URLs (``hdfs://...``, ``file://...``), which name their own place."""
    return location.startswith("/") or "://" in location


class FrameSource:
    """Frame files and folders of one source (``root``: a directory, local or ``hdfs://``).
    Pickles as its filesystems and absolute root."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._fs, root = resolve(source)
        self._root = root.rstrip("/") or "/"
        self._filesystems: dict[str, FileSystem] = {}  # by location prefix, for absolute names

    def locate(self, name: str) -> tuple[FileSystem, str]:
        """The filesystem and absolute path of a frame or folder ``name``."""
        if not is_absolute(name):
            return self._fs, f"{self._root}/{name}"
        fs, path = resolve(name)
        # One filesystem object per NameNode: it keeps the client and open readers.
        return self._filesystems.setdefault(fs.location(""), fs), path

    def location(self, name: str) -> str:
        """Where ``name`` is, for messages: ``hdfs://host:port/path`` or a local path."""
        fs, path = self.locate(name)
        return fs.location(path)

    def listing(self, folder: str) -> list[FileInfo] | None:
        """The files directly in ``folder`` (no sub-folders); None if it does not exist. A file
        in its place lists nothing (HDFS lists a file as itself; local disk raises
        StorageError)."""
        fs, path = self.locate(folder)
        try:
            entries = fs.list(path)
        except PathNotFoundError:
            return None
        return [e for e in entries if not e.isdir and e.path.rstrip("/") != path]

    def sizes(self, folders: Iterable[str]) -> dict[str, int]:
        """Size of every ``.jpg`` in the given folders, keyed ``<folder>/<name>``; a missing
        folder lists nothing."""
        found: dict[str, int] = {}
        for folder in folders:
            found.update((f"{folder}/{e.name}", e.length) for e in self.listing(folder) or ()
                         if e.name.endswith(".jpg"))
        return found

    def read(self, frame: str) -> bytes | None:
        """The frame's bytes, or None when the file is gone (the packer quarantines it)."""
        fs, path = self.locate(frame)
        try:
            return fs.read_file(path)
        except PathNotFoundError:
            return None
