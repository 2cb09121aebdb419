"""The local-disk backend of :mod:`hadoop.fs.base`: plain POSIX calls, atomic writes."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from hadoop.fs.atomic import atomic_write
from hadoop.fs.base import Chunks, FileInfo
from hadoop.fs.errors import (
    PathExistsError,
    PathNotFoundError,
    ShortReadError,
    StorageError,
    StoragePermissionError,
)


class LocalFS:
    """Local files under absolute paths. Range reads are one ``pread`` each, like HDFS's
    positional reads, so the same data path runs over either backend."""

    kind = "local"

    def __reduce__(self) -> tuple[type[LocalFS], tuple[()]]:
        return LocalFS, ()

    def location(self, path: str) -> str:
        return path

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0:
            raise ValueError(f"bad range offset={offset} length={length} for {path}")
        with _mapped(path), open(path, "rb") as handle:  # no pathlib: many small reads
            data = os.pread(handle.fileno(), length, offset)
        if len(data) != length:
            raise ShortReadError(f"{path}: asked for {length} bytes at {offset}, got {len(data)}")
        return data

    def read_file(self, path: str) -> bytes:
        with _mapped(path), open(path, "rb") as handle:
            return handle.read()

    def size(self, path: str) -> int:
        with _mapped(path):
            return os.stat(path).st_size

    def status(self, path: str) -> FileInfo:
        with _mapped(path):
            stat = os.stat(path)
        isdir = os.path.isdir(path)
        return FileInfo(path, 0 if isdir else stat.st_size, isdir, stat.st_mtime_ns // 1_000_000)

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def list(self, path: str, recursive: bool = False) -> list[FileInfo]:
        found: list[FileInfo] = []
        with _mapped(path), os.scandir(path) as listing:
            for entry in listing:
                isdir = entry.is_dir()
                stat = entry.stat()
                found.append(FileInfo(entry.path, 0 if isdir else stat.st_size, isdir,
                                      stat.st_mtime_ns // 1_000_000))
                if isdir and recursive:
                    found += self.list(entry.path, recursive=True)
        return found

    def mkdirs(self, path: str, permission: int = 0o755) -> None:
        with _mapped(path):
            os.makedirs(path, mode=permission, exist_ok=True)

    def delete(self, path: str, recursive: bool = False) -> bool:
        if not os.path.lexists(path):
            return False
        with _mapped(path):
            if os.path.isdir(path) and not os.path.islink(path):
                if recursive:
                    shutil.rmtree(path)
                else:
                    os.rmdir(path)
            else:
                os.unlink(path)
        return True

    def rename(self, src: str, dst: str, overwrite: bool = False) -> None:
        with _mapped(src):
            if not overwrite and os.path.lexists(dst):
                raise PathExistsError(f"cannot rename {src} to {dst}: {dst} exists")
            os.replace(src, dst)

    def write_file(self, path: str, chunks: Chunks, *, replication: int | None = None,
                   block_size: int | None = None, overwrite: bool = False) -> int:
        if not overwrite and os.path.exists(path):
            raise PathExistsError(f"{path} exists (pass overwrite=True to replace it)")
        with _mapped(path):
            return atomic_write(path, chunks)


@contextmanager
def _mapped(path: str) -> Iterator[None]:
    """OS errors as the storage layer's, with the path named once."""
    try:
        yield
    except StorageError:
        raise
    except FileNotFoundError as exc:
        raise PathNotFoundError(f"{path}: no such file or directory (local disk)") from exc
    except FileExistsError as exc:
        raise PathExistsError(f"{path}: exists (local disk)") from exc
    except PermissionError as exc:
        raise StoragePermissionError(f"{path}: permission denied (local disk)") from exc
    except OSError as exc:
        raise StorageError(f"{path}: {exc.strerror or exc} (local disk)") from exc

