"""The HDFS backend's retries, replica failover and NameNode waits, with a small fake client.

The fake stands in for hdfs-native's client only: the backend's own logic (which failures are
retried, how long the NameNode is waited for, what is logged, which error ends it) runs as is.
The same behaviours run against the real cluster in test_fs_hdfs.py and test_faults.py.
"""

from __future__ import annotations

import logging
import pickle
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from hadoop.errors import ReidError
from hadoop.fs import (
    HdfsFS,
    NameNodeUnreachableError,
    PathNotFoundError,
    ReplicasExhaustedError,
    RetryPolicy,
    StoragePermissionError,
    WriteFailedError,
)

URL = "hdfs://10.9.8.7:8020"
FAST = RetryPolicy(attempts=3, delay_s=0.01, max_delay_s=0.01, connect_s=1.5,
                   namenode_wait_s=4.0, report_s=0.5)
DATANODES_FAILED = ('All DataNodes failed: [DatanodeIdProto { ip_addr: "127.0.0.11" }, '
                    'DatanodeIdProto { ip_addr: "127.0.0.13" }]')


@dataclass
class Cluster:
    """What the fake client sees: files, and faults the test switches on."""

    files: dict[str, bytes] = field(default_factory=dict)
    namenode_down: bool = False
    namenode_hangs: bool = False
    denied: str = ""  # a path prefix the NameNode refuses to this user
    asked: int = 0  # NameNode requests made
    failing_reads: int = 0  # the next N range reads fail as if every replica did
    failing_writes: int = 0  # the next N write pipelines break
    opened: int = 0  # readers opened (each asks the NameNode for block locations)
    released: threading.Event = field(default_factory=threading.Event)  # ends a hang


CLUSTERS: dict[str, Cluster] = {}


@dataclass
class Status:
    path: str
    length: int
    isdir: bool = False
    modification_time: int = 0
    replication: int = 3
    blocksize: int = 1 << 20


class FakeReader:
    def __init__(self, cluster: Cluster, data: bytes) -> None:
        self.cluster, self.data = cluster, data

    def __len__(self) -> int:
        return len(self.data)

    def read_range(self, offset: int, length: int) -> bytes:
        if self.cluster.failing_reads:
            self.cluster.failing_reads -= 1
            raise RuntimeError(DATANODES_FAILED)
        return self.data[offset:offset + length]


class FakeWriter:
    def __init__(self, cluster: Cluster, path: str) -> None:
        self.cluster, self.path, self.parts = cluster, path, [b""]

    def __enter__(self) -> FakeWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cluster.files[self.path] = b"".join(self.parts)

    def write(self, chunk: bytes) -> None:
        if self.cluster.failing_writes:
            self.cluster.failing_writes -= 1
            raise OSError("pipeline broken: DataNode 127.0.0.12 did not acknowledge")
        self.parts.append(chunk)


class FakeClient:
    def __init__(self, url: str, config: dict[str, str]) -> None:
        self.cluster = CLUSTERS[url]
        assert config["dfs.client.failover.max.attempts"]  # connection attempts are bounded

    def _namenode(self, path: str = "/") -> None:
        self.cluster.asked += 1
        if self.cluster.denied and path.startswith(self.cluster.denied):
            raise RuntimeError('RPCError("org.apache.hadoop.security.AccessControlException", '
                               '"Permission denied: user=intruder, access=EXECUTE, '
                               'inode=\\"/reid\\":reid:reid:drwxr-x---")')
        if self.cluster.namenode_hangs:
            self.cluster.released.wait()
        if self.cluster.namenode_down:
            raise OSError("Connection refused (os error 111)")

    def get_file_info(self, path: str) -> Status:
        self._namenode()
        if path == "/" or any(p.startswith(path.rstrip("/") + "/") for p in self.cluster.files):
            return Status(path, 0, isdir=True)
        if path not in self.cluster.files:
            raise FileNotFoundError(f"File does not exist: {path}")
        return Status(path, len(self.cluster.files[path]))

    def list_status(self, path: str, recursive: bool) -> Iterator[Status]:
        self._namenode(path)
        return iter([Status(p, len(d)) for p, d in self.cluster.files.items()
                     if p.startswith(path.rstrip("/") + "/")])

    def read(self, path: str) -> FakeReader:
        self._namenode()
        self.cluster.opened += 1
        if path not in self.cluster.files:
            raise FileNotFoundError(f"File does not exist: {path}")
        return FakeReader(self.cluster, self.cluster.files[path])

    def create(self, path: str, write_options: Any) -> FakeWriter:
        self._namenode()
        return FakeWriter(self.cluster, path)

    def rename(self, src: str, dst: str, overwrite: bool) -> None:
        self._namenode()
        self.cluster.files[dst] = self.cluster.files.pop(src)

    def delete(self, path: str, recursive: bool) -> bool:
        self._namenode()
        return self.cluster.files.pop(path, None) is not None

    def mkdirs(self, path: str, permission: int, create_parent: bool) -> None:
        self._namenode()

    def set_permission(self, path: str, permission: int) -> None:
        self._namenode()

    def set_replication(self, path: str, replication: int) -> bool:
        self._namenode()
        return True


