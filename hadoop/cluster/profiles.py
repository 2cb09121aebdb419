"""Launch profiles: settings layered over the shared site files with ``-D`` flags.

A profile is a timing profile, a configuration layer, or both joined by ``+`` (``test+ha``).
Timing profiles change timing and limits, never addresses or layout, so docker-compose and the
local launcher still share one set of files. ``test`` makes failure detection and repair fast
enough to observe in a test: a DataNode is declared dead after
``2 * recheck-interval + 10 * heartbeat`` = 2 * 2 s + 10 * 1 s = 14 s instead of 630 s.
A layer is a site file of its own (``hadoop.siteconf.LAYERS``): ``ha`` runs two NameNodes as the
nameservice ``hdfs://reid`` with JournalNodes, ZooKeeper and automatic failover.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hadoop.siteconf import CONF_DIR, LAYERS, layer_file, read_properties

PROFILES: dict[str, dict[str, str]] = {
    "default": {},
    "test": {
        "dfs.heartbeat.interval": "1",
        "dfs.namenode.heartbeat.recheck-interval": "2000",
        "dfs.namenode.redundancy.interval.seconds": "1",
        "dfs.namenode.reconstruction.pending.timeout-sec": "15",
        "dfs.namenode.replication.max-streams": "20",
        "dfs.namenode.replication.max-streams-hard-limit": "40",
        "dfs.namenode.replication.work.multiplier.per.iteration": "20",
        "dfs.namenode.redundancy.considerLoad": "false",
        "dfs.namenode.fs-limits.min-block-size": "4096",
        "dfs.namenode.stale.datanode.interval": "5000",
        "dfs.blockreport.intervalMsec": "10000",
        "dfs.blockreport.initialDelay": "0",
        "dfs.datanode.directoryscan.interval": "5",
        "dfs.client.retry.window.base": "200",
    },
    # Kerberos, encrypted RPC and block transfer, HTTPS only: its settings are site files
    # (hadoop/conf/secure, which clients need too), layered by hadoop.security.profile.
    "secure": {},
}


@dataclass(frozen=True)
class Profile:
    """A parsed profile name: its timing profile and its configuration layers."""

    timing: str
    layers: tuple[str, ...]

    @property
    def ha(self) -> bool:
        return "ha" in self.layers


def parse_profile(profile: str) -> Profile:
    """``test+ha`` -> timing ``test``, layers ``("ha",)``; ``ha`` alone has default timing."""
    timing = [part for part in profile.split("+") if part in PROFILES]
    layers = tuple(part for part in profile.split("+") if part in LAYERS)
    if not profile or len(timing) > 1 or len(timing) + len(layers) != len(profile.split("+")):
        raise ValueError(f"unknown profile {profile!r}: one of {', '.join(PROFILES)} and/or "
                         f"the layers {', '.join(LAYERS)}, joined by '+' (e.g. test+ha)")
    if "secure" in timing and layers:
        raise ValueError(f"profile {profile!r}: the secure profile has its own conf layers and "
                         "is not combined with others yet")
    return Profile(timing[0] if timing else "default", layers)


def profile_settings(profile: str, conf_dir: Path = CONF_DIR) -> dict[str, str]:
    """What ``profile`` sets over the base site files (values as written, not expanded)."""
    parsed = parse_profile(profile)
    settings = dict(PROFILES[parsed.timing])
    for layer in parsed.layers:
        settings.update(read_properties(conf_dir / layer_file(layer)))
    return settings


def profile_flags(profile: str, conf_dir: Path = CONF_DIR) -> list[str]:
    """``-D key=value`` generic options for a daemon started under ``profile``."""
    flags: list[str] = []
    for key, value in profile_settings(profile, conf_dir).items():
        flags += ["-D", f"{key}={value}"]
    return flags
