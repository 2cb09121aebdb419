"""Reading committed gallery features (``training.embed``'s Parquet parts) from HDFS.

Why a module: the search must not hold a large gallery in memory. The tracklet columns (id,
identity, camera, frame count) are small and read whole; the feature column is streamed chunk
by chunk from seekable HDFS range reads, so a 1M x 2048 float32 gallery (8 GiB) is scored with
one chunk in memory at a time.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from hadoop.fs import FileSystem, resolve
from training.embed import COMMIT, EmbedError, FeatureCommit

FloatArray = npt.NDArray[np.float32]
META_COLUMNS = ("tracklet_id", "pid", "camid", "num_frames")


class HdfsRangeFile(io.RawIOBase):
    """A read-only, seekable file over ``hadoop.fs`` range reads (what pyarrow needs to read one
    row group or column of a Parquet file without fetching the rest)."""

    def __init__(self, fs: FileSystem, path: str) -> None:
        super().__init__()
        self.fs, self.path = fs, path
        self.length = fs.size(path)
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.length}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        size = min(len(buffer), self.length - self.position)
        if size <= 0:
            return 0
        data = self.fs.read_range(self.path, self.position, size)
        buffer[:size] = data
        self.position += size
        return size


@dataclass(frozen=True)
class GalleryChunk:
    start: int  # row of the chunk's first tracklet in the gallery
    features: FloatArray  # (rows, dim)


@dataclass(frozen=True)
class GalleryMeta:
    """The small columns of every gallery row, in gallery order."""

    tracklet_ids: list[str]
    pids: npt.NDArray[np.int64]
    camids: npt.NDArray[np.int64]
    num_frames: npt.NDArray[np.int64]

    def row_of(self, tracklet_id: str) -> int | None:
        try:
            return self.tracklet_ids.index(tracklet_id)
        except ValueError:
            return None


class FeatureGallery:
    """The committed features at ``url`` (``<data>/features/<version>/<split>``)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.fs, self.root = resolve(self.url)
        if not self.fs.exists(f"{self.root}/{COMMIT}"):
            raise EmbedError(f"no committed features at {self.url} ({COMMIT} does not exist; "
                             "run python -m training.embed)")
        self.commit = FeatureCommit.read(self.fs, f"{self.root}/{COMMIT}")
        if not self.commit.flip_averaged:
            raise EmbedError(f"{self.url} was embedded by an earlier version, without the "
                             "test-time flip that queries get now: run training.embed again")

    @property
    def dim(self) -> int:
        return self.commit.dim

    def _part(self, name: str) -> pq.ParquetFile:
        return pq.ParquetFile(io.BufferedReader(HdfsRangeFile(self.fs, f"{self.root}/{name}"),
                                                buffer_size=1 << 20))

    def meta(self) -> GalleryMeta:
        tables = [self._part(name).read(columns=list(META_COLUMNS)) for name in self.commit.parts]
        table = pa.concat_tables(tables)
        if table.num_rows != self.commit.rows:
            raise EmbedError(f"{self.url}: parts hold {table.num_rows} rows, the commit says "
                             f"{self.commit.rows}")
        return GalleryMeta(
            tracklet_ids=table.column("tracklet_id").to_pylist(),
            pids=table.column("pid").to_numpy().astype(np.int64),
            camids=table.column("camid").to_numpy().astype(np.int64),
            num_frames=table.column("num_frames").to_numpy().astype(np.int64))

    def chunks(self, rows: int = 4096) -> Iterator[GalleryChunk]:
        """The feature column in chunks of at most ``rows`` rows, in gallery order."""
        start = 0
        for name in self.commit.parts:
            for batch in self._part(name).iter_batches(batch_size=rows, columns=["feature"]):
                # A copy: Arrow's buffers are read-only, and torch warns about wrapping those.
                values = batch.column(0).flatten().to_numpy(zero_copy_only=False)
                features = np.array(values, dtype=np.float32).reshape(-1, self.dim)
                yield GalleryChunk(start, features)
                start += len(features)

    def features_of(self, rows: npt.ArrayLike, chunk_rows: int = 4096) -> FloatArray:
        """The features of gallery ``rows`` (in that order), gathered in one streaming pass."""
        wanted = np.asarray(rows, dtype=np.int64)
        out = np.zeros((len(wanted), self.dim), dtype=np.float32)
        for chunk in self.chunks(chunk_rows):
            inside = (wanted >= chunk.start) & (wanted < chunk.start + len(chunk.features))
            out[inside] = chunk.features[wanted[inside] - chunk.start]
        return out