def probe(host: str, port: int, timeout_s: float) -> str | None:
    """The reachability check: a NameNode that is down refuses connections."""
    return "Connection refused" if CLUSTERS[f"hdfs://{host}:{port}"].namenode_down else None


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    CLUSTERS[URL] = Cluster(files={"/reid/a.bin": bytes(range(256)) * 4})
    yield CLUSTERS[URL]
    CLUSTERS[URL].released.set()
    CLUSTERS.pop(URL)


def fake_fs(retry: RetryPolicy = FAST) -> HdfsFS:
    return HdfsFS(URL, retry, client_factory=FakeClient, probe=probe)


def test_a_read_whose_replicas_failed_asks_again_and_succeeds(cluster: Cluster) -> None:
    fs = fake_fs()
    assert fs.read_range("/reid/a.bin", 10, 5) == bytes(range(10, 15))
    cluster.failing_reads = 2
    assert fs.read_range("/reid/a.bin", 100, 3) == bytes([100, 101, 102])
    assert cluster.opened == 3  # each failure dropped the reader: fresh block locations


def test_a_read_that_keeps_failing_names_path_range_and_replicas(cluster: Cluster) -> None:
    cluster.failing_reads = 99
    with pytest.raises(ReplicasExhaustedError) as caught:
        fake_fs().read_range("/reid/a.bin", 0, 8)
    message = str(caught.value)
    assert "hdfs://10.9.8.7:8020: read /reid/a.bin [0, +8) failed 3 times" in message
    assert "every DataNode holding the block failed: 127.0.0.11, 127.0.0.13" in message
    assert isinstance(caught.value, ReidError)


def test_a_broken_write_pipeline_is_retried_with_a_fresh_file(cluster: Cluster) -> None:
    cluster.failing_writes = 1
    assert fake_fs().write_file("/reid/b.bin", [b"ab", b"cd"]) == 4
    assert cluster.files["/reid/b.bin"] == b"abcd"
    assert [p for p in cluster.files if ".tmp-" in p] == []


def test_a_write_that_keeps_failing_is_a_write_error_and_changes_nothing(cluster: Cluster) -> None:
    cluster.files["/reid/b.bin"] = b"old"
    cluster.failing_writes = 99
    with pytest.raises(WriteFailedError, match=r"write /reid/b\.bin failed 3 times; last error: "
                                               r"OSError: pipeline broken"):
        fake_fs().write_file("/reid/b.bin", b"new", overwrite=True)
    assert cluster.files["/reid/b.bin"] == b"old"
    assert [p for p in cluster.files if ".tmp-" in p] == []


def test_a_missing_path_is_file_not_found_naming_the_namenode(cluster: Cluster) -> None:
    with pytest.raises(PathNotFoundError, match=r"hdfs://10\.9\.8\.7:8020/reid/none: no such file"):
        fake_fs().read_file("/reid/none")
    assert not fake_fs().exists("/reid/none")


