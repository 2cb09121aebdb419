"""Reading a published dataset: its manifest, its tracklet index, a tracklet's bytes.

Training and evaluation see a dataset only through this module: ``open_dataset(url)`` reads the
manifest (the commit point) and exactly the index parts it lists; ``read_frames`` fetches a
tracklet's frames with ONE positional range read and checks them against the index and the
ingest's frame rule. A batch of tracklets can share reads: ``frame_range`` says which bytes a
tracklet's frames need, ``read_span`` reads them (or a span merged by
``hadoop.fs.ranges.coalesce``) and ``cut_frame`` takes one frame out of such a read.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hadoop.fs import StorageError, resolve
from hadoop.fs.ranges import ByteRange
from ingest.dataset_manifest import Manifest, ManifestError, read_manifest
from ingest.errors import IngestError
from ingest.frame_check import marker_problem
from ingest.shards import INDEX_SCHEMA


class DatasetError(IngestError):
    """The dataset at a URL is missing, or its index disagrees with its shards."""


class BadFrameError(DatasetError):
    """A frame read from a shard is not one whole JPEG: its bytes changed after the ingest
    checked them (or the index points elsewhere). Names the frame, its tracklet and shard."""

    def __init__(self, url: str, record: TrackletRecord, frame: int, reason: str) -> None:
        super().__init__(f"{url}: frame {frame} of {record.tracklet_id} in {record.shard}: "
                         f"{reason} (the ingest checked it: the shard or index changed since)")
        self.frame = frame
        self.reason = reason


class RangeStore(Protocol):
    """Anything that can read an exact byte range of a file (a ``hadoop.fs`` filesystem; a
    counting wrapper in tests)."""

    def read_range(self, path: str, offset: int, length: int) -> bytes: ...


@dataclass(frozen=True)
class TrackletRecord:
    """One index row, as the data pipeline uses it."""

    row: int
    tracklet_id: str
    pid: int
    camid: int
    split: str
    role: str
    group: str
    shard: str
    offset: int
    length: int
    frame_offsets: np.ndarray  # int64, relative to ``offset``
    frame_lengths: np.ndarray  # int64
    crc32: int

    @property
    def num_frames(self) -> int:
        return len(self.frame_offsets)


class ShardedDataset:
    """A committed dataset: ``records`` in index order and the store its shards are read from."""

    def __init__(self, url: str, manifest: Manifest, table: pa.Table, store: RangeStore,
                 root: str) -> None:
        self.url = url
        self.manifest = manifest
        self.table = table
        self.store = store
        self.root = root
        self.records = _records(table)

    def select(self, *, split: str | None = None, roles: Sequence[str] | None = None,
               ) -> list[TrackletRecord]:
        return [r for r in self.records
                if (split is None or r.split == split) and (roles is None or r.role in roles)]

    def frame_range(self, record: TrackletRecord, frames: Sequence[int]) -> ByteRange:
        """The shard bytes that hold ``frames`` (indices into the tracklet), first to last."""
        if not len(frames):
            raise ValueError(f"no frames asked of {record.tracklet_id}")
        wanted = list(frames)
        starts = record.frame_offsets[wanted]
        ends = starts + record.frame_lengths[wanted]
        return ByteRange(self.shard_path(record), record.offset + int(starts.min()),
                         record.offset + int(ends.max()))

    def read_span(self, span: ByteRange) -> bytes:
        """The bytes of ``span`` (from :meth:`frame_range`, or several merged by
        ``hadoop.fs.ranges.coalesce``), with one range read of the dataset's store."""
        return self.store.read_range(span.path, span.start, span.length)

    def shard_path(self, record: TrackletRecord) -> str:
        return f"{self.root}/{record.shard}"

    def cut_frame(self, record: TrackletRecord, index: int, data: bytes, data_start: int,
                  ) -> bytes:
        """The JPEG bytes of frame ``index`` out of ``data``, a read of the record's shard from
        byte ``data_start`` that covers it; checked by its markers with the ingest's own rule
        (``ingest.frame_check``), so bytes that changed since the ingest fail here, naming the
        frame (:class:`BadFrameError`)."""
        start = record.offset + int(record.frame_offsets[index]) - data_start
        blob = data[start:start + int(record.frame_lengths[index])]
        problem = marker_problem(blob)
        if problem is not None:
            raise BadFrameError(self.url, record, index, problem)
        return blob

    def cut_frames(self, record: TrackletRecord, frames: Sequence[int], data: bytes,
                   data_start: int) -> list[bytes]:
        """:meth:`cut_frame` for each of ``frames``."""
        return [self.cut_frame(record, index, data, data_start) for index in frames]

    def read_frames(self, record: TrackletRecord, frames: Sequence[int] | None = None,
                    ) -> list[bytes]:
        """The JPEG bytes of ``frames`` (indices into the tracklet; all by default), fetched with
        one range read spanning just those frames. A whole-tracklet read is checked against the
        index's CRC; any read is checked frame by frame for JPEG markers."""
        wanted = range(record.num_frames) if frames is None else frames
        if not len(wanted):
            return []
        span = self.frame_range(record, wanted)
        data = self.read_span(span)
        if frames is None and zlib.crc32(data) != record.crc32:
            raise DatasetError(f"{self.url}: tracklet {record.tracklet_id} in {record.shard} "
                               "fails its CRC check: the shard does not match the index")
        return self.cut_frames(record, wanted, data, span.start)


def open_dataset(url: str, store: RangeStore | None = None) -> ShardedDataset:
    """The dataset committed at ``url`` (manifest + index parts it lists): ``hdfs://.../reid/
    <name>``, or a local directory (``hadoop.fs.paths``). ``store`` reads the shards (default:
    the dataset's own filesystem)."""
    fs, root = resolve(url)
    try:
        manifest = read_manifest(fs, root)
    except (StorageError, ManifestError) as exc:
        raise DatasetError(f"cannot read the manifest of {url}: {exc}") from exc
    if manifest is None:
        raise DatasetError(f"no dataset at {url}: {fs.kind} {fs.location(root)}/manifest.json "
                           "does not exist "
                           "(run the ingest: spark-submit spark_jobs/ingest.py)")
    parts = [pq.read_table(io.BytesIO(fs.read_file(f"{root}/{part}")), schema=INDEX_SCHEMA)
             for part in manifest.index_parts]
    table = pa.concat_tables(parts).sort_by("tracklet_id")
    return ShardedDataset(url, manifest, table, store or fs, root)


def _records(table: pa.Table) -> list[TrackletRecord]:
    columns = table.to_pydict()
    return [
        TrackletRecord(
            row=i, tracklet_id=columns["tracklet_id"][i], pid=columns["pid"][i],
            camid=columns["camid"][i], split=columns["split"][i], role=columns["role"][i],
            group=columns["group"][i], shard=columns["shard"][i], offset=columns["offset"][i],
            length=columns["length"][i],
            frame_offsets=np.asarray(columns["frame_offsets"][i], dtype=np.int64),
            frame_lengths=np.asarray(columns["frame_lengths"][i], dtype=np.int64),
            crc32=columns["crc32"][i])
        for i in range(table.num_rows)]
