"""Byte ranges of files, and merging nearby ones into fewer reads.

A read's fixed cost (client and DataNode CPU per request) dwarfs its per-byte cost on the HDFS
path for clip-sized ranges, so reading a small hole between two wanted ranges is cheaper than a
second read. The same trade-off is behind pyarrow's read coalescing
(``CacheOptions.hole_size_limit``) for Parquet column chunks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# A hole below this costs less to read than another request: on a client whose DataNodes
# run elsewhere the break-even is about 0.2 ms / (0.85 ms per MiB) ~= 240 KiB, and higher
# when the DataNode's CPU is shared with the client.
DEFAULT_MAX_GAP = 256 << 10
# A merged read never grows past this, so one batch cannot pull a whole shard into memory.
DEFAULT_MAX_LENGTH = 8 << 20


@dataclass(frozen=True, order=True)
class ByteRange:
    """Bytes [start, end) of ``path``."""

    path: str
    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            raise ValueError(f"bad byte range [{self.start}, {self.end}) of {self.path}")

    @property
    def length(self) -> int:
        return self.end - self.start


def coalesce(ranges: Sequence[ByteRange], *, max_gap: int = DEFAULT_MAX_GAP,
             max_length: int = DEFAULT_MAX_LENGTH) -> list[tuple[ByteRange, list[int]]]:
    """Merge ranges of the same file whose hole is at most ``max_gap`` bytes while the merged
    read stays within ``max_length`` bytes (a range inside the read so far always joins it; a
    single range longer than ``max_length`` is read whole). Returns each read with the indices
    into ``ranges`` it serves; every index appears exactly once."""
    if max_gap < 0 or max_length < 1:
        raise ValueError(f"max_gap must be >= 0 and max_length >= 1, got {max_gap}, {max_length}")
    reads: list[tuple[ByteRange, list[int]]] = []
    for index in sorted(range(len(ranges)), key=ranges.__getitem__):
        wanted = ranges[index]
        if reads:
            last, members = reads[-1]
            end = max(last.end, wanted.end)
            if (last.path == wanted.path and wanted.start - last.end <= max_gap
                    and (end == last.end or end - last.start <= max_length)):
                reads[-1] = (ByteRange(last.path, last.start, end), [*members, index])
                continue
        reads.append((wanted, [index]))
    return reads