def test_a_refused_permission_is_a_permission_error_asked_once(cluster: Cluster) -> None:
    """hdfs-native raises the NameNode's AccessControlException as a RuntimeError; it is the
    user's error (another principal's ticket, say), named, and not retried."""
    cluster.denied = "/reid"
    fs = fake_fs(RetryPolicy(attempts=5, delay_s=0.5, max_delay_s=0.5, connect_s=1.5))
    assert fs.exists("/")  # the first contact is made and answered
    asked = cluster.asked
    began = time.monotonic()
    with pytest.raises(StoragePermissionError,
                       match=r"hdfs://10\.9\.8\.7:8020/reid: permission denied to list /reid "
                             r"\(.*user=intruder"):
        fs.list("/reid")
    assert cluster.asked - asked == 1
    assert time.monotonic() - began < 0.5


def test_no_answer_from_the_namenode_fails_in_bounded_time(cluster: Cluster) -> None:
    cluster.namenode_hangs = True  # accepts the connection, never answers
    began = time.monotonic()
    with pytest.raises(NameNodeUnreachableError,
                       match=r"cannot reach the NameNode at 10\.9\.8\.7:8020 within 2 s "
                             r"\(no answer\)"):
        fake_fs().exists("/reid/a.bin")
    assert time.monotonic() - began < 3


def test_a_refused_namenode_is_retried_then_named(cluster: Cluster,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    cluster.namenode_down = True
    with pytest.raises(NameNodeUnreachableError, match=r"at 10\.9\.8\.7:8020 within 2 s "
                                                       r"\(Connection refused"):
        fake_fs().read_file("/reid/a.bin")
    assert "waiting for the NameNode at 10.9.8.7:8020 (Connection refused" in caplog.text


def test_a_restarting_namenode_is_waited_for_and_the_wait_logged(
        cluster: Cluster, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    fs = fake_fs()
    fs.status("/reid/a.bin")  # the job is running: it has talked to the NameNode
    cluster.namenode_down = True
    threading.Timer(1.6, lambda: setattr(cluster, "namenode_down", False)).start()
    assert fs.write_file("/reid/c.bin", b"after the restart", overwrite=True) == 17
    assert cluster.files["/reid/c.bin"] == b"after the restart"
    assert ("waiting for the NameNode at 10.9.8.7:8020 (Connection refused) to write "
            "/reid/c.bin") in caplog.text
    assert "the NameNode at 10.9.8.7:8020 answers again after" in caplog.text


def test_a_namenode_gone_for_good_ends_the_wait(cluster: Cluster) -> None:
    fs = fake_fs()
    fs.status("/reid/a.bin")
    cluster.namenode_down = True
    with pytest.raises(NameNodeUnreachableError, match=r"NameNode at 10\.9\.8\.7:8020: no "
                                                       r"connection for [45] s"):
        fs.list("/reid")


def test_a_long_call_is_logged_while_it_waits(cluster: Cluster,
                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    fs = fake_fs()
    fs.status("/reid/a.bin")
    cluster.namenode_hangs = True
    worker = threading.Thread(target=fs.status, args=("/reid/a.bin",), daemon=True)
    worker.start()
    time.sleep(2.5)
    assert "still waiting after" in caplog.text
    assert "stat /reid/a.bin on HDFS at 10.9.8.7:8020" in caplog.text


def test_a_pickled_filesystem_opens_its_own_client(cluster: Cluster) -> None:
    fs = fake_fs()
    assert fs.read_range("/reid/a.bin", 0, 2) == b"\x00\x01"
    copy = pickle.loads(pickle.dumps(fs))
    assert copy.url == URL
    assert copy.retry == FAST
    assert copy.read_range("/reid/a.bin", 2, 2) == b"\x02\x03"


def test_an_error_of_the_callers_chunks_reaches_the_caller_unchanged(cluster: Cluster) -> None:
    cluster.files["/reid/b.bin"] = b"old"

    def chunks() -> Iterator[bytes]:
        yield b"partial"
        raise RuntimeError("source went away")

    with pytest.raises(RuntimeError, match="source went away"):
        fake_fs().write_file("/reid/b.bin", chunks(), overwrite=True)
    assert cluster.files["/reid/b.bin"] == b"old"


def test_a_one_shot_write_is_not_replayed_after_a_namenode_wait(cluster: Cluster) -> None:
    fs = fake_fs()
    fs.status("/reid/a.bin")
    cluster.namenode_down = True
    with pytest.raises(WriteFailedError, match=r"write /reid/b\.bin failed 1 time;"):
        fs.write_file("/reid/b.bin", iter([b"once"]), overwrite=True)
