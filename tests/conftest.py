"""Shared fixtures. Cluster tests (marked ``cluster``) share one real HDFS cluster per session.

The cluster is the project's own local launcher with the ``test`` profile (fast heartbeats and
repair), in a fresh run directory, started on first use and stopped at the end of the session
even when tests fail. Tests marked ``faults`` damage it on purpose, so they run after the others.
Tests marked ``secure`` use the secure profile's cluster (``secure_cluster``), tests marked ``ha``
the HA cluster (``ha_cluster``: profile ``test+ha``, two NameNodes, ``hdfs://reid``); both use
the same addresses as the plain cluster, so they run last (``ha`` after ``secure``), and each
cluster's fixture stops the clusters started before it.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from hadoop.cluster import LocalCluster

if TYPE_CHECKING:  # pyspark is imported only by the tests that start Spark
    from pyspark import SparkContext
    from pyspark.sql import SparkSession


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--docker", action="store_true",
                     help="run the tests marked docker (the compose stack: `make test-compose`)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run fault-injection tests after every other test (stable sort keeps the rest in order);
    skip the compose end-to-end tests unless --docker asks for them (they need an engine,
    the images and ~15 minutes)."""
    items.sort(key=lambda item: (item.get_closest_marker("ha") is not None,
                                 item.get_closest_marker("secure") is not None,
                                 item.get_closest_marker("faults") is not None))
    if not config.getoption("--docker"):
        skip = pytest.mark.skip(reason="compose stack test: run with --docker (make test-compose)")
        for item in items:
            if item.get_closest_marker("docker") is not None:
                item.add_marker(skip)


_STARTED: list[LocalCluster] = []  # stopped before the next cluster takes the addresses
_CLIENT_ENV = ("HADOOP_CONF_DIR", "KRB5_CONFIG", "KRB5CCNAME")  # what secure_cluster sets


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    run_dir: Path = tmp_path_factory.mktemp("hdfs-cluster")
    local = LocalCluster(run_dir=run_dir, profile="test")
    _STARTED.append(local)
    try:
        local.up()
        yield local
    finally:
        local.down()


@pytest.fixture(scope="session")
def ha_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """The HA cluster (profile ``test+ha``), once per session, after every other cluster test:
    all listen on the rack table's addresses, so the clusters before it are stopped first (and
    a secure cluster's client environment is set aside)."""
    for other in _STARTED:
        other.down()
    saved = {key: os.environ.pop(key, None) for key in _CLIENT_ENV}  # a secure cluster's client
    local = LocalCluster(run_dir=tmp_path_factory.mktemp("hdfs-ha"), profile="test+ha")
    _STARTED.append(local)
    try:
        local.up()
        yield local
    finally:
        local.down()
        for key, value in saved.items():
            if value is not None:
                os.environ[key] = value


@pytest.fixture(scope="session")
def secure_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """The secure profile's cluster (KDC, Kerberos, encrypted transfer, HTTPS), started once.
    This process becomes its client (HADOOP_CONF_DIR, KRB5_CONFIG) with the service user's
    ticket (KRB5CCNAME); the environment is restored at the end."""
    for other in _STARTED:
        other.down()
    saved = {key: os.environ.get(key) for key in _CLIENT_ENV}
    local = LocalCluster(run_dir=tmp_path_factory.mktemp("secure-cluster"), profile="secure")
    assert local.security is not None
    _STARTED.append(local)
    try:
        local.up()
        os.environ.update(local.security.client_env())
        yield local
    finally:
        local.down()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def small_mars(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated MARS tree (train + test, queries, distractors, junk), shared by the
    ingest, loader and training tests. Read-only: copy it before changing anything."""
    from ingest.synthetic import SyntheticConfig, generate

    root = tmp_path_factory.mktemp("mars") / "small"
    generate(root, SyntheticConfig(ids=8, seed=3, mean_len=8.0, max_len=16,
                                   max_tracklets_per_camera=2, workers=1))
    return root


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    """One local Spark session for the tests that drive the ingest in-process."""
    import os
    import sys

    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable  # Python workers: this interpreter
    session = (SparkSession.builder.master("local[2]").appName("reid-hdfs tests")
               .config("spark.sql.shuffle.partitions", "4")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def sc(spark: SparkSession) -> SparkContext:
    """The session's SparkContext: the ingest runs on RDDs only."""
    return spark.sparkContext


@pytest.fixture(scope="session")
def small_dataset(cluster: LocalCluster, small_mars: Path, sc: SparkContext) -> str:
    """``small_mars`` ingested into the session's cluster; returns the dataset's URL."""
    from ingest.spark_ingest import MIB, IngestConfig, run_ingest

    url = f"{cluster.namenode_url}/reid/small"
    run_ingest(sc, IngestConfig(source=str(small_mars), dest=url, shard_size=MIB,
                                block_size=MIB))
    return url


@dataclass(frozen=True)
class Listener:
    """A listening TCP socket and the process that holds it."""

    address: str
    port: int
    pid: int
    command: str


def _decode(hex_address: str) -> str:
    """An address of /proc/net/tcp{,6}: 32-bit words in host (little-endian) byte order. An
    IPv4-mapped IPv6 address (a JVM's socket bound to 127.0.0.1) is given in its IPv4 form."""
    raw = b"".join(bytes.fromhex(hex_address[i:i + 8])[::-1] for i in range(0, len(hex_address), 8))
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw)
    address = ipaddress.IPv6Address(raw)
    return str(address.ipv4_mapped or address)


def listening_sockets(session: int) -> list[Listener]:
    """Every TCP socket listening in process session ``session`` (a job started with
    ``start_new_session=True`` and all its children), from /proc as ``ss -ltnp`` reads it."""
    owners: dict[str, tuple[int, str]] = {}  # socket inode -> (pid, command)
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[3]) != session:
                continue
            command = stat[stat.index("(") + 1:stat.rindex(")")]
            for fd in (proc / "fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:["):
                    owners[link[8:-1]] = (int(proc.name), command)
        except (OSError, ValueError, IndexError):
            continue  # the process ended meanwhile
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in owners:  # 0A: LISTEN
                address, port = fields[1].split(":")
                pid, command = owners[fields[9]]
                found.append(Listener(_decode(address), int(port, 16), pid, command))
    return found


@pytest.fixture
def job_listeners() -> Callable[[int], list[Listener]]:
    """``listening_sockets``, for tests that check where a real job's servers listen."""
    return listening_sockets
