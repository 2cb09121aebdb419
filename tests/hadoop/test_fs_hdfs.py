"""The HDFS backend against the real cluster: exact reads, atomic writes, forks, retries."""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator

import pytest

from hadoop.cluster import LocalCluster
from hadoop.fs import HdfsFS, PathExistsError, RetryPolicy, ShortReadError

pytestmark = pytest.mark.cluster


def test_range_reads_are_exact(cluster: LocalCluster) -> None:
    fs = HdfsFS(cluster.namenode_url)
    data = os.urandom(300_000)
    fs.write_file("/tmp/io/exact.bin", data, block_size=65536, overwrite=True)
    assert fs.read_range("/tmp/io/exact.bin", 65000, 70000) == data[65000:135000]
    assert fs.read_range("/tmp/io/exact.bin", 299_999, 1) == data[-1:]
    with pytest.raises(ShortReadError, match="asked for 10 bytes at 299995, got 5"):
        fs.read_range("/tmp/io/exact.bin", 299_995, 10)


def test_writes_are_atomic_and_never_clobber(cluster: LocalCluster) -> None:
    fs = HdfsFS(cluster.namenode_url)
    fs.write_file("/tmp/io/atomic.bin", b"first", overwrite=True)
    with pytest.raises(PathExistsError, match=r"/tmp/io/atomic\.bin exists"):
        fs.write_file("/tmp/io/atomic.bin", b"second")

    def failing_chunks() -> Iterator[bytes]:
        yield b"partial data"
        raise RuntimeError("source went away")

    with pytest.raises(RuntimeError, match="source went away"):
        fs.write_file("/tmp/io/atomic.bin", failing_chunks(), overwrite=True)
    assert fs.read_file("/tmp/io/atomic.bin") == b"first"
    assert [s.path for s in fs.list("/tmp/io") if ".tmp-" in s.path] == []


def test_what_it_creates_is_owner_and_group_only(cluster: LocalCluster) -> None:
    """Issues 23 and 24: a checkpoint directory was created drwxrwxrwx, datasets were
    world-readable. Frames are biometric data: directories 0750, files 0640, /reid too."""
    fs = HdfsFS(cluster.namenode_url)
    fs.delete("/tmp/io/perm", recursive=True)
    fs.write_file("/tmp/io/perm/sub/file.bin", b"x")
    fs.mkdirs("/tmp/io/perm/made")
    for directory in ("/reid", "/tmp/io/perm", "/tmp/io/perm/sub", "/tmp/io/perm/made"):
        assert fs.client.get_file_info(directory).permission == 0o750, directory
    assert fs.client.get_file_info("/tmp/io/perm/sub/file.bin").permission == 0o640


def _child_read(fs: HdfsFS, queue: multiprocessing.Queue) -> None:
    queue.put(fs.read_file("/tmp/io/fork.bin"))


def test_worker_processes_open_their_own_client(cluster: LocalCluster) -> None:
    """A (forkserver) DataLoader worker gets the parent's HdfsFS pickled, as its URL: it opens
    its own client."""
    fs = HdfsFS(cluster.namenode_url)
    fs.write_file("/tmp/io/fork.bin", b"shared" * 1000, overwrite=True)
    assert fs.read_file("/tmp/io/fork.bin")  # the parent's client and a reader exist
    context = multiprocessing.get_context("forkserver")
    queue: multiprocessing.Queue = context.Queue()
    child = context.Process(target=_child_read, args=(fs, queue))
    child.start()
    assert queue.get(timeout=120) == b"shared" * 1000
    child.join(timeout=60)
    assert child.exitcode == 0


@pytest.mark.faults
def test_a_namenode_restart_is_waited_for_and_logged(cluster: LocalCluster,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    """A job's request while the NameNode restarts waits for it, saying so, then succeeds."""
    caplog.set_level(logging.WARNING, logger="hadoop.fs")
    fs = HdfsFS(cluster.namenode_url, RetryPolicy(attempts=10, report_s=2.0))
    fs.write_file("/tmp/io/restart.bin", b"before the restart", overwrite=True)
    cluster.stop(["namenode"])
    failures: list[BaseException] = []

    def restart() -> None:
        time.sleep(5)
        try:
            cluster.up()  # starts what is missing: the NameNode
        except BaseException as exc:
            failures.append(exc)

    restarter = threading.Thread(target=restart)
    restarter.start()
    try:
        assert fs.read_file("/tmp/io/restart.bin") == b"before the restart"
    finally:
        restarter.join()
    assert failures == []
    assert "waiting for the NameNode at 127.0.0.10:8020 (Connection refused) to stat " \
           "/tmp/io/restart.bin" in caplog.text
    assert "the NameNode at 127.0.0.10:8020 answers again after" in caplog.text
