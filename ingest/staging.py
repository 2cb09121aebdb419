"""Staging directories of ingests: who holds one, and cleaning up after ingests that died.

An ingest builds the dataset ``<root>/<name>`` in ``<root>/.staging/<name>.<token>`` and moves it
into place at the commit (a ``--replace`` parks the old dataset at ``<name>.<token>.replaced``
until the new one is in). While it runs it holds the lease ``<root>/.staging/<name>.lease``, a
small JSON file naming its owner (host, pid, process start time) and its token. The lease is
created exclusively, so two ingests of one dataset exclude each other, and renewed every
``RENEW_S`` seconds: its HDFS modification time is the heartbeat.

A lease is live unless it has not been renewed for ``LEASE_TTL_S`` seconds, or its owner ran on
this host and that process is gone (then a killed ingest is cleaned up at once, not after the
TTL), or its owner is this very process and no ingest of it holds the lease any more (a run that
failed while HDFS was away, a NameNode failover say, could not remove its lease; the same
process's re-run takes it over at once). Everything in ``.staging`` that no live lease holds
is abandoned: the next ingest of any dataset under the same root removes it, as does
``python -m ingest.staging clean ROOT`` (``list ROOT`` shows what is there and why). One
exception keeps data safe: a parked old dataset whose dataset path is empty (an ingest died
inside its swap) is moved back, not deleted.

Staging is never data: it sits in a hidden directory beside the datasets, holds no committed
manifest at a dataset path, and datasets are only ever read at ``<root>/<name>``.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from posixpath import basename, dirname
from typing import Literal

from hadoop.cli import ArgumentParser, entry_point
from hadoop.fs import (
    FileSystem,
    PathExistsError,
    PathNotFoundError,
    StorageError,
    is_hdfs,
    resolve,
)
from ingest.errors import IngestError

STAGING_DIR = ".staging"
LEASE_SUFFIX = ".lease"
PARKED_SUFFIX = ".replaced"
LEASE_TTL_S = 600.0
RENEW_S = 30.0
_OWNED = re.compile(r"(?P<name>.+)\.(?P<token>[0-9a-f]{12})(?P<parked>\.replaced)?")
_HELD: set[str] = set()  # tokens of the leases this process's ingests hold now


class StagingError(IngestError):
    """A dataset's staging is held by another ingest, or this ingest lost its lease."""


def staging_area(dest: str) -> str:
    """The staging directory for datasets beside ``dest`` (an HDFS path)."""
    return f"{dirname(dest.rstrip('/'))}/{STAGING_DIR}"


@dataclass(frozen=True)
class Owner:
    """The process that holds a lease; ``started`` tells a reused pid from the original."""

    host: str
    pid: int
    started: float  # process start, seconds since the epoch; 0 where unknown

    @classmethod
    def this_process(cls) -> Owner:
        stat = _process_stat(os.getpid())
        return cls(socket.gethostname(), os.getpid(), stat[1] if stat else 0.0)

    def gone(self) -> bool:
        """True only when provably dead: same host, and no live process with its pid and start
        (a killed process can linger as a zombie until its parent reaps it)."""
        if self.host != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, another user's
            pass
        stat = _process_stat(self.pid)
        if stat is None:
            return False
        state, started = stat
        return state in "ZX" or bool(self.started and abs(started - self.started) > 1.0)

    def __str__(self) -> str:
        return f"pid {self.pid} on {self.host}"


