"""Launch profiles: settings layered over the shared site files with ``-D`` flags.

A profile changes timing and limits, never addresses or layout, so docker-compose and the local
launcher still share one set of files. ``test`` makes failure detection and repair fast enough
to observe in a test: a DataNode is declared dead after
``2 * recheck-interval + 10 * heartbeat`` = 2 * 2 s + 10 * 1 s = 14 s instead of 630 s.
"""

from __future__ import annotations

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


def profile_flags(profile: str) -> list[str]:
    """``-D key=value`` generic options for a daemon started under ``profile``."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    flags: list[str] = []
    for key, value in PROFILES[profile].items():
        flags += ["-D", f"{key}={value}"]
    return flags
