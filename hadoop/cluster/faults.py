"""Fault injection on the local cluster's disks, for tests and the faults benchmark.

Killing and stopping daemons is ``LocalCluster.stop``; this module damages replicas in place:
``corrupt_replica`` flips bytes inside one replica's block file (same length, so only a checksum
check notices), ``delete_replica`` removes the block file and its checksum file (the DataNode's
directory scanner notices). Both leave the other replicas alone.
"""

from __future__ import annotations

import time
from pathlib import Path

from hadoop.blocks import Block, block_locations
from hadoop.cluster.launcher import LocalCluster
from hadoop.errors import ClusterError


def replica_file(cluster: LocalCluster, block: Block, datanode: str) -> Path:
    """The block file of ``block`` on ``datanode``'s disk."""
    daemon = cluster.daemon(datanode)
    pool = daemon.data_dir / "dfs" / "data" / "current" / block.pool_id / "current"
    found = sorted(pool.glob(f"finalized/**/{block.file_name}"))
    if not found:
        raise ClusterError(f"{datanode} holds no file {block.file_name} under {pool}")
    return found[0]


def _target(cluster: LocalCluster, path: str, block_index: int,
            datanode: str | None) -> tuple[Block, str]:
    blocks = block_locations(path, cluster.status().web_ui)
    if not 0 <= block_index < len(blocks):
        raise ClusterError(f"{path} has {len(blocks)} blocks; no block #{block_index}")
    block = blocks[block_index]
    holders = [cluster.table.host(r.address).name for r in block.replicas]
    if datanode is None:
        datanode = holders[0]
    elif cluster.table.host(datanode).name not in holders:
        raise ClusterError(f"{datanode} holds no replica of block #{block_index} of {path} "
                           f"(holders: {', '.join(holders)})")
    return block, cluster.table.host(datanode).name


def corrupt_replica(cluster: LocalCluster, path: str, block_index: int = 0,
                    datanode: str | None = None) -> tuple[str, Path]:
    """Invert 64 bytes in the middle of one replica; returns (datanode, block file)."""
    block, node = _target(cluster, path, block_index, datanode)
    target = replica_file(cluster, block, node)
    data = bytearray(target.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(b ^ 0xFF for b in data[middle:middle + 64])
    target.write_bytes(bytes(data))
    return node, target


def delete_replica(cluster: LocalCluster, path: str, block_index: int = 0,
                   datanode: str | None = None) -> tuple[str, Path]:
    """Remove one replica's block and checksum files; returns (datanode, block file)."""
    block, node = _target(cluster, path, block_index, datanode)
    target = replica_file(cluster, block, node)
    for meta in target.parent.glob(f"{target.name}_*.meta"):
        meta.unlink()
    target.unlink()
    return node, target


def wait_until_dead(cluster: LocalCluster, datanode: str, timeout: float = 120.0) -> float:
    """Seconds until the NameNode has declared ``datanode`` dead (heartbeats missed).

    Its reports stop listing a silent node as live a little before its heartbeat monitor
    (which runs every recheck interval) removes the node; until then new blocks can still be
    given to it. So this waits one recheck interval more after the node leaves the live list.
    """
    address = cluster.daemon(datanode).host.local_ip
    began = time.monotonic()
    while address in cluster.jmx.live_datanode_ips():
        if time.monotonic() - began > timeout:
            raise ClusterError(f"the NameNode still lists {datanode} as live after {timeout} s")
        time.sleep(0.2)
    time.sleep(cluster.heartbeat.recheck_s)
    return time.monotonic() - began


def wait_until_replicated(cluster: LocalCluster, paths: list[str], replication: int = 3,
                          timeout: float = 300.0) -> float:
    """Seconds until every block of ``paths`` has exactly ``replication`` replicas on distinct
    live DataNodes and the NameNode has no under-replicated, pending or missing block.

    Replicas are checked against the live set because the NameNode stops listing a silent
    DataNode as live a moment before its heartbeat monitor drops that node's replicas. Exactly,
    not at least: a replaced corrupt replica is still listed beside its new copy until the
    NameNode has it deleted."""
    began = time.monotonic()
    web = cluster.status().web_ui
    while True:
        health = cluster.jmx.block_health()
        live = cluster.jmx.live_datanode_ips()
        if not (health["under_replicated"] or health["pending_replication"]
                or health["missing"]) and all(
                len({r.address for r in block.replicas} & live) == replication
                for path in paths for block in block_locations(path, web)):
            return time.monotonic() - began
        if time.monotonic() - began > timeout:
            raise ClusterError(f"not fully replicated after {timeout} s: {health}")
        time.sleep(0.2)