def _process_stat(pid: int) -> tuple[str, float] | None:
    """The state letter of ``pid`` and when it started (Linux /proc), or None where unknown."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        with open("/proc/stat") as handle:
            boot = next(int(line.split()[1]) for line in handle if line.startswith("btime "))
        return fields[0], boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, StopIteration, IndexError, ValueError):
        return None


@dataclass(frozen=True)
class LeaseRecord:
    """The lease file's content."""

    dataset: str
    token: str
    owner: Owner

    def to_json(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_json(cls, data: bytes) -> LeaseRecord | None:
        """None for a lease that cannot be read (a writer died inside the write)."""
        try:
            doc = json.loads(data)
            return cls(doc["dataset"], doc["token"], Owner(**doc["owner"]))
        except (ValueError, KeyError, TypeError):
            return None


class Lease:
    """This ingest's hold on ``<root>/.staging/<name>.lease``: acquire, renew, release.

    Use as a context manager; a background thread renews it while the ingest runs, and
    :meth:`check` (before the commit) raises if another ingest took it over meanwhile."""

    def __init__(self, fs: FileSystem, dest: str) -> None:
        self.fs = fs
        self.dest = dest.rstrip("/")
        self.area = staging_area(self.dest)
        self.name = basename(self.dest)
        self.token = uuid.uuid4().hex[:12]
        self.record = LeaseRecord(fs.location(self.dest), self.token, Owner.this_process())
        self.path = f"{self.area}/{self.name}{LEASE_SUFFIX}"
        self.staging = f"{self.area}/{self.name}.{self.token}"
        self.parked = f"{self.staging}{PARKED_SUFFIX}"
        self._stop = threading.Event()
        self._lost: str | None = None
        self._renewer: threading.Thread | None = None

    def __enter__(self) -> Lease:
        self.acquire()
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        try:
            self.release()
        except StorageError as failure:
            if exc is None:
                raise
            # the run's own error is the one to report; what is left is abandoned now
            print(f"ingest: could not clean up the staging of {self.fs.location(self.dest)} "
                  f"after the failed run ({failure}); the next ingest under "
                  f"{self.fs.location(dirname(self.dest))} removes it", flush=True)

    def acquire(self) -> None:
        """Clean what dead ingests left under this root, take the lease, create the staging
        directory; :class:`StagingError` naming the holder if a live ingest has the dataset."""
        clean(self.fs, self.area)
        try:
            self.fs.write_file(self.path, self.record.to_json())
        except PathExistsError:
            holder = read_lease(self.fs, self.path)
            who = f" ({holder.owner}, token {holder.token})" if holder else ""
            raise StagingError(
                f"{self.fs.location(self.dest)} is being ingested by another run{who}: wait for "
                "it, "
                f"or if it is dead, run python -m ingest.staging clean "
                f"{self.fs.location(dirname(self.dest))}") from None
        _HELD.add(self.token)
        try:
            self.fs.mkdirs(self.staging)
        except BaseException:  # no __exit__ follows: the lease left here is abandoned now
            _HELD.discard(self.token)
            raise
        self._renewer = threading.Thread(target=self._renew_loop, name="staging-lease",
                                         daemon=True)
        self._renewer.start()

    def check(self) -> None:
        """Raise if the lease was lost (checked before the commit)."""
        self._renew()
        if self._lost is not None:
            raise StagingError(self._lost)

    def release(self) -> None:
        """Stop renewing; remove what is left of the staging and, if still ours, the lease."""
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        try:
            if self._lost is not None:
                return
            if self.fs.exists(self.parked):  # the run failed inside a swap
                if self.fs.exists(self.dest):
                    self.fs.delete(self.parked, recursive=True)
                else:
                    self.fs.rename(self.parked, self.dest)
            if self.fs.exists(self.staging):
                self.fs.delete(self.staging, recursive=True)
            holder = read_lease(self.fs, self.path)
            if holder is not None and holder.token == self.token:
                self.fs.delete(self.path)
        finally:
            _HELD.discard(self.token)

    def _renew_loop(self) -> None:
        while not self._stop.wait(RENEW_S):
            try:
                self._renew()
            except StorageError as exc:  # HDFS away: try again later
                print(f"ingest: could not renew the lease {self.fs.location(self.path)}: {exc}",
                      flush=True)

    def _renew(self) -> None:
        if self._lost is not None:
            return
        holder = read_lease(self.fs, self.path)
        if holder is not None and holder.token != self.token:
            self._lost = (f"another ingest ({holder.owner}) took over the lease "
                          f"{self.fs.location(self.path)} while this one ran (was it paused for "
                          f"more than {LEASE_TTL_S:.0f} s?); nothing was committed")
            return
        self.fs.write_file(self.path, self.record.to_json(), overwrite=holder is not None)


def read_lease(fs: FileSystem, path: str) -> LeaseRecord | None:
    try:
        return LeaseRecord.from_json(fs.read_file(path))
    except PathNotFoundError:
        return None


State = Literal["live", "abandoned", "parked"]


@dataclass(frozen=True)
class Entry:
    """One thing in a staging area, and why it is kept or not."""

    path: str
    state: State  # parked: an old dataset to move back to ``dataset``, its path being empty
    why: str
    dataset: str | None = None


@dataclass(frozen=True)
class LeaseState:
    record: LeaseRecord | None
    live: bool
    why: str


def lease_state(fs: FileSystem, path: str, now: float) -> LeaseState:
    """Whether the lease at ``path`` is live, and why (or why not)."""
    try:
        status = fs.status(path)
    except PathNotFoundError:
        return LeaseState(None, False, "no lease")
    record = read_lease(fs, path)
    age = max(0.0, now - status.modification_time / 1000)
    if record is None:  # its writer died inside the write, or is writing it right now
        return LeaseState(None, age <= LEASE_TTL_S, f"unreadable lease, {age:.0f} s old")
    if record.owner.gone():
        return LeaseState(record, False, f"owner {record.owner} is gone")
    if record.owner == Owner.this_process() and record.token not in _HELD:
        return LeaseState(record, False, f"left by an earlier ingest of this process "
                                         f"({record.owner})")
    if age > LEASE_TTL_S:
        return LeaseState(record, False, f"{record.owner} has not renewed it for {age:.0f} s")
    return LeaseState(record, True, f"held by {record.owner}, renewed {age:.0f} s ago")


def survey(fs: FileSystem, area: str) -> Iterator[Entry]:
    """Every entry of the staging area ``area`` with its state. Entries are listed before any
    lease is read: an ingest creates its lease before its staging directory, so every staging
    directory listed here has its lease on HDFS by the time it is read."""
    try:
        listed = fs.list(area)
    except PathNotFoundError:
        return
    now = time.time()
    leases: dict[str, LeaseState] = {}

    def lease_of(name: str) -> LeaseState:
        if name not in leases:
            leases[name] = lease_state(fs, f"{area}/{name}{LEASE_SUFFIX}", now)
        return leases[name]

    for status in sorted(listed, key=lambda s: s.path):
        entry = basename(status.path)
        path = f"{area}/{entry}"
        owned = _OWNED.fullmatch(entry)
        if entry.endswith(LEASE_SUFFIX) and not status.isdir:
            lease = lease_of(entry[: -len(LEASE_SUFFIX)])
            yield Entry(path, "live" if lease.live else "abandoned", lease.why)
        elif owned is not None:
            lease = lease_of(owned["name"])
            mine = lease.record is not None and lease.record.token == owned["token"]
            if lease.live and mine:
                yield Entry(path, "live", lease.why)
                continue
            why = lease.why if not lease.live else f"not the staging of the lease {lease.why}"
            dataset = f"{dirname(area)}/{owned['name']}"
            if owned["parked"] and not fs.exists(dataset):
                yield Entry(path, "parked", f"{why}; the dataset path is empty", dataset)
            else:
                yield Entry(path, "abandoned", why)
        else:  # a stray temporary file, or the staging of an older version of the ingest
            age = max(0.0, now - status.modification_time / 1000)
            state: State = "abandoned" if age > LEASE_TTL_S else "live"
            yield Entry(path, state, f"no owner, untouched for {age:.0f} s")


def clean(fs: FileSystem, area: str) -> list[Entry]:
    """Remove the abandoned entries of ``area`` and move parked datasets back; returns them."""
    done = []
    for entry in survey(fs, area):
        if entry.state == "parked" and entry.dataset is not None:
            fs.rename(entry.path, entry.dataset)
        elif entry.state == "abandoned":
            # a lease is read again: the dataset's next ingest may have just taken it over
            if entry.path.endswith(LEASE_SUFFIX) and lease_state(fs, entry.path,
                                                                 time.time()).live:
                continue
            fs.delete(entry.path, recursive=True)
        else:
            continue
        done.append(entry)
    return done


# ---- command line --------------------------------------------------------------------------

def main(argv: list[str]) -> int:
    parser = ArgumentParser(
        prog="python -m ingest.staging",
        description="List or clean the staging directories of ingests under a dataset root "
                    "(the directory holding the datasets, e.g. hdfs://127.0.0.10:8020/reid).")
    parser.add_argument("command", choices=("list", "clean"),
                        help="list: every staging entry and whether a live ingest holds it; "
                             "clean: remove what no live ingest holds")
    parser.add_argument("root", help="hdfs://<namenode>/<dir> holding the datasets")
    args = parser.parse_args(argv)
    if not is_hdfs(args.root):
        parser.error(f"root {args.root!r} must be hdfs://<namenode>/<dir>")
    fs, root = resolve(args.root)
    area = f"{root.rstrip('/')}/{STAGING_DIR}"
    entries = list(survey(fs, area)) if args.command == "list" else clean(fs, area)
    verb = {"live": "kept", "abandoned": "removed", "parked": "moved back"}
    for entry in entries:
        state = entry.state if args.command == "list" else verb[entry.state]
        target = f" -> {entry.dataset}" if entry.dataset else ""
        print(f"{state:10s} {entry.path}{target}  ({entry.why})")
    if not entries:
        print(f"{fs.location(area)}: nothing {'staged' if args.command == 'list' else 'to clean'}")
    return 0


cli = entry_point(main)

if __name__ == "__main__":
    cli()
