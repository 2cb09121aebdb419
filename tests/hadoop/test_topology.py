"""The rack table and the topology script HDFS calls agree, and bad tables are refused."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hadoop.errors import TopologyError
from hadoop.siteconf import CONF_DIR, load_site
from hadoop.topology import DEFAULT_RACK, LOOPBACK_NET_ENV, load_rack_table

TABLE = load_rack_table(CONF_DIR / "racks.csv")


def test_default_topology_is_three_racks_of_two() -> None:
    assert {rack: len(hosts) for rack, hosts in TABLE.racks.items()} == {
        "/rack1": 2, "/rack2": 2, "/rack3": 2}
    last_octets = [h.local_ip.rsplit(".", 1)[1] for h in TABLE.datanodes]
    assert last_octets == [str(i) for i in range(11, 17)]


def test_ha_hosts_two_namenodes_on_two_racks_three_journalnodes_one_zookeeper() -> None:
    assert [h.rack for h in TABLE.namenodes] == ["/rack1", "/rack2"]
    assert TABLE.namenode == TABLE.namenodes[0]  # the plain profiles' NameNode
    assert sorted(h.rack for h in TABLE.journalnodes) == ["/rack1", "/rack2", "/rack3"]
    assert len(TABLE.zookeepers) == 1


def test_loopback_net_moves_local_addresses_in_table_and_script(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REID_LOOPBACK_NET", "127.0.7")
    moved = load_rack_table(CONF_DIR / "racks.csv")
    assert [h.local_ip for h in moved.datanodes] == [f"127.0.7.{i}" for i in range(11, 17)]
    assert [h.compose_ip for h in moved.hosts] == [h.compose_ip for h in TABLE.hosts]
    queries = [h.local_ip for h in moved.hosts] + ["127.0.0.11"]
    out = subprocess.run([str(CONF_DIR / "topology.sh"), *queries], capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == [moved.rack_of(q) for q in queries]
    assert out[-1] == DEFAULT_RACK
    monkeypatch.setenv("REID_LOOPBACK_NET", "10.0.7")
    with pytest.raises(TopologyError, match=r"REID_LOOPBACK_NET='10\.0\.7'"):
        load_rack_table(CONF_DIR / "racks.csv")


def test_topology_script_answers_like_the_table() -> None:
    queries = [h.local_ip for h in TABLE.hosts] + [h.compose_ip for h in TABLE.hosts]
    queries += [h.name for h in TABLE.hosts] + ["127.0.0.1", "10.9.8.7", "unknown-host"]
    out = subprocess.run([str(CONF_DIR / "topology.sh"), *queries], capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == [TABLE.rack_of(q) for q in queries]
    assert out[-3:] == [DEFAULT_RACK] * 3


def test_site_files_point_hdfs_at_the_script() -> None:
    site = load_site(CONF_DIR, {"HADOOP_CONF_DIR": "/etc/hadoop"})
    assert site["net.topology.script.file.name"] == "/etc/hadoop/topology.sh"
    assert site["dfs.replication"] == "3"
    assert site["dfs.permissions.enabled"] == "true"


def test_site_addresses_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LOOPBACK_NET_ENV, raising=False)  # the site files' defaults: racks.csv's
    site = load_site(CONF_DIR, {"REID_NAMENODE_HOST": "172.28.0.10", "REID_HOST": "172.28.0.11"})
    assert site["fs.defaultFS"] == "hdfs://172.28.0.10:8020"
    assert site["dfs.namenode.http-address"] == "172.28.0.10:9870"
    assert site["dfs.datanode.address"] == "172.28.0.11:9866"
    local = load_site(CONF_DIR, {})
    table = load_rack_table(CONF_DIR / "racks.csv")
    assert local["dfs.namenode.rpc-address"] == f"{table.namenode.local_ip}:8020"


@pytest.mark.parametrize(("line", "message"), [
    ("dn9,datanode,127.0.0.19,172.28.0.19", "expected 5 columns"),
    ("dn9,datanode,127.0.0.19,172.28.0.19,/rack1/a", "must be one level"),
    ("dn9,datanode,10.0.0.19,172.28.0.19,/rack1", "must be a loopback alias"),
    ("dn9,datanode,127.0.0.11,172.28.0.19,/rack1", "local_ip 127.0.0.11 appears twice"),
    ("dn9,datanode,127.0.0.999,172.28.0.19,/rack1", "is not an IPv4 address"),
    ("Dn9,datanode,127.0.0.19,172.28.0.19,/rack1", "host name 'Dn9'"),
    ("nn3,namenode,127.0.0.19,172.28.0.19,/rack1", r"one namenode row \(two for the HA"),
])
def test_bad_rack_tables_are_refused(tmp_path: Path, line: str, message: str,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LOOPBACK_NET_ENV, raising=False)  # the lines name racks.csv's addresses
    path = tmp_path / "racks.csv"
    path.write_text((CONF_DIR / "racks.csv").read_text() + line + "\n")
    with pytest.raises(TopologyError, match=message) as info:
        load_rack_table(path)
    assert str(path) in str(info.value)
