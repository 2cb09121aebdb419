"""The local cluster is a real HDFS cluster: 6 DataNodes on 3 racks, replication 3."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from hadoop.cluster import LocalCluster
from hadoop.cluster.launcher import _pids_with
from hadoop.fs import HdfsFS

REPO = Path(__file__).resolve().parents[2]
HDFS = str(REPO / "hadoop" / "bin" / "hdfs")
pytestmark = pytest.mark.cluster
BLOCK = 1 << 20


def hdfs(*args: str) -> str:
    done = subprocess.run([HDFS, *args], capture_output=True, text=True, check=True, timeout=120)
    return done.stdout


def test_report_lists_six_live_datanodes(cluster: LocalCluster) -> None:
    report = hdfs("dfsadmin", "-report")
    assert re.search(r"Live datanodes \(6\)", report), report


def test_topology_has_three_racks_of_two(cluster: LocalCluster) -> None:
    members: dict[str, list[str]] = {}
    for line in hdfs("dfsadmin", "-printTopology").splitlines():
        if line.startswith("Rack: "):
            rack = members.setdefault(line.split()[1], [])
        elif node := re.match(r"\s+(127\.\d+\.\d+\.\d+):9866", line):
            rack.append(node.group(1))
    expected = {rack: sorted(h.local_ip for h in hosts)
                for rack, hosts in cluster.table.racks.items()}
    assert [len(ips) for ips in expected.values()] == [2, 2, 2]
    assert {rack: sorted(ips) for rack, ips in members.items()} == expected


def block_locations(path: str) -> list[list[tuple[str, str]]]:
    """(rack, address) of every replica of every block, from `hdfs fsck -racks`."""
    out = hdfs("fsck", path, "-files", "-blocks", "-locations", "-racks")
    assert "Status: HEALTHY" in out, out
    blocks = re.findall(r"^\d+\. \S+ len=\d+ Live_repl=\d+\s+\[(.*)\]$", out, re.MULTILINE)
    return [re.findall(r"(/rack\d)/(127\.\d+\.\d+\.\d+):9866", locs) for locs in blocks]


def test_multi_block_file_has_three_replicas_on_two_racks(cluster: LocalCluster) -> None:
    data = os.urandom(5 * BLOCK + 12345)
    fs = HdfsFS(cluster.namenode_url)
    fs.write_file("/tmp/three-replicas.bin", data, block_size=BLOCK, overwrite=True)
    blocks = block_locations("/tmp/three-replicas.bin")
    assert len(blocks) == 6
    for replicas in blocks:
        assert len({address for _, address in replicas}) == 3
        assert len({rack for rack, _ in replicas}) >= 2
    assert fs.read_file("/tmp/three-replicas.bin") == data
    shell = subprocess.run([HDFS, "dfs", "-cat", "/tmp/three-replicas.bin"], capture_output=True,
                           check=True, timeout=120)
    assert shell.stdout == data


def test_up_is_idempotent_and_down_keeps_data(cluster: LocalCluster) -> None:
    HdfsFS(cluster.namenode_url).write_file("/tmp/survives-restart.txt", b"still here",
                                            overwrite=True)
    pids = {d.name: d.pid() for d in cluster.daemons}
    cluster.up()
    assert {d.name: d.pid() for d in cluster.daemons} == pids

    cluster.down()
    assert _pids_with(f"-Dreidhdfs.daemon={cluster.run_dir}/") == []
    assert all(d.pid() is None for d in cluster.daemons)

    cluster.up()
    assert HdfsFS(cluster.namenode_url).read_file("/tmp/survives-restart.txt") == b"still here"
