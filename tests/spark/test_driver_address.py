"""The ingest's Spark driver listens on the job address only, never on an external interface."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from hadoop.cluster import LocalCluster

pytestmark = [pytest.mark.cluster, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]


def test_ingest_driver_listens_on_loopback_only(
        cluster: LocalCluster, small_mars: Path, job_listeners: Callable[[int], list]) -> None:
    """The user's command, with nothing in the environment steering Spark's address (Spark alone
    picks the first non-loopback interface when the host name resolves to loopback)."""
    env = {key: value for key, value in os.environ.items() if key != "SPARK_LOCAL_IP"}
    job = subprocess.Popen(
        [str(REPO / "spark_jobs" / "submit"), str(REPO / "spark_jobs" / "ingest.py"),
         "--source", str(small_mars), "--dest", f"{cluster.namenode_url}/reid/driver-address"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    seen = set()
    deadline = time.monotonic() + 300
    while job.poll() is None and time.monotonic() < deadline:
        seen.update(job_listeners(job.pid))
        time.sleep(0.05)
    out = job.communicate(timeout=60)[0]
    assert job.returncode == 0, out[-3000:]
    driver = {s for s in seen if s.command == "java"}
    assert driver, f"no listening socket of the driver JVM was seen: {seen}"
    outside = {s for s in seen if not ipaddress.ip_address(s.address).is_loopback}
    assert not outside, outside
