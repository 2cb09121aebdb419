"""Search benchmark: exact chunked top-k over large galleries vs a plain numpy brute force.

Galleries of 10k, 100k and (full mode) 1M random unit vectors of dimension 2048; 100 queries,
top-20, cosine distance. ``training.search.rank_gallery`` streams the gallery in chunks (what
the search command does with the Parquet features in HDFS); the numpy brute force computes the
whole (queries x gallery) similarity matrix in float32 and takes each row's 20 best with
argpartition + argsort. Peak memory is the process's resident high-water mark during each run
(reset through /proc/self/clear_refs) above what it held before; the numpy figure adds the
gallery itself, which it must hold whole, while the chunked search only ever holds a chunk of
it (here both read one in-memory array, so the runs compare compute, not HDFS reads).
Also: the export check (live model vs the exported file and the torch.export program, the
demo's model shape) and, given ``--data`` (a dataset in a running
cluster), the gallery embedding rate of ``training.embed`` with a fresh random model (its
feature version is deleted afterwards). Given also ``--checkpoint`` and ``--features`` (a
trained run and its embedded gallery, as ``make demo`` leaves them), whether search's top-20
equals evaluation's ranking for every query of that dataset (:mod:`training.agreement`). No ANN
library is compared: none is a dependency.

    .venv/bin/python -m benchmarks.search [--quick] [--data hdfs://127.0.0.10:8020/reid/demo
        [--checkpoint .../reid/runs/demo/checkpoints --features .../reid/demo/features/<v>/test]]
"""

from __future__ import annotations

import math
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch

from hadoop.cli import ArgumentParser, non_negative_int, run
from training.agreement import compare_with_evaluation
from training.export import max_feature_difference
from training.gallery import GalleryChunk
from training.model import ModelConfig, VideoReIDNet, load_exported
from training.model.exported import export_portable, save_exported
from training.search import rank_gallery

DIM = 2048
QUERIES = 100
TOP_K = 20
CHUNK_ROWS = 4096
# The demo's network (scripts/demo.sh): small preset, T=4, 128x64 frames.
DEMO_MODEL = ModelConfig(num_classes=80, seq_len=4, preset="small", frame_size=(128, 64))


@dataclass(frozen=True)
class Timed:
    seconds: float
    peak_mib: float
    rows: np.ndarray


def unit_vectors(count: int, seed: int) -> np.ndarray:
    """``count`` x DIM float32 unit vectors, generated in blocks (bounded temporary memory)."""
    out = np.empty((count, DIM), dtype=np.float32)
    rng = np.random.default_rng(seed)
    for start in range(0, count, CHUNK_ROWS):
        block = rng.standard_normal((min(CHUNK_ROWS, count - start), DIM), dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start:start + len(block)] = block
    return out


def chunks(gallery: np.ndarray) -> Iterator[GalleryChunk]:
    for start in range(0, len(gallery), CHUNK_ROWS):
        yield GalleryChunk(start, gallery[start:start + CHUNK_ROWS])


