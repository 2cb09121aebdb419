"""Placement benchmark: the hash-loop policy against rendezvous/ring variants and HDFS's default.

Runs the Java simulator (the same classes the NameNode plug-in uses; no cluster) on R racks x D
nodes with N blocks in Zipf-sized groups, prints its table, writes the table as CSV and a plot as
PNG to --out, and ends with one RESULT line for the policy as configured by default:

    .venv/bin/python -m benchmarks.placement [--quick] [--out reports/placement]

Needs the built jars: mvn -B -q -f hadoop/pom.xml package (make setup does it).
"""

from __future__ import annotations

import csv
import math
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

# Headless: choose the file backend before pyplot is imported.
matplotlib.use("Agg")
import matplotlib.pyplot as plt

from hadoop.cli import (
    ArgumentParser,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    run,
)
from hadoop.errors import ReidError
from hadoop.fs import atomic_path

REPO = Path(__file__).resolve().parents[1]
# The simulator (its own module, kept out of the NameNode's plug-in jar) and the placement core it
# measures; neither needs Hadoop's jars.
JARS = (REPO / "hadoop" / "placement-sim" / "target" / "reid-placement-sim.jar",
        REPO / "hadoop" / "placement" / "target" / "reid-placement.jar")
MAIN_CLASS = "org.reidhdfs.placement.sim.PlacementSimulator"
CSV_NAME = "placement.csv"
PNG_NAME = "placement.png"

# The targets, drawn on the plot.
NODE_BALANCE_TARGET = 1.10
RACK_BALANCE_TARGET = 1.25
COLOCATION_TARGET = 0.95
MOVEMENT_TARGET = 1.2


class PlacementBenchmarkError(ReidError):
    """The simulator could not be run or its output was not what this wrapper expects."""


@dataclass(frozen=True)
class BenchmarkConfig:
    out: Path
    quick: bool = False
    racks: int | None = None
    nodes_per_rack: int | None = None
    blocks: int | None = None
    epsilon: float | None = None
    rack_tolerance: float | None = None
    capacity: str | None = None
    trials: int | None = None
    seed: int = 1
    java: str = "java"


@dataclass(frozen=True)
class SimRow:
    """One policy's line of the simulator's CSV; movement is NaN for random placement."""

    policy: str
    is_default: bool
    node_max_mean: float
    rack_max_mean: float
    colocation: float
    colocation_p5: float
    move_add_vs_ideal: float
    move_remove_vs_ideal: float
    move_vs_ideal: float
    rack_loss_blocks: int
    rack2_loss_blocks: int
    us_per_block: float

    @classmethod
    def from_csv(cls, row: dict[str, str]) -> SimRow:
        def number(column: str) -> float:
            text = row[column]
            return float(text) if text else math.nan

        return cls(
            policy=row["policy"],
            is_default=row["default"] == "1",
            node_max_mean=number("node_max_mean"),
            rack_max_mean=number("rack_max_mean"),
            colocation=number("colocation"),
            colocation_p5=number("colocation_p5"),
            move_add_vs_ideal=number("move_add_vs_ideal"),
            move_remove_vs_ideal=number("move_remove_vs_ideal"),
            move_vs_ideal=number("move_vs_ideal"),
            rack_loss_blocks=int(row["rack_loss_blocks"]),
            rack2_loss_blocks=int(row["rack2_loss_blocks"]),
            us_per_block=number("us_per_block"),
        )


def classpath() -> str:
    missing = [str(jar) for jar in JARS if not jar.is_file()]
    if missing:
        raise PlacementBenchmarkError(
            f"{', '.join(missing)} missing; build with: mvn -B -q -f hadoop/pom.xml package")
    return os.pathsep.join(map(str, JARS))


