"""The ingest's ``--source``, a MARS tree or a tracklet manifest, turned into one kind of plan.

A source ending in ``.csv`` or ``.parquet`` is a tracklet manifest (``ingest.manifest``), any
other a MARS tree (``ingest.mars``). Both come out as a :class:`SourcePlan`: the tracklets to
pack (``TrackletToPack``, each with its identity group), where their frames are read from, each
found frame's size, and what lenient mode skipped. The Spark ingest packs, indexes and
quarantines a plan the same way whichever layout it came from. Planning touches no Spark, so
``spark_jobs/ingest.py`` runs it before its driver starts: a bad source fails in seconds.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from posixpath import dirname
from typing import Any

from hadoop.fs import PathNotFoundError, resolve
from ingest import mars
from ingest.errors import IngestError
from ingest.frame_source import FrameSource
from ingest.manifest import is_manifest, read_tracklet_manifest
from ingest.shards import TrackletToPack, group_of


@dataclass(frozen=True)
class SourcePlan:
    """What one ingest run packs. ``frames`` reads what ``tracklets`` name; ``sizes`` maps
    each frame found to its size (a missing one is quarantined when lenient); ``skipped`` is
    ``Generation.skipped`` and ``problems`` counts what lenient mode skipped, per kind."""

    source: str
    layout: str  # "MARS tree" or "tracklet manifest", for messages
    frames: FrameSource
    tracklets: list[TrackletToPack]
    sizes: dict[str, int]
    skipped: dict[str, dict[str, Any]]
    problems: dict[str, int]


def to_pack(tracklets: Sequence[mars.Tracklet], ids_per_group: int) -> list[TrackletToPack]:
    """Both layouts' tracklets, each with the identity group its shards belong to."""
    return [TrackletToPack(t.tracklet_id, t.pid, t.camid, t.split, t.role,
                           group_of(t.pid, t.camid, ids_per_group), t.frames)
            for t in tracklets]


def plan_source(source: str, *, strict: bool = True, ids_per_group: int = 16,
                allow_missing_split: tuple[str, ...] = ()) -> SourcePlan:
    """Read and check ``source`` (local or ``hdfs://``) into a plan: strict stops at the first
    problem, naming it; lenient skips and counts (see each layout's module)."""
    if is_manifest(source):
        return _plan_manifest(source, strict, ids_per_group)
    return _plan_mars(source, strict, ids_per_group, allow_missing_split)


def _plan_manifest(source: str, strict: bool, ids_per_group: int) -> SourcePlan:
    manifest = read_tracklet_manifest(source, strict=strict, files="list")
    return SourcePlan(source, "tracklet manifest", FrameSource(manifest.folder),
                      to_pack(manifest.tracklets, ids_per_group), manifest.sizes,
                      {split: dict(counts) for split, counts in manifest.skipped.items()},
                      manifest.problem_counts())


def _plan_mars(source: str, strict: bool, ids_per_group: int,
               allow_missing_split: tuple[str, ...]) -> SourcePlan:
    dataset = _read_mars_metadata(source, strict)
    skipped = _mars_skipped(dataset, source, allow_missing_split)
    plan = to_pack(dataset.tracklets, ids_per_group)
    frames = FrameSource(source)
    sizes = frames.sizes(sorted({dirname(f) for t in plan for f in t.frames}))
    missing = [f for t in plan for f in t.frames if f not in sizes]
    if missing and strict:
        shown = ", ".join(missing[:5])
        raise IngestError(f"{len(missing)} frames listed in {source}/info are missing "
                          f"(e.g. {shown}); fix the tree or pass --lenient to quarantine them")
    return SourcePlan(source, "MARS tree", frames, plan, sizes, skipped,
                      dataset.summary()["problems"])


def _mars_skipped(dataset: mars.MarsDataset, source: str,
                  allow_missing_split: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """What lenient mode left out, per split; a whole split only where the flag allows it."""
    out: dict[str, dict[str, Any]] = {}
    for split, skipped in dataset.skipped.items():
        cause = skipped.cause
        if cause is not None:
            text = " ".join(f"{source.rstrip('/')}/{cause.file}: {cause.reason}".split())
            if split not in allow_missing_split:
                raise IngestError(
                    f"{text}; this drops the whole {split} split ({skipped.tracklets} "
                    f"tracklets, {skipped.frames} frames): fix the file, or pass "
                    f"--allow-missing-split {split} to ingest without it")
            out[split] = {"tracklets": skipped.tracklets, "frames": skipped.frames,
                          "cause": text}
        elif skipped.tracklets or skipped.frames:
            out[split] = {"tracklets": skipped.tracklets, "frames": skipped.frames}
    return out


def _read_mars_metadata(source: str, strict: bool) -> mars.MarsDataset:
    """Read the MARS info files, fetched from the source's filesystem (local or HDFS) into a
    temp dir first; a missing one is left out there, for ``read_mars`` to report (strict) or
    skip its split (lenient). Frame files are checked by listing their folders, not here."""
    fs, path = resolve(source)
    if not fs.exists(f"{path}/info"):
        raise IngestError(f"--source {source}: no info/ directory on {fs.kind} "
                          f"{fs.location(path)} (not a MARS tree; a tracklet manifest is a "
                          ".csv or .parquet file)")
    with tempfile.TemporaryDirectory(prefix="mars-info-") as tmp:
        for name in sorted({*mars.NAME_FILES.values(), *mars.INFO_FILES.values(),
                            mars.QUERY_FILE}):
            try:
                data = fs.read_file(f"{path}/{name}")
            except PathNotFoundError:
                continue
            target = Path(tmp) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        dataset = mars.read_mars(Path(tmp), strict=strict, files="none")
    dataset.root = Path(path)
    return dataset
