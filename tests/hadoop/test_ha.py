"""NameNode high availability on the real HA cluster (profile ``test+ha``).

Every client reaches the nameservice ``hdfs://reid``; a SIGKILL of the active NameNode during an
ingest or a training run is ridden through: the standby becomes active, the training finishes
every step without a failed read or a restart, the ingest completes (or leaves nothing and
completes when run again), fsck stays HEALTHY, and the killed NameNode, restarted, rejoins as
the standby.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from hadoop.cluster import LocalCluster
from hadoop.cluster.launcher import Daemon
from hadoop.fs import HdfsFS
from ingest import mars

if TYPE_CHECKING:
    from pyspark import SparkContext

pytestmark = [pytest.mark.cluster, pytest.mark.ha, pytest.mark.slow]
NAMESERVICE = "hdfs://reid"
REPO = Path(__file__).resolve().parents[2]
SMALL = ["--preset", "small", "--seq-len", "4", "--height", "64", "--width", "32",
         "--ids-per-batch", "4", "--tracklets-per-id", "2", "--warmup-epochs", "1",
         "--no-progress", "--workers", "1"]


def hdfs_tool(*args: str) -> subprocess.CompletedProcess[str]:
    """``hadoop/bin/hdfs ARGS``: Hadoop's own JVM client, configured as users get it."""
    return subprocess.run([sys.executable, "-m", "hadoop.shell", *args], capture_output=True,
                          text=True, timeout=300, check=False)


def kill_active(cluster: LocalCluster) -> Daemon:
    active = cluster.active_namenode()
    assert active is not None, cluster.status().render()
    assert cluster.stop([active.name], kill=True) == [active.name]
    return active


def rejoins_as_standby(cluster: LocalCluster, killed: Daemon) -> None:
    """The killed NameNode, started again, becomes the standby of the new active one."""
    cluster.start([killed.name])
    deadline = time.monotonic() + 120
    while cluster.ha_state(killed) != "standby":
        assert time.monotonic() < deadline, cluster.status().render()
        time.sleep(1)
    active = cluster.active_namenode()
    assert active is not None
    assert active is not killed


