"""Atomic writes: a file or directory a user keeps is never seen half written.

Everything is first written under a hidden temporary name in the target's own directory (same
filesystem, so the final ``rename(2)`` is atomic) and renamed into place only once complete; a
failure removes the temporary and leaves the target as it was. ``atomic_write`` also takes an
``hdfs://`` URL, where the HDFS backend does the same with its own rename.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hadoop.fs.base import Chunks
from hadoop.fs.errors import StorageError


def _hidden_name(target: Path, tag: str) -> Path:
    return target.with_name(f".{target.name}.{tag}-{uuid.uuid4().hex[:12]}")


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """A temporary path beside ``target`` to write to (for writers that want a path, such as a
    plot's ``savefig``); renamed over ``target`` when the block ends, removed if it raises."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _hidden_name(target, "tmp")
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(target: str | Path, data: str | Chunks, *, encoding: str = "utf-8") -> int:
    """Write ``data`` (text, bytes or byte chunks) to ``target`` atomically; returns the bytes
    written. ``target`` is a local path, or an ``hdfs://`` URL (replaced if it exists)."""
    payload = data.encode(encoding) if isinstance(data, str) else data
    if isinstance(target, str) and target.startswith("hdfs://"):
        from hadoop.fs.paths import resolve  # the rule lives there; import late: no cycle

        fs, path = resolve(target)
        return fs.write_file(path, payload, overwrite=True)
    pieces = [payload] if isinstance(payload, bytes | bytearray | memoryview) else payload
    written = 0
    with atomic_path(target) as tmp, open(tmp, "wb") as handle:
        for chunk in pieces:
            written += handle.write(chunk)
    return written


def replace_tree(build: str | Path, target: str | Path) -> None:
    """Move the finished directory ``build`` to ``target``, replacing an old ``target`` only now:
    it is renamed aside first and deleted once the new one is in place (``rename(2)`` cannot
    replace a non-empty directory), and put back if the swap fails."""
    build, target = Path(build), Path(target)
    if target.exists() and not target.is_dir():
        raise StorageError(f"{target} exists and is not a directory")
    if not target.exists():
        os.replace(build, target)
        return
    retired = _hidden_name(target, "old")
    os.replace(target, retired)
    try:
        os.replace(build, target)
    except BaseException:
        os.replace(retired, target)
        raise
    shutil.rmtree(retired)
