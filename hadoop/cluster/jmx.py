"""The NameNode's view of the cluster, read from its JMX servlet (no JVM start needed).

Every reader takes an ``opener``: plain ``urlopen`` for the default profiles, an HTTPS client
with a Kerberos ticket (:class:`hadoop.security.http.SpnegoHttp`) for the secure one.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

Opener = Callable[[str, float], Any]  # (url, timeout) -> an open response (a context manager)


def plain_open(url: str, timeout: float) -> Any:
    return urllib.request.urlopen(url, timeout=timeout)

_NAMENODE_INFO = "Hadoop:service=NameNode,name=NameNodeInfo"
_FS_SYSTEM = "Hadoop:service=NameNode,name=FSNamesystem"


def datanode_registered(web_url: str, timeout: float = 2.0,
                        opener: Opener = plain_open) -> bool:
    """Whether the DataNode serving ``web_url`` has registered with its NameNode and reported
    its blocks: its own view, so a restarted node is not mistaken for its previous instance
    (which the NameNode keeps listing as live until its heartbeats are overdue)."""
    url = f"{web_url.rstrip('/')}/jmx?qry=Hadoop:service=DataNode,name=DataNodeInfo"
    try:
        with opener(url, timeout) as response:
            beans = json.load(response).get("beans", [])
    except (OSError, ValueError):
        return False
    actors = json.loads(beans[0].get("BPServiceActorInfo", "[]")) if beans else []
    return bool(actors) and all(a.get("BlockPoolID") and a.get("ActorState") == "RUNNING"
                                and a.get("LastBlockReport") not in (None, "", "-1", "Never")
                                for a in actors)


def datanode_reads(web_url: str, timeout: float = 5.0,
                   opener: Opener = plain_open) -> dict[str, int]:
    """A DataNode's read counters since it started: bytes served and read requests (one
    READ_BLOCK operation per block a client reads from it)."""
    url = f"{web_url.rstrip('/')}/jmx?qry=Hadoop:service=DataNode,name=DataNodeActivity-*"
    with opener(url, timeout) as response:
        beans = json.load(response).get("beans", [])
    if not beans:
        raise OSError(f"{url} returned no DataNodeActivity bean")
    return {"bytes": int(beans[0]["BytesRead"]), "requests": int(beans[0]["ReadBlockOpNumOps"])}


class NameNodeJmx:
    """Typed accessors over ``http://<namenode>/jmx``. Network errors surface as OSError."""

    def __init__(self, web_url: str, timeout: float = 5.0, opener: Opener = plain_open) -> None:
        self.web_url = web_url.rstrip("/")
        self.timeout = timeout
        self.opener = opener

    def bean(self, name: str) -> dict[str, Any]:
        url = f"{self.web_url}/jmx?qry={name}"
        with self.opener(url, self.timeout) as response:
            beans = json.load(response).get("beans", [])
        if not beans:
            raise OSError(f"{url} returned no bean {name}")
        return dict(beans[0])

    def live_datanodes(self) -> dict[str, dict[str, Any]]:
        """Live DataNodes keyed by their transfer address (ip:port)."""
        nodes = json.loads(self.bean(_NAMENODE_INFO)["LiveNodes"])
        return {info["xferaddr"]: info for info in nodes.values()}

    def live_datanode_ips(self) -> set[str]:
        return {address.rsplit(":", 1)[0] for address in self.live_datanodes()}

    def ha_state(self) -> str:
        """``active`` or ``standby`` (``initializing`` while it starts), as the NameNode says."""
        return str(self.bean("Hadoop:service=NameNode,name=NameNodeStatus")["State"])

    def safe_mode(self) -> bool:
        return bool(self.bean(_NAMENODE_INFO).get("Safemode"))

    def block_health(self) -> dict[str, int]:
        """Counters the redundancy monitor works from: under-replicated, missing, corrupt."""
        fs = self.bean(_FS_SYSTEM)
        return {
            "under_replicated": int(fs["UnderReplicatedBlocks"]),
            "pending_replication": int(fs["PendingReplicationBlocks"]),
            "missing": int(fs["MissingBlocks"]),
            "corrupt": int(fs["CorruptBlocks"]),
            "total": int(fs["BlocksTotal"]),
        }
