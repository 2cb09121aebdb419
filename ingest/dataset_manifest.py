"""The dataset manifest: the commit point of every ingest, and its provenance record.

Readers see exactly what ``manifest.json`` lists: shards and index parts written by a run that
died before rewriting the manifest stay invisible. Each ingest run adds one *generation* (the
first ingest is generation 0, each ``--append`` the next) with its source, the digests of what it
packed, its parameters and software versions, counts, shard checksums, quarantined frames and
what lenient mode skipped.

Two digests tell a re-run what it is looking at: ``plan`` covers the tracklets' names, labels and
groups (what the info files say), ``fingerprint`` also each tracklet's content digest (the bytes
of its listed frames). Same fingerprint: nothing to do; same plan, other content: the frames
changed (e.g. repaired); another plan: another dataset.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from hadoop.fs import FileSystem
from ingest.errors import IngestError
from ingest.shards import MANIFEST, TrackletToPack

FORMAT = "reid-hdfs/tracklet-shards"
FORMAT_VERSION = 2  # 1: "batches" of "batch" number, without plan digest and skip counts


class ManifestError(IngestError):
    """A manifest that is missing fields or of another format."""


@dataclass(frozen=True)
class ShardInfo:
    path: str
    bytes: int
    sha256: str
    tracklets: int


@dataclass(frozen=True)
class Generation:
    """What one ingest run added to the dataset. ``skipped`` maps a split to what lenient mode
    left out of it (``tracklets``, ``frames``, and ``cause`` when the whole split was dropped)."""

    number: int
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
    plan: str = ""  # empty in a format 1 manifest
    skipped: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Manifest:
    name: str
    generations: list[Generation]

    @property
    def index_parts(self) -> list[str]:
        return [g.index for g in self.generations]

    def totals(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for generation in self.generations:
            for key, value in generation.counts.items():
                totals[key] = totals.get(key, 0) + value
        return totals

    def to_json(self) -> str:
        document = {"format": FORMAT, "version": FORMAT_VERSION, "name": self.name,
                    "totals": self.totals(),
                    "generations": [asdict(g) for g in self.generations]}
        return json.dumps(document, indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str, where: str) -> Manifest:
        try:
            doc = json.loads(text)
            version = doc.get("version")
            if doc.get("format") != FORMAT or version not in (1, FORMAT_VERSION):
                raise ManifestError(f"{where}: not a {FORMAT} v1 or v{FORMAT_VERSION} manifest")
            if version == 1:  # datasets ingested before generations were named so
                doc["generations"] = [{"number": b.pop("batch"), **b} for b in doc["batches"]]
            generations = [Generation(**{**g, "shards": [ShardInfo(**s) for s in g["shards"]]})
                           for g in doc["generations"]]
            return cls(name=doc["name"], generations=generations)
        except (ValueError, KeyError, TypeError) as exc:
            raise ManifestError(f"{where}: malformed manifest: {exc}") from exc


def read_manifest(fs: FileSystem, root: str) -> Manifest | None:
    """The manifest of the dataset at ``root``, or None if no dataset was committed there."""
    path = f"{root}/{MANIFEST}"
    if not fs.exists(path):
        return None
    return Manifest.from_json(fs.read_file(path).decode(), fs.location(path))


def write_manifest(fs: FileSystem, root: str, manifest: Manifest) -> None:
    """Commit: replace the manifest atomically (write aside, rename over)."""
    fs.write_file(f"{root}/{MANIFEST}", manifest.to_json().encode(), overwrite=True)


def content_digest(frames: Sequence[bytes | None]) -> str:
    """A tracklet's content: the length and CRC-32 of each of its listed frames in order (a
    missing one counts as such), hashed. The CRC pass costs a fraction of the ingest's own
    checks; the frame names and labels are covered by the plan."""
    parts = [(-1, 0) if data is None else (len(data), zlib.crc32(data)) for data in frames]
    return hashlib.blake2b(json.dumps(parts).encode(), digest_size=16).hexdigest()


def plan_digest(tracklets: Iterable[TrackletToPack]) -> str:
    """Identifies *which* tracklets a run packs (ids, labels, groups, frame names), whatever
    their frames hold."""
    digest = hashlib.sha256()
    for t in sorted(tracklets, key=lambda t: t.tracklet_id):
        digest.update(json.dumps([t.tracklet_id, t.pid, t.camid, t.split, t.role, t.group,
                                  t.frames]).encode())
    return digest.hexdigest()


def fingerprint(tracklets: Iterable[TrackletToPack], contents: Mapping[str, str]) -> str:
    """Identifies *what* a run packs: the plan and every tracklet's content digest
    (``contents`` maps tracklet ids to :func:`content_digest`), independent of when or how."""
    digest = hashlib.sha256()
    for t in sorted(tracklets, key=lambda t: t.tracklet_id):
        digest.update(json.dumps([t.tracklet_id, t.pid, t.camid, t.split, t.role, t.group,
                                  t.frames, contents[t.tracklet_id]]).encode())
    return digest.hexdigest()
