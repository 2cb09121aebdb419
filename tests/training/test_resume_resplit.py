"""A run trained on 2 pipeline stages and resumed on 3 (given only --data, --checkpoint and the
new layout) continues exactly as a 3-stage run of the same configuration from the start.

Both start from the same weights (the engine builds the network from the seed before splitting
it), read the same batches (the sampler and the clips are functions of seed, epoch and position)
and take the same steps. The resumed run merges the two stage files (model, Adam's per-parameter
moments and step counts, the schedule) and re-splits them for 3 stages. Tolerance: none. The
split changes which process computes each unit, not the arithmetic: every unit runs the same
kernels on the same micro-batches in the same order, one thread per process, so weights and
optimiser state agree bit for bit; a state lost or mis-assigned in the re-split (e.g. fresh Adam
moments) would show as a difference after the first resumed step.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hadoop.cluster import LocalCluster
from training.checkpoint import CheckpointStore

pytestmark = [pytest.mark.cluster, pytest.mark.slow]
RUN = ["--preset", "small", "--seq-len", "4", "--height", "64", "--width", "32",
       "--ids-per-batch", "4", "--tracklets-per-id", "2", "--microbatches", "2",
       "--warmup-epochs", "1", "--lr", "3e-4", "--workers", "1"]


def torchrun(processes: int, *args: str) -> str:
    command = [sys.executable, "-m", "training.launch", "--standalone",
               "--nproc-per-node", str(processes), "-m", "training.train", "--no-progress", *args]
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stdout[-3000:]
    return done.stdout


def merged(url: str) -> dict[str, object]:
    store = CheckpointStore(url)
    return store.load_merged(store.require_latest())


def test_two_stages_resumed_on_three_match_three_stages_from_the_start(
        cluster: LocalCluster, small_dataset: str, tmp_path: Path) -> None:
    resumed, reference = f"{small_dataset}-runs/resplit", f"{small_dataset}-runs/three"
    torchrun(2, "--data", small_dataset, "--checkpoint", resumed, "--stages", "2",
             "--max-steps", "4", "--out", str(tmp_path / "resumed"), *RUN)
    assert CheckpointStore(resumed).require_latest().stages == 2
    out = torchrun(3, "--data", small_dataset, "--checkpoint", resumed, "--resume",
                   "--stages", "3", "--max-steps", "8")
    assert "re-split 2 stages" in out
    assert "resuming at step 4" in out
    torchrun(3, "--data", small_dataset, "--checkpoint", reference, "--stages", "3",
             "--max-steps", "8", "--out", str(tmp_path / "reference"), *RUN)

    got, want = merged(resumed), merged(reference)
    assert CheckpointStore(resumed).require_latest().stages == 3
    assert got["steps"] == want["steps"] == 8
    assert got["scheduler"] == want["scheduler"]
    torch.testing.assert_close(got["model"], want["model"], rtol=0, atol=0)
    got_optimizer, want_optimizer = got["optimizer"], want["optimizer"]
    assert isinstance(got_optimizer, dict)
    assert isinstance(want_optimizer, dict)
    assert got_optimizer["param_groups"] == want_optimizer["param_groups"]
    torch.testing.assert_close(got_optimizer["state"], want_optimizer["state"], rtol=0, atol=0)
    # the stored --out: the resumed run's log continues the first run's, and equals the reference
    rows = {name: list(csv.DictReader((tmp_path / name / "metrics.csv").open()))
            for name in ("resumed", "reference")}
    assert [r["step"] for r in rows["resumed"]] == [str(s) for s in range(1, 9)]
    assert ([r["loss"] for r in rows["resumed"]] == [r["loss"] for r in rows["reference"]])
