"""The Spark ingest: a MARS tree or tracklet manifest -> shard files + tracklet index + manifest
in HDFS.

Driver: plan the source (``ingest.source``: a MARS tree's metadata, ``ingest.mars``, or a
tracklet manifest, ``ingest.manifest``; strict or lenient, where lenient mode may drop a whole
MARS split only where ``--allow-missing-split`` says so): each tracklet with its identity group,
its frame folders listed to find missing frames. Then take the dataset's lease (which
also clears staging that dead ingests left under the same root, see ``ingest.staging``), and
decide whether there is anything to do. That decision compares content: every tracklet's frames
are read and digested by Spark tasks (``dataset_manifest.content_digest``) and checked against
the dataset's manifest and index. The same content is a no-op; the same tracklets from the same
source with changed frames (a repaired tree) are ingested again; anything else is another
dataset and is refused unless ``--replace``; ``--append`` packs only tracklets the dataset does
not have yet, and refuses if those it has changed.

Executors: the driver deals the plan's identity groups (tracklets in tracklet order) into bins of
nearly equal source bytes, one Spark task per bin; each task reads its groups' JPEG bytes
straight from the source (``ingest.frame_source``), checks every frame's JPEG header, packs whole
tracklets into shards of about ``shard_size`` bytes and writes them into a staging directory with
the dataset's replication and block size, through the project's HDFS layer. Bad frames are
quarantined, never packed. Frame bytes are never shuffled: reading them with Spark's
``binaryFile`` source and shuffling them to their group's task took half of the job's time,
and neither is the plan.

Commit: the index (Parquet) and manifest are written into the staging directory, which is then
renamed into place (a new dataset), swapped in (``--replace``, or a repaired tree) or merged
(``--append``: shards and index part are moved in, then the manifest is atomically replaced,
which is the commit). Until then the previous dataset is untouched.
"""

from __future__ import annotations

import functools
import hashlib
import io
import platform
import time
import urllib.parse
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from posixpath import basename, dirname
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark import SparkContext

from hadoop.fs import FileSystem, is_hdfs, resolve
from ingest import mars
from ingest.dataset_manifest import (
    Generation,
    Manifest,
    ShardInfo,
    content_digest,
    fingerprint,
    plan_digest,
    read_manifest,
    write_manifest,
)
from ingest.errors import IngestError
from ingest.frame_source import FrameSource
from ingest.manifest import is_manifest
from ingest.shards import (
    INDEX_DIR,
    MANIFEST,
    Quarantined,
    TrackletToPack,
    index_table,
    pack_group,
)
from ingest.source import SourcePlan, plan_source
from ingest.staging import Lease

MIB = 1 << 20
QUARANTINE_DIR = "quarantine"


@dataclass(frozen=True)
class IngestConfig:
    source: str
    dest: str
    shard_size: int = 64 * MIB
    block_size: int = 64 * MIB
    replication: int = 3
    ids_per_group: int = 16
    strict: bool = True
    append: bool = False
    replace: bool = False
    partitions: int = 0  # 0: Spark's default parallelism
    allow_missing_split: tuple[str, ...] = ()  # splits lenient mode may drop whole

    def check(self) -> None:
        if self.append and self.replace:
            raise IngestError("--append and --replace exclude each other")
        if self.shard_size < MIB:
            raise IngestError(f"--shard-size must be at least 1 MiB, not {self.shard_size}")
        if self.block_size % 512 or self.block_size <= 0:
            raise IngestError(f"--block-size must be a positive multiple of 512, "
                              f"not {self.block_size}")
        if not 1 <= self.replication <= 16:
            raise IngestError(f"--replication must be in 1..16, not {self.replication}")
        if self.ids_per_group < 1:
            raise IngestError(f"--ids-per-group must be >= 1, not {self.ids_per_group}")
        for split in self.allow_missing_split:
            if split not in mars.SPLITS:
                raise IngestError(f"--allow-missing-split {split!r}: a split is one of "
                                  f"{', '.join(mars.SPLITS)}")
        if self.allow_missing_split and self.strict:
            raise IngestError("--allow-missing-split needs --lenient (strict mode stops at "
                              "the first problem)")
        if self.allow_missing_split and is_manifest(self.source):
            raise IngestError(f"--allow-missing-split is for a MARS tree's info files; "
                              f"--source {self.source} is a tracklet manifest")
        if not is_hdfs(self.dest) or resolve(self.dest)[1] == "/":
            raise IngestError(f"--dest {self.dest!r} must be hdfs://<namenode>/<dir>/<name>")


