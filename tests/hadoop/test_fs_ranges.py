"""Merging nearby byte ranges into fewer reads."""

from __future__ import annotations

import random

import pytest

from hadoop.fs.ranges import ByteRange, coalesce


def test_ranges_within_the_gap_share_a_read_and_farther_ones_do_not() -> None:
    ranges = [ByteRange("/a", 0, 100), ByteRange("/a", 150, 200), ByteRange("/a", 300, 400)]
    assert coalesce(ranges, max_gap=50) == [(ByteRange("/a", 0, 200), [0, 1]),
                                            (ByteRange("/a", 300, 400), [2])]
    assert coalesce(ranges, max_gap=100) == [(ByteRange("/a", 0, 400), [0, 1, 2])]


def test_ranges_of_different_files_never_merge() -> None:
    reads = coalesce([ByteRange("/b", 0, 10), ByteRange("/a", 0, 10)], max_gap=1 << 20)
    assert reads == [(ByteRange("/a", 0, 10), [1]), (ByteRange("/b", 0, 10), [0])]


def test_overlapping_and_repeated_ranges_merge_even_with_no_gap_allowed() -> None:
    ranges = [ByteRange("/a", 50, 120), ByteRange("/a", 0, 100), ByteRange("/a", 0, 100)]
    assert coalesce(ranges, max_gap=0) == [(ByteRange("/a", 0, 120), [1, 2, 0])]


def test_a_read_stops_growing_at_max_length_but_takes_ranges_inside_it() -> None:
    ranges = [ByteRange("/a", 0, 100), ByteRange("/a", 20, 30), ByteRange("/a", 100, 180)]
    assert coalesce(ranges, max_gap=10, max_length=150) == [
        (ByteRange("/a", 0, 100), [0, 1]), (ByteRange("/a", 100, 180), [2])]
    # one range longer than the limit is still one read
    assert coalesce([ByteRange("/a", 0, 500)], max_length=150) == [(ByteRange("/a", 0, 500), [0])]


def test_every_range_is_served_once_by_a_read_that_covers_it() -> None:
    rng = random.Random(7)
    ranges = []
    for _ in range(300):
        start = rng.randrange(0, 1 << 20)
        ranges.append(ByteRange(rng.choice(["/x", "/y", "/z"]), start,
                                start + rng.randrange(1, 64 << 10)))
    reads = coalesce(ranges, max_gap=16 << 10, max_length=256 << 10)
    served = sorted(i for _, members in reads for i in members)
    assert served == list(range(len(ranges)))
    for read, members in reads:
        for i in members:
            assert read.path == ranges[i].path
            assert read.start <= ranges[i].start
            assert ranges[i].end <= read.end
        assert read.length <= max(256 << 10, *(ranges[i].length for i in members))
    assert len(reads) < len(ranges)


def test_bad_ranges_and_limits_are_refused() -> None:
    with pytest.raises(ValueError, match=r"\[10, 5\) of /a"):
        ByteRange("/a", 10, 5)
    with pytest.raises(ValueError, match="max_gap"):
        coalesce([], max_gap=-1)
