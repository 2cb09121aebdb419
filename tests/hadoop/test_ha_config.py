"""The HA layer without a cluster: profile names, the nameservice as clients resolve it, the
client's wait while no NameNode is active, and the fencing script (on real processes)."""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest

from hadoop import blocks as blocks_module
from hadoop.blocks import block_locations
from hadoop.cluster.profiles import parse_profile, profile_flags
from hadoop.errors import ClusterError
from hadoop.fs import HdfsFS, NameNodeUnreachableError, RetryPolicy
from hadoop.shell import nameservice_flags
from hadoop.siteconf import (
    CONF_DIR,
    load_site,
    namenode_webs,
    nameservice_addresses,
    nameservice_settings,
    spark_hadoop_conf,
)
from hadoop.topology import load_rack_table

STANDBY = ("org.apache.hadoop.ipc.StandbyException: Operation category READ is not supported "
           "in state standby")


@pytest.fixture
def net7(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REID_LOOPBACK_NET", "127.0.7")
    monkeypatch.setenv("REID_NAMENODE_HOST", "127.0.7.10")
    for name in ("REID_NAMENODE2_HOST", "REID_ZOOKEEPER_HOST", "REID_JOURNALNODE1_HOST"):
        monkeypatch.delenv(name, raising=False)


def test_profiles_combine_a_timing_profile_and_layers() -> None:
    assert parse_profile("test+ha").timing == "test"
    assert parse_profile("test+ha").ha
    assert parse_profile("ha").timing == "default"
    assert not parse_profile("test").ha
    flags = profile_flags("test+ha")
    assert "dfs.nameservices=reid" in flags
    assert "dfs.heartbeat.interval=1" in flags
    assert "dfs.nameservices=reid" not in profile_flags("test")  # the plain profile is as was
    for bad in ("", "fast", "test+default", "ha+fast"):
        with pytest.raises(ValueError, match="unknown profile"):
            parse_profile(bad)


def test_nameservice_follows_the_loopback_net(net7: None) -> None:
    assert nameservice_addresses("reid") == {"nn1": "127.0.7.10:8020", "nn2": "127.0.7.20:8020"}
    assert nameservice_addresses("127.0.7.10") is None
    site = load_site(CONF_DIR, layers=["ha"])
    assert site["fs.defaultFS"] == "hdfs://reid"
    assert site["ha.zookeeper.quorum"] == "127.0.7.30:2181"
    assert site["dfs.namenode.shared.edits.dir"] == (
        "qjournal://127.0.7.31:8485;127.0.7.32:8485;127.0.7.33:8485/reid")
    assert load_site(CONF_DIR)["fs.defaultFS"] == "hdfs://127.0.7.10:8020"  # no layer: as was


def test_jvm_tools_know_the_nameservice_and_default_to_it_only_where_ha_runs(
        net7: None, tmp_path: Path) -> None:
    recorded = tmp_path / "cluster.json"
    flags = nameservice_flags(CONF_DIR, recorded, env={})
    assert "dfs.ha.namenodes.reid=nn1,nn2" in flags
    assert not any(flag.startswith("fs.defaultFS=") for flag in flags)
    recorded.write_text(json.dumps({"namenode": "hdfs://127.0.7.10:8020"}))  # plain, recorded
    assert not any(flag.startswith("fs.defaultFS=")
                   for flag in nameservice_flags(CONF_DIR, recorded, env={}))
    # the compose HA overlay's hosts: no recorded cluster, a second NameNode in the environment
    compose_host = {"REID_NAMENODE2_HOST": "172.28.0.20"}
    assert "fs.defaultFS=hdfs://reid" in nameservice_flags(CONF_DIR, tmp_path / "none",
                                                          env=compose_host)
    assert not any(flag.startswith("fs.defaultFS=")  # the recorded plain cluster wins
                   for flag in nameservice_flags(CONF_DIR, recorded, env=compose_host))
    recorded.write_text(json.dumps({"namenode": "hdfs://reid"}))
    assert "fs.defaultFS=hdfs://reid" in nameservice_flags(CONF_DIR, recorded, env={})


def test_spark_and_web_clients_know_the_nameservice(net7: None, tmp_path: Path) -> None:
    spark = spark_hadoop_conf()
    assert spark["spark.hadoop.dfs.nameservices"] == "reid"
    assert spark["spark.hadoop.dfs.namenode.rpc-address.reid.nn2"] == "127.0.7.20:8020"
    assert not any(key.startswith("spark.hadoop.ha.") for key in spark)  # daemons' keys stay
    assert namenode_webs("hdfs://reid/reid/demo") == ["http://127.0.7.10:9870",
                                                       "http://127.0.7.20:9870"]
    assert namenode_webs("hdfs://127.0.7.20:8020/reid") == ["http://127.0.7.20:9870"]
    assert namenode_webs("hdfs:///reid") == ["http://127.0.7.10:9870"]
    # a configuration directory without the HA layer (the secure profile's) defines none
    for name in ("core-site.xml", "hdfs-site.xml", "racks.csv"):
        (tmp_path / name).write_bytes((CONF_DIR / name).read_bytes())
    assert nameservice_settings(tmp_path) == {}
    with pytest.raises(ClusterError, match="nameservice 'reid'"):
        namenode_webs("hdfs://reid/x", tmp_path)


class FailingOver:
    """hdfs-native's client during a failover: both NameNodes answer as standbys a few times."""

    def __init__(self, standby_answers: int) -> None:
        self.standby_answers = standby_answers
        self.config: dict[str, str] = {}

    def __call__(self, url: str, config: dict[str, str]) -> FailingOver:
        self.config = config
        return self

    def get_file_info(self, path: str) -> Any:
        if path != "/" and self.standby_answers > 0:
            self.standby_answers -= 1
            raise RuntimeError(STANDBY)
        return type("Status", (), {"path": path, "length": 3, "isdir": False,
                                   "modification_time": 0, "replication": 3,
                                   "blocksize": 1 << 20})()


def test_client_waits_while_no_namenode_is_active_then_gives_up_naming_the_nameservice(
        net7: None, caplog: pytest.LogCaptureFixture) -> None:
    client = FailingOver(standby_answers=4)
    fs = HdfsFS("hdfs://reid", RetryPolicy(namenode_wait_s=30, report_s=0.5),
                client_factory=client, probe=lambda host, port, timeout: None)
    assert fs.status("/x").length == 3
    assert client.config["dfs.ha.namenodes.reid"] == "nn1,nn2"
    assert client.config["dfs.namenode.rpc-address.reid.nn2"] == "127.0.7.20:8020"
    assert "no active NameNode in reid" in caplog.text
    stuck = HdfsFS("hdfs://reid", RetryPolicy(namenode_wait_s=1.0, report_s=0.5),
                   client_factory=FailingOver(10**6), probe=lambda host, port, timeout: None)
    began = time.monotonic()
    with pytest.raises(NameNodeUnreachableError, match=r"no active NameNode in reid \("):
        stuck.status("/x")
    assert time.monotonic() - began < 5


def _fence(run_dir: Path, target: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REID_RUN_DIR": str(run_dir), "target_host": target}
    return subprocess.run([str(CONF_DIR / "fence-namenode.sh")], env=env, capture_output=True,
                          text=True, timeout=30, check=False)


def test_fencing_kills_exactly_the_old_active_namenode(net7: None, tmp_path: Path) -> None:
    table = load_rack_table(CONF_DIR / "racks.csv")
    nn1, nn2 = table.namenodes
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    old = subprocess.Popen([*sleeper, f"-Dreidhdfs.daemon={tmp_path}/{nn2.name}"])
    other = subprocess.Popen(sleeper)  # a stale pid file's pid, now another process's
    try:
        for host, pid in ((nn2, old.pid), (nn1, other.pid)):
            (tmp_path / host.name).mkdir()
            (tmp_path / host.name / f"{host.name}.pid").write_text(str(pid))
        done = _fence(tmp_path, nn2.local_ip)
        assert done.returncode == 0, done.stderr
        assert old.wait(timeout=10) == -9
        stale = _fence(tmp_path, nn1.local_ip)
        assert stale.returncode == 0, stale.stderr  # nothing of nn1 runs: fenced already
        assert other.poll() is None
        assert _fence(tmp_path, "127.0.7.99").returncode == 1  # not a NameNode: refuse
    finally:
        for proc in (old, other):
            proc.kill()
            proc.wait()


def test_jobs_find_their_address_toward_a_nameservice(net7: None) -> None:
    from hadoop.netaddr import job_address

    env = {"REID_LOOPBACK_NET": "127.0.7", "REID_NAMENODE_HOST": "127.0.7.10"}
    assert job_address("hdfs://reid/reid/x", env) == job_address("127.0.7.10", env)


class _NameNodeWeb(http.server.BaseHTTPRequestHandler):
    """WebHDFS of one NameNode: a standby refuses as Hadoop's does, an active one answers."""

    standby = True
    answered: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        if type(self).standby:
            body = json.dumps({"RemoteException": {"exception": "StandbyException",
                                                   "message": STANDBY}}).encode()
            self.send_response(403)
        else:
            type(self).answered.append(self.path)
            body = json.dumps({"LocatedBlocks": {"locatedBlocks": [{
                "block": {"blockId": 7, "blockPoolId": "bp", "generationStamp": 1,
                          "numBytes": 5},
                "startOffset": 0, "isCorrupt": False,
                "locations": [{"ipAddr": "127.0.7.11", "networkLocation": "/rack1",
                               "infoPort": 9864}]}]}}).encode()
            self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def namenode_webs_standby_then_active() -> Any:
    """A stopped NameNode (refused port), a standby, and an active NameNode's WebHDFS."""
    standby = type("Standby", (_NameNodeWeb,), {"standby": True})
    active = type("Active", (_NameNodeWeb,), {"standby": False, "answered": []})
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
               for handler in (standby, active)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{probe.getsockname()[1]}"
    webs = [refused, *(f"http://127.0.0.1:{s.server_address[1]}" for s in servers)]
    yield webs, active
    for server in servers:
        server.shutdown()
        server.server_close()


def test_block_locations_come_from_whichever_namenode_is_active(
        namenode_webs_standby_then_active: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    webs, active = namenode_webs_standby_then_active
    blocks = block_locations("/reid/x/shards/g0/0.shard", webs)
    assert [(b.block_id, b.racks) for b in blocks] == [(7, {"/rack1"})]
    assert len(active.answered) == 1
    assert "GET_BLOCK_LOCATIONS" in active.answered[0]
    # no active NameNode at all: a bounded wait, then an error naming each NameNode's answer
    monkeypatch.setattr(blocks_module, "ACTIVE_WAIT_S", 1.0)
    began = time.monotonic()
    with pytest.raises(ClusterError, match=r"no active NameNode .* is standby"):
        block_locations("/reid/x", webs[:2])
    assert time.monotonic() - began < 10
