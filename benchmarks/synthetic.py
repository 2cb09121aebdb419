"""How fast the MARS-format generator writes frames, how fast the reader checks a MARS-size
name list, and how a generated set's statistics compare with MARS's.

    .venv/bin/python benchmarks/synthetic.py [--quick] [--ids N] [--workers N]
                                             [--mars-info DIR]

Frames per second are wall-clock, JPEG encoding and file writes included; frames per CPU-second
(all processes) says what the code costs when other jobs share the machine. ``--mars-info``
names a directory with MARS's real ``tracks_train_info.mat``, ``tracks_test_info.mat`` and
``query_IDX.mat``: their name lists are rebuilt (MARS's naming rules) and read by the same
reader, for a statistics table next to the generated set's. The last line is
``RESULT frames_per_s=... frames_per_cpu_s=... ...``.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import scipy.io

from hadoop.cli import ArgumentParser, int_in, non_negative_int, run
from ingest import mars, mars_stats
from ingest.mars import DatasetSummary, read_mars
from ingest.synthetic import SyntheticConfig, generate, make_plan


def _cpu_seconds() -> float:
    """User + system time of this process and its finished children (the render workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _mars_names(info: Path, out: Path) -> None:
    """MARS's info files in ``info`` rewritten with the name lists their rows imply."""
    names = {}
    for split in mars.SPLITS:
        file = Path(mars.INFO_FILES[split]).name
        rows = scipy.io.loadmat(info / file)[mars.INFO_VARIABLES[split]]
        names[split] = mars.tracklet_names([(int(pid), int(cam), int(end - start + 1))
                                            for start, end, pid, cam in rows])
    queries = scipy.io.loadmat(info / Path(mars.QUERY_FILE).name)[mars.QUERY_VARIABLE]
    mars.write_info(out, names, queries.ravel().tolist())


def _mars_sized_plan(out: Path) -> None:
    """Name lists of a generator plan as large as MARS, with MARS's lengths uncapped."""
    plan = make_plan(SyntheticConfig(ids=1261, mean_len=mars_stats.MEAN_LENGTH, max_len=920,
                                     max_tracklets_per_camera=0))
    names = {s: mars.tracklet_names([(t.pid, t.camid, t.length) for t in plan.tracklets[s]])
             for s in mars.SPLITS}
    mars.write_info(out, names, plan.query_rows)


_ROWS = (
    ("identities", "identities (pid > 0)", "all"),
    ("tracklets", "tracklets", "all"),
    ("frames", "frames", "all"),
    ("mean_length", "mean tracklet length", "all"),
    ("median_length", "median tracklet length", "all"),
    ("max_length", "max tracklet length", "all"),
    ("cameras_per_identity", "cameras per identity", "all"),
    ("tracklets", "test tracklets", "test"),
    ("distractor_tracklets", "distractor tracklets (pid 0)", "test"),
    ("junk_tracklets", "junk tracklets (pid -1)", "test"),
    ("query_tracklets", "query tracklets", "test"),
)


def _table(columns: Mapping[str, DatasetSummary]) -> None:
    print(f"{'':30s}" + "".join(f"{name:>22s}" for name in columns))
    for key, label, split in _ROWS:
        cells = []
        for summary in columns.values():
            splits: dict[str, Mapping[str, object]] = {"all": summary["all"],
                                                       "test": summary["test"]}
            value = splits[split][key]
            cells.append(f"{value:22.2f}" if isinstance(value, float) else f"{value:22d}")
        print(f"{label:30s}{''.join(cells)}")


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="40 identities instead of 80")
    parser.add_argument("--ids", type=int_in(2, 9999),
                        help="identities to generate (overrides --quick)")
    parser.add_argument("--workers", type=non_negative_int, default=0, help="0: one per CPU")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--mars-info", type=Path, help="folder with MARS's three .mat files")
    args = parser.parse_args(argv)
    config = SyntheticConfig(ids=args.ids or (40 if args.quick else 80), seed=args.seed,
                             workers=args.workers)

    with tempfile.TemporaryDirectory(prefix="bench-synthetic-") as scratch:
        tree = Path(scratch) / "mars"
        cpu_before, started = _cpu_seconds(), time.perf_counter()
        result = generate(tree, config)
        wall, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_before
        size = sum(p.stat().st_size for p in tree.rglob("*.jpg"))
        print(f"generated {result.frames} frames ({result.tracklets} tracklets, {config.ids} "
              f"identities) in {wall:.1f} s wall, {cpu:.1f} s CPU")
        print(f"  {result.frames / wall:.0f} frames/s, {result.frames / cpu:.0f} frames per "
              f"CPU-second, {size / result.frames / 1024:.1f} KiB per frame")

        started = time.perf_counter()
        generated = read_mars(tree, strict=True, files="read").summary()
        read_frames_s = time.perf_counter() - started
        print(f"strict read, every frame opened: {read_frames_s:.2f} s")

        columns: dict[str, DatasetSummary] = {}
        if args.mars_info is not None:
            _mars_names(args.mars_info, Path(scratch) / "real")
            columns["MARS (real .mat)"] = read_mars(Path(scratch) / "real", files="none").summary()
        _mars_sized_plan(Path(scratch) / "plan")
        started = time.perf_counter()
        columns["MARS-size plan"] = read_mars(Path(scratch) / "plan", files="none").summary()
        read_names_s = time.perf_counter() - started
        print(f"strict read of MARS-size name lists and .mat files: {read_names_s:.2f} s")
        columns[f"generated ({config.ids} ids)"] = generated
        print()
        _table(columns)
        shutil.rmtree(tree)

    print(f"RESULT frames_per_s={result.frames / wall:.0f} frames_per_cpu_s="
          f"{result.frames / cpu:.0f} kib_per_frame={size / result.frames / 1024:.1f} "
          f"frames={result.frames} read_mars_size_s={read_names_s:.2f} "
          f"workers={config.workers or 'all'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run(main))