@dataclass(frozen=True)
class IngestResult:
    status: str  # "created", "replaced", "appended" or "up-to-date"
    dest: str
    generation: int | None
    counts: dict[str, int]
    seconds: float
    skipped: dict[str, dict[str, Any]] = field(default_factory=dict)  # Generation.skipped
    quarantine: tuple[dict[str, str], ...] = ()  # what this run refused (Generation.quarantine)

    def summary(self, named: int = 20) -> str:
        """The counts, what --lenient skipped, and the first ``named`` refused frames."""
        c = self.counts
        if self.status == "up-to-date":
            return f"ingest: {self.dest} is up to date ({c.get('tracklets', 0)} tracklets)"
        rate = c["bytes"] / MIB / self.seconds if self.seconds else 0.0
        line = (f"ingest {self.status} {self.dest} generation {self.generation}: "
                f"{c['tracklets']} tracklets, {c['frames']} frames, {c['bytes'] / MIB:.1f} MiB "
                f"in {c['shards']} shards, {c['quarantined_frames']} frames quarantined, "
                f"{c['dropped_tracklets']} tracklets dropped (no valid frame), "
                f"{self.seconds:.1f} s ({c['frames'] / self.seconds:.0f} frames/s, "
                f"{rate:.1f} MiB/s)")
        if self.skipped:
            line += "\nskipped by --lenient: " + "; ".join(
                _skipped_text(split, s) for split, s in sorted(self.skipped.items()))
        for q in self.quarantine[:named]:
            line += f"\n  quarantined {q['frame'] or q['tracklet_id']}: {q['reason']}"
        if len(self.quarantine) > named:
            line += (f"\n  ... and {len(self.quarantine) - named} more "
                     f"(all in {self.dest}/{MANIFEST})")
        return line


def _skipped_text(split: str, skipped: dict[str, Any]) -> str:
    counts = f"{skipped['tracklets']} tracklets, {skipped['frames']} frames"
    if skipped.get("cause"):
        return f"{split} split dropped ({counts}): {skipped['cause']}"
    return f"{split}: {counts} (see the manifest's problems)"


# ---- driver --------------------------------------------------------------------------------

def plan_for(config: IngestConfig) -> SourcePlan:
    """The plan of ``config``'s source (``ingest.source``), as this ingest would pack it."""
    config.check()
    return plan_source(config.source, strict=config.strict, ids_per_group=config.ids_per_group,
                       allow_missing_split=config.allow_missing_split)


def run_ingest(sc: SparkContext, config: IngestConfig, planned: SourcePlan | None = None,
               ) -> IngestResult:
    """Run one ingest with an existing SparkContext (see the module docstring); ``planned``
    is :func:`plan_for` of ``config`` when the caller planned before starting Spark. The ingest
    uses RDDs only, so it needs no SparkSession, whose start-up would lengthen every
    spark-submit."""
    began = time.monotonic()
    config.check()
    fs, dest = resolve(config.dest)
    source = config.source
    planned = planned or plan_for(config)
    plan, skipped = planned.tracklets, planned.skipped
    print_ = functools.partial(print, flush=True)
    with Lease(fs, dest) as lease:  # also removes staging that dead ingests left here
        existing = read_manifest(fs, dest)
        mode = "replace" if config.replace and existing is not None else "create"
        if existing is not None and config.append:
            plan = _new_tracklets(sc, config, fs, dest, existing, planned)
            mode = "append"
        elif existing is not None and not config.replace:
            if _unchanged(sc, config, fs, dest, existing, planned):
                plan = []
            else:
                mode = "replace"
        if not plan:
            return _up_to_date(config, existing, began)

        number = len(existing.generations) if mode == "append" and existing else 0
        print_(f"ingest: packing {len(plan)} tracklets into {fs.location(lease.staging)} "
               f"(generation {number})")
        shards, rows, quarantine, contents = _pack(sc, config, plan, planned,
                                                   fs.location(lease.staging), number)
        counts = {"tracklets": len(rows), "frames": sum(r["num_frames"] for r in rows),
                  "bytes": sum(s.bytes for s in shards), "shards": len(shards),
                  "quarantined_frames": sum(1 for q in quarantine if q["frame"]),
                  "dropped_tracklets": sum(1 for q in quarantine if not q["frame"]),
                  "skipped_tracklets": sum(s["tracklets"] for s in skipped.values()),
                  "skipped_frames": sum(s["frames"] for s in skipped.values())}
        index_rel = f"{INDEX_DIR}/batch-{number:03d}.parquet"
        table = index_table(rows)
        buffer = io.BytesIO()
        pq.write_table(table, buffer, compression="zstd")
        fs.write_file(f"{lease.staging}/{index_rel}", buffer.getvalue(),
                      replication=config.replication)
        generation = Generation(
            number=number, source=source, fingerprint=fingerprint(plan, contents),
            plan=plan_digest(plan), created=datetime.now(UTC).isoformat(timespec="seconds"),
            params={k: v for k, v in asdict(config).items() if k not in ("source", "dest")},
            versions=_versions(sc), counts=counts, index=index_rel, shards=shards,
            quarantine=quarantine, problems=planned.problems, skipped=skipped)
        generations = [*existing.generations, generation] if mode == "append" and existing \
            else [generation]
        manifest = Manifest(name=basename(dest), generations=generations)
        lease.check()
        status = _commit(fs, lease, dest, manifest, mode)
    return IngestResult(status, config.dest, number, counts, time.monotonic() - began, skipped,
                        tuple(quarantine))


