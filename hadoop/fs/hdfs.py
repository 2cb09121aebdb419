"""The HDFS backend of :mod:`hadoop.fs.base`: exact range reads, bounded retries, atomic writes,
and a NameNode that is never waited on silently or without end.

Built on hdfs-native (a Rust client speaking HDFS's RPC and data-transfer protocols, no JVM).
It verifies block checksums and fails over to the next replica by itself; this backend adds what
a training job needs on top:

- exact reads: a read returns exactly the bytes asked for or raises, never a short buffer;
- bounded retries with backoff when every replica it knew of failed (a DataNode just died and
  the NameNode has not noticed yet), re-asking the NameNode for locations each time, then a
  ``ReplicasExhaustedError`` naming the path, range and attempts (``WriteFailedError`` for a
  write, ``RequestFailedError`` for a stat or listing);
- a refusal is final: the NameNode's AccessControlException (another user's ticket, a mode
  that excludes us) is a ``StoragePermissionError`` naming the path at once, never retried;
- a bounded wait for the NameNode: the first request of a process must be answered within
  ``RetryPolicy.connect_s`` (else ``NameNodeUnreachableError`` naming the address); later, a
  NameNode that stops answering (a restart) is waited for up to ``namenode_wait_s``, with a
  log line every few seconds saying what is waiting and for how long;
- atomic writes: data goes to a hidden temporary name in the target directory and is renamed
  into place, so readers never see a half-written file;
- a nameservice (``hdfs://reid``: a host without a port that the site files, HA layer included,
  define as ``dfs.ha.namenodes.reid``) is handed to hdfs-native with its NameNodes' addresses;
  hdfs-native tries each and follows the active one. While none is active (a failover: the old
  active died and the standby is not active yet, so every NameNode refuses the connection or
  answers ``StandbyException``) the request waits, logged and bounded, as for a restart;
- one client per process: pickling carries only the URL and settings, and a forked child opens
  its own client lazily. Use ``forkserver`` (or ``spawn``) DataLoader workers: after a plain
  fork, hdfs-native's first request in the child stalls for about a minute.

fsspec's ``HdfsFileSystem`` (shipped with hdfs-native) is not used: it opens a new reader, and so
asks the NameNode for block locations, on every range read, has no ``set_replication``, no
retries and builds its client itself. The client here is injectable (``client_factory``,
``probe``), so the retry and failover logic is unit-tested with a fake.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from posixpath import basename, dirname
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from hdfs_native import Client, WriteOptions

from hadoop.fs.base import Chunks, FileInfo
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
from hadoop.fs.watch import call_with_deadline, watching
from hadoop.siteconf import host_port, namenode_url, nameservice_addresses

log = logging.getLogger(__name__)

_READER_CACHE = 256
_INHERITED: list[object] = []  # clients a forked child inherited; see HdfsFS.client
# hdfs-native retries a refused NameNode connection for minutes by default; here each request
# gives up after about a second, and this backend decides how long to wait (and says so).
CLIENT_CONFIG = {"dfs.client.failover.max.attempts": "2",
                 "dfs.client.failover.sleep.base.millis": "200",
                 "dfs.client.failover.sleep.max.millis": "500"}
T = TypeVar("T")
_AUTH_FAILURE = re.compile(r"GSSAPIError|SASLError|SIMPLE authentication is not enabled")
# hdfs-native raises the NameNode's permission refusal as RuntimeError("RPCError(<Java class>,
# <message>)"); asking again cannot change the answer
_ACCESS_DENIED = "org.apache.hadoop.security.AccessControlException"
DIR_MODE = 0o750  # directories the project makes: owner and group only
FILE_MODE = 0o640


class HdfsClient(Protocol):
    """The part of ``hdfs_native.Client`` this backend uses (a fake implements it in tests)."""

    def get_file_info(self, path: str) -> Any: ...

    def list_status(self, path: str, recursive: bool) -> Iterable[Any]: ...

    def read(self, path: str) -> Any: ...

    def create(self, path: str, write_options: WriteOptions) -> Any: ...

    def rename(self, src: str, dst: str, overwrite: bool) -> None: ...

    def delete(self, path: str, recursive: bool) -> bool: ...

    def mkdirs(self, path: str, permission: int, create_parent: bool) -> None: ...

    def set_permission(self, path: str, permission: int) -> None: ...

    def set_owner(self, path: str, owner: str | None, group: str | None) -> None: ...

    def set_replication(self, path: str, replication: int) -> bool: ...


ClientFactory = Callable[[str, dict[str, str]], HdfsClient]
_STANDBY = ("StandbyException", "in state standby", "in state observer")
Probe = Callable[[str, int, float], str | None]


def tcp_probe(host: str, port: int, timeout_s: float) -> str | None:
    """None if something accepts a TCP connection at host:port within ``timeout_s``, else why
    not (a NameNode that is restarting refuses connections)."""
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None


@dataclass(frozen=True)
class RetryPolicy:
    """How hard a request tries before giving up.

    ``attempts`` and the delays (doubling up to ``max_delay_s``) apply to failures while the
    NameNode is reachable (dead replicas, a broken write pipeline). ``connect_s`` bounds the
    first contact of a process; ``namenode_wait_s`` how long a NameNode that answered before is
    waited for when it stops; ``report_s`` how often a wait is logged."""

    attempts: int = 5
    delay_s: float = 0.5
    max_delay_s: float = 8.0
    connect_s: float = 20.0
    namenode_wait_s: float = 300.0
    report_s: float = 5.0

    def delays(self) -> Iterator[float]:
        delay = self.delay_s
        for _ in range(self.attempts - 1):
            yield delay
            delay = min(delay * 2, self.max_delay_s)


class HdfsFS:
    """A NameNode's filesystem, with the guarantees described in the module docstring."""

    kind = "HDFS"

    def __init__(self, url: str | None = None, retry: RetryPolicy | None = None, *,
                 client_factory: ClientFactory = Client, probe: Probe = tcp_probe) -> None:
        self.url = (url or namenode_url()).rstrip("/")
        parts = urlsplit(self.url)
        if parts.scheme != "hdfs" or not parts.hostname:
            raise StorageError(f"{self.url!r} is not a NameNode URL (hdfs://host:port or "
                               "hdfs://nameservice)")
        members = nameservice_addresses(parts.hostname) if parts.port is None else None
        self.nameservice = parts.hostname if members else None
        self.namenodes = [host_port(a) for a in members.values()] if members else [
            (parts.hostname, parts.port or 8020)]
        self._config = dict(CLIENT_CONFIG)
        if members:
            self._config[f"dfs.ha.namenodes.{parts.hostname}"] = ",".join(members)
            for nn, address in members.items():
                self._config[f"dfs.namenode.rpc-address.{parts.hostname}.{nn}"] = address
        self.host, self.port = self.namenodes[0]
        self.address = (f"{self.nameservice} ({', '.join(members.values())})" if members
                        else f"{self.host}:{self.port}")
        self.retry = retry or RetryPolicy()
        self._factory = client_factory
        self._probe = probe
        self._pid = -1
        self._client: HdfsClient | None = None
        self._readers: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()  # reads may come from several threads (batch fetches)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled (into a spawned or forkserver DataLoader worker) as its URL and settings:
        the receiving process opens its own client."""
        return _rebuild, (self.url, self.retry, self._factory, self._probe)

    def location(self, path: str) -> str:
        return f"{self.url}{path}"

    @property
    def client(self) -> HdfsClient:
        with self._lock:
            return self._client_locked()

    def _client_locked(self) -> HdfsClient:
        if self._pid != os.getpid():  # new process after fork: never share the parent's client
            if self._client is not None:
                # Dropping the parent's client here would wait forever for its runtime's
                # threads, which fork did not copy: keep it (and its readers) alive instead.
                _INHERITED.append((self._client, list(self._readers.values())))
            client = self._factory(self.url, dict(self._config))
            self._first_contact(client)
            self._client = client
            self._readers = OrderedDict()
            self._pid = os.getpid()
        assert self._client is not None
        return self._client

    def _first_contact(self, client: HdfsClient) -> None:
        """One request that must be answered within ``connect_s``: an address where nothing
        answers fails here, naming it, instead of hanging the process."""
        deadline = time.monotonic() + self.retry.connect_s
        last = "no answer"
        while (left := deadline - time.monotonic()) > 0:
            outcome = call_with_deadline(lambda: client.get_file_info("/"), left)
            if outcome.ok:
                return
            if outcome.error is None:
                break  # still no answer at the deadline
            last = _short(outcome.error)
            if _AUTH_FAILURE.search(last):  # a secure cluster refused us: waiting cannot help
                raise StoragePermissionError(
                    f"the NameNode at {self.address} refused to authenticate this process "
                    f"({last}): get a Kerberos ticket (kinit, or eval \"$(python -m "
                    "hadoop.cluster env)\" for the local secure cluster)")
            log.warning("waiting for the NameNode at %s (%s); giving up in %.0f s",
                        self.address, last, max(0.0, deadline - time.monotonic()))
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        raise NameNodeUnreachableError(
            f"cannot reach the NameNode at {self.address} within {self.retry.connect_s:.0f} s "
            f"({last}): is the cluster up (python -m hadoop.cluster status) and the address "
            f"in {self.url} right?")

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
                raise ShortReadError(f"{self.location(path)}: asked for {length} bytes at "
                                     f"{offset}, got {available} (file length {len(reader)})")
            data = reader.read_range(offset, length)
            if len(data) != length:
                raise ShortReadError(f"{self.location(path)}: asked for {length} bytes at "
                                     f"{offset}, got {len(data)}")
            return bytes(data)

        return self._retrying(f"read {path} [{offset}, +{length})", path, attempt,
                              failed=ReplicasExhaustedError,
                              on_failure=lambda: self._readers.pop(path, None))

    def read_file(self, path: str) -> bytes:
        """A whole (small) file, such as a manifest: always its current version."""
        self._readers.pop(path, None)
        return self.read_range(path, 0, self.size(path))

    def size(self, path: str) -> int:
        return self.status(path).length

    def _reader(self, path: str) -> Any:
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

    def write_file(self, path: str, chunks: Chunks, *, replication: int | None = None,
                   block_size: int | None = None, overwrite: bool = False) -> int:
        """Write ``chunks`` to ``path`` atomically; returns the number of bytes written.

        The data is first written to ``.<name>.tmp-<random>`` beside the target (same directory,
        so the placement policy sees the same group) and renamed into place when complete. A
        failed pipeline (hdfs-native does not recover one, e.g. when the NameNode still offers
        a DataNode that just died) is retried with a fresh file if ``chunks`` can be replayed
        (bytes or a sequence); a one-shot iterator is written once, and an error raised by the
        iterator itself reaches the caller unchanged.
        """
        if not overwrite and self.exists(path):
            raise PathExistsError(f"{self.location(path)} exists (pass overwrite=True to "
                                  "replace it)")
        # Parents are made here, owner and group only (DIR_MODE): hdfs-native's create_parent
        # makes them 0777. Files are FILE_MODE: frames are biometric data, never world-readable.
        options = WriteOptions(overwrite=False, create_parent=False, permission=FILE_MODE)
        if replication is not None:
            options.replication = replication
        if block_size is not None:
            options.block_size = block_size
        pieces = [chunks] if isinstance(chunks, bytes | bytearray | memoryview) else chunks
        source_failed: list[BaseException] = []

        def source() -> Iterator[bytes | bytearray | memoryview]:
            iterator = iter(pieces)
            while True:
                try:
                    chunk = next(iterator)
                except StopIteration:
                    return
                except BaseException as exc:  # the caller's, not HDFS's: hand it back as is
                    source_failed.append(exc)
                    raise
                yield chunk

        leftovers: list[str] = []  # temporaries a failed attempt could not delete

        def attempt() -> int:
            tmp = f"{dirname(path)}/.{basename(path)}.tmp-{uuid.uuid4().hex[:12]}"
            written = 0
            try:
                self.client.mkdirs(dirname(path) or "/", DIR_MODE, True)
                with self.client.create(tmp, options) as out:
                    for chunk in source():
                        out.write(chunk)
                        written += len(chunk)
                self.client.rename(tmp, path, overwrite)
            except BaseException:
                if not self._quiet_delete(tmp):  # no NameNode to ask (a failover): later
                    leftovers.append(tmp)
                raise
            return written

        replayable = isinstance(pieces, Sequence)
        try:
            written = self._retrying(f"write {path}", path, attempt, failed=WriteFailedError,
                                     retry_errors=replayable, rerun=replayable)
        except WriteFailedError:
            if source_failed:
                raise source_failed[0] from None
            raise
        finally:
            for tmp in leftovers:  # a NameNode answers again (or the write failed for good)
                self._quiet_delete(tmp)
        self._readers.pop(path, None)
        return written

    # ---- namespace ---------------------------------------------------------------------------

    def status(self, path: str) -> FileInfo:
        found = self._retrying(f"stat {path}", path, lambda: self.client.get_file_info(path),
                               failed=RequestFailedError)
        return _info(found, path)

    def exists(self, path: str) -> bool:
        try:
            self.status(path)
        except PathNotFoundError:
            return False
        return True

    def list(self, path: str, recursive: bool = False) -> list[FileInfo]:
        found = self._retrying(f"list {path}", path,
                               lambda: list(self.client.list_status(path, recursive)),
                               failed=RequestFailedError)
        return [_info(s, s.path) for s in found]

    def mkdirs(self, path: str, permission: int = DIR_MODE) -> None:
        self._retrying(f"mkdirs {path}", path,
                       lambda: self.client.mkdirs(path, permission, True),
                       failed=RequestFailedError, retry_errors=False)

    def delete(self, path: str, recursive: bool = False) -> bool:
        self._readers.pop(path, None)
        return bool(self._retrying(f"delete {path}", path,
                                   lambda: self.client.delete(path, recursive),
                                   failed=RequestFailedError, retry_errors=False))

    def rename(self, src: str, dst: str, overwrite: bool = False) -> None:
        self._readers.pop(src, None)
        self._readers.pop(dst, None)
        self._retrying(f"rename {src} to {dst}", src,
                       lambda: self.client.rename(src, dst, overwrite),
                       failed=RequestFailedError, retry_errors=False)

    def set_owner(self, path: str, owner: str, group: str | None = None) -> None:
        """Give ``path`` to ``owner`` (and ``group``): only the HDFS superuser may."""
        self._retrying(f"set owner of {path}", path,
                       lambda: self.client.set_owner(path, owner, group),
                       failed=RequestFailedError, retry_errors=False)

    def set_permission(self, path: str, permission: int) -> None:
        self._retrying(f"set permission of {path}", path,
                       lambda: self.client.set_permission(path, permission),
                       failed=RequestFailedError)

    def set_replication(self, path: str, replication: int) -> None:
        self._retrying(f"set replication of {path}", path,
                       lambda: self.client.set_replication(path, replication),
                       failed=RequestFailedError)

    # ---- internals ---------------------------------------------------------------------------

    def _retrying(self, what: str, path: str, operation: Callable[[], T], *,
                  failed: type[StorageError], retry_errors: bool = True, rerun: bool = True,
                  on_failure: Callable[[], object] | None = None) -> T:
        """Run ``operation``; while the NameNode is unreachable wait for it (logged, bounded),
        otherwise retry failures per the policy (``retry_errors``: a non-idempotent request is
        tried once) and raise ``failed`` at the end. ``rerun=False`` (a write of a one-shot
        iterator, which cannot be replayed): one attempt, no waiting."""
        errors: list[str] = []
        delays = self.retry.delays()
        waited_since: float | None = None
        while True:
            try:
                with watching(f"{what} on HDFS at {self.address}", self.retry.report_s):
                    result = operation()
                if waited_since is not None:
                    log.warning("the NameNode at %s answers again after %.0f s (%s)",
                                self.address, time.monotonic() - waited_since, what)
                return result
            except StorageError:
                raise
            except (FileNotFoundError, FileExistsError, PermissionError, IsADirectoryError,
                    NotADirectoryError) as exc:
                raise self._mapped(exc, path) from exc
            except ValueError:
                raise
            except (OSError, RuntimeError) as exc:
                if on_failure is not None:
                    on_failure()
                if _ACCESS_DENIED in str(exc):
                    raise StoragePermissionError(
                        f"{self.location(path)}: permission denied to {what} "
                        f"({_short(exc)})") from exc
                if self.nameservice and any(mark in str(exc) for mark in _STANDBY) and rerun:
                    # Failover under way: the NameNodes answer, none of them is active yet.
                    waited_since = waited_since or time.monotonic()
                    self._wait_for_active(what, waited_since, _short(exc, 120))
                    continue
                down = self._unreachable(min(2.0, self.retry.connect_s))
                if down is not None and rerun:
                    waited_since = waited_since or time.monotonic()
                    self._wait_for_namenode(what, waited_since)
                    continue
                errors.append(f"{type(exc).__name__}: {_short(exc)}")
                delay = next(delays, None) if retry_errors else None
                if delay is None:
                    break
                time.sleep(delay)
        hint = " (a read tries every replica each time)" if failed is ReplicasExhaustedError else ""
        raise failed(f"{self.url}: {what} failed {len(errors)} time"
                     f"{'s' if len(errors) != 1 else ''}{hint}; last error: {errors[-1]}")

    def _unreachable(self, timeout_s: float) -> str | None:
        """None if a NameNode (of the nameservice: any) accepts connections, else why not."""
        reasons = []
        for host, port in self.namenodes:
            down = self._probe(host, port, timeout_s)
            if down is None:
                return None
            reasons.append(f"{host}:{port} {down}" if self.nameservice else down)
        return "; ".join(reasons)

    def _wait_for_active(self, what: str, since: float, answer: str) -> None:
        """One pause while the nameservice has no active NameNode; past ``namenode_wait_s``
        raise NameNodeUnreachableError. The caller retries the request after it."""
        waited = time.monotonic() - since
        if waited >= self.retry.namenode_wait_s:
            raise NameNodeUnreachableError(
                f"no active NameNode in {self.address} for {waited:.0f} s while trying to "
                f"{what} ({answer})")
        if int(waited / self.retry.report_s) != int((waited + 0.25) / self.retry.report_s) \
                or waited < 0.25:
            log.warning("no active NameNode in %s (%s) to %s: %.0f s so far, giving up after "
                        "%.0f s", self.address, answer, what, waited, self.retry.namenode_wait_s)
        time.sleep(0.25)

    def _wait_for_namenode(self, what: str, since: float) -> None:
        """Sleep until the NameNode accepts connections again, logging the wait; past
        ``namenode_wait_s`` raise NameNodeUnreachableError."""
        deadline = since + self.retry.namenode_wait_s
        next_report = time.monotonic()
        while (down := self._unreachable(2.0)) is not None:
            now = time.monotonic()
            if now >= deadline:
                raise NameNodeUnreachableError(
                    f"cannot reach the NameNode at {self.address}: no connection for "
                    f"{now - since:.0f} s ({down}) while trying to {what}")
            if now >= next_report:
                log.warning("waiting for the NameNode at %s (%s) to %s: %.0f s so far, "
                            "giving up after %.0f s", self.address, down, what, now - since,
                            self.retry.namenode_wait_s)
                next_report = now + self.retry.report_s
            time.sleep(min(1.0, max(0.0, deadline - now)))

    def _mapped(self, exc: OSError, path: str) -> StorageError:
        where = self.location(path)
        if isinstance(exc, FileNotFoundError):
            return PathNotFoundError(f"{where}: no such file or directory")
        if isinstance(exc, FileExistsError):
            return PathExistsError(f"{where}: exists")
        if isinstance(exc, PermissionError):
            return StoragePermissionError(f"{where}: permission denied ({_short(exc)})")
        return StorageError(f"{where}: {_short(exc)}")

    def _quiet_delete(self, path: str) -> bool:
        """Delete if possible; False when the NameNode could not be asked."""
        try:
            self.client.delete(path, False)
        except (OSError, RuntimeError):
            return False
        return True


def _info(status: Any, path: str) -> FileInfo:
    return FileInfo(path, int(status.length), bool(status.isdir), int(status.modification_time),
                    int(status.replication), int(status.blocksize))


def _rebuild(url: str, retry: RetryPolicy, factory: ClientFactory, probe: Probe) -> HdfsFS:
    return HdfsFS(url, retry, client_factory=factory, probe=probe)


def _short(exc: BaseException, limit: int = 300) -> str:
    """One line; hdfs-native's "All DataNodes failed" dumps become the list of addresses."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    failed = re.findall(r'ip_addr: \\?"([0-9.]+)\\?"', text)
    if "All DataNodes failed" in text and failed:
        return f"every DataNode holding the block failed: {', '.join(failed)}"
    return text if len(text) <= limit else text[:limit] + "..."
