"""The HA layer without a cluster: profile names, the nameservice as clients resolve it, the
client's wait while no NameNode is active, and the fencing script (on real processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from hadoop.cluster.profiles import parse_profile, profile_flags
from hadoop.fs import HdfsFS, NameNodeUnreachableError, RetryPolicy
from hadoop.shell import nameservice_flags
from hadoop.siteconf import CONF_DIR, load_site, nameservice_addresses
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


def test_jvm_tools_know_the_nameservice_and_default_to_it_only_while_ha_runs(
        net7: None, tmp_path: Path) -> None:
    recorded = tmp_path / "cluster.json"
    flags = nameservice_flags(CONF_DIR, recorded)
    assert "dfs.ha.namenodes.reid=nn1,nn2" in flags
    assert not any(flag.startswith("fs.defaultFS=") for flag in flags)
    recorded.write_text(json.dumps({"namenode": "hdfs://reid"}))
    assert "fs.defaultFS=hdfs://reid" in nameservice_flags(CONF_DIR, recorded)


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