def simulator_command(config: BenchmarkConfig, csv_path: Path) -> list[str]:
    command = [config.java, "-cp", classpath(), MAIN_CLASS, "--seed", str(config.seed),
               "--csv", str(csv_path)]
    if config.quick:
        command.append("--quick")
    flags: dict[str, int | float | str | None] = {
        "--racks": config.racks,
        "--nodes-per-rack": config.nodes_per_rack,
        "--blocks": config.blocks,
        "--epsilon": config.epsilon,
        "--rack-tolerance": config.rack_tolerance,
        "--capacity": config.capacity,
        "--trials": config.trials,
    }
    for flag, value in flags.items():
        if value is not None:
            command += [flag, str(value)]
    return command


def run_simulator(config: BenchmarkConfig) -> list[SimRow]:
    """Runs the simulator (its table goes straight to stdout) and reads back its CSV."""
    config.out.mkdir(parents=True, exist_ok=True)
    csv_path = config.out / CSV_NAME
    command = simulator_command(config, csv_path)
    if shutil.which(config.java) is None:
        raise PlacementBenchmarkError(f"java executable {config.java!r} not found on PATH")
    completed = subprocess.run(command, check=False)
    if completed.returncode != 0:
        raise PlacementBenchmarkError(
            f"simulator exited with {completed.returncode}: {' '.join(command)}")
    with csv_path.open(newline="") as handle:
        rows = [SimRow.from_csv(row) for row in csv.DictReader(handle)]
    if not rows or not rows[0].is_default:
        raise PlacementBenchmarkError(f"{csv_path} has no default policy row first")
    return rows


def row_named(rows: Sequence[SimRow], policy: str) -> SimRow:
    for row in rows:
        if row.policy == policy:
            return row
    raise PlacementBenchmarkError(f"simulator output has no row for policy {policy!r}")


def plot(rows: Sequence[SimRow], png_path: Path, title: str) -> None:
    """Four panels (balance, co-location, movement, rack-failure loss); written atomically."""
    names = [row.policy for row in rows]
    positions = range(len(rows))
    figure, axes = plt.subplots(2, 2, figsize=(13, 8.5))
    width = 0.4

    balance = axes[0][0]
    balance.bar([p - width / 2 for p in positions], [r.node_max_mean for r in rows], width,
                label="per node")
    balance.bar([p + width / 2 for p in positions], [r.rack_max_mean for r in rows], width,
                label="per rack")
    balance.axhline(NODE_BALANCE_TARGET, color="tab:blue", linestyle="--", linewidth=1)
    balance.axhline(RACK_BALANCE_TARGET, color="tab:orange", linestyle="--", linewidth=1)
    balance.set_ylim(bottom=1.0)
    balance.set_title("replicas per unit of capacity, max / mean (targets dashed)")
    balance.legend()

    colocation = axes[0][1]
    colocation.bar([p - width / 2 for p in positions], [r.colocation for r in rows], width,
                   label="block-weighted mean")
    colocation.bar([p + width / 2 for p in positions], [r.colocation_p5 for r in rows], width,
                   label="5th percentile")
    colocation.axhline(COLOCATION_TARGET, color="black", linestyle="--", linewidth=1)
    colocation.set_ylim(0, 1.05)
    colocation.set_title("co-location: share of a group's blocks with a copy on one rack")
    colocation.legend(loc="lower left")

    movement = axes[1][0]
    movement.bar([p - width / 2 for p in positions],
                 [r.move_add_vs_ideal for r in rows], width, label="node added")
    movement.bar([p + width / 2 for p in positions],
                 [r.move_remove_vs_ideal for r in rows], width, label="node removed")
    movement.axhline(MOVEMENT_TARGET, color="black", linestyle="--", linewidth=1)
    moved = [m for r in rows for m in (r.move_add_vs_ideal, r.move_remove_vs_ideal)
             if math.isfinite(m)]
    movement.set_ylim(0, 1.15 * max([MOVEMENT_TARGET, *moved]))
    movement.set_title("replicas moved / ideal, target dashed (random placement: n/a)")
    movement.legend()

    loss = axes[1][1]
    loss.bar([p - width / 2 for p in positions], [r.rack_loss_blocks for r in rows], width,
             label="worst single rack")
    loss.bar([p + width / 2 for p in positions], [r.rack2_loss_blocks for r in rows], width,
             label="worst two racks")
    loss.set_yscale("symlog", linthresh=1)
    loss.set_title("blocks with no copy left after rack failures")
    loss.legend(framealpha=0.6)

    for axis in (balance, colocation, movement, loss):
        axis.set_xticks(list(positions))
        axis.set_xticklabels(names, rotation=20, ha="right")
    figure.suptitle(title)
    figure.tight_layout()
    png_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_path(png_path) as temporary:
            figure.savefig(temporary, format="png", dpi=110)
    finally:
        plt.close(figure)


