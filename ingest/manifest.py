"""The dataset manifest: the commit point of every ingest, and its provenance record.

Readers see exactly what ``manifest.json`` lists: shards and index parts written by a run that
died before rewriting the manifest stay invisible. Each ingest run adds one *batch* (the first
ingest is batch 0, each ``--append`` the next) with its source, the fingerprint of what it packed,
its parameters and software versions, counts, shard checksums and quarantined frames.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ingest.errors import IngestError
from ingest.hdfs_io import HdfsFS
from ingest.shards import MANIFEST, TrackletToPack

FORMAT = "reid-hdfs/tracklet-shards"
FORMAT_VERSION = 1


class ManifestError(IngestError):
    """A manifest that is missing fields or of another format."""


@dataclass(frozen=True)
class ShardInfo:
    path: str
    bytes: int
    sha256: str
    tracklets: int


@dataclass(frozen=True)
class Batch:
    batch: int
    source: str
    fingerprint: str
    created: str
    params: dict[str, Any]
    versions: dict[str, str]
    counts: dict[str, int]
    index: str
    shards: list[ShardInfo]
    quarantine: list[dict[str, str]] = field(default_factory=list)
    problems: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Manifest:
    name: str
    batches: list[Batch]

    @property
    def index_parts(self) -> list[str]:
        return [b.index for b in self.batches]

    def totals(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for batch in self.batches:
            for key, value in batch.counts.items():
                totals[key] = totals.get(key, 0) + value
        return totals

    def to_json(self) -> str:
        document = {"format": FORMAT, "version": FORMAT_VERSION, "name": self.name,
                    "totals": self.totals(), "batches": [asdict(b) for b in self.batches]}
        return json.dumps(document, indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str, where: str) -> Manifest:
        try:
            doc = json.loads(text)
            if doc.get("format") != FORMAT or doc.get("version") != FORMAT_VERSION:
                raise ManifestError(f"{where}: not a {FORMAT} v{FORMAT_VERSION} manifest")
            batches = [Batch(**{**b, "shards": [ShardInfo(**s) for s in b["shards"]]})
                       for b in doc["batches"]]
            return cls(name=doc["name"], batches=batches)
        except (ValueError, KeyError, TypeError) as exc:
            raise ManifestError(f"{where}: malformed manifest: {exc}") from exc


def read_manifest(fs: HdfsFS, root: str) -> Manifest | None:
    """The manifest of the dataset at ``root``, or None if no dataset was committed there."""
    path = f"{root}/{MANIFEST}"
    if not fs.exists(path):
        return None
    return Manifest.from_json(fs.read_file(path).decode(), f"{fs.url}{path}")


def write_manifest(fs: HdfsFS, root: str, manifest: Manifest) -> None:
    """Commit: replace the manifest atomically (write aside, rename over)."""
    fs.write_file(f"{root}/{MANIFEST}", manifest.to_json().encode(), overwrite=True)


def fingerprint(tracklets: Iterable[TrackletToPack], sizes: Mapping[str, int]) -> str:
    """Identifies *what* a run packs (tracklets, labels, frames and their sizes), independent of
    when or how; ``sizes`` maps frame paths to byte counts (-1 for a missing file)."""
    digest = hashlib.sha256()
    for t in sorted(tracklets, key=lambda t: t.tracklet_id):
        frames = [[f, sizes.get(f, -1)] for f in t.frames]
        digest.update(json.dumps([t.tracklet_id, t.pid, t.camid, t.split, t.role, t.group,
                                  frames]).encode())
    return digest.hexdigest()
