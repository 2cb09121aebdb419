"""Redundancy under faults on the real cluster: heal to 3 copies, serve correct bytes, lose nothing.

Runs last (marker ``faults``): each test damages the session cluster and restores it.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import hdfs
import pytest

from hadoop.blocks import block_locations, scrub
from hadoop.cluster import LocalCluster
from hadoop.cluster.faults import (
    corrupt_replica,
    delete_replica,
    wait_until_dead,
    wait_until_replicated,
)
from hadoop.fs import HdfsFS, ReplicasExhaustedError, RetryPolicy
from hadoop.fs.probe import ReadProbe

pytestmark = [pytest.mark.cluster, pytest.mark.faults, pytest.mark.slow]
BLOCK = 256 * 1024
FILES = 6


@dataclass
class Dataset:
    paths: list[str]
    contents: dict[str, bytes]
    checksums: dict[str, object] = field(default_factory=dict)


@pytest.fixture(scope="module")
def dataset(cluster: LocalCluster) -> Dataset:
    """A multi-block dataset: FILES files of 4-5 blocks each, replication 3."""
    fs = HdfsFS(cluster.namenode_url)
    rng = random.Random(7)
    contents = {f"/tmp/faults/part-{i:02d}.bin": rng.randbytes(4 * BLOCK + rng.randrange(BLOCK))
                for i in range(FILES)}
    for path, data in contents.items():
        fs.write_file(path, data, block_size=BLOCK, replication=3, overwrite=True)
    web = hdfs.InsecureClient(cluster.status().web_ui, user=os.environ.get("USER", "root"))
    return Dataset(paths=list(contents), contents=contents,
                   checksums={p: web.checksum(p) for p in contents})


def assert_intact(cluster: LocalCluster, data: Dataset, *, hdfs_checksums: bool = True) -> None:
    """Same bytes through the project's read path; same HDFS file checksums (computed by the
    DataNodes from their stored CRCs, through WebHDFS) when every node is known to be up."""
    fs = HdfsFS(cluster.namenode_url)
    web = hdfs.InsecureClient(cluster.status().web_ui, user=os.environ.get("USER", "root"))
    for path, content in data.contents.items():
        assert hashlib.sha256(fs.read_file(path)).digest() == hashlib.sha256(content).digest()
        if hdfs_checksums:
            assert web.checksum(path) == data.checksums[path]


@pytest.fixture
def reader(cluster: LocalCluster, dataset: Dataset) -> Iterator[ReadProbe]:
    with ReadProbe(HdfsFS(cluster.namenode_url), dataset.contents, max_length=3 * BLOCK) as probe:
        yield probe


def test_killed_datanode_heals_to_three_replicas(cluster: LocalCluster, dataset: Dataset,
                                                 reader: ReadProbe) -> None:
    victim = cluster.table.host(block_locations(dataset.paths[0])[0].replicas[0].address).name
    cluster.stop([victim], kill=True)
    try:
        detect_s = wait_until_dead(cluster, victim)
        heal_s = wait_until_replicated(cluster, dataset.paths)
        victim_ip = cluster.daemon(victim).host.local_ip
        for path in dataset.paths:
            for block in block_locations(path):
                addresses = {r.address for r in block.replicas}
                assert len(addresses) == 3
                assert victim_ip not in addresses
                assert len(block.racks) >= 2
        assert cluster.jmx.block_health()["missing"] == 0
        assert_intact(cluster, dataset)
        assert reader.reads > 20
        assert reader.failures == 0, reader.errors[:3]
        print(f"kill {victim}: declared dead after {detect_s:.1f} s, "
              f"healed {heal_s:.1f} s later; {reader.reads} reads, 0 failures")
    finally:
        cluster.start([victim])


def test_corrupt_replica_is_detected_and_replaced(cluster: LocalCluster,
                                                  dataset: Dataset) -> None:
    path = dataset.paths[1]
    node, block_file = corrupt_replica(cluster, path, block_index=2)
    assert HdfsFS(cluster.namenode_url).read_file(path) == dataset.contents[path]
    report = scrub(path, cluster.status().web_ui, cluster.namenode_url)
    assert report.inconsistent_blocks == 0
    wait_until_replicated(cluster, [path])
    holders = {r.address for r in block_locations(path)[2].replicas}
    assert len(holders) == 3
    assert cluster.jmx.block_health()["corrupt"] == 0
    assert_intact(cluster, dataset)
    print(f"corrupted {block_file.name} on {node}: reported by scrub, replaced")


def test_deleted_replica_is_recreated(cluster: LocalCluster, dataset: Dataset) -> None:
    path = dataset.paths[2]
    node, block_file = delete_replica(cluster, path, block_index=0)
    assert not block_file.exists()
    lost = cluster.daemon(node).host.local_ip
    deadline = time.monotonic() + 120
    while lost in {r.address for r in block_locations(path)[0].replicas}:
        assert time.monotonic() < deadline, "the DataNode never reported the missing replica"
        time.sleep(0.5)  # its directory scanner runs every 5 s in the test profile
    wait_until_replicated(cluster, [path])
    assert len({r.address for r in block_locations(path)[0].replicas}) == 3
    assert_intact(cluster, dataset)


def test_whole_rack_down_loses_nothing(cluster: LocalCluster, dataset: Dataset,
                                       reader: ReadProbe) -> None:
    rack = block_locations(dataset.paths[3])[0].replicas[0].rack
    stopped = cluster.stop([rack])
    assert len(stopped) == 2
    try:
        # every block had a copy off that rack (WebHDFS may still redirect to a stopped node
        # until it is declared dead, so only the project's read path is used here)
        assert_intact(cluster, dataset, hdfs_checksums=False)
    finally:
        cluster.start([rack])
    wait_until_replicated(cluster, dataset.paths)
    assert cluster.jmx.block_health()["missing"] == 0
    assert_intact(cluster, dataset)
    assert reader.failures == 0, reader.errors[:3]


def test_clear_error_when_every_replica_is_gone(cluster: LocalCluster) -> None:
    fs = HdfsFS(cluster.namenode_url, RetryPolicy(attempts=3, delay_s=0.2))
    fs.write_file("/tmp/faults/single-copy.bin", b"x" * 5000, replication=1, overwrite=True)
    holder = cluster.table.host(
        block_locations("/tmp/faults/single-copy.bin")[0].replicas[0].address).name
    cluster.stop([holder], kill=True)
    try:
        with pytest.raises(ReplicasExhaustedError,
                           match=r"read /tmp/faults/single-copy.bin \[0, \+5000\) failed 3 times"):
            fs.read_file("/tmp/faults/single-copy.bin")
    finally:
        cluster.start([holder])
    fs.delete("/tmp/faults/single-copy.bin")


def test_status_says_a_killed_datanode_is_gone_while_the_namenode_counts_it_live(
        cluster: LocalCluster) -> None:
    """The NameNode lists a killed DataNode as live until its heartbeats expire (14 s in the
    test profile, 630 s by default); `status` must say the process is gone and until when."""
    victim = cluster.datanodes[-1]
    cluster.stop([victim.name], kill=True)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "hadoop.cluster", "--run-dir", str(cluster.run_dir),
             "--conf-dir", str(cluster.conf_dir), "status"],
            capture_output=True, text=True, timeout=60, check=False)
        still_listed = victim.host.local_ip in cluster.jmx.live_datanode_ips()
    finally:
        cluster.start([victim.name])
    assert done.returncode == 0, done.stderr
    assert still_listed, "the NameNode dropped the node before status ran; nothing was shown"
    cell = re.search(rf"{victim.name} {re.escape(victim.host.local_ip)} (.*?)(?:  dn|$)",
                     done.stdout, re.MULTILINE)
    assert cell, done.stdout
    shown = re.fullmatch(r"process gone, NameNode still counts it live until "
                         r"\d\d:\d\d:\d\d \S+ \((\d+) s\)", cell.group(1))
    assert shown, done.stdout
    assert int(shown.group(1)) <= cluster.heartbeat.expiry_s == 14
    assert f"{len(cluster.datanodes) - 1}/{len(cluster.datanodes)} DataNodes live" in done.stdout
    assert "dead 14 s after its last heartbeat" in done.stdout
