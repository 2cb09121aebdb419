"""The paper's experiment (its Tables I-IV) in shape: stages x batch sizes -> epoch time, R1, mAP.

For every number of pipeline stages K and every identities-per-batch P, one torchrun job trains
the same model from the same seed for the same number of epochs on the dataset, then the
checkpoint is evaluated under both MARS protocols. The table goes into the report directory
(experiments.md, experiments.json, experiments.html):

    python -m training.experiments --data hdfs://127.0.0.10:8020/reid/demo \\
        --stages 1 2 3 --ids-per-batch 4 8 --epochs 20 --out reports/demo/experiments

Extra flags after ``--`` go to ``training.train`` unchanged (model preset, frame size, ...).
"""

from __future__ import annotations

import argparse
import csv
import html
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from hadoop.cli import ArgumentParser, entry_point, positive_int
from hadoop.fs import atomic_write, resolve
from training.errors import TrainingError
from training.evaluate import evaluate_checkpoint
from training.train import PK, microbatch_problem


@dataclass(frozen=True)
class Cell:
    stages: int
    ids_per_batch: int
    batch_clips: int
    epochs: int
    epoch_s: float  # wall seconds per epoch after the first (start-up excluded)
    clips_per_s: float
    r1_standard: float
    map_standard: float
    r1_official: float
    map_official: float


def run_cell(data: str, stages: int, ids: int, args: argparse.Namespace, work: Path) -> Cell:
    """Train (torchrun, ``stages`` processes) and evaluate one configuration."""
    checkpoint = f"{data.rstrip('/')}-runs/experiments/k{stages}-p{ids}"
    fs, path = resolve(checkpoint)
    if fs.exists(path):
        fs.delete(path, recursive=True)  # every cell trains from scratch
    out = work / f"k{stages}-p{ids}"
    command = [sys.executable, "-m", "training.launch", "--standalone",
               "--nproc-per-node", str(stages), "-m", "training.train", "--data", data,
               "--stages", str(stages), "--microbatches", str(args.microbatches),
               "--ids-per-batch", str(ids), "--tracklets-per-id", str(args.tracklets_per_id),
               "--epochs", str(args.epochs), "--checkpoint", checkpoint, "--out", str(out),
               "--checkpoint-every", "100000", "--no-progress", *args.train_args]
    print(f"==> K={stages} P={ids}: {' '.join(command[2:])}", flush=True)
    done = subprocess.run(command, check=False, env={**os.environ, "OMP_NUM_THREADS": "1"})
    if done.returncode != 0:
        raise TrainingError(f"training K={stages} P={ids} failed with exit code "
                            f"{done.returncode} (its output is above)")
    with (out / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    ends: dict[int, float] = {}
    for row in rows:
        ends[int(row["epoch"])] = float(row["elapsed"])
    epochs = sorted(ends)
    epoch_s = ((ends[epochs[-1]] - ends[epochs[0]]) / (len(epochs) - 1) if len(epochs) > 1
               else ends[epochs[0]])
    batch = ids * args.tracklets_per_id
    results, _ = evaluate_checkpoint(data, checkpoint, progress=False)
    by = {r.protocol: r for r in results}
    return Cell(stages=stages, ids_per_batch=ids, batch_clips=batch, epochs=len(epochs),
                epoch_s=epoch_s, clips_per_s=batch * len(rows) / ends[epochs[-1]],
                r1_standard=by["standard"].rank(1), map_standard=by["standard"].mAP,
                r1_official=by["official"].rank(1), map_official=by["official"].mAP)


def tables(cells: list[Cell]) -> str:
    """Markdown in the paper's layout: one row per batch size, one column group per K."""
    stages = sorted({c.stages for c in cells})
    batches = sorted({c.batch_clips for c in cells})
    find = {(c.stages, c.batch_clips): c for c in cells}
    head = "| batch (clips) | " + " | ".join(
        f"K={k} s/epoch | K={k} R1 | K={k} mAP" for k in stages) + " |"
    rule = "|---|" + "---|---|---|" * len(stages)
    lines = ["Time per epoch and accuracy (R1 / mAP under the standard protocol; official in "
             "experiments.json)", "", head, rule]
    for batch in batches:
        cols = []
        for k in stages:
            c = find.get((k, batch))
            cols.append("- | - | -" if c is None else
                        f"{c.epoch_s:.1f} | {c.r1_standard:.3f} | {c.map_standard:.3f}")
        lines.append(f"| {batch} | " + " | ".join(cols) + " |")
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
                          ("experiments.json", json.dumps({"info": info, "cells": [
                              asdict(c) for c in cells]}, indent=2))):
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
                cell = run_cell(args.data, stages, ids, args, Path(tmp))
                print(f"    {cell}", flush=True)
                cells.append(cell)
    info = {"data": args.data, "epochs": args.epochs, "microbatches": args.microbatches,
            "tracklets_per_id": args.tracklets_per_id, "train_args": args.train_args,
            "cpu_cores": len(os.sched_getaffinity(0)), "seconds": round(time.monotonic() - began)}
    write_outputs(args.out, cells, info)
    print(tables(cells))
    print(f"written to {args.out}/experiments.md")
    return 0


cli = entry_point(main)

if __name__ == "__main__":
    cli()
