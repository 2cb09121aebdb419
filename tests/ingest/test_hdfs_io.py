"""The project's HDFS I/O layer against the real cluster: exact reads, atomic writes, forks."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator

import pytest

from hadoop.cluster import LocalCluster
from ingest.hdfs_io import HdfsFS, ShortReadError, split_url

pytestmark = pytest.mark.cluster


def test_split_url() -> None:
    assert split_url("hdfs://127.0.0.10:8020/reid/x") == ("hdfs://127.0.0.10:8020", "/reid/x")
    assert split_url("/reid/x") == (None, "/reid/x")
    with pytest.raises(ValueError, match="not an hdfs:// URL"):
        split_url("s3://bucket/key")


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
    with pytest.raises(FileExistsError, match=r"/tmp/io/atomic\.bin exists"):
        fs.write_file("/tmp/io/atomic.bin", b"second")

    def failing_chunks() -> Iterator[bytes]:
        yield b"partial data"
        raise RuntimeError("source went away")

    with pytest.raises(RuntimeError, match="source went away"):
        fs.write_file("/tmp/io/atomic.bin", failing_chunks(), overwrite=True)
    assert fs.read_file("/tmp/io/atomic.bin") == b"first"
    assert [s.path for s in fs.list("/tmp/io") if ".tmp-" in s.path] == []


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
