"""The one filesystem interface, which a local and an HDFS backend implement.

Modelled on fsspec's split (one interface, one backend per module, errors mapped to built-in
exceptions), kept to the operations the project uses, so each backend keeps its own strengths:
HDFS's replication and block size on write, and one open reader per file for range reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

Chunks = bytes | Sequence[bytes] | Iterable[bytes]


@dataclass(frozen=True)
class FileInfo:
    """One entry of a listing: its absolute path in its filesystem, size, kind, last change
    (milliseconds since the epoch, as HDFS counts), replication and block size (1 and 0 on
    local disk)."""

    path: str
    length: int
    isdir: bool
    modification_time: int = 0
    replication: int = 1
    blocksize: int = 0

    @property
    def name(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]


class FileSystem(Protocol):
    """Paths are absolute paths inside the filesystem (``/reid/mars``), never URLs."""

    kind: str  # "HDFS" or "local", for messages

    def location(self, path: str) -> str:
        """What to show a user: ``hdfs://host:port/path``, or the local path."""
        ...

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        """Exactly ``length`` bytes from ``offset``, or ShortReadError."""
        ...

    def read_file(self, path: str) -> bytes: ...

    def size(self, path: str) -> int: ...

    def status(self, path: str) -> FileInfo: ...

    def exists(self, path: str) -> bool: ...

    def list(self, path: str, recursive: bool = False) -> list[FileInfo]: ...

    def mkdirs(self, path: str, permission: int = 0o755) -> None:
        """Make ``path`` and any missing parents (existing ones are left as they are)."""
        ...

    def delete(self, path: str, recursive: bool = False) -> bool: ...

    def rename(self, src: str, dst: str, overwrite: bool = False) -> None: ...

    def write_file(self, path: str, chunks: Chunks, *, replication: int | None = None,
                   block_size: int | None = None, overwrite: bool = False) -> int:
        """Write atomically (a temporary name beside ``path``, renamed into place when complete);
        returns the bytes written. ``replication`` and ``block_size`` apply to HDFS only."""
        ...
