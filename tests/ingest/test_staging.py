"""Who holds a staging entry: lease owners alive or provably gone, exact dataset names, and the
one entry that is moved back instead of removed. The staging area is a small in-memory fake of
the four HDFS calls the survey makes; the real cluster runs are in tests/spark."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from hadoop.fs import PathExistsError, PathNotFoundError, StorageError
from ingest import staging
from ingest.staging import LeaseRecord, Owner, clean, survey


@dataclass
class FakeStatus:
    path: str
    isdir: bool
    modification_time: int  # ms, as HDFS reports it


class FakeFS:
    """Paths -> (is a directory, modification time in s, bytes)."""

    url = "hdfs://fake:8020"

    def location(self, path: str) -> str:
        return f"{self.url}{path}"

    def __init__(self) -> None:
        self.entries: dict[str, tuple[bool, float, bytes]] = {}
        self.away = False  # the NameNode stopped answering: deletes fail

    def write_file(self, path: str, data: bytes, overwrite: bool = False) -> None:
        if path in self.entries and not overwrite:
            raise PathExistsError(path)
        self.put(path, data)

    def mkdirs(self, path: str) -> None:
        self.put(path, isdir=True)

    def put(self, path: str, data: bytes = b"", *, isdir: bool = False, age: float = 0) -> None:
        self.entries[path] = (isdir, time.time() - age, data)

    def list(self, path: str) -> list[FakeStatus]:
        children = [FakeStatus(p, d, int(m * 1000)) for p, (d, m, _) in self.entries.items()
                    if p.rsplit("/", 1)[0] == path]
        if not children and path not in self.entries:
            raise PathNotFoundError(path)
        return children

    def status(self, path: str) -> FakeStatus:
        if path not in self.entries:
            raise PathNotFoundError(path)
        isdir, mtime, _ = self.entries[path]
        return FakeStatus(path, isdir, int(mtime * 1000))

    def exists(self, path: str) -> bool:
        return path in self.entries

    def read_file(self, path: str) -> bytes:
        self.status(path)
        return self.entries[path][2]

    def delete(self, path: str, recursive: bool = False) -> bool:
        if self.away:
            raise StorageError(f"{path}: no NameNode answers")
        return self.entries.pop(path, None) is not None

    def rename(self, src: str, dst: str) -> None:
        self.entries[dst] = self.entries.pop(src)


def dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(proc.stdout)


@pytest.fixture
def other_process() -> Iterator[Owner]:
    """A live process of this host other than this one."""
    proc = subprocess.Popen(["sleep", "60"])
    try:
        stat = staging._process_stat(proc.pid)
        yield Owner(socket.gethostname(), proc.pid, stat[1] if stat else 0.0)
    finally:
        proc.kill()
        proc.wait()


def lease(fs: FakeFS, name: str, token: str, owner: Owner, age: float = 0) -> None:
    record = LeaseRecord(f"hdfs://fake:8020/reid/{name}", token, owner)
    fs.put(f"/reid/.staging/{name}.lease", record.to_json(), age=age)


def states(fs: FakeFS) -> dict[str, str]:
    return {e.path.rsplit("/", 1)[-1]: e.state for e in survey(fs, "/reid/.staging")}  # type: ignore[arg-type]


def test_owner_is_gone_only_when_provably_dead() -> None:
    me = Owner.this_process()
    assert not me.gone()
    assert Owner(me.host, dead_pid(), me.started).gone()
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])  # exits; not reaped yet
    try:
        time.sleep(0.5)
        assert Owner(me.host, zombie.pid, 0.0).gone()
    finally:
        zombie.wait()
    assert Owner(me.host, me.pid, me.started + 3600).gone()  # the pid now names another process
    assert not Owner(f"not-{socket.gethostname()}", dead_pid(), 0.0).gone()  # cannot know


def test_a_live_lease_protects_exactly_its_own_dataset(other_process: Owner) -> None:
    fs = FakeFS()
    alive, dead = other_process, Owner(socket.gethostname(), dead_pid(), 0.0)
    lease(fs, "foo.v2", "0123456789ab", alive)
    fs.put("/reid/.staging/foo.v2.0123456789ab", isdir=True)
    lease(fs, "foo", "ba9876543210", dead)
    fs.put("/reid/.staging/foo.ba9876543210", isdir=True)
    fs.put("/reid/.staging/foo.v2.cccccccccccc", isdir=True)  # not the live lease's token
    assert states(fs) == {"foo.v2.lease": "live", "foo.v2.0123456789ab": "live",
                          "foo.lease": "abandoned", "foo.ba9876543210": "abandoned",
                          "foo.v2.cccccccccccc": "abandoned"}
    removed = {e.path for e in clean(fs, "/reid/.staging")}  # type: ignore[arg-type]
    assert removed == {"/reid/.staging/foo.lease", "/reid/.staging/foo.ba9876543210",
                       "/reid/.staging/foo.v2.cccccccccccc"}
    assert set(fs.entries) == {"/reid/.staging/foo.v2.lease",
                               "/reid/.staging/foo.v2.0123456789ab"}


def test_an_expired_lease_frees_its_staging(monkeypatch: pytest.MonkeyPatch) -> None:
    fs = FakeFS()
    lease(fs, "foo", "0123456789ab", Owner("elsewhere", 1, 0.0), age=staging.LEASE_TTL_S + 5)
    fs.put("/reid/.staging/foo.0123456789ab", isdir=True)
    assert set(states(fs).values()) == {"abandoned"}
    lease(fs, "foo", "0123456789ab", Owner("elsewhere", 1, 0.0), age=5)
    assert set(states(fs).values()) == {"live"}


def test_a_parked_dataset_goes_back_when_its_path_is_empty() -> None:
    """An ingest died between parking the old dataset and moving the new one in."""
    fs = FakeFS()
    dead = Owner(socket.gethostname(), dead_pid(), 0.0)
    lease(fs, "foo", "0123456789ab", dead)
    fs.put("/reid/.staging/foo.0123456789ab.replaced", isdir=True)
    fs.put("/reid/.staging/foo.0123456789ab", isdir=True)
    clean(fs, "/reid/.staging")  # type: ignore[arg-type]
    assert set(fs.entries) == {"/reid/foo"}


def test_strays_wait_for_the_ttl() -> None:
    fs = FakeFS()
    fs.put("/reid/.staging/.foo.lease.tmp-0123456789ab")
    fs.put("/reid/.staging/foo.replaced-0123abcd", isdir=True, age=staging.LEASE_TTL_S + 1)
    assert states(fs) == {".foo.lease.tmp-0123456789ab": "live",
                          "foo.replaced-0123abcd": "abandoned"}


def test_a_lease_this_process_left_behind_is_taken_over_by_its_rerun() -> None:
    """A run that failed while no NameNode answered (a failover) could not remove its lease;
    its own error is the one raised, and the same process's re-run does not wait for the lease
    as for a live ingest. A lease this process holds stays live."""
    fs = FakeFS()
    held: list[dict[str, str]] = []

    def failed_run() -> str:
        with staging.Lease(fs, "/reid/foo") as lease:  # type: ignore[arg-type]
            held.append(states(fs))
            fs.away = True
            raise RuntimeError(f"the run's own error, token {lease.token}")

    with pytest.raises(RuntimeError, match="the run's own error") as failure:  # not clean-up's
        failed_run()
    token = str(failure.value).rsplit(" ", 1)[-1]
    assert held == [{"foo.lease": "live", f"foo.{token}": "live"}]
    fs.away = False
    assert states(fs) == {"foo.lease": "abandoned", f"foo.{token}": "abandoned"}
    with staging.Lease(fs, "/reid/foo") as second:  # type: ignore[arg-type]
        assert states(fs) == {"foo.lease": "live", f"foo.{second.token}": "live"}
    assert fs.entries == {}


def test_a_lease_whose_staging_could_not_be_made_is_taken_over_by_the_rerun(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The lease was written, then no NameNode answered for the staging directory: acquire
    fails (no __exit__ runs), and the same process's re-run is not refused."""
    fs = FakeFS()

    def away(path: str) -> None:
        raise StorageError(f"{path}: no NameNode answers")

    monkeypatch.setattr(fs, "mkdirs", away)
    with pytest.raises(StorageError, match="no NameNode answers"):
        staging.Lease(fs, "/reid/foo").acquire()  # type: ignore[arg-type]
    assert states(fs) == {"foo.lease": "abandoned"}
    monkeypatch.undo()
    with staging.Lease(fs, "/reid/foo") as second:  # type: ignore[arg-type]
        assert states(fs) == {"foo.lease": "live", f"foo.{second.token}": "live"}
