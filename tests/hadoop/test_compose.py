"""docker-compose.yml is generated from the rack table and declares the launcher's cluster."""

from __future__ import annotations

from pathlib import Path

import yaml

from hadoop.compose import CONF_FILES, hadoop_version, render
from hadoop.siteconf import CONF_DIR
from hadoop.topology import load_rack_table

REPO = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
TABLE = load_rack_table(CONF_DIR / "racks.csv")


def test_compose_file_is_current() -> None:
    assert render(TABLE, hadoop_version()) == COMPOSE, "run `make compose`"


def test_compose_declares_the_same_nodes_and_racks() -> None:
    services = COMPOSE["services"]
    servers = [h for h in TABLE.hosts if h.role != "client"]
    for host in servers:
        service = services[host.name]
        assert service["networks"]["reid"]["ipv4_address"] == host.compose_ip
        assert service["environment"]["REID_HOST"] == host.compose_ip
        assert service["labels"]["org.reidhdfs.rack"] == host.rack
        # the topology script inside the container resolves this address to the same rack
        assert TABLE.rack_of(host.compose_ip) == TABLE.rack_of(host.local_ip)
    hadoop_services = [s for s in services.values() if "image" in s]
    assert len(hadoop_services) == len(servers)
    jobs = services["reid"]["networks"]["reid"]["ipv4_address"]
    assert TABLE.rack_of(jobs) == TABLE.clients[0].rack  # the jobs run "on" a client's rack


def test_compose_mounts_the_launchers_config_files() -> None:
    for name, service in COMPOSE["services"].items():
        if "image" not in service:
            continue
        mounts = {v.split(":")[0] for v in service["volumes"]}
        assert {f"./hadoop/conf/{f}" for f in CONF_FILES} <= mounts, name
        for mount in mounts:
            if mount.startswith("./hadoop/conf/"):
                assert (REPO / mount).exists()


def test_image_is_the_pinned_hadoop_version() -> None:
    images = {s["image"] for s in COMPOSE["services"].values() if "image" in s}
    assert images == {f"apache/hadoop:{hadoop_version()}"}
    assert any(j.name == f"hadoop-common-{hadoop_version()}.jar"
               for j in (REPO / "hadoop" / "lib").glob("hadoop-common-*.jar"))
