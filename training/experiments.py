"""The paper's experiment (its Tables I-IV) in shape: stages x batch sizes -> epoch time, R1, mAP.

For every number of pipeline stages K, every identities-per-batch P and every seed, one torchrun
job trains the model for the same number of epochs on the dataset, then the checkpoint is
evaluated under both MARS protocols. The table goes into the report directory
(experiments.md, experiments.json, experiments.html):

    python -m training.experiments --data hdfs://127.0.0.10:8020/reid/demo \\
        --stages 1 2 3 --ids-per-batch 4 8 --epochs 20 --out reports/demo/experiments

With several ``--seeds`` each configuration is trained once per seed and the table gives the
mean, the standard deviation and the worst seed of R1 and mAP: a recipe is only as good as its
worst seed, since a seed stands for the floating-point differences between machines too.

Extra flags after ``--`` go to ``training.train`` unchanged (model preset, frame size, ...).
"""

from __future__ import annotations

import argparse
import csv
import html
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from hadoop.cli import ArgumentParser, entry_point, non_negative_int, positive_int
from hadoop.fs import atomic_write, resolve
from training.checkpoint import CheckpointStore
from training.errors import TrainingError
from training.evaluate import evaluate_checkpoint
from training.train import PK, microbatch_problem


@dataclass(frozen=True)
class Cell:
    stages: int
    ids_per_batch: int
    seed: int
    batch_clips: int
    epochs: int
    epoch_s: float  # wall seconds per epoch after the first (start-up excluded)
    clips_per_s: float
    wall_s: float  # training (torchrun start to end; --rescore: its log) and evaluation
    r1_standard: float
    map_standard: float
    r1_official: float
    map_official: float


