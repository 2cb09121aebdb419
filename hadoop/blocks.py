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
import os
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from hadoop.errors import ClusterError
from hadoop.siteconf import host_port, namenode_http, namenode_url

_DATANODE_WEB_PORT_KEY = "infoPort"


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


def block_locations(path: str, web_url: str | None = None) -> list[Block]:
    """Every block of ``path`` with its live replicas, as the NameNode currently sees them."""
    base = web_url or namenode_http()
    query = urllib.parse.urlencode({"op": "GET_BLOCK_LOCATIONS", "offset": 0,
                                    "length": 1 << 62, "user.name": _user()})
    doc: dict[str, Any] = json.loads(_get(f"{base}/webhdfs/v1{urllib.parse.quote(path)}?{query}"))
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
