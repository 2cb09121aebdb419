"""How long the NameNode keeps counting a silent DataNode live, as `status` reports it."""

from __future__ import annotations

from pathlib import Path

import pytest

from hadoop.cluster import LocalCluster
from hadoop.cluster.launcher import _duration_s
from hadoop.errors import ClusterError


@pytest.mark.parametrize(("profile", "expiry_s"), [("default", 630.0), ("test", 14.0)])
def test_heartbeat_expiry_follows_the_profile(tmp_path: Path, profile: str,
                                              expiry_s: float) -> None:
    """HDFS's defaults (300 s recheck, 3 s heartbeat) give the 10.5 minutes the README quotes."""
    assert LocalCluster(run_dir=tmp_path, profile=profile).heartbeat.expiry_s == expiry_s


def test_time_settings_read_as_hadoop_reads_them() -> None:
    assert _duration_s("3", "s") == 3.0
    assert _duration_s("3000ms", "s") == 3.0
    assert _duration_s("2000", "ms") == 2.0
    assert _duration_s("1m", "ms") == 60.0
    with pytest.raises(ClusterError, match="'soon'"):
        _duration_s("soon", "s")
