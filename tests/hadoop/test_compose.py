"""docker-compose.yml and its overlays (docker-compose.secure.yml, docker-compose.ha.yml) are
generated from the rack table and declare the launcher's cluster (profiles test, secure and
test+ha)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hadoop.compose import (
    CLIENT_TCP_SYSCTLS,
    HA_PROFILE,
    JOBS_IMAGE,
    Loader,
    Override,
    hadoop_version,
    overlay_path,
    render,
    render_ha,
    render_secure,
    spark_master_url,
)
from hadoop.container import daemon_web
from hadoop.security import stack
from hadoop.security.names import compose_host_name
from hadoop.siteconf import CONF_DIR, load_site
from hadoop.topology import load_rack_table

REPO = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
TABLE = load_rack_table(CONF_DIR / "racks.csv")
SERVICES = COMPOSE["services"]
HA = yaml.safe_load((REPO / "docker-compose.ha.yml").read_text())
HA_SERVICES = HA["services"]


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


# ---- the secure overlay (docker-compose.secure.yml) ------------------------------------------

SECURE = yaml.load((REPO / "docker-compose.secure.yml").read_text(), Loader=Loader)
SECURE_SERVICES = SECURE["services"]


def test_secure_overlay_is_current() -> None:
    assert render_secure(TABLE, hadoop_version()) == SECURE, "run `make compose`"
    assert overlay_path(REPO / "docker-compose.yml", "secure") == REPO / "docker-compose.secure.yml"


def test_the_overlay_adds_a_healthy_kdc_that_the_daemons_wait_for() -> None:
    kdc = SECURE_SERVICES[stack.KDC_NAME]
    assert kdc["command"] == ["kdc"]
    assert kdc["image"].startswith("reid-hdfs/hadoop:")
    assert kdc["healthcheck"]["test"][-2:] == ["healthy", "kdc"]
    assert kdc["networks"]["reid"]["ipv4_address"] == stack.KDC_IP
    used = {h.compose_ip for h in TABLE.hosts}
    assert stack.KDC_IP not in used
    for host in (TABLE.namenode, *TABLE.datanodes):
        assert SECURE_SERVICES[host.name]["depends_on"] == {
            stack.KDC_NAME: {"condition": "service_healthy"}}


def test_each_daemon_mounts_only_its_own_keytab() -> None:
    kdc_volumes = SECURE_SERVICES[stack.KDC_NAME]["volumes"]
    for host in (TABLE.namenode, *TABLE.datanodes):
        volume = stack.keytab_volume(host.name)
        assert volume in SECURE["volumes"]
        assert f"{volume}:{stack.keytab_mount(host.name)}" in kdc_volumes
        service = SECURE_SERVICES[host.name]
        keytabs = [v for v in service["volumes"] if "-keytab:" in v]
        assert keytabs == [f"{volume}:{stack.keytab_mount(host.name)}:ro"]
        assert service["environment"]["REID_KEYTAB"] == str(stack.keytab(host.name))
        assert service["environment"]["HADOOP_CONF_DIR"] == str(stack.CONF_DIR)
    for name, service in SECURE_SERVICES.items():  # users: the service user's keytab only
        if name.startswith(("spark-", "trainer")):
            assert f"{stack.keytab_volume('reid')}:{stack.keytab_mount('reid')}:ro" in \
                service["volumes"]
            assert not any(stack.keytab_volume(h.name) in v for v in service["volumes"]
                           for h in (TABLE.namenode, *TABLE.datanodes))


def test_every_host_name_resolves_both_ways_in_every_named_container() -> None:
    """_HOST principals: each container's name is in reid.test and every container lists
    every HDFS host's name, so Java's reverse lookups give the principals' names."""
    expected = {f"{compose_host_name(h)}:{h.compose_ip}"
                for h in (TABLE.namenode, *TABLE.datanodes)}
    for name, service in SECURE_SERVICES.items():
        if "network_mode" in {**SERVICES.get(name, {}), **service}:
            continue  # Spark beside a daemon shares that container's names
        assert service["domainname"] == "reid.test", name
        assert expected <= set(service["extra_hosts"]), name


def test_health_checks_of_the_secure_daemons_speak_https(
        monkeypatch: pytest.MonkeyPatch) -> None:
    dn1 = TABLE.host("dn1")
    monkeypatch.delenv("REID_SECURITY_DIR", raising=False)
    for key, value in SERVICES["dn1"]["environment"].items():
        monkeypatch.setenv(key, value)
    assert daemon_web(TABLE, "datanode")[0] == f"http://{dn1.compose_ip}:9864"  # the plain stack
    for key, value in SECURE_SERVICES["dn1"]["environment"].items():
        monkeypatch.setenv(key, value)
    assert daemon_web(TABLE, "datanode")[0] == "https://dn1.reid.test:9865"
    assert daemon_web(TABLE, "namenode")[0] == "https://namenode.reid.test:9871"


def test_no_plain_http_port_is_published() -> None:
    ports = {name: list(service.get("ports", [])) for name, service in SERVICES.items()}
    for name, service in SECURE_SERVICES.items():
        if "ports" in service:
            assert isinstance(service["ports"], Override)  # replaces the base file's list
            ports[name] = list(service["ports"])
    published = [p for plist in ports.values() for p in plist]
    assert published == ["127.0.0.1:9871:9871"]  # the NameNode's HTTPS only
def test_ha_overlay_is_current() -> None:
    assert render_ha(TABLE, hadoop_version()) == HA, "run `make compose`"


