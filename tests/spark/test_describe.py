"""ingest.describe against a dataset the real Spark ingest wrote into the real cluster."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from hadoop.blocks import block_locations
from hadoop.cli import run
from hadoop.cluster import LocalCluster
from hadoop.fs import resolve
from ingest import describe, mars
from ingest.dataset import open_dataset

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def test_describe_counts_what_the_source_holds(small_dataset: str, small_mars: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert run(describe.main, [small_dataset, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    summary = mars.read_mars(small_mars).summary()
    for split in ("train", "test", "all"):
        counts, expected = doc["splits"][split], summary[split]  # type: ignore[literal-required]
        for key in ("identities", "tracklets", "frames", "query_tracklets",
                    "gallery_tracklets", "distractor_tracklets", "junk_tracklets"):
            assert counts[key] == expected[key], (split, key)
    tracklets = mars.read_mars(small_mars).tracklets
    assert doc["splits"]["all"]["cameras"] == sorted({t.camid for t in tracklets})
    [generation] = doc["generations"]
    assert generation["source"] == str(small_mars)
    assert generation["tracklets"] == len(tracklets)


def test_describe_asks_the_namenode_where_the_shards_are(small_dataset: str) -> None:
    doc = describe.describe(small_dataset)
    data = open_dataset(small_dataset)
    shards = data.manifest.generations[0].shards
    assert doc["shards"] == {"files": len(shards), "bytes": sum(s.bytes for s in shards)}
    placement = doc["placement"]
    blocks = [b for s in shards for b in block_locations(f"{data.root}/{s.path}")]
    assert placement["replication"] == {3: len(shards)}
    assert placement["blocks"] == len(blocks) > 0
    assert placement["replicas_per_block"] == {3: len(blocks)}
    assert placement["racks_per_block"] == dict(Counter(len(b.racks) for b in blocks))
    assert min(placement["racks_per_block"]) >= 2
    assert placement["replicas_by_rack"] == dict(
        Counter(r.rack for b in blocks for r in b.replicas))
    assert sum(placement["replicas_by_rack"].values()) == 3 * len(blocks)
    assert placement["under_replicated_blocks"] == placement["corrupt_blocks"] == 0
    # a group's home rack: where most of its blocks keep most of their replicas
    assert sum(placement["groups_by_home_rack"].values()) == doc["groups"]
    homes: dict[str, Counter[str]] = {}
    for shard in shards:
        for block in block_locations(f"{data.root}/{shard.path}"):
            rack, _ = Counter(r.rack for r in block.replicas).most_common(1)[0]
            homes.setdefault(shard.path.split("/")[1], Counter())[rack] += 1
    assert placement["groups_by_home_rack"] == dict(
        Counter(racks.most_common(1)[0][0] for racks in homes.values()))


def test_describe_text_and_a_missing_dataset(cluster: LocalCluster, small_dataset: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert run(describe.main, [small_dataset]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"dataset {small_dataset}\n")
    assert "replication: " in out
    assert "generations: 1\n  0  " in out
    missing = f"{cluster.namenode_url}/reid/no-such-dataset"
    assert run(describe.main, [missing]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: no dataset at {missing}")
    assert err.count("\n") == 1
    fs, _ = resolve(missing)
    assert not fs.exists("/reid/no-such-dataset")
