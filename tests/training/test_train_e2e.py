"""torchrun pipeline training on the real cluster: it learns, and a killed worker resumes from
HDFS."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hadoop.cluster import LocalCluster
from training.checkpoint import CheckpointStore

pytestmark = [pytest.mark.cluster, pytest.mark.slow]
SMALL = ["--preset", "small", "--seq-len", "4", "--height", "64", "--width", "32",
         "--ids-per-batch", "4", "--tracklets-per-id", "2", "--warmup-epochs", "1",
         "--lr", "3e-4", "--no-progress", "--workers", "1"]


def torchrun(*args: str, restarts: int = 0) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "training.launch", "--standalone",
               "--nproc-per-node", "2", "--max-restarts", str(restarts),
               "-m", "training.train", *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, env={**os.environ, "OMP_NUM_THREADS": "1"})


def read_log(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def test_two_stage_training_from_hdfs_reduces_the_loss(cluster: LocalCluster, small_dataset: str,
                                                        tmp_path: Path) -> None:
    """A few hundred 2-stage pipeline steps on clips streamed from HDFS: the loss falls (both
    terms), the run ends with a checkpoint in HDFS and the loss plot is written. Without label
    smoothing, whose floor (about 0.1 x ln(classes)) would blur the cross-entropy's fall."""
    ckpt = f"{small_dataset}-runs/learn"
    proc = torchrun("--data", small_dataset, "--stages", "2", "--microbatches", "2",
                    "--max-steps", "200", "--checkpoint", ckpt, "--out", str(tmp_path),
                    *SMALL, "--lr", "1e-3", "--erase-p", "0", "--label-smoothing", "0")
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, out[-3000:]
    rows = read_log(tmp_path / "metrics.csv")
    assert [int(r["step"]) for r in rows] == list(range(1, 201))
    # The soft-margin triplet term has a floor the tiny 64x32 clips reach slowly; the total and
    # the cross-entropy must fall well below where they started.
    for column, most in (("loss", 0.6), ("cross_entropy", 0.6), ("triplet", 0.8)):
        values = [float(r[column]) for r in rows]
        first, last = mean(values[:40]), mean(values[-40:])
        assert last < most * first, f"{column}: first 40 steps {first:.3f}, last 40 {last:.3f}"
    assert CheckpointStore(ckpt).require_latest().step == 200
    assert (tmp_path / "loss.png").stat().st_size > 0


def test_killed_worker_resumes_from_hdfs_checkpoint(cluster: LocalCluster, small_dataset: str,
                                                    tmp_path: Path) -> None:
    ckpt = f"{small_dataset}-runs/restart"
    store = CheckpointStore(ckpt)
    proc = torchrun("--data", small_dataset, "--stages", "2", "--microbatches", "2",
                    "--max-steps", "40", "--checkpoint-every", "10", "--checkpoint", ckpt,
                    "--out", str(tmp_path), "--resume", *SMALL, restarts=1)
    deadline = time.monotonic() + 600
    while store.latest() is None:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        assert time.monotonic() < deadline
        time.sleep(0.5)
    workers = subprocess.run(["pgrep", "-f", "-P", str(proc.pid), "training.train"],
                             capture_output=True, text=True).stdout.split()
    assert workers
    os.kill(int(workers[-1]), signal.SIGKILL)
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, out[-3000:]
    assert "resuming at step" in out
    info = store.require_latest()
    assert info.step == 40
    steps = [int(r["step"]) for r in read_log(tmp_path / "metrics.csv")]
    assert steps[-1] == 40
    assert sorted(set(steps)) == list(range(1, 41))  # the log continues from the checkpoint
