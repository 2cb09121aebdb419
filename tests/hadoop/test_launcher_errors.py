"""Bad input to the launcher: a clear error, and no half-started cluster left behind.

These tests run a second, throw-away cluster definition on other loopback aliases (127.0.1.x,
set through the same REID_NAMENODE_HOST variable docker-compose uses) so that they never touch
the session's cluster.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from hadoop.cluster.launcher import _pids_with
from hadoop.siteconf import CONF_DIR
from hadoop.topology import LOOPBACK_NET_ENV

ALT_NET = "127.0.1"


def alt_conf(tmp_path: Path, racks_text: str | None = None) -> Path:
    conf = tmp_path / "conf"
    shutil.copytree(CONF_DIR, conf)
    table = (conf / "racks.csv").read_text().replace("127.0.0.", f"{ALT_NET}.")
    (conf / "racks.csv").write_text(racks_text if racks_text is not None else table)
    return conf


def launcher(conf: Path, run_dir: Path, *args: str,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {**{k: v for k, v in os.environ.items() if k != LOOPBACK_NET_ENV},
               "REID_NAMENODE_HOST": f"{ALT_NET}.10", **(env or {})}  # its own addresses
    return subprocess.run(
        [sys.executable, "-m", "hadoop.cluster", "--conf-dir", str(conf), "--run-dir",
         str(run_dir), *args], capture_output=True, text=True, env=environ, timeout=300)


def assert_nothing_running(run_dir: Path) -> None:
    assert _pids_with(f"-Dreidhdfs.daemon={run_dir.resolve()}/") == []


def test_unknown_rack_table_entry(tmp_path: Path) -> None:
    good = (CONF_DIR / "racks.csv").read_text().replace("127.0.0.", f"{ALT_NET}.")
    bad = good.replace("dn4,datanode", "dn4,datanod")
    done = launcher(alt_conf(tmp_path, bad), tmp_path / "run", "up")
    assert done.returncode == 2
    assert "racks.csv:" in done.stderr
    assert "role 'datanod'" in done.stderr
    assert_nothing_running(tmp_path / "run")


def test_rack_path_must_be_one_level(tmp_path: Path) -> None:
    good = (CONF_DIR / "racks.csv").read_text().replace("127.0.0.", f"{ALT_NET}.")
    done = launcher(alt_conf(tmp_path, good.replace(",/rack3", ",rack3")), tmp_path / "run", "up")
    assert done.returncode == 2
    assert "rack 'rack3' must be one level" in done.stderr


def test_namenode_address_disagreeing_with_site_files(tmp_path: Path) -> None:
    done = launcher(alt_conf(tmp_path), tmp_path / "run", "up",
                    env={"REID_NAMENODE_HOST": "127.0.0.99"})
    assert done.returncode == 2
    assert "REID_NAMENODE_HOST=127.0.1.10" in done.stderr


def test_port_already_in_use(tmp_path: Path) -> None:
    squatter = socket.socket()
    squatter.bind((f"{ALT_NET}.13", 9866))
    squatter.listen()
    try:
        done = launcher(alt_conf(tmp_path), tmp_path / "run", "up")
    finally:
        squatter.close()
    assert done.returncode == 2
    assert f"dn3 cannot start: {ALT_NET}.13:9866 (dfs.datanode.address) is in use" in done.stderr
    assert_nothing_running(tmp_path / "run")


def test_missing_java(tmp_path: Path) -> None:
    no_java_path = os.pathsep.join(
        p for p in os.environ["PATH"].split(os.pathsep) if not (Path(p) / "java").exists())
    env = {"PATH": no_java_path, "JAVA_HOME": ""}
    done = launcher(alt_conf(tmp_path), tmp_path / "run", "up", env=env)
    assert done.returncode == 2
    assert "Java 17 or newer is needed" in done.stderr
    assert_nothing_running(tmp_path / "run")


def test_name_dir_without_version_file(tmp_path: Path) -> None:
    current = tmp_path / "run" / "namenode" / "data" / "dfs" / "name" / "current"
    current.mkdir(parents=True)
    (current / "fsimage_0000000000000000000").write_bytes(b"\0" * 64)
    done = launcher(alt_conf(tmp_path), tmp_path / "run", "up")
    assert done.returncode == 2
    assert "NameNode storage" in done.stderr
    assert "VERSION is missing" in done.stderr
    assert_nothing_running(tmp_path / "run")


@pytest.mark.slow
def test_corrupt_fsimage_stops_everything(tmp_path: Path) -> None:
    """A formatted name dir whose image is garbage: the NameNode fails, nothing is left."""
    conf, run_dir = alt_conf(tmp_path), tmp_path / "run"
    first = launcher(conf, run_dir, "up", "--timeout", "120")
    assert first.returncode == 0, first.stderr
    assert launcher(conf, run_dir, "down").returncode == 0
    current = run_dir / "namenode" / "data" / "dfs" / "name" / "current"
    for image in current.glob("fsimage_*[0-9]"):
        image.write_bytes(b"this is not an fsimage" * 10)
    done = launcher(conf, run_dir, "up", "--timeout", "60")
    assert done.returncode == 2
    assert "namenode exited while starting" in done.stderr
    assert_nothing_running(run_dir)