def run_cell(data: str, stages: int, ids: int, seed: int, args: argparse.Namespace,
             work: Path) -> Cell:
    """Train (torchrun, ``stages`` processes) and evaluate one configuration."""
    began = time.monotonic()
    name = f"k{stages}-p{ids}-s{seed}"
    checkpoint = f"{data.rstrip('/')}-runs/experiments/{name}"
    if args.rescore:
        return _rescore(data, checkpoint, stages, ids, seed, args)
    fs, path = resolve(checkpoint)
    if fs.exists(path):
        fs.delete(path, recursive=True)  # every cell trains from scratch
    out = work / name
    command = [sys.executable, "-m", "training.launch", "--standalone",
               "--nproc-per-node", str(stages), "-m", "training.train", "--data", data,
               "--stages", str(stages), "--microbatches", str(args.microbatches),
               "--ids-per-batch", str(ids), "--tracklets-per-id", str(args.tracklets_per_id),
               "--epochs", str(args.epochs), "--seed", str(seed), "--checkpoint", checkpoint,
               "--out", str(out),
               "--checkpoint-every", "100000", "--no-progress", *args.train_args]
    print(f"==> K={stages} P={ids} seed {seed}: {' '.join(command[2:])}", flush=True)
    done = subprocess.run(command, check=False, env={**os.environ, "OMP_NUM_THREADS": "1"})
    if done.returncode != 0:
        raise TrainingError(f"training K={stages} P={ids} seed {seed} failed with exit code "
                            f"{done.returncode} (its output is above)")
    with (out / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    return _scored_cell(data, checkpoint, stages, ids, seed, args, rows,
                        time.monotonic() - began)


def _rescore(data: str, checkpoint: str, stages: int, ids: int, seed: int,
             args: argparse.Namespace) -> Cell:
    """Score the cell's stored run again (after a change to evaluation) without training it;
    its time figures come from the metrics log stored with the checkpoint."""
    store = CheckpointStore(checkpoint)
    info = store.latest()
    log = store.metrics_csv(info) if info is not None else None
    if info is None or log is None:
        raise TrainingError(f"--rescore: {checkpoint} holds no trained run with its metrics log "
                            "to score; train the cell first (leave out --rescore)")
    print(f"==> K={stages} P={ids} seed {seed}: scoring {checkpoint} step {info.step} again",
          flush=True)
    rows = list(csv.DictReader(io.StringIO(log.decode())))
    return _scored_cell(data, checkpoint, stages, ids, seed, args, rows,
                        float(rows[-1]["elapsed"]))


def _scored_cell(data: str, checkpoint: str, stages: int, ids: int, seed: int,
                 args: argparse.Namespace, rows: list[dict[str, str]], train_s: float) -> Cell:
    """The cell from its training log and an evaluation of its checkpoint; ``train_s`` is the
    training's wall time, to which the evaluation's is added."""
    began = time.monotonic()
    ends: dict[int, float] = {}
    for row in rows:
        ends[int(row["epoch"])] = float(row["elapsed"])
    epochs = sorted(ends)
    epoch_s = ((ends[epochs[-1]] - ends[epochs[0]]) / (len(epochs) - 1) if len(epochs) > 1
               else ends[epochs[0]])
    batch = ids * args.tracklets_per_id
    results, _ = evaluate_checkpoint(data, checkpoint, progress=False)
    by = {r.protocol: r for r in results}
    return Cell(stages=stages, ids_per_batch=ids, seed=seed, batch_clips=batch,
                epochs=len(epochs), epoch_s=epoch_s,
                clips_per_s=batch * len(rows) / ends[epochs[-1]],
                wall_s=train_s + time.monotonic() - began,
                r1_standard=by["standard"].rank(1), map_standard=by["standard"].mAP,
                r1_official=by["official"].rank(1), map_official=by["official"].mAP)


@dataclass(frozen=True)
class Spread:
    """One figure over seeds: mean, (population) standard deviation, worst and best."""

    mean: float
    std: float
    low: float
    high: float

    @classmethod
    def of(cls, values: list[float]) -> Spread:
        return cls(statistics.fmean(values), statistics.pstdev(values), min(values),
                   max(values))

    def __str__(self) -> str:
        return f"{self.mean:.3f} ± {self.std:.3f} (min {self.low:.3f})"


def seed_spreads(cells: list[Cell]) -> dict[tuple[int, int], dict[str, Spread]]:
    """(stages, batch clips) -> figure -> its spread over the cells' seeds."""
    groups: dict[tuple[int, int], list[Cell]] = {}
    for cell in cells:
        groups.setdefault((cell.stages, cell.batch_clips), []).append(cell)
    figures = ("r1_standard", "map_standard", "r1_official", "map_official", "wall_s", "epoch_s")
    return {key: {f: Spread.of([getattr(c, f) for c in group]) for f in figures}
            for key, group in groups.items()}


def tables(cells: list[Cell]) -> str:
    """Markdown in the paper's layout: one row per batch size, one column group per K; with
    several seeds, each figure is its mean ± standard deviation (and worst seed), and one line
    per cell follows."""
    stages = sorted({c.stages for c in cells})
    batches = sorted({c.batch_clips for c in cells})
    seeds = sorted({c.seed for c in cells})
    spreads = seed_spreads(cells)
    head = "| batch (clips) | " + " | ".join(
        f"K={k} s/epoch | K={k} R1 | K={k} mAP" for k in stages) + " |"
    rule = "|---|" + "---|---|---|" * len(stages)
    over = f" over seeds {', '.join(map(str, seeds))}" if len(seeds) > 1 else ""
    lines = [f"Time per epoch and accuracy{over} (R1 / mAP under the standard protocol; "
             "official in experiments.json)", "", head, rule]
    for batch in batches:
        cols = []
        for k in stages:
            spread = spreads.get((k, batch))
            if spread is None:
                cols.append("- | - | -")
            elif len(seeds) > 1:
                cols.append(f"{spread['epoch_s'].mean:.1f} | {spread['r1_standard']} | "
                            f"{spread['map_standard']}")
            else:
                cols.append(f"{spread['epoch_s'].mean:.1f} | {spread['r1_standard'].mean:.3f} | "
                            f"{spread['map_standard'].mean:.3f}")
        lines.append(f"| {batch} | " + " | ".join(cols) + " |")
    if len(seeds) > 1:
        lines += ["", "| K | batch | seed | R1 | mAP | official R1 | official mAP | wall s |",
                  "|---|---|---|---|---|---|---|---|"]
        lines += [f"| {c.stages} | {c.batch_clips} | {c.seed} | {c.r1_standard:.3f} | "
                  f"{c.map_standard:.3f} | {c.r1_official:.3f} | {c.map_official:.3f} | "
                  f"{c.wall_s:.0f} |" for c in cells]
    return "\n".join(lines) + "\n"


def write_outputs(out: Path, cells: list[Cell], info: dict[str, object]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    text = tables(cells)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in asdict(c).values()) + "</tr>"
        for c in cells)
    header = "".join(f"<th>{html.escape(k)}</th>" for k in asdict(cells[0]))
    page = (f"<!doctype html><meta charset='utf-8'><title>Pipeline experiments</title>"
            f"<h1>Stages x batch size</h1><p>{html.escape(json.dumps(info))}</p>"
            f"<table border=1 cellpadding=4><tr>{header}</tr>{rows}</table>"
            f"<pre>{html.escape(text)}</pre>")
    for name, content in (("experiments.md", text), ("experiments.html", page),
                          ("experiments.json", json.dumps({
                              "info": info, "cells": [asdict(c) for c in cells],
                              "over_seeds": [{"stages": k, "batch_clips": b, **{
                                  f: asdict(s) for f, s in figures.items()}}
                                  for (k, b), figures in seed_spreads(cells).items()]},
                              indent=2))):
        atomic_write(out / name, content)


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m training.experiments", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--stages", type=positive_int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--ids-per-batch", type=PK, nargs="+", default=[4, 8])
    parser.add_argument("--tracklets-per-id", type=PK, default=2)
    parser.add_argument("--microbatches", type=positive_int, default=2)
    parser.add_argument("--epochs", type=positive_int, default=20)
    parser.add_argument("--rescore", action="store_true",
                        help="score the cells' runs already in HDFS again instead of training "
                        "them (after a change to evaluation); times come from their logs")
    parser.add_argument("--seeds", type=non_negative_int, nargs="+", default=[0],
                        help="train every configuration once per seed; the table gives mean, "
                        "spread and worst seed")
    parser.add_argument("--out", type=Path, required=True, help="report directory")
    parser.add_argument("train_args", nargs="*", help="after --: flags for training.train")
    args = parser.parse_args(argv)
    for ids in args.ids_per_batch:
        problem = microbatch_problem(ids, args.tracklets_per_id, args.microbatches)
        if problem:
            parser.error(problem)
    began = time.monotonic()
    cells = []
    with tempfile.TemporaryDirectory(prefix="experiments-") as tmp:
        for ids in args.ids_per_batch:
            for stages in args.stages:
                for seed in args.seeds:
                    cell = run_cell(args.data, stages, ids, seed, args, Path(tmp))
                    print(f"    {cell}", flush=True)
                    cells.append(cell)
    info = {"data": args.data, "epochs": args.epochs, "seeds": args.seeds,
            "microbatches": args.microbatches, "tracklets_per_id": args.tracklets_per_id,
            "train_args": args.train_args,
            "cpu_cores": len(os.sched_getaffinity(0)), "seconds": round(time.monotonic() - began)}
    write_outputs(args.out, cells, info)
    print(tables(cells))
    print(f"written to {args.out}/experiments.md")
    return 0


cli = entry_point(main)

if __name__ == "__main__":
    cli()
