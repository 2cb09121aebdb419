"""The project's one HDFS I/O layer: exact range reads with bounded retries, atomic writes.

Built on hdfs-native (a Rust client speaking HDFS's RPC and data-transfer protocols, no JVM).
It verifies block checksums and fails over to the next replica by itself; this layer adds what a
training job needs on top:

- exact reads: a read returns exactly the bytes asked for or raises, never a short buffer;
- bounded retries with backoff when every replica it knew of failed (a DataNode just died and
  the NameNode has not noticed yet), re-asking the NameNode for locations each time, then a
  ``ReplicasExhaustedError`` naming the path, range and attempts;
- atomic writes: data goes to a hidden temporary name in the target directory and is renamed
  into place, so readers never see a half-written file;
- one client per process: pickling carries only the URL, and a forked child opens its own
  client lazily. Use ``forkserver`` (or ``spawn``) DataLoader workers: after a plain fork,
  hdfs-native's first request in the child stalls for about 60 s (measured).
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from posixpath import basename, dirname
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

from hdfs_native import Client, WriteOptions

from hadoop.errors import ReidError
from hadoop.siteconf import namenode_url

if TYPE_CHECKING:
    from hdfs_native import FileReader, FileStatus

_READER_CACHE = 256
_INHERITED: list[object] = []  # clients a forked child inherited; see HdfsFS.client
T = TypeVar("T")


class HdfsIOError(ReidError):
    """Base class of this layer's errors."""


class ReplicasExhaustedError(HdfsIOError):
    """Every replica of the requested range failed on every attempt."""


class ShortReadError(HdfsIOError):
    """HDFS returned fewer bytes than requested (the file is shorter than the index says)."""


# Errors that another attempt cannot fix: the request itself is wrong.
_NOT_RETRYABLE = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError,
                  FileExistsError, ValueError, HdfsIOError)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard a read or write tries before giving up. Delays double up to ``max_delay_s``."""

    attempts: int = 5
    delay_s: float = 0.5
    max_delay_s: float = 8.0

    def delays(self) -> Iterator[float]:
        delay = self.delay_s
        for _ in range(self.attempts - 1):
            yield delay
            delay = min(delay * 2, self.max_delay_s)


def split_url(url_or_path: str) -> tuple[str | None, str]:
    """``hdfs://host:port/a/b`` -> (``hdfs://host:port``, ``/a/b``); a bare path -> (None, path)."""
    parts = urlsplit(url_or_path)
    if parts.scheme in ("", "file") and not parts.netloc:
        return None, parts.path
    if parts.scheme != "hdfs":
        raise ValueError(f"{url_or_path!r} is not an hdfs:// URL or an absolute HDFS path")
    return f"hdfs://{parts.netloc}", parts.path or "/"


