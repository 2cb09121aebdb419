"""Which racks hold each identity's data, for rack-aware sampling.

The placement policy keeps an identity group's shards on one home rack (two replicas) and one
other rack; the racks are read from the NameNode (one shard per group), not recomputed here.
"""

from __future__ import annotations

from collections.abc import Sequence

from hadoop.blocks import block_locations
from hadoop.siteconf import namenode_webs
from ingest.dataset import ShardedDataset, TrackletRecord


def identity_racks(data: ShardedDataset, records: Sequence[TrackletRecord],
                   web: str | Sequence[str] | None = None) -> dict[int, frozenset[str]]:
    """pid -> racks holding a replica of (the first block of) its group's first shard, asked
    of ``web`` (default: the NameNode, or the nameservice's active one, of the data's URL)."""
    webs = web or namenode_webs(data.url)
    group_racks: dict[str, frozenset[str]] = {}
    for record in records:
        if record.group not in group_racks:
            blocks = block_locations(f"{data.root}/{record.shard}", webs)
            group_racks[record.group] = frozenset(blocks[0].racks) if blocks else frozenset()
    racks: dict[int, frozenset[str]] = {}
    for record in records:
        racks[record.pid] = racks.get(record.pid, frozenset()) | group_racks[record.group]
    return racks
