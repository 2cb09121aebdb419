"""Where a file's blocks live, and a replica-by-replica verification ("scrub").

Block locations come from WebHDFS (``GET_BLOCK_LOCATIONS``: block ids and every replica's
DataNode and rack) so no JVM is started. ``scrub`` asks each DataNode holding a replica to read
that block through its own WebHDFS endpoint: the DataNode's HDFS client reads its local replica
first, verifies the checksums, and on a mismatch reports the replica to the NameNode (which marks
it corrupt and re-replicates from a good copy) and serves the bytes from another replica. This is
HDFS's own detection path, driven on demand instead of waiting for the weekly block scanner.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hadoop.errors import ClusterError
from hadoop.siteconf import host_port, namenode_http, namenode_url

_DATANODE_WEB_PORT_KEY = "infoPort"
# How long a nameservice may have no active NameNode (a failover takes seconds) before a
# block-location request gives up; the wait is logged.
ACTIVE_WAIT_S = 90.0
_REPORT_S = 10.0
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Replica:
    address: str  # DataNode IP
    rack: str
    web_port: int


@dataclass(frozen=True)
class Block:
    block_id: int
    pool_id: str
    generation: int
    offset: int
    length: int
    replicas: tuple[Replica, ...]
    corrupt: bool

    @property
    def file_name(self) -> str:
        """The block file's name on a DataNode's disk."""
        return f"blk_{self.block_id}"

    @property
    def racks(self) -> set[str]:
        return {r.rack for r in self.replicas}


def _user() -> str:
    return os.environ.get("HADOOP_USER_NAME") or os.environ.get("USER") or "root"


def _get(url: str, timeout: float = 60.0) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bytes(response.read())
    except OSError as exc:
        raise ClusterError(f"WebHDFS request {url} failed: {exc}") from exc


def block_locations(path: str, web: str | Sequence[str] | None = None) -> list[Block]:
    """Every block of ``path`` with its live replicas, as the NameNode currently sees them.

    ``web``: the NameNode's ``http://host:port`` (default: the configured one), or a
    nameservice's NameNodes (``hadoop.siteconf.namenode_webs``), asked in turn until the active
    one answers; while none does (a failover), the request waits up to ``ACTIVE_WAIT_S``."""
    webs = [web] if isinstance(web, str) else list(web or [namenode_http()])
    query = urllib.parse.urlencode({"op": "GET_BLOCK_LOCATIONS", "offset": 0,
                                    "length": 1 << 62, "user.name": _user()})
    doc = _from_active(webs, f"/webhdfs/v1{urllib.parse.quote(path)}?{query}")
    located = doc["LocatedBlocks"]
    blocks = []
    for item in located.get("locatedBlocks", []):
        ext = item["block"]
        replicas = tuple(Replica(address=loc["ipAddr"], rack=loc["networkLocation"],
                                 web_port=int(loc[_DATANODE_WEB_PORT_KEY]))
                         for loc in item.get("locations", []))
        blocks.append(Block(block_id=int(ext["blockId"]), pool_id=ext["blockPoolId"],
                            generation=int(ext["generationStamp"]),
                            offset=int(item["startOffset"]), length=int(ext["numBytes"]),
                            replicas=replicas, corrupt=bool(item.get("isCorrupt", False))))
    return blocks


def _from_active(webs: list[str], request: str) -> dict[str, Any]:
    """The JSON answer of the first of ``webs`` that serves ``request`` (a standby refuses it
    with a StandbyException; a stopped NameNode refuses the connection)."""
    since = time.monotonic()
    reported = since
    while True:
        reasons = []
        for base in webs:
            try:
                with urllib.request.urlopen(base + request, timeout=60.0) as response:
                    return dict(json.loads(response.read()))
            except urllib.error.HTTPError as exc:
                body = exc.read().decode(errors="replace")
                if "StandbyException" not in body:
                    raise ClusterError(f"WebHDFS request {base}{request} failed: {exc}: "
                                       f"{body[:300]}") from exc
                reasons.append(f"{base} is standby")
            except OSError as exc:
                if len(webs) == 1:
                    raise ClusterError(f"WebHDFS request {base}{request} failed: {exc}") from exc
                reasons.append(f"{base}: {exc}")
        waited = time.monotonic() - since
        if len(webs) == 1 or waited >= ACTIVE_WAIT_S:
            raise ClusterError(f"no active NameNode answered WebHDFS {request} for "
                               f"{waited:.0f} s: {'; '.join(reasons)}")
        if time.monotonic() >= reported:
            log.warning("waiting for an active NameNode among %s: %.0f s so far, giving up after "
                        "%.0f s (%s)", ", ".join(webs), waited, ACTIVE_WAIT_S, "; ".join(reasons))
            reported = time.monotonic() + _REPORT_S
        time.sleep(0.5)


@dataclass(frozen=True)
class ScrubReport:
    blocks: int
    replica_reads: int
    inconsistent_blocks: int  # replicas' holders served different bytes (never expected)


def scrub(path: str, web_url: str | None = None, rpc_url: str | None = None) -> ScrubReport:
    """Have every replica holder of every block of ``path`` read and verify its block."""
    host, port = host_port(rpc_url or namenode_url())
    nn_rpc = f"{host}:{port}"
    reads = inconsistent = 0
    blocks = block_locations(path, web_url)
    for block in blocks:
        digests = set()
        for replica in block.replicas:
            query = urllib.parse.urlencode({
                "op": "OPEN", "namenoderpcaddress": nn_rpc, "offset": block.offset,
                "length": block.length, "user.name": _user()})
            url = (f"http://{replica.address}:{replica.web_port}/webhdfs/v1"
                   f"{urllib.parse.quote(path)}?{query}")
            digests.add(hashlib.sha256(_get(url)).hexdigest())
            reads += 1
        inconsistent += len(digests) > 1
    return ScrubReport(blocks=len(blocks), replica_reads=reads, inconsistent_blocks=inconsistent)
