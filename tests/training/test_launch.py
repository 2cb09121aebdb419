"""training.launch: torchrun's stores and the workers' sockets listen on the job address only."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from hadoop.netaddr import job_address
from training.launch import BACKEND, interface_of, torchrun_args

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]

# A real 2-process job through the project's own process-group code (torchrun's stores, gloo).
# It waits, process group up, until released.
JOB = """
import sys, time
from pathlib import Path
import torch
from training.pipeline.mesh import build_layout
layout = build_layout(2, torch.device("cpu"))
Path(sys.argv[1], f"ready-{layout.rank}").touch()
while not Path(sys.argv[1], "release").exists():
    time.sleep(0.05)
"""


def test_a_two_process_job_listens_on_the_job_address_only(
        tmp_path: Path, job_listeners: Callable[[int], list]) -> None:
    script = tmp_path / "job.py"
    script.write_text(JOB)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    for name in ("GLOO_SOCKET_IFNAME", "NCCL_SOCKET_IFNAME"):
        env.pop(name, None)
    job = subprocess.Popen(
        [sys.executable, "-m", "training.launch", "--standalone", "--nproc-per-node", "2",
         str(script), str(tmp_path)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not all((tmp_path / f"ready-{rank}").exists() for rank in (0, 1)):
            assert job.poll() is None, job.communicate()[0][-3000:]
            assert time.monotonic() < deadline, "the job's process group did not form in 120 s"
            time.sleep(0.1)
        listeners = job_listeners(job.pid)
    finally:
        (tmp_path / "release").touch()
        out = job.communicate(timeout=60)[0]
    assert job.returncode == 0, out[-3000:]
    # the agent's rendezvous store and its workers' bootstrap store (gloo's listeners in the
    # workers may already be closed once their pairs are connected)
    assert len([s for s in listeners if s.pid == job.pid]) == 2, listeners
    assert {s.address for s in listeners} == {job_address()}, listeners


def test_standalone_and_c10d_move_onto_the_bound_backend() -> None:
    standalone = torchrun_args(["--standalone", "--nproc-per-node", "2", "-m", "x"], "127.0.0.1")
    assert (standalone.standalone, standalone.rdzv_backend, standalone.rdzv_endpoint,
            standalone.local_addr) == (False, BACKEND, "127.0.0.1:0", "127.0.0.1")
    several = torchrun_args(["--nnodes", "2", "--rdzv-backend", "c10d", "--rdzv-endpoint",
                             "10.0.0.5:29400", "--local-addr", "10.0.0.7", "x.py"], "10.0.0.6")
    assert (several.rdzv_backend, several.rdzv_endpoint, several.local_addr) == (
        BACKEND, "10.0.0.5:29400", "10.0.0.7")
    assert torchrun_args(["--rdzv-backend", "etcd", "x.py"], "127.0.0.1").rdzv_backend == "etcd"


def test_loopback_addresses_are_on_lo() -> None:
    assert interface_of("127.0.0.1") == interface_of("127.0.0.21") == "lo"


def test_a_failed_worker_ends_the_launch_with_its_code_and_no_traceback(tmp_path: Path) -> None:
    script = tmp_path / "fails.py"
    script.write_text("import os, sys\n"
                      "print(f'error: bad input on rank {os.environ[\"RANK\"]}', file=sys.stderr)\n"
                      "sys.exit(2)\n")
    done = subprocess.run(
        [sys.executable, "-m", "training.launch", "--standalone", "--nproc-per-node", "2",
         str(script)], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert "error: bad input on rank 0" in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: {script}: 2 worker(s) failed: rank 0 (pid "), last
    assert "exit code 2; rank 1 (pid " in last
