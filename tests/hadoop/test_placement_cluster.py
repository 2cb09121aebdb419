"""The hash-loop placement policy on real NameNodes: co-location, failures, repair, locality."""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from hadoop.blocks import Block, block_locations
from hadoop.cluster import LocalCluster
from hadoop.cluster.faults import wait_until_dead, wait_until_replicated
from hadoop.cluster.jmx import datanode_reads
from hadoop.fs import HdfsFS
from hadoop.siteconf import CONF_DIR

pytestmark = [pytest.mark.cluster, pytest.mark.slow]
BLOCK = 64 * 1024
GROUPS = [f"ids-{i * 16 + 1:04d}" for i in range(20)]


def write_groups(fs: HdfsFS, root: str, groups: list[str], shards: int = 3) -> list[str]:
    """An ingest-like write: per group, shards of 3 blocks each, replication 3."""
    paths = []
    for group in groups:
        for n in range(shards):
            path = f"{root}/shards/{group}/b000-{n:04d}.shard"
            fs.write_file(path, os.urandom(3 * BLOCK), block_size=BLOCK, replication=3,
                          overwrite=True)
            paths.append(path)
    return paths


def home_rack(blocks: list[Block]) -> str:
    """The rack holding two replicas of most of a group's blocks."""
    votes: Counter[str] = Counter()
    for block in blocks:
        racks = Counter(r.rack for r in block.replicas)
        votes.update(rack for rack, n in racks.items() if n >= 2)
    return votes.most_common(1)[0][0]


def group_blocks(paths: list[str], web: str) -> dict[str, list[Block]]:
    out: dict[str, list[Block]] = {}
    for path in paths:
        out.setdefault(path.split("/")[-2], []).extend(block_locations(path, web))
    return out


@pytest.fixture(scope="module")
def placed(cluster: LocalCluster) -> dict[str, list[Block]]:
    paths = write_groups(HdfsFS(cluster.namenode_url), "/reid/placement-test", GROUPS)
    return group_blocks(paths, cluster.status().web_ui)


def test_each_group_keeps_replicas_1_and_3_on_its_home_rack(
        placed: dict[str, list[Block]]) -> None:
    total = on_home = 0
    homes = set()
    for blocks in placed.values():
        home = home_rack(blocks)
        homes.add(home)
        for block in blocks:
            racks = Counter(r.rack for r in block.replicas)
            total += 1
            on_home += racks[home] == 2 and len(racks) == 2 and len(block.replicas) == 3
    assert on_home / total >= 0.95, f"{on_home}/{total} blocks co-located"
    assert len(homes) == 3  # 20 groups spread over all three racks


def test_other_paths_keep_hdfs_default_placement(cluster: LocalCluster) -> None:
    fs = HdfsFS(cluster.namenode_url)
    fs.write_file("/tmp/placement/default.bin", os.urandom(40 * BLOCK), block_size=BLOCK,
                  overwrite=True)
    blocks = block_locations("/tmp/placement/default.bin", cluster.status().web_ui)
    homes = {home_rack([b]) for b in blocks}
    assert len(homes) > 1  # not one rack for every block: the default policy's random choice
    assert all(len(b.racks) >= 2 for b in blocks)


@pytest.mark.faults
def test_writes_succeed_with_a_home_node_dead(cluster: LocalCluster,
                                              placed: dict[str, list[Block]]) -> None:
    group = GROUPS[0]
    home = home_rack(placed[group])
    victim = cluster.table.racks[home][0].name
    cluster.stop([victim], kill=True)
    try:
        wait_until_dead(cluster, victim)
        fs = HdfsFS(cluster.namenode_url)
        [path] = write_groups(fs, "/reid/placement-dead", [group], shards=1)
        for block in block_locations(path, cluster.status().web_ui):
            assert len({r.address for r in block.replicas}) == 3
            assert len(block.racks) >= 2
    finally:
        cluster.start([victim])


def test_reader_on_a_rack_is_served_from_that_rack(cluster: LocalCluster,
                                                  placed: dict[str, list[Block]]) -> None:
    if os.geteuid() != 0:
        pytest.skip("client racks need root (ip route)")
    rack = "/rack2"
    mine = [g for g, blocks in placed.items() if home_rack(blocks) == rack]
    assert mine
    nodes = {d.host.local_ip: d.host.rack for d in cluster.datanodes}

    def served() -> dict[str, int]:
        time.sleep(1.5)  # JMX snapshots are up to one metrics period old
        counts: dict[str, int] = {}
        for ip, node_rack in nodes.items():
            counts[node_rack] = counts.get(node_rack, 0) + datanode_reads(
                f"http://{ip}:9864")["bytes"]
        return counts

    cluster.set_client_rack(rack)
    try:
        before = served()
        reader = HdfsFS(cluster.namenode_url)  # connects from rack 2's client address
        for group in mine:
            for n in range(3):
                reader.read_file(f"/reid/placement-test/shards/{group}/b000-{n:04d}.shard")
        after = served()
    finally:
        cluster.set_client_rack(None)
    delta = {r: after[r] - before[r] for r in after}
    assert sum(delta.values()) >= len(mine) * 9 * BLOCK
    assert delta[rack] / sum(delta.values()) >= 0.99, delta


@pytest.fixture(scope="module")
def wide_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """3 racks x 3 DataNodes on 127.0.2.x: room on a home rack to re-create a lost home copy
    (with 2 nodes per rack, both already hold one). Same site files; a wider rack table."""
    conf = tmp_path_factory.mktemp("wide") / "conf"
    shutil.copytree(CONF_DIR, conf)
    rows = ["host,role,local_ip,compose_ip,rack", "namenode,namenode,127.0.2.10,172.29.0.10,"
            "/default-rack"]
    rows += [f"dn{i},datanode,127.0.2.{10 + i},172.29.0.{10 + i},/rack{(i - 1) // 3 + 1}"
             for i in range(1, 10)]
    (conf / "racks.csv").write_text("\n".join(rows) + "\n")
    with pytest.MonkeyPatch.context() as env:  # the cluster address, as clients would set it
        env.setenv("REID_NAMENODE_HOST", "127.0.2.10")
        wide = LocalCluster(tmp_path_factory.mktemp("wide-run"), conf, profile="test")
    try:
        wide.up()
        yield wide
    finally:
        wide.down()


@pytest.mark.faults
def test_lost_home_copies_come_back_to_the_home_rack(wide_cluster: LocalCluster) -> None:
    web = wide_cluster.status().web_ui
    fs = HdfsFS(wide_cluster.namenode_url)
    paths = write_groups(fs, "/reid/repair-test", GROUPS)
    before = group_blocks(paths, web)
    homes = {g: home_rack(blocks) for g, blocks in before.items()}
    victim = wide_cluster.datanodes[0]
    lost = {(g, b.block_id) for g, blocks in before.items() for b in blocks
            if victim.host.local_ip in {r.address for r in b.replicas}
            and victim.host.rack == homes[g]}
    assert len(lost) >= 10
    wide_cluster.stop([victim.name], kill=True)
    wait_until_dead(wide_cluster, victim.name)
    wait_until_replicated(wide_cluster, paths)
    after = group_blocks(paths, web)
    back_home = sum(
        Counter(r.rack for r in block.replicas)[homes[g]] == 2
        for g, blocks in after.items() for block in blocks if (g, block.block_id) in lost)
    assert back_home / len(lost) >= 0.99, f"{back_home}/{len(lost)} re-created on the home rack"
