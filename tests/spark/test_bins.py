"""How the ingest deals identity groups to Spark tasks (pure planning, no Spark needed)."""

from __future__ import annotations

import random

from ingest.shards import TrackletToPack
from ingest.spark_ingest import balanced_bins


def plan_of(groups: int, seed: int) -> tuple[list[TrackletToPack], dict[str, int]]:
    rng = random.Random(seed)
    plan, sizes = [], {}
    for g in range(groups):
        for t in range(rng.randint(1, 6)):
            frames = tuple(f"g{g}/t{t}/f{i}.jpg" for i in range(rng.randint(1, 40)))
            sizes.update({f: rng.randint(3000, 9000) for f in frames})
            plan.append(TrackletToPack(f"{g:03d}{t:02d}", g, 1, "train", "none", f"grp{g}",
                                        frames))
    rng.shuffle(plan)
    return plan, sizes


def test_every_group_lands_whole_in_one_bin_in_tracklet_order() -> None:
    plan, sizes = plan_of(40, seed=1)
    bins = balanced_bins(plan, sizes, 4)
    groups = [group for b in bins for group in b]
    assert sorted(t.tracklet_id for g in groups for t in g) == sorted(t.tracklet_id for t in plan)
    for group in groups:
        assert len({t.group for t in group}) == 1
        assert [t.tracklet_id for t in group] == sorted(t.tracklet_id for t in group)
    assert len({group[0].group for group in groups}) == len(groups)  # no group split


def test_bins_carry_nearly_equal_bytes() -> None:
    plan, sizes = plan_of(60, seed=2)
    bins = balanced_bins(plan, sizes, 4)
    loads = [sum(sizes[f] for g in b for t in g for f in t.frames) for b in bins]
    largest_group = max(sum(sizes[f] for t in g for f in t.frames) for b in bins for g in b)
    assert max(loads) - min(loads) <= largest_group  # LPT's guarantee


def test_fewer_groups_than_bins_makes_no_empty_task() -> None:
    plan, sizes = plan_of(3, seed=3)
    bins = balanced_bins(plan, sizes, 8)
    assert len(bins) == 3
    assert all(bins)
