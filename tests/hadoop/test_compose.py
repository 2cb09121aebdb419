"""docker-compose.yml is generated from the rack table and declares the launcher's cluster."""

from __future__ import annotations

from pathlib import Path

import yaml

from hadoop.compose import JOBS_IMAGE, hadoop_version, render, spark_master_url
from hadoop.siteconf import CONF_DIR
from hadoop.topology import load_rack_table

REPO = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
TABLE = load_rack_table(CONF_DIR / "racks.csv")
SERVICES = COMPOSE["services"]


def test_compose_file_is_current() -> None:
    assert render(TABLE, hadoop_version()) == COMPOSE, "run `make compose`"


def test_compose_declares_the_same_nodes_and_racks() -> None:
    servers = [TABLE.namenode, *TABLE.datanodes]
    for host in servers:
        service = SERVICES[host.name]
        assert service["networks"]["reid"]["ipv4_address"] == host.compose_ip
        assert service["environment"]["REID_HOST"] == host.compose_ip
        assert service["labels"]["org.reidhdfs.rack"] == host.rack
        assert service["command"][0] == host.role
        # the topology script inside the container resolves this address to the same rack
        assert TABLE.rack_of(host.compose_ip) == TABLE.rack_of(host.local_ip)
    hdfs = [s for s in SERVICES.values() if s["image"].startswith("reid-hdfs/hadoop:")]
    assert len(hdfs) == len(servers)


def test_every_hdfs_daemon_has_a_health_check_and_jobs_wait_for_it() -> None:
    for host in (TABLE.namenode, *TABLE.datanodes):
        test = SERVICES[host.name]["healthcheck"]["test"]
        assert test[-2:] == ["healthy", host.role]
    for host in TABLE.datanodes:  # the NameNode is healthy only once they are live
        assert SERVICES[host.name]["depends_on"] == {
            TABLE.namenode.name: {"condition": "service_started"}}
    for name in ("trainer1", "trainer2"):
        assert SERVICES[name]["depends_on"][TABLE.namenode.name] == {
            "condition": "service_healthy"}


def test_a_spark_worker_shares_each_datanodes_network_namespace() -> None:
    for host in TABLE.datanodes:
        worker = SERVICES[f"spark-{host.name}"]
        assert worker["network_mode"] == f"service:{host.name}"
        assert worker["environment"]["SPARK_LOCAL_IP"] == host.compose_ip
        assert spark_master_url(TABLE) in worker["command"]
    assert SERVICES["spark-master"]["network_mode"] == f"service:{TABLE.namenode.name}"


def test_trainers_sit_on_two_racks_at_client_addresses() -> None:
    racks = set()
    for name, client in zip(("trainer1", "trainer2"), TABLE.clients, strict=False):
        service = SERVICES[name]
        assert service["networks"]["reid"]["ipv4_address"] == client.compose_ip
        assert service["image"] == f"{JOBS_IMAGE}:{hadoop_version()}"
        racks.add(TABLE.rack_of(client.compose_ip))
    assert len(racks) == 2


def test_daemons_mount_the_launchers_config_dir_and_keep_data_in_named_volumes() -> None:
    for host in (TABLE.namenode, *TABLE.datanodes):
        volumes = SERVICES[host.name]["volumes"]
        assert volumes[0].split(":")[0] == "./hadoop/conf"
        assert f"{host.name}-data:/data" in volumes
        assert f"{host.name}-data" in COMPOSE["volumes"]


def test_images_are_the_pinned_hadoop_version() -> None:
    tags = {s["image"].rsplit(":", 1)[1] for s in SERVICES.values()}
    assert tags == {hadoop_version()}
    assert any(j.name == f"hadoop-common-{hadoop_version()}.jar"
               for j in (REPO / "hadoop" / "lib").glob("hadoop-common-*.jar"))