class HdfsFS:
    """A NameNode's filesystem, with the guarantees described in the module docstring."""

    def __init__(self, url: str | None = None, retry: RetryPolicy | None = None) -> None:
        self.url = url or namenode_url()
        self.retry = retry or RetryPolicy()
        self._pid = -1
        self._client: Client | None = None
        self._readers: OrderedDict[str, FileReader] = OrderedDict()
        self._lock = threading.Lock()  # reads may come from several threads (batch fetches)

    def __reduce__(self) -> tuple[type[HdfsFS], tuple[str, RetryPolicy]]:
        """Pickled (into a spawned or forkserver DataLoader worker) as its URL and policy:
        the receiving process opens its own client."""
        return HdfsFS, (self.url, self.retry)

    @classmethod
    def for_url(cls, url_or_path: str, retry: RetryPolicy | None = None) -> tuple[HdfsFS, str]:
        """The filesystem an ``hdfs://`` URL names (a bare path: the default one), and the path."""
        nn, path = split_url(url_or_path)
        return cls(nn, retry), path

    @property
    def client(self) -> Client:
        with self._lock:
            return self._client_locked()

    def _client_locked(self) -> Client:
        if self._pid != os.getpid():  # new process after fork: never share the parent's client
            if self._client is not None:
                # Dropping the parent's client here would wait forever for its runtime's
                # threads, which fork did not copy: keep it (and its readers) alive instead.
                _INHERITED.append((self._client, list(self._readers.values())))
            self._client = Client(self.url)
            self._readers = OrderedDict()
            self._pid = os.getpid()
        assert self._client is not None
        return self._client

    # ---- reads -------------------------------------------------------------------------------

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        """Exactly ``length`` bytes of ``path`` from ``offset``, in one positional read."""
        if offset < 0 or length < 0:
            raise ValueError(f"bad range offset={offset} length={length} for {path}")

        def attempt() -> bytes:
            reader = self._reader(path)
            if offset + length > len(reader):  # the path may have been replaced: reopen once
                self._readers.pop(path, None)
                reader = self._reader(path)
            available = max(0, min(length, len(reader) - offset))
            if available != length:  # checked first: hdfs-native panics on reads past the end
                raise ShortReadError(f"{self.url}{path}: asked for {length} bytes at {offset}, "
                                     f"got {available} (file length {len(reader)})")
            data = reader.read_range(offset, length)
            if len(data) != length:
                raise ShortReadError(f"{self.url}{path}: asked for {length} bytes at {offset}, "
                                     f"got {len(data)}")
            return bytes(data)

        return self._retrying(f"read {path} [{offset}, +{length})", attempt,
                              on_failure=lambda: self._readers.pop(path, None))

    def read_file(self, path: str) -> bytes:
        """A whole (small) file, such as a manifest: always its current version."""
        self._readers.pop(path, None)
        return self.read_range(path, 0, self.size(path))

    def size(self, path: str) -> int:
        return int(self.status(path).length)

    def _reader(self, path: str) -> FileReader:
        """An open reader per file (block locations cached), most recently used kept."""
        with self._lock:
            client = self._client_locked()  # first: a forked child drops the parent's readers
            reader = self._readers.pop(path, None)
        if reader is None:
            reader = client.read(path)
        with self._lock:
            self._readers[path] = reader
            while len(self._readers) > _READER_CACHE:
                self._readers.popitem(last=False)
        return reader

    # ---- writes ------------------------------------------------------------------------------

    def write_file(self, path: str, chunks: bytes | Sequence[bytes] | Iterable[bytes], *,
                   replication: int | None = None, block_size: int | None = None,
                   overwrite: bool = False) -> int:
        """Write ``chunks`` to ``path`` atomically; returns the number of bytes written.

        The data is first written to ``.<name>.tmp-<random>`` beside the target (same directory,
        so the placement policy sees the same group) and renamed into place when complete. A
        failed pipeline (hdfs-native does not recover one, e.g. when the NameNode still offers
        a DataNode that just died) is retried with a fresh file if ``chunks`` can be replayed
        (bytes or a sequence); a one-shot iterator is written once.
        """
        if not overwrite and self.exists(path):
            raise FileExistsError(f"{self.url}{path} exists (pass overwrite=True to replace it)")
        options = WriteOptions(overwrite=False, create_parent=True)
        if replication is not None:
            options.replication = replication
        if block_size is not None:
            options.block_size = block_size
        pieces = [chunks] if isinstance(chunks, bytes | bytearray) else chunks

        def attempt() -> int:
            tmp = f"{dirname(path)}/.{basename(path)}.tmp-{uuid.uuid4().hex[:12]}"
            written = 0
            try:
                with self.client.create(tmp, options) as out:
                    for chunk in pieces:
                        out.write(chunk)
                        written += len(chunk)
                self.client.rename(tmp, path, overwrite=overwrite)
            except BaseException:
                self._quiet_delete(tmp)
                raise
            return written

        replayable = isinstance(pieces, Sequence)
        written = self._retrying(f"write {path}", attempt) if replayable else attempt()
        self._readers.pop(path, None)
        return written

    # ---- namespace ---------------------------------------------------------------------------

    def status(self, path: str) -> FileStatus:
        return self._retrying(f"stat {path}", lambda: self.client.get_file_info(path))

    def exists(self, path: str) -> bool:
        try:
            self.status(path)
        except FileNotFoundError:
            return False
        return True

    def list(self, path: str, recursive: bool = False) -> list[FileStatus]:
        return list(self._retrying(f"list {path}",
                                   lambda: list(self.client.list_status(path, recursive))))

    def mkdirs(self, path: str) -> None:
        self.client.mkdirs(path, create_parent=True)

    def delete(self, path: str, recursive: bool = False) -> bool:
        self._readers.pop(path, None)
        return bool(self.client.delete(path, recursive))

    def rename(self, src: str, dst: str, overwrite: bool = False) -> None:
        self.client.rename(src, dst, overwrite=overwrite)

    def set_replication(self, path: str, replication: int) -> None:
        self.client.set_replication(path, replication)

    # ---- internals ---------------------------------------------------------------------------

    def _retrying(self, what: str, operation: Callable[[], T],
                  on_failure: Callable[[], object] | None = None) -> T:
        errors: list[str] = []
        for delay in [*self.retry.delays(), None]:
            try:
                return operation()
            except _NOT_RETRYABLE:
                raise
            except (OSError, RuntimeError) as exc:
                errors.append(f"{type(exc).__name__}: {_short(exc)}")
                if on_failure is not None:
                    on_failure()
                if delay is None:
                    break
                time.sleep(delay)
        raise ReplicasExhaustedError(
            f"{self.url}: {what} failed {len(errors)} times (a read tries every replica each "
            f"time); last error: {errors[-1]}")

    def _quiet_delete(self, path: str) -> None:
        with contextlib.suppress(OSError, RuntimeError):
            self.client.delete(path, False)


def _short(exc: BaseException, limit: int = 300) -> str:
    """One line; hdfs-native's "All DataNodes failed" dumps become the list of addresses."""
    text = " ".join(str(exc).split())
    failed = re.findall(r'ip_addr: \\?"([0-9.]+)\\?"', text)
    if "All DataNodes failed" in text and failed:
        return f"every DataNode holding the block failed: {', '.join(failed)}"
    return text if len(text) <= limit else text[:limit] + "..."