def _stored_contents(fs: FileSystem, dest: str, manifest: Manifest) -> dict[str, str | None]:
    """Content digest of every tracklet the dataset holds (None: an index from before digests)."""
    contents: dict[str, str | None] = {}
    for part in manifest.index_parts:
        data = io.BytesIO(fs.read_file(f"{dest}/{part}"))
        columns = [c for c in ("tracklet_id", "content")
                   if c in pq.ParquetFile(data).schema_arrow.names]
        table = pq.read_table(data, columns=columns)
        ids = table.column("tracklet_id").to_pylist()
        digests = table.column("content").to_pylist() if "content" in columns else [None] * len(ids)
        contents.update(zip(ids, digests, strict=True))
    return contents


def _changed(stored: dict[str, str | None], current: dict[str, str]) -> list[str]:
    return sorted(t for t, digest in current.items() if t in stored and stored[t] != digest)


def _new_tracklets(sc: SparkContext, config: IngestConfig, fs: FileSystem, dest: str,
                   existing: Manifest, planned: SourcePlan) -> list[TrackletToPack]:
    """``--append``: the tracklets the dataset does not have yet. Those it has must have the
    same content in the source; appending never rewrites what is there."""
    plan = planned.tracklets
    stored = _stored_contents(fs, dest, existing)
    shared = [t for t in plan if t.tracklet_id in stored]
    changed = _changed(stored, _contents(sc, config, shared, planned))
    if changed:
        raise IngestError(
            f"{config.dest} holds different content for {len(changed)} of the {len(shared)} "
            f"tracklets it shares with {config.source} (e.g. {', '.join(changed[:3])}); "
            "--append only adds tracklets: pass --replace to rebuild the dataset")
    return [t for t in plan if t.tracklet_id not in stored]


def _unchanged(sc: SparkContext, config: IngestConfig, fs: FileSystem, dest: str,
               existing: Manifest, planned: SourcePlan) -> bool:
    """A plain re-run over an existing dataset: True if it holds exactly this plan and content
    (nothing to do), False if it is this source's dataset whose frames changed since (rebuild
    it); any other dataset is refused. Compares content, read from the source and digested
    by Spark tasks."""
    plan, source = planned.tracklets, planned.source
    contents = _contents(sc, config, plan, planned)
    [first, *later] = existing.generations
    if not later and first.fingerprint == fingerprint(plan, contents):
        return True
    sources = sorted({g.source for g in existing.generations})
    if not later and first.plan == plan_digest(plan) and first.source == source:
        changed = _changed(_stored_contents(fs, dest, existing), contents)
        print(f"ingest: the frames of {len(changed)} tracklets of {config.source} changed "
              f"since {config.dest} was ingested (e.g. {', '.join(changed[:3])}): rebuilding it",
              flush=True)
        return False
    if later or first.plan != plan_digest(plan):
        why = f"other tracklets than {config.source} lists"
    else:
        why = f"the same tracklets with other frame content than {config.source}"
    raise IngestError(
        f"{config.dest} already holds a different dataset ({why}; ingested from "
        f"{', '.join(sources)}); pass --append to add the new tracklets or --replace to "
        f"rebuild it from {config.source}")


