"""The ingest's frame check on one core: frames per second, and what it costs for all of MARS.

Why: the ingest decodes every frame it accepts (``ingest.frame_check.frame_problem``) so that a
frame that cannot decode is quarantined instead of ending a training run later. This times that
check on one core against a full-size decode (what the loader does per sampled frame), on
generated MARS-format frames or on a real tree (``--source``), and estimates the check's cost
for MARS's 1.19 M frames on one core and on four (Spark runs one task per core).

    .venv/bin/python -m benchmarks.frame_check [--source /path/to/MARS] [--frames 2000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import simplejpeg

from hadoop import cli
from hadoop.cli import ArgumentParser, positive_float, positive_int
from ingest import mars_stats
from ingest.frame_check import frame_problem
from ingest.synthetic import SyntheticConfig, generate


def frames_per_s(run: Callable[[bytes], object], frames: Sequence[bytes], seconds: float) -> float:
    began, done = time.perf_counter(), 0
    while time.perf_counter() - began < seconds:
        for data in frames:
            run(data)
        done += len(frames)
    return done / (time.perf_counter() - began)


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, help="a MARS tree (default: generate 20 ids)")
    parser.add_argument("--frames", type=positive_int, default=2000, help="frames to time on")
    parser.add_argument("--seconds", type=positive_float, default=3.0, help="per timing, best of 3")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-frame-check-") as scratch:
        root = args.source
        if root is None:
            root = Path(scratch) / "mars"
            generate(root, SyntheticConfig(ids=20, seed=0, workers=1))
        frames = [p.read_bytes() for p in sorted(root.glob("bbox_*/*/*.jpg"))[:args.frames]]
    if not frames:
        parser.error(f"--source {args.source}: no bbox_*/*/*.jpg frames under it")
    if any(frame_problem(data) for data in frames):
        parser.error("some frames fail the check; time it on good frames")
    full = lambda data: simplejpeg.decode_jpeg(data, colorspace="RGB")  # noqa: E731
    check = full_decode = 0.0
    for _ in range(3):  # taking turns, best of 3: the machine is shared
        check = max(check, frames_per_s(frame_problem, frames, args.seconds))
        full_decode = max(full_decode, frames_per_s(full, frames, args.seconds))
    kib = sum(map(len, frames)) / len(frames) / 1024
    print(f"RESULT frames={len(frames)} kib_per_frame={kib:.1f}"
          f" check_frames_per_s={check:.0f} full_decode_frames_per_s={full_decode:.0f}"
          f" mars_check_s_1core={mars_stats.FRAMES / check:.0f}"
          f" mars_check_s_4cores={mars_stats.FRAMES / check / 4:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