def assert_fsck_healthy(path: str) -> None:
    done = hdfs_tool("fsck", "-fs", NAMESERVICE, path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "is HEALTHY" in done.stdout, done.stdout


def test_every_client_reaches_the_nameservice(ha_cluster: LocalCluster) -> None:
    status = ha_cluster.status()
    assert ha_cluster.namenode_url == NAMESERVICE
    assert sorted(nn.state for nn in status.namenodes) == ["active", "standby"]
    assert {nn.rack for nn in status.namenodes} == {"/rack1", "/rack2"}
    assert [name for name, pid in status.services if pid is None] == []
    assert "ACTIVE" in status.render()
    HdfsFS(NAMESERVICE).write_file("/tmp/ha-hello", b"hello", overwrite=True)  # hdfs-native
    cat = hdfs_tool("dfs", "-cat", f"{NAMESERVICE}/tmp/ha-hello")  # the JVM client
    assert cat.returncode == 0, cat.stderr
    assert cat.stdout == "hello"


@dataclass
class FailedOverIngest:
    url: str
    killed: Daemon
    first_run: BaseException | None  # the first run's error, if it failed
    left_after_failure: tuple[bool, bool]  # (manifest, dataset directory) after that failure


@pytest.fixture(scope="module")
def failed_over_ingest(ha_cluster: LocalCluster, small_mars: Path,
                       sc: SparkContext) -> FailedOverIngest:
    """``small_mars`` ingested into the nameservice while its active NameNode is SIGKILLed
    (once the ingest holds its lease and packs); a failed first run is run again. The training
    test trains on the result."""
    from ingest.dataset_manifest import read_manifest
    from ingest.spark_ingest import MIB, IngestConfig, run_ingest

    fs = HdfsFS(NAMESERVICE)
    config = IngestConfig(source=str(small_mars), dest=f"{NAMESERVICE}/reid/ha-ingest",
                          shard_size=MIB, block_size=MIB)
    failed: list[BaseException] = []

    def ingest() -> None:
        try:
            run_ingest(sc, config)
        except Exception as exc:  # judged by the test: allowed only if nothing is left
            failed.append(exc)

    worker = threading.Thread(target=ingest, name="ingest")
    worker.start()
    deadline = time.monotonic() + 300
    while not fs.exists("/reid/.staging"):  # the ingest holds its lease and is packing
        assert worker.is_alive(), failed
        assert time.monotonic() < deadline
        time.sleep(0.1)
    killed = kill_active(ha_cluster)
    worker.join(timeout=600)
    assert not worker.is_alive()
    left = (False, False)
    if failed:
        left = (read_manifest(fs, "/reid/ha-ingest") is not None, fs.exists("/reid/ha-ingest"))
        run_ingest(sc, config)
    return FailedOverIngest(config.dest, killed, failed[0] if failed else None, left)


def test_ingest_rides_through_a_failover(ha_cluster: LocalCluster, small_mars: Path,
                                         failed_over_ingest: FailedOverIngest) -> None:
    from ingest.dataset import open_dataset

    # a failed first run left no partial output (and the second one completed)
    assert failed_over_ingest.left_after_failure == (False, False), failed_over_ingest.first_run
    dataset = open_dataset(failed_over_ingest.url)
    expected = {t.tracklet_id for t in mars.read_mars(small_mars, files="none").tracklets}
    assert {r.tracklet_id for r in dataset.records} == expected
    for record in dataset.records:  # every clip intact: the index's CRC over all its frames
        assert dataset.read_frames(record)
    assert_fsck_healthy("/reid")
    rejoins_as_standby(ha_cluster, failed_over_ingest.killed)


def test_training_rides_through_a_failover(ha_cluster: LocalCluster,
                                           failed_over_ingest: FailedOverIngest,
                                           tmp_path: Path) -> None:
    """Killed after the first checkpoint: every later step, read and checkpoint goes through
    the new active NameNode, in the same process (no restart, no resume)."""
    from training.checkpoint import CheckpointStore

    data = failed_over_ingest.url
    if ha_cluster.ha_state(failed_over_ingest.killed) == "down":  # the ingest test did not run
        rejoins_as_standby(ha_cluster, failed_over_ingest.killed)
    ckpt = f"{NAMESERVICE}/reid/ha-runs/failover"
    store = CheckpointStore(ckpt)
    command = [sys.executable, "-m", "training.train", "--data", data, "--max-steps", "16",
               "--checkpoint-every", "4", "--checkpoint", ckpt, "--out", str(tmp_path), *SMALL]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + 600
    while store.latest() is None:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        assert time.monotonic() < deadline
        time.sleep(0.5)
    killed = kill_active(ha_cluster)
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, out[-3000:]
    with (tmp_path / "metrics.csv").open() as handle:
        steps = [int(row["step"]) for row in csv.DictReader(handle)]
    assert steps == list(range(1, 17))  # every step once: nothing failed, nothing resumed
    assert store.require_latest().step == 16
    assert_fsck_healthy("/reid")
    rejoins_as_standby(ha_cluster, killed)


def test_spark_describe_and_rack_aware_dealing_follow_the_active_namenode(
        ha_cluster: LocalCluster, failed_over_ingest: FailedOverIngest) -> None:
    """With the nameservice's first NameNode stopped, the clients that are not hdfs-native find
    the active one: Spark's own HDFS input (the scan job, JVM side), describe's and rack-aware
    training's block locations (WebHDFS)."""
    from ingest.dataset import open_dataset
    from training.data.locality import identity_racks

    first = ha_cluster.namenodes[0]
    ha_cluster.stop([first.name], kill=True)  # active or standby: no client may need it
    deadline = time.monotonic() + 120
    while ha_cluster.active_namenode() is None:
        assert time.monotonic() < deadline, ha_cluster.status().render()
        time.sleep(1)
    url = failed_over_ingest.url
    try:
        scan = subprocess.run(
            [str(REPO / "spark_jobs" / "submit"), str(REPO / "spark_jobs" / "scan.py"),
             "--data", url], capture_output=True, text=True, timeout=600, check=False,
            env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"})
        assert scan.returncode == 0, scan.stderr[-3000:]
        read = json.loads(scan.stdout.strip().splitlines()[-1])
        assert read["files"] > 0
        assert read["bytes"] == read["expected_bytes"]

        described = subprocess.run([sys.executable, "-m", "ingest.describe", url, "--json"],
                                   capture_output=True, text=True, timeout=300, check=False)
        assert described.returncode == 0, described.stderr[-3000:]
        placement = json.loads(described.stdout)["placement"]
        assert placement["blocks"] > 0
        assert placement["groups_by_home_rack"]

        data = open_dataset(url)
        racks = identity_racks(data, data.records)
        assert racks
        assert all(racks.values())
    finally:
        rejoins_as_standby(ha_cluster, first)