def _up_to_date(config: IngestConfig, existing: Manifest | None, began: float) -> IngestResult:
    counts = existing.totals() if existing is not None else {}
    return IngestResult("up-to-date", config.dest, None, counts, time.monotonic() - began)


def _contents(sc: SparkContext, config: IngestConfig, plan: list[TrackletToPack],
              planned: SourcePlan) -> dict[str, str]:
    """Content digest of each tracklet of ``plan``, its frames read where the packer would
    read them (one Spark task per bin, as in :func:`_pack`)."""
    if not plan:
        return {}
    bins = balanced_bins(plan, planned.sizes, config.partitions or sc.defaultParallelism * 2)
    digest = functools.partial(_digest_partition, source=planned.frames)
    return dict(sc.parallelize(bins, len(bins)).mapPartitions(digest).collect())


def _pack(sc: SparkContext, config: IngestConfig, plan: list[TrackletToPack],
          planned: SourcePlan, staging_url: str, generation: int,
          ) -> tuple[list[ShardInfo], list[dict[str, Any]], list[dict[str, str]],
                     dict[str, str]]:
    """One Spark task per bin of identity groups, bins balanced by source bytes. Returns the
    shards, index rows, quarantine records and every planned tracklet's content digest."""
    partitions = config.partitions or sc.defaultParallelism * 2
    bins = balanced_bins(plan, planned.sizes, partitions)
    packer = functools.partial(_pack_partition, source=planned.frames,
                               staging_url=staging_url, generation=generation,
                               shard_size=config.shard_size, replication=config.replication,
                               block_size=config.block_size)
    results = sc.parallelize(bins, len(bins)).mapPartitions(packer).collect()
    shards = [ShardInfo(**item) for kind, item in results if kind == "shard"]
    rows = [item for kind, item in results if kind == "row"]
    quarantine = sorted((item for kind, item in results if kind == "quarantine"),
                        key=lambda q: (q["tracklet_id"], q["frame"]))
    contents = {item["tracklet_id"]: item["digest"] for kind, item in results
                if kind == "content"}
    return sorted(shards, key=lambda s: s.path), rows, quarantine, contents


def balanced_bins(plan: list[TrackletToPack], sizes: dict[str, int], count: int,
                  ) -> list[list[list[TrackletToPack]]]:
    """Identity groups (each a list of tracklets in tracklet order) dealt into at most ``count``
    bins of nearly equal source bytes, largest group first (LPT). The plan is metadata the
    driver already holds, so grouping it here costs nothing, where a Spark repartition + sort
    of it cost a shuffle and a large share of the job."""
    groups: dict[str, list[TrackletToPack]] = {}
    for tracklet in sorted(plan, key=lambda t: t.tracklet_id):
        groups.setdefault(tracklet.group, []).append(tracklet)
    weight = {g: sum(sizes.get(f, 0) for t in ts for f in t.frames) for g, ts in groups.items()}
    bins: list[list[list[TrackletToPack]]] = [[] for _ in range(min(count, len(groups)))]
    loads = [0] * len(bins)
    for group in sorted(groups, key=lambda g: (-weight[g], g)):
        lightest = loads.index(min(loads))
        bins[lightest].append(groups[group])
        loads[lightest] += weight[group]
    return bins


def quarantine_path(generation: int, item: Quarantined) -> str:
    """Where a refused frame's bytes are kept: ``quarantine/b<gen>-<tracklet>-<frame name>``,
    both parts percent-encoded. Unique per tracklet and frame (a manifest's tracklets may all
    call their first frame ``000001.jpg``) and a valid HDFS name (no ``/`` or ``:``)."""
    tracklet = urllib.parse.quote(item.tracklet_id, safe="._")
    name = urllib.parse.quote(basename(item.frame), safe="._")
    return f"{QUARANTINE_DIR}/b{generation:03d}-{tracklet}-{name}"


