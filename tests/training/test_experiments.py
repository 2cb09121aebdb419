"""The experiment table over seeds: a recipe is judged by its mean, spread and worst seed."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from hadoop.cli import run
from training.experiments import Cell, main, seed_spreads, tables


def cell(stages: int, seed: int, r1: float, mean_ap: float) -> Cell:
    return Cell(stages=stages, ids_per_batch=8, seed=seed, batch_clips=32, epochs=80,
                epoch_s=10.0, clips_per_s=3.2, wall_s=900.0 + seed, r1_standard=r1,
                map_standard=mean_ap, r1_official=r1, map_official=mean_ap)


def test_spread_over_seeds_is_per_configuration_with_the_worst_seed() -> None:
    cells = [cell(2, 0, 0.95, 0.90), cell(2, 1, 0.97, 0.92), cell(2, 2, 0.96, 0.94),
             cell(1, 0, 0.50, 0.40)]
    spreads = seed_spreads(cells)
    two = spreads[(2, 32)]["r1_standard"]
    assert math.isclose(two.mean, 0.96)
    assert (two.low, two.high) == (0.95, 0.97)
    assert math.isclose(two.std, math.sqrt(2 / 3) / 100)
    assert spreads[(1, 32)]["map_standard"].std == 0.0
    assert spreads[(2, 32)]["wall_s"].high == 902.0
    text = tables(cells)
    assert "over seeds 0, 1, 2" in text
    assert "0.960 ± 0.008 (min 0.950)" in text
    assert "| 2 | 32 | 1 | 0.970 | 0.920 |" in text  # one line per seed


def test_one_seed_keeps_the_plain_table() -> None:
    text = tables([cell(2, 0, 0.95, 0.90)])
    assert "±" not in text
    assert "| 32 | 10.0 | 0.950 | 0.900 |" in text


def test_rescore_without_a_trained_run_names_the_checkpoint(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str],
                                                            ) -> None:
    data = tmp_path / "demo"
    argv = ["--data", str(data), "--out", str(tmp_path / "out"), "--stages", "2",
            "--ids-per-batch", "8", "--seeds", "1", "--rescore"]
    assert run(main, argv) == 2
    err = capsys.readouterr().err
    assert f"--rescore: {data}-runs/experiments/k2-p8-s1 holds no trained run" in err