def _chunked(queries: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    return rank_gallery(queries, chunks(gallery), TOP_K, "cosine").rows


def numpy_brute_force(queries: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    dist = 1.0 - queries @ gallery.T
    part = np.argpartition(dist, TOP_K - 1, axis=1)[:, :TOP_K]
    order = np.argsort(np.take_along_axis(dist, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def _status_kib(field: str) -> int:
    text = Path("/proc/self/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


def measured(run: Callable[[], np.ndarray]) -> Timed:
    """Wall time and peak resident memory above the starting point of ``run``."""
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    before = _status_kib("VmRSS")
    began = time.perf_counter()
    rows = run()
    seconds = time.perf_counter() - began
    return Timed(seconds, (_status_kib("VmHWM") - before) / 1024, rows)


def search_sizes(sizes: list[int]) -> dict[int, tuple[Timed, Timed, float]]:
    """Per gallery size: (chunked search, numpy brute force, overlap of their top-20 sets)."""
    queries = unit_vectors(QUERIES, seed=1)
    out = {}
    for size in sizes:
        gallery = unit_vectors(size, seed=size)
        ours = measured(partial(_chunked, queries, gallery))
        plain = measured(partial(numpy_brute_force, queries, gallery))
        overlap = np.mean([len(set(a) & set(b)) / TOP_K
                           for a, b in zip(ours.rows, plain.rows, strict=True)])
        exact_order = np.mean((ours.rows == plain.rows).all(axis=1))
        plain = Timed(plain.seconds, plain.peak_mib + gallery.nbytes / 2**20, plain.rows)
        print(f"gallery {size:>9,}: chunked {ours.seconds:7.2f} s "
              f"({QUERIES / ours.seconds:8.1f} queries/s, peak {ours.peak_mib:6.0f} MiB) | "
              f"numpy {plain.seconds:7.2f} s (peak {plain.peak_mib:6.0f} MiB with the gallery) "
              f"| top-20 sets agree {overlap:.4f}, identical order {exact_order:.2f}",
              flush=True)
        out[size] = (ours, plain, float(overlap))
        del gallery
    return out


def export_check() -> float:
    torch.manual_seed(0)
    model = VideoReIDNet(DEMO_MODEL).eval()
    with tempfile.TemporaryDirectory() as tmp:
        exported = save_exported(model, Path(tmp) / "m.pt", source={"benchmark": True})
        export_portable(load_exported(exported.path), Path(tmp) / "m.pt2")
        diff = max_feature_difference(model, load_exported(exported.path), Path(tmp) / "m.pt2",
                                       clips=4)
    print(f"export: max abs feature difference {diff:.2e} (file and torch.export program, 4 "
          "random clips)")
    return diff


def embed_rate(data_url: str, workers: int) -> float:
    from hadoop.fs import resolve
    from training.embed import embed_dataset

    torch.manual_seed(0)
    model = VideoReIDNet(DEMO_MODEL).eval()
    with tempfile.TemporaryDirectory() as tmp:
        exported = save_exported(model, Path(tmp) / "m.pt", source={"benchmark": True})
        result = embed_dataset(data_url, load_exported(exported.path), workers=workers,
                               progress=False)
    fs, root = resolve(result.url.rsplit("/", 1)[0])
    fs.delete(root, recursive=True)
    rate = result.rows / result.seconds
    print(f"embed: {result.rows} tracklets in {result.seconds:.1f} s = {rate:.1f}/s "
          f"({workers} loader workers, one process, CPU)")
    return rate


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="galleries up to 100k, not 1M")
    parser.add_argument("--data", default=None,
                        help="a dataset in a running cluster, to time training.embed")
    parser.add_argument("--checkpoint", default=None,
                        help="with --data and --features: a trained run's checkpoints, to check "
                             "search against evaluation on that dataset")
    parser.add_argument("--features", default=None,
                        help="with --checkpoint: the gallery training.embed stored for it")
    parser.add_argument("--workers", type=non_negative_int, default=2,
                        help="embed's loader workers")
    args = parser.parse_args(argv)
    if (args.checkpoint is None) != (args.features is None) or (
            args.checkpoint is not None and args.data is None):
        parser.error("--checkpoint and --features go together, and need --data")
    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    results = search_sizes(sizes)
    diff = export_check()
    rate = embed_rate(args.data, args.workers) if args.data else math.nan
    agreement = "n/a"
    if args.checkpoint is not None:
        checked = compare_with_evaluation(args.data, args.checkpoint, args.features,
                                          k=TOP_K, workers=args.workers)
        print(checked.summary())
        agreement = (f"{min(checked.official_equal, checked.standard_equal)}/"
                     f"{checked.queries}")
    largest = sizes[-1]
    ours, plain, overlap = results[largest]
    label = "1m" if largest == 1_000_000 else "100k"
    print(f"RESULT search_vs_numpy={plain.seconds / ours.seconds:.2f} "
          f"queries_per_s_{label}={QUERIES / ours.seconds:.1f} "
          f"peak_mib_{label}={ours.peak_mib:.0f} numpy_peak_mib_{label}={plain.peak_mib:.0f} "
          f"top20_agreement_{label}={overlap:.4f} export_max_abs_diff={diff:.2e} "
          f"embed_tracklets_per_s={rate:.1f} eval_agreement={agreement}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run(main))