def _versions(sc: SparkContext) -> dict[str, str]:
    return {"spark": str(sc.version), "python": platform.python_version(),
            "pyarrow": pa.__version__, "format": "1"}


def _commit(fs: FileSystem, lease: Lease, dest: str, manifest: Manifest, mode: str) -> str:
    """Publish the staged generation: ``mode`` "create", "replace" or "append"."""
    staging = lease.staging
    if mode == "append":
        for shard in manifest.generations[-1].shards:
            fs.mkdirs(f"{dest}/{dirname(shard.path)}")
            fs.rename(f"{staging}/{shard.path}", f"{dest}/{shard.path}")
        index = manifest.generations[-1].index
        fs.mkdirs(f"{dest}/{INDEX_DIR}")
        fs.rename(f"{staging}/{index}", f"{dest}/{index}")
        if fs.exists(f"{staging}/{QUARANTINE_DIR}"):
            fs.mkdirs(f"{dest}/{QUARANTINE_DIR}")
            for status in fs.list(f"{staging}/{QUARANTINE_DIR}"):
                name = basename(status.path)
                fs.rename(f"{staging}/{QUARANTINE_DIR}/{name}", f"{dest}/{QUARANTINE_DIR}/{name}")
        write_manifest(fs, dest, manifest)  # the commit point of an append
        return "appended"
    write_manifest(fs, staging, manifest)
    fs.mkdirs(dirname(dest))
    if mode == "create":
        fs.rename(staging, dest)
        return "created"
    # Parked under the lease's token: should this process die between the two renames, the
    # next cleanup of the staging area moves the old dataset back (see ingest.staging).
    fs.rename(dest, lease.parked)
    fs.rename(staging, dest)
    fs.delete(lease.parked, recursive=True)
    return "replaced"


# ---- executors -----------------------------------------------------------------------------

def _digest_partition(bins: Iterable[list[list[TrackletToPack]]], *, source: FrameSource,
                      ) -> Iterator[tuple[str, str]]:
    """(tracklet id, content digest) of every tracklet of one bin."""
    for bin_ in bins:
        for members in bin_:
            for t in members:
                yield t.tracklet_id, content_digest([source.read(frame) for frame in t.frames])


def _pack_partition(bins: Iterable[list[list[TrackletToPack]]], *, source: FrameSource,
                    staging_url: str, generation: int, shard_size: int, replication: int,
                    block_size: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """Pack the groups of one bin; yields ("shard"|"row"|"quarantine"|"content", record)."""
    fs, staging = resolve(staging_url)
    contents: dict[str, str] = {}

    def read(t: TrackletToPack) -> tuple[TrackletToPack, list[bytes | None]]:
        frames = [source.read(frame) for frame in t.frames]
        contents[t.tracklet_id] = content_digest(frames)
        return t, frames

    groups = (members for bin_ in bins for members in bin_)
    # One shard is written (the DataNode pipeline's acknowledgements awaited) while the next is
    # read and checked; at most two shards are held per task. A failed write fails the task.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="shard-writer") as writer:
        writing: Future[int] | None = None
        for members in groups:
            group = members[0].group
            quarantine: list[Quarantined] = []
            tracklets = (read(t) for t in members)
            for shard in pack_group(group, generation, tracklets, shard_size, quarantine):
                digest = hashlib.sha256()
                for chunk in shard.chunks:
                    digest.update(chunk)
                if writing is not None:
                    writing.result()
                writing = writer.submit(fs.write_file, f"{staging}/{shard.path}", shard.chunks,
                                        replication=replication, block_size=block_size)
                yield "shard", {"path": shard.path, "bytes": shard.size,
                                "sha256": digest.hexdigest(), "tracklets": len(shard.rows)}
                for row in shard.rows:
                    yield "row", {**row, "content": contents[str(row["tracklet_id"])]}
            for item in quarantine:
                if item.data:  # keep refused bytes aside for inspection
                    fs.write_file(f"{staging}/{quarantine_path(generation, item)}",
                                  item.data, replication=replication, overwrite=True)
                yield "quarantine", item.record()
            for tracklet_id, content in contents.items():
                yield "content", {"tracklet_id": tracklet_id, "digest": content}
            contents.clear()
        if writing is not None:
            writing.result()