def test_ha_overlay_adds_the_ha_hosts_of_the_rack_table() -> None:
    added = [TABLE.namenodes[1], *TABLE.journalnodes, *TABLE.zookeepers]
    assert {h.role for h in added} == {"namenode", "journalnode", "zookeeper"}
    for host in added:
        service = HA_SERVICES[host.name]
        assert host.name not in SERVICES
        assert service["image"] == SERVICES[TABLE.namenode.name]["image"]
        assert service["networks"]["reid"]["ipv4_address"] == host.compose_ip
        assert service["environment"]["REID_HOST"] == host.compose_ip
        assert service["labels"]["org.reidhdfs.rack"] == host.rack
        assert service["command"] == [host.role, "--profile", HA_PROFILE]
        assert f"{host.name}-data:/data" in service["volumes"]
        assert f"{host.name}-data" in HA["volumes"]
    # the two NameNodes on two racks
    assert len({h.rack for h in TABLE.namenodes}) == 2


def test_every_hdfs_daemon_runs_the_ha_profile() -> None:
    for host in (*TABLE.namenodes, *TABLE.datanodes, *TABLE.journalnodes, *TABLE.zookeepers):
        assert HA_SERVICES[host.name]["command"] == [host.role, "--profile", HA_PROFILE]


def test_every_client_and_daemon_resolves_the_nameservice_to_the_compose_addresses() -> None:
    """hdfs://reid from the REID_*_HOST variables of every HDFS, Spark and trainer service: the
    nameservice's NameNodes, JournalNodes and ZooKeeper at their compose_ip."""
    expected = {
        "dfs.namenode.rpc-address.reid.nn1": f"{TABLE.namenodes[0].compose_ip}:8020",
        "dfs.namenode.rpc-address.reid.nn2": f"{TABLE.namenodes[1].compose_ip}:8020",
        "ha.zookeeper.quorum": f"{TABLE.zookeepers[0].compose_ip}:2181",
        "dfs.namenode.shared.edits.dir": "qjournal://" + ";".join(
            f"{h.compose_ip}:8485" for h in TABLE.journalnodes) + "/reid",
    }
    for name in SERVICES:
        env = {**SERVICES[name].get("environment", {}), **HA_SERVICES[name]["environment"]}
        site = load_site(CONF_DIR, env, layers=("ha",))
        assert {key: site[key] for key in expected} == expected, name
        assert site["fs.defaultFS"] == "hdfs://reid"


def test_ha_health_checks_per_role() -> None:
    for host in TABLE.namenodes:
        assert HA_SERVICES[host.name]["healthcheck"]["test"][-3:] == [
            "healthy", "namenode", "--ha"]
    for host in (*TABLE.journalnodes, *TABLE.zookeepers):
        assert HA_SERVICES[host.name]["healthcheck"]["test"][-2:] == ["healthy", host.role]
    shared = {h.name: {"condition": "service_healthy"}
              for h in (*TABLE.journalnodes, *TABLE.zookeepers)}
    first, second = TABLE.namenodes
    assert HA_SERVICES[first.name]["depends_on"] == shared
    # the standby bootstraps from the first NameNode, which must be up
    assert HA_SERVICES[second.name]["depends_on"] == {
        **shared, first.name: {"condition": "service_healthy"}}


def test_namenode_names_resolve_without_dockers_dns() -> None:
    """The ZKFC taking over resolves the dead active's host name (from ZooKeeper), which
    Docker's DNS no longer knows: every NameNode container has both in /etc/hosts."""
    expected = sorted(f"{h.name}:{h.compose_ip}" for h in TABLE.namenodes)
    for host in TABLE.namenodes:
        assert sorted(HA_SERVICES[host.name]["extra_hosts"]) == expected


def test_spark_master_leaves_the_namenodes_host_for_zookeepers() -> None:
    """A NameNode host may die in HA (the failover drill kills it); Spark must not go with it."""
    zookeeper = TABLE.zookeepers[0]
    master = HA_SERVICES["spark-master"]
    assert master["network_mode"] == f"service:{zookeeper.name}"
    assert master["environment"]["SPARK_LOCAL_IP"] == zookeeper.compose_ip
    url = spark_master_url(TABLE, ha=True)
    assert url == f"spark://{zookeeper.compose_ip}:7077"
    for host in TABLE.datanodes:
        assert url in HA_SERVICES[f"spark-{host.name}"]["command"]
    for name in ("trainer1", "trainer2"):
        assert HA_SERVICES[name]["environment"]["SPARK_MASTER"] == url


def test_every_ha_client_namespace_bounds_a_dead_namenodes_silence() -> None:
    """hdfs-native has no timeouts of its own, and a killed container drops packets: every
    network namespace an HDFS client runs in (trainers; DataNodes, shared by their Spark
    workers) gives up on a silent peer in seconds, not the kernel's minutes."""
    assert CLIENT_TCP_SYSCTLS["net.ipv4.tcp_syn_retries"] <= 3
    assert CLIENT_TCP_SYSCTLS["net.ipv4.tcp_retries2"] <= 8
    for name in ("trainer1", "trainer2", *(h.name for h in TABLE.datanodes)):
        assert HA_SERVICES[name]["sysctls"] == CLIENT_TCP_SYSCTLS, name
    for host in TABLE.datanodes:
        assert SERVICES[f"spark-{host.name}"]["network_mode"] == f"service:{host.name}"
