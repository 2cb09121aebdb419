"""The on-HDFS layout of an ingested dataset: identity groups, shard files, the tracklet index.

A dataset ``/reid/<name>`` is::

    manifest.json                          the commit point (ingest.dataset_manifest)
    index/batch-000.parquet                one row per tracklet (schema INDEX_SCHEMA)
    shards/<group>/b000-0000.shard         tracklets' JPEG frames, concatenated, in frame order

Storing 1.19 M frames as files would drown the NameNode; a shard holds whole tracklets of one
identity group, so one tracklet is one contiguous byte range (one read) and the placement
plug-in (group key = the ``<group>`` directory) can keep an identity's data on one rack.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from ingest.frame_check import frame_problem
from ingest.mars import DISTRACTOR_PID, JUNK_PID

SHARD_DIR = "shards"
INDEX_DIR = "index"
MANIFEST = "manifest.json"

INDEX_SCHEMA = pa.schema([
    pa.field("tracklet_id", pa.string(), nullable=False),
    pa.field("pid", pa.int32(), nullable=False),
    pa.field("camid", pa.int32(), nullable=False),
    pa.field("split", pa.string(), nullable=False),
    pa.field("role", pa.string(), nullable=False),
    pa.field("num_frames", pa.int32(), nullable=False),
    pa.field("group", pa.string(), nullable=False),
    pa.field("shard", pa.string(), nullable=False),  # relative to the dataset root
    pa.field("offset", pa.int64(), nullable=False),  # of the tracklet's range in the shard
    pa.field("length", pa.int64(), nullable=False),
    pa.field("frame_offsets", pa.list_(pa.int64()), nullable=False),  # relative to ``offset``
    pa.field("frame_lengths", pa.list_(pa.int32()), nullable=False),
    pa.field("frame_names", pa.list_(pa.string()), nullable=False),
    pa.field("crc32", pa.uint32(), nullable=False),  # zlib.crc32 of the tracklet's bytes
    pa.field("batch", pa.int32(), nullable=False),  # the manifest generation that packed it
    # dataset_manifest.content_digest of the tracklet's source frames, quarantined ones included:
    # what a re-run compares; null in an index written before it existed
    pa.field("content", pa.string(), nullable=True),
])


def group_of(pid: int, camid: int, ids_per_group: int) -> str:
    """The identity group (placement key) of a tracklet.

    Identities 1.. are grouped in runs of ``ids_per_group``; distractors (0) and junk (-1),
    thousands of tracklets each in MARS, are grouped per camera so no group dwarfs the others.
    """
    if pid == DISTRACTOR_PID:
        return f"distractors-c{camid}"
    if pid == JUNK_PID:
        return f"junk-c{camid}"
    if pid < 0:
        raise ValueError(f"identity {pid} is neither a person (>= 1), 0 nor -1")
    first = (pid - 1) // ids_per_group * ids_per_group + 1
    return f"ids-{first:04d}"


@dataclass(frozen=True)
class TrackletToPack:
    """A tracklet to ingest, with its group; ``frames`` as ``ingest.frame_source`` reads them:
    relative to the source's root (a MARS tree, a manifest's folder) or full locations."""

    tracklet_id: str
    pid: int
    camid: int
    split: str
    role: str
    group: str
    frames: tuple[str, ...]


@dataclass
class PackedShard:
    """One shard as built: its path, bytes and index rows; what was refused goes to quarantine."""

    path: str
    chunks: list[bytes] = field(default_factory=list)
    rows: list[dict[str, object]] = field(default_factory=list)
    size: int = 0


@dataclass(frozen=True)
class Quarantined:
    """A frame (or, with ``frame`` empty, a whole tracklet) refused by the ingest, and why.
    ``data`` holds the refused bytes so they can be kept aside; it is not part of the record."""

    tracklet_id: str
    frame: str
    reason: str
    data: bytes | None = field(default=None, repr=False, compare=False)

    def record(self) -> dict[str, str]:
        return {"tracklet_id": self.tracklet_id, "frame": self.frame, "reason": self.reason}


def pack_group(group: str, batch: int,
               tracklets: Iterable[tuple[TrackletToPack, Sequence[bytes | None]]],
               target_size: int, quarantine: list[Quarantined]) -> Iterator[PackedShard]:
    """Pack one group's tracklets (with their frames' bytes, in frame order) into shards of at
    most ``target_size`` bytes (a larger tracklet gets a shard of its own). Frames that fail
    :func:`ingest.frame_check.frame_problem` (the rule the reader applies too) are left out
    and recorded in ``quarantine``; a tracklet left with no
    frame is recorded too and gets no index row."""
    sequence = 0
    shard: PackedShard | None = None
    for tracklet, frames in tracklets:
        good: list[tuple[str, bytes]] = []
        for name, data in zip(tracklet.frames, frames, strict=True):
            reason = frame_problem(data)
            if reason is None and data is not None:
                good.append((name, data))
            else:
                quarantine.append(Quarantined(tracklet.tracklet_id, name, str(reason), data))
        if not good:
            quarantine.append(Quarantined(tracklet.tracklet_id, "", "no valid frame left"))
            continue
        length = sum(len(data) for _, data in good)
        if shard is not None and shard.size and shard.size + length > target_size:
            yield shard
            shard = None
        if shard is None:
            shard = PackedShard(path=f"{SHARD_DIR}/{group}/b{batch:03d}-{sequence:04d}.shard")
            sequence += 1
        shard.rows.append(_index_row(tracklet, good, shard, batch))
        shard.chunks.extend(data for _, data in good)
        shard.size += length
    if shard is not None:
        yield shard


def _index_row(tracklet: TrackletToPack, frames: Sequence[tuple[str, bytes]],
               shard: PackedShard, batch: int) -> dict[str, object]:
    offsets, lengths, crc, position = [], [], 0, 0
    for _, data in frames:
        offsets.append(position)
        lengths.append(len(data))
        crc = zlib.crc32(data, crc)
        position += len(data)
    return {
        "tracklet_id": tracklet.tracklet_id, "pid": tracklet.pid, "camid": tracklet.camid,
        "split": tracklet.split, "role": tracklet.role, "num_frames": len(frames),
        "group": tracklet.group, "shard": shard.path, "offset": shard.size, "length": position,
        "frame_offsets": offsets, "frame_lengths": lengths,
        "frame_names": [name.rsplit("/", 1)[-1] for name, _ in frames],
        "crc32": crc, "batch": batch,
    }


def index_table(rows: Iterable[dict[str, object]]) -> pa.Table:
    """The index rows as an Arrow table in INDEX_SCHEMA, sorted by tracklet id."""
    ordered = sorted(rows, key=lambda row: str(row["tracklet_id"]))
    return pa.Table.from_pylist(ordered, schema=INDEX_SCHEMA)
