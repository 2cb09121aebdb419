"""The demo pipeline on the secure cluster: spark-submit ingest, 2-stage torchrun training and
evaluation, each a separate process authenticated only by the service user's ticket cache
(KRB5CCNAME) and the cluster's conf dir, as a user's shell after
``eval "$(python -m hadoop.cluster env)"``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hadoop.cluster import LocalCluster
from hadoop.fs import HdfsFS

pytestmark = [pytest.mark.cluster, pytest.mark.secure, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
SMALL = ["--preset", "small", "--seq-len", "4", "--height", "64", "--width", "32",
         "--ids-per-batch", "4", "--tracklets-per-id", "2", "--warmup-epochs", "1",
         "--no-progress", "--workers", "1"]


def run(args: list[str], timeout: float = 600) -> str:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SPARK_LOCAL_IP": "127.0.0.1"}
    done = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return done.stdout + done.stderr


def test_ingest_training_and_evaluation_run_secured(secure_cluster: LocalCluster,
                                                    small_mars: Path, tmp_path: Path) -> None:
    data = f"{secure_cluster.namenode_url}/reid/secure-demo"
    checkpoints = f"{secure_cluster.namenode_url}/reid/runs/secure-demo/checkpoints"
    run([str(REPO / "spark_jobs" / "submit"), "spark_jobs/ingest.py", "--source",
         str(small_mars), "--dest", data])
    run([sys.executable, "-m", "training.launch", "--standalone", "--nproc-per-node", "2",
         "-m", "training.train", "--data", data, "--stages", "2", "--microbatches", "2",
         "--max-steps", "4", "--checkpoint", checkpoints, "--out", str(tmp_path / "train"),
         *SMALL])
    out = run([sys.executable, "-m", "training.evaluate", "--data", data, "--checkpoint",
               checkpoints, "--report", str(tmp_path / "report"), "--workers", "0"])
    assert "standard: R1" in out
    assert "official: R1" in out
    fs = HdfsFS(secure_cluster.namenode_url)
    for path in ("/reid/secure-demo", "/reid/runs/secure-demo/checkpoints"):
        info = fs.client.get_file_info(path)
        assert (info.owner, info.group, info.permission) == ("reid", "reid", 0o750), path
    shards = [f for f in fs.list("/reid/secure-demo/shards", recursive=True) if not f.isdir]
    assert shards
    assert all(fs.client.get_file_info(f.path.split("8020", 1)[-1]).permission
                          == 0o640 for f in shards)
