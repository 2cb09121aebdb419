"""The placement simulator's quick run, end to end through the benchmark's command line.

Checks the issue's targets that the policy's default meets (balance, co-location, no block lost
to one rack failing) and what movement the design guarantees. The issue's movement target
(<= 1.2x ideal) is not asserted: groups that change home rack move two copies at once, and the
bounded-load cap re-decides spilled blocks when the cluster changes (see the placement report).
"""

from __future__ import annotations

import csv
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SIM_JAR = REPO / "hadoop" / "placement-sim" / "target" / "reid-placement-sim.jar"
PLUGIN_JAR = REPO / "hadoop" / "placement" / "target" / "reid-placement.jar"


def result_fields(stdout: str) -> dict[str, str]:
    lines = [line for line in stdout.splitlines() if line.startswith("RESULT ")]
    assert len(lines) == 1, stdout
    return dict(item.split("=", 1) for item in lines[0].split()[1:])


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], Path]:
    for jar in (SIM_JAR, PLUGIN_JAR):
        assert jar.is_file(), f"{jar} missing: run mvn -B -q -f hadoop/pom.xml package"
    out = tmp_path_factory.mktemp("placement")
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.placement", "--quick", "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return result_fields(completed.stdout), out


def test_default_policy_meets_balance_colocation_and_rack_failure_targets(
        quick_run: tuple[dict[str, str], Path]) -> None:
    result, _ = quick_run
    assert result["policy"] == "hrw+cap"
    assert float(result["balance"]) <= 1.10
    assert float(result["rack_balance"]) <= 1.25
    assert float(result["colocation"]) >= 0.95
    assert int(result["rack_loss_blocks"]) == 0
    assert float(result["colocation"]) > 2 * float(result["hdfs_colocation"])


def test_movement_is_measured_against_the_ideal(quick_run: tuple[dict[str, str], Path]) -> None:
    """A flat ring moves the ideal share, and so does the rack-aware policy, cap included:
    racks keep their weights through a one-node change, so blocks only move inside its rack."""
    result, out = quick_run
    with (out / "placement.csv").open(newline="") as handle:
        rows = {row["policy"]: row for row in csv.DictReader(handle)}
    assert 0.8 <= float(rows["flat-ring"]["move_vs_ideal"]) <= 1.2
    assert float(rows["hrw"]["move_vs_ideal"]) <= 1.2
    assert float(result["move_vs_ideal"]) <= 1.2
    assert rows["hdfs-default"]["move_vs_ideal"] == ""


def test_ring_without_racks_loses_blocks_and_ours_do_not(
        quick_run: tuple[dict[str, str], Path]) -> None:
    _, out = quick_run
    with (out / "placement.csv").open(newline="") as handle:
        rows = {row["policy"]: row for row in csv.DictReader(handle)}
    for policy in ("hrw+cap", "ring+cap", "hrw", "ring", "hdfs-default"):
        assert int(rows[policy]["rack_loss_blocks"]) == 0, policy
    assert int(rows["flat-ring"]["rack_loss_blocks"]) > 0


def test_simulator_stays_out_of_the_namenode_plugin_jar() -> None:
    """The NameNode loads the plug-in jar; the simulator is a benchmark tool, built beside it."""
    with zipfile.ZipFile(PLUGIN_JAR) as plugin:
        names = plugin.namelist()
    assert "org/reidhdfs/placement/GroupColocationBlockPlacementPolicy.class" in names
    assert "org/reidhdfs/placement/HashRingBlockPlacementPolicy.class" in names
    assert not [name for name in names
                if name.startswith("org/reidhdfs/placement/sim/") and name.endswith(".class")]
    with zipfile.ZipFile(SIM_JAR) as sim:
        assert "org/reidhdfs/placement/sim/PlacementSimulator.class" in sim.namelist()


def test_writes_the_plot(quick_run: tuple[dict[str, str], Path]) -> None:
    _, out = quick_run
    png = out / "placement.png"
    assert png.read_bytes().startswith(b"\x89PNG")
    assert not list(out.glob(".placement-*")), "temporary files left behind"