def result_line(rows: Sequence[SimRow], seconds: float) -> str:
    chosen = rows[0]
    uncapped = row_named(rows, chosen.policy.removesuffix("+cap"))
    default_hdfs = row_named(rows, "hdfs-default")
    return (
        f"RESULT balance={chosen.node_max_mean:.3f} move_vs_ideal={chosen.move_vs_ideal:.2f} "
        f"rack_loss_blocks={chosen.rack_loss_blocks} colocation={chosen.colocation:.3f} "
        f"policy={chosen.policy} rack_balance={chosen.rack_max_mean:.3f} "
        f"colocation_p5={chosen.colocation_p5:.3f} "
        f"hash_move_vs_ideal={uncapped.move_vs_ideal:.2f} "
        f"rack2_loss_blocks={chosen.rack2_loss_blocks} "
        f"hdfs_colocation={default_hdfs.colocation:.3f} "
        f"hdfs_rack2_loss_blocks={default_hdfs.rack2_loss_blocks} "
        f"us_per_block={chosen.us_per_block:.2f} seconds={seconds:.1f}"
    )


def parse_args(argv: Sequence[str] | None) -> BenchmarkConfig:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="8 racks x 6 nodes, 30,000 blocks (seconds)")
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "placement",
                        help="directory for placement.csv and placement.png")
    parser.add_argument("--racks", type=positive_int, help="racks (default 25; quick 8)")
    parser.add_argument("--nodes-per-rack", type=positive_int,
                        help="nodes per rack (default 40; quick 6)")
    parser.add_argument("--blocks", type=positive_int,
                        help="blocks (default 1,000,000; quick 30,000)")
    parser.add_argument("--epsilon", type=positive_float,
                        help="bounded-load cap epsilon (default 0.05)")
    parser.add_argument("--rack-tolerance", type=non_negative_float,
                        help="relative capacity drift a rack's weight ignores (default 0.25)")
    parser.add_argument("--capacity", choices=("uniform", "mixed"),
                        help="node capacities: all equal, or mixed 1/2/3/4 units")
    parser.add_argument("--trials", type=positive_int, help="node changes averaged for movement")
    parser.add_argument("--seed", type=non_negative_int, default=1)
    parser.add_argument("--java", default="java", help="java executable")
    args = parser.parse_args(argv)
    return BenchmarkConfig(out=args.out, quick=args.quick, racks=args.racks,
                           nodes_per_rack=args.nodes_per_rack, blocks=args.blocks,
                           epsilon=args.epsilon, rack_tolerance=args.rack_tolerance,
                           capacity=args.capacity, trials=args.trials, seed=args.seed,
                           java=args.java)


def main(argv: Sequence[str] | None = None) -> int:
    config = parse_args(argv)
    start = time.monotonic()
    rows = run_simulator(config)
    seconds = time.monotonic() - start
    png_path = config.out / PNG_NAME
    scale = "quick" if config.quick else "full"
    plot(rows, png_path, f"Block placement simulator ({scale} run): * = {rows[0].policy}")
    print(f"plot: {png_path}")
    print(result_line(rows, seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(run(main))
