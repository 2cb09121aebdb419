"""What an ingested dataset holds and where its shards live.

``python -m ingest.describe hdfs://host:port/reid/<name> [--json]`` prints, from the dataset's
own manifest and index (exactly what training reads, ``ingest.dataset``): identities, tracklets
and frames per split, queries and gallery, the cameras; the shards' count and bytes; and, asked
of the NameNode (``hadoop.blocks``: one block-location request per shard), each shard's
replication factor, its blocks' live replicas and the racks they sit on, and each identity
group's home rack (the placement policy keeps two of three replicas there); then the ingest
generations (when, from which source, what each added, quarantined or skipped). A local dataset
directory is described too, without the replica part.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from typing import Any

import pyarrow.compute as pc

from hadoop.blocks import block_locations
from hadoop.cli import ArgumentParser, entry_point
from hadoop.fs import is_hdfs, resolve
from hadoop.siteconf import namenode_webs
from ingest.dataset import ShardedDataset, open_dataset
from ingest.mars import DISTRACTOR_PID, JUNK_PID

MIB = 1 << 20


def split_counts(data: ShardedDataset) -> dict[str, dict[str, Any]]:
    """Identities (real ones: pid >= 1), tracklets, frames, roles and cameras per split and
    over the whole dataset."""
    table = data.table
    out: dict[str, dict[str, Any]] = {}
    for split in ("train", "test", "all"):
        rows = table if split == "all" else table.filter(pc.equal(table["split"], split))
        pids = rows["pid"].to_pylist()
        roles = Counter(rows["role"].to_pylist())
        out[split] = {
            "identities": len({p for p in pids if p >= 1}),
            "tracklets": rows.num_rows,
            "frames": int(pc.sum(rows["num_frames"]).as_py() or 0),
            "query_tracklets": roles["query"],
            "gallery_tracklets": roles["gallery"],
            "distractor_tracklets": pids.count(DISTRACTOR_PID),
            "junk_tracklets": pids.count(JUNK_PID),
            "cameras": sorted(set(rows["camid"].to_pylist())),
        }
    return out


def shard_placement(data: ShardedDataset, url: str) -> dict[str, Any]:
    """Replication factors, blocks, live replicas and racks of every shard (HDFS only)."""
    fs, _ = resolve(url)
    web = namenode_webs(url)  # a nameservice's: whichever NameNode is active
    factors: Counter[int] = Counter()
    replicas_per_block: Counter[int] = Counter()
    racks_per_block: Counter[int] = Counter()
    replicas_by_rack: Counter[str] = Counter()
    group_racks: dict[str, Counter[str]] = {}  # group -> rack of each block's most replicas
    blocks = corrupt = under = 0
    for generation in data.manifest.generations:
        for shard in generation.shards:
            path = f"{data.root}/{shard.path}"
            factor = fs.status(path).replication
            factors[factor] += 1
            for block in block_locations(path, web):
                blocks += 1
                corrupt += block.corrupt
                under += len(block.replicas) < factor
                replicas_per_block[len(block.replicas)] += 1
                racks_per_block[len(block.racks)] += 1
                on_rack = Counter(r.rack for r in block.replicas)
                replicas_by_rack.update(on_rack)
                if on_rack:
                    group = shard.path.split("/")[1]  # shards/<group>/<file>
                    group_racks.setdefault(group, Counter())[on_rack.most_common(1)[0][0]] += 1
    home_racks = Counter(racks.most_common(1)[0][0] for racks in group_racks.values())
    return {"replication": dict(sorted(factors.items())), "blocks": blocks,
            "replicas_per_block": dict(sorted(replicas_per_block.items())),
            "racks_per_block": dict(sorted(racks_per_block.items())),
            "replicas_by_rack": dict(sorted(replicas_by_rack.items())),
            "groups_by_home_rack": dict(sorted(home_racks.items())),
            "under_replicated_blocks": under, "corrupt_blocks": corrupt}


def describe(url: str) -> dict[str, Any]:
    """Everything :func:`main` prints, as one JSON-ready document."""
    data = open_dataset(url)
    manifest = data.manifest
    shards = [s for g in manifest.generations for s in g.shards]
    doc: dict[str, Any] = {
        "dataset": url, "name": manifest.name,
        "splits": split_counts(data),
        "groups": len(set(data.table["group"].to_pylist())),
        "shards": {"files": len(shards), "bytes": sum(s.bytes for s in shards)},
        "generations": [
            {"number": g.number, "created": g.created, "source": g.source,
             "tracklets": g.counts.get("tracklets", 0), "frames": g.counts.get("frames", 0),
             "shards": g.counts.get("shards", 0), "bytes": g.counts.get("bytes", 0),
             "quarantined_frames": g.counts.get("quarantined_frames", 0),
             "dropped_tracklets": g.counts.get("dropped_tracklets", 0),
             "skipped": g.skipped}
            for g in manifest.generations],
    }
    if is_hdfs(url):
        doc["placement"] = shard_placement(data, url)
    return doc


def _spread(counts: dict[Any, int], unit: str) -> str:
    return ", ".join(f"{n} with {k} {unit}" for k, n in counts.items()) or "none"


def format_text(doc: dict[str, Any]) -> list[str]:
    splits = doc["splits"]
    lines = [f"dataset {doc['dataset']}", f"{'':24s}{'train':>10s}{'test':>10s}{'all':>10s}"]
    for key, label in (("identities", "identities (pid >= 1)"), ("tracklets", "tracklets"),
                       ("frames", "frames"), ("query_tracklets", "query tracklets"),
                       ("gallery_tracklets", "gallery tracklets"),
                       ("distractor_tracklets", "distractors (pid 0)"),
                       ("junk_tracklets", "junk (pid -1)")):
        lines.append(f"{label:24s}" + "".join(f"{splits[s][key]:10d}"
                                              for s in ("train", "test", "all")))
    for split in ("train", "test"):
        cameras = splits[split]["cameras"]
        lines.append(f"cameras ({split}): {len(cameras)}: "
                     f"{', '.join(str(c) for c in cameras) or 'none'}")
    shards = doc["shards"]
    lines.append(f"shards: {shards['files']} files, {shards['bytes'] / MIB:.1f} MiB, "
                 f"{doc['groups']} identity groups")
    placement = doc.get("placement")
    if placement is not None:
        factors = ", ".join(f"{n} shards at {k}" for k, n in placement["replication"].items())
        lines.append(f"replication: {factors or 'no shards'}")
        lines.append(f"blocks: {placement['blocks']}; live replicas: "
                     f"{_spread(placement['replicas_per_block'], 'replicas')}; racks: "
                     f"{_spread(placement['racks_per_block'], 'racks')}")
        lines.append("replicas per rack: " + (", ".join(
            f"{rack} {n}" for rack, n in placement["replicas_by_rack"].items()) or "none"))
        lines.append("identity groups per home rack (most replicas): " + (", ".join(
            f"{rack} {n}" for rack, n in placement["groups_by_home_rack"].items()) or "none"))
        lines.append(f"under-replicated blocks: {placement['under_replicated_blocks']}, "
                     f"corrupt blocks: {placement['corrupt_blocks']}")
    lines.append(f"generations: {len(doc['generations'])}")
    for g in doc["generations"]:
        line = (f"  {g['number']}  {g['created']}  {g['source']}: {g['tracklets']} tracklets, "
                f"{g['frames']} frames, {g['shards']} shards, {g['bytes'] / MIB:.1f} MiB, "
                f"{g['quarantined_frames']} frames quarantined, {g['dropped_tracklets']} "
                "tracklets dropped")
        for split, skipped in sorted(g["skipped"].items()):
            line += (f"; --lenient skipped {skipped['tracklets']} {split} tracklets "
                     f"({skipped['frames']} frames)")
        lines.append(line)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m ingest.describe", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", metavar="URL",
                        help="an ingested dataset: hdfs://host:port/reid/<name> (or a local "
                             "directory)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    doc = describe(args.dataset)
    print(json.dumps(doc, indent=2) if args.json else "\n".join(format_text(doc)))
    return 0


cli = entry_point(main)

if __name__ == "__main__":
    cli()
