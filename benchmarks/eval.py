"""Evaluation time at MARS size: MARS's real query/gallery labels, random 2048-d features.

Why: the issue asks for a MARS-size evaluation (1,980 queries against 9,330 standard or 12,180
official gallery tracklets) in seconds, distances included. Labels are real so that the
per-query exclusions (same identity and camera, junk) and the skipped-query count are MARS's.

Run from the repository root: ``.venv/bin/python -m benchmarks.eval [--quick]``.
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io

from hadoop import cli
from hadoop.cli import ArgumentParser, non_negative_int, positive_int
from training.evaluate import (
    METRICS,
    EvalProtocol,
    Metric,
    ProtocolResult,
    distance_matrix,
    mars_split,
    score_protocol,
)

TEST_INFO = "tracks_test_info.mat"
QUERY_IDX = "query_IDX.mat"


@dataclass(frozen=True)
class BenchConfig:
    mars_info: Path = Path("../shared/data/mars-info")
    repeats: int = 5
    dim: int = 2048
    metric: Metric = "cosine"
    seed: int = 0


@dataclass(frozen=True)
class MarsLabels:
    pids: np.ndarray
    camids: np.ndarray
    query_rows: np.ndarray  # 0-based rows of the test tracklets


def load_mars_labels(folder: Path) -> MarsLabels:
    """Test tracklets' identities and cameras, and the query rows, from MARS's info/*.mat."""
    tracks = scipy.io.loadmat(folder / TEST_INFO)["track_test_info"]
    query_idx = scipy.io.loadmat(folder / QUERY_IDX)["query_IDX"]
    return MarsLabels(
        pids=tracks[:, 2].astype(np.int64),
        camids=tracks[:, 3].astype(np.int64),
        query_rows=query_idx.ravel().astype(np.int64) - 1,  # MATLAB rows are 1-based
    )


@dataclass(frozen=True)
class Timing:
    result: ProtocolResult
    total_s: list[float]  # distances + scoring, per run
    distance_s: list[float]


def time_protocol(
    protocol: EvalProtocol,
    query: np.ndarray,
    gallery: np.ndarray,
    labels: MarsLabels,
    query_rows: np.ndarray,
    gallery_rows: np.ndarray,
    config: BenchConfig,
) -> Timing:
    total_s, distance_s = [], []
    for _ in range(config.repeats):
        start = time.perf_counter()
        dist = distance_matrix(query, gallery, config.metric)
        distance_s.append(time.perf_counter() - start)
        result = score_protocol(
            dist,
            labels.pids[query_rows],
            labels.pids[gallery_rows],
            labels.camids[query_rows],
            labels.camids[gallery_rows],
            protocol=protocol,
        )
        total_s.append(time.perf_counter() - start)
    return Timing(result=result, total_s=total_s, distance_s=distance_s)


def run(config: BenchConfig) -> int:
    labels = load_mars_labels(config.mars_info)
    split = mars_split(labels.pids, labels.query_rows)
    galleries: dict[EvalProtocol, np.ndarray] = {
        "standard": split.standard_gallery,
        "official": split.official_gallery,
    }
    rng = np.random.default_rng(config.seed)
    features = rng.standard_normal((len(labels.pids), config.dim), dtype=np.float32)
    print(
        f"MARS test labels from {config.mars_info}: {len(labels.pids)} tracklets, "
        f"{len(split.query)} queries; random {config.dim}-d features, {config.metric} distance, "
        f"median of {config.repeats} run(s)"
    )

    timings: dict[EvalProtocol, Timing] = {}
    for protocol, rows in galleries.items():
        timing = time_protocol(
            protocol, features[split.query], features[rows], labels, split.query, rows, config
        )
        timings[protocol] = timing
        print(
            f"{protocol}: {len(split.query)} x {len(rows)}: "
            f"{statistics.median(timing.total_s):.2f} s median (min {min(timing.total_s):.2f}, "
            f"max {max(timing.total_s):.2f}), of which distances "
            f"{statistics.median(timing.distance_s):.2f} s; "
            f"{timing.result.num_with_match} queries with a match, "
            f"{timing.result.num_counted} counted"
        )
        print(f"  random features, so near chance: {timing.result.summary()}")

    standard, official = timings["standard"], timings["official"]
    standard_s = statistics.median(standard.total_s)
    official_s = statistics.median(official.total_s)
    print(f"both protocols, distances included: {standard_s + official_s:.2f} s")
    print(
        f"RESULT mars_size_s={standard_s + official_s:.3f} standard_s={standard_s:.3f} "
        f"official_s={official_s:.3f} "
        f"standard_gallery={len(split.standard_gallery)} "
        f"official_gallery={len(split.official_gallery)} "
        f"standard_valid_queries={standard.result.num_with_match} "
        f"official_counted_queries={official.result.num_counted} "
        f"official_queries_with_match={official.result.num_with_match} metric={config.metric}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    defaults = BenchConfig()
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mars-info",
        type=Path,
        default=defaults.mars_info,
        help=f"folder with {TEST_INFO} and {QUERY_IDX} (default: %(default)s, from the repo root)",
    )
    parser.add_argument("--repeats", type=positive_int, default=defaults.repeats)
    parser.add_argument("--metric", choices=METRICS, default=defaults.metric)
    parser.add_argument("--seed", type=non_negative_int, default=defaults.seed)
    parser.add_argument("--quick", action="store_true", help="one timed run per protocol")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    missing = [n for n in (TEST_INFO, QUERY_IDX) if not (args.mars_info / n).is_file()]
    if missing:
        print(
            f"error: MARS labels not found: {args.mars_info.resolve()} lacks {', '.join(missing)}; "
            "pass --mars-info pointing at the MARS-evaluation info/ folder",
            file=sys.stderr,
        )
        return 2
    config = BenchConfig(
        mars_info=args.mars_info,
        repeats=1 if args.quick else args.repeats,
        metric=args.metric,
        seed=args.seed,
    )
    return run(config)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
