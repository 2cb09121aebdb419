"""The whole system on the docker-compose stack, end to end, timed: ``make demo-compose``.

Needs the images (``make images``) and a Docker engine with compose v2+. Steps, each in the
stack's own containers (the host only runs ``docker compose`` and reads the published NameNode
web UI on 127.0.0.1):

  up       ``docker compose up -d --wait``: NameNode + DataNodes healthy, Spark master with a
           worker beside every DataNode, two trainer hosts on two racks;
  topology ``hdfs dfsadmin -printTopology`` inside the stack;
  ingest   generated MARS tree -> ``hdfs dfs -put`` landing dir -> spark-submit ingest on the
           Spark cluster; then a scan of every shard through Spark's HDFS input, whose task
           locality levels (NODE_LOCAL / RACK_LOCAL / ANY ...) come from Spark's event log;
  place    every shard block has 3 replicas on >= 2 racks (WebHDFS block locations);
  train    torchrun --nnodes 2 (one process on each trainer host, stage 0 on one host and
           stage 1 on the other) and the single-host 2-stage run on the same data and seed;
           the final weights are compared;
  evaluate the two-host checkpoint, report in ./reports/compose/report (mounted from the host);
  heal     ``docker compose kill dn3``: time until every block is back to 3 live replicas,
           while every shard is read in full (no read may fail); dn3 is started again.

Ends with ``RESULT up_s=... healthy=1 ingest_s=... node_local_frac=... rack_local_frac=...
two_host_steps_per_s=... single_host_steps_per_s=... weights_max_abs_diff=... heal_s=...
lost_blocks=0``. ``--down`` removes the stack and its volumes at the end.

    .venv/bin/python -m benchmarks.compose [--quick] [--down]

The ``inside`` sub-commands are the probes this driver runs in the jobs containers.
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from hadoop.cli import ArgumentParser, positive_float
from hadoop.cli import run as run_cli
from hadoop.errors import ReidError
from hadoop.fs import FileSystem, StorageError, resolve

REPO = Path(__file__).resolve().parents[1]
NAMENODE_IP = "172.28.0.10"
NN = f"hdfs://{NAMENODE_IP}:8020"
NN_WEB = f"http://{NAMENODE_IP}:9870"
MASTER = f"spark://{NAMENODE_IP}:7077"
PUBLISHED_WEB = "http://127.0.0.1:9870"
LANDING = "/landing/compose"
DATA = f"{NN}/reid/compose"
EVENTS = "/reid/reports/compose/spark-events"
RUNS = f"{NN}/reid/runs"
KILLED = "dn3"
TRAIN_FLAGS = ("--preset", "small", "--seq-len", "2", "--height", "64", "--width", "32",
               "--ids-per-batch", "4", "--tracklets-per-id", "2", "--microbatches", "2",
               "--lr", "1e-3", "--erase-p", "0", "--workers", "0", "--seed", "0",
               "--no-progress")

R = TypeVar("R")


class StackError(ReidError):
    """A step of the compose run failed; the message names the command and its output."""


def compose(*args: str, files: Sequence[str] = (), timeout: float = 600.0,
            check: bool = True) -> str:
    """``docker compose [-f FILE ...] ARGS`` in the repository (where docker-compose.yml is),
    output text; ``files``: the compose files (docker-compose.yml alone when empty)."""
    cmd = ["docker", "compose", *(arg for name in files for arg in ("-f", name)), *args]
    try:
        done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired as exc:
        raise StackError(f"`{' '.join(cmd)}` did not finish within {timeout:.0f} s") from exc
    if check and done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-15:]
        raise StackError(f"`{' '.join(cmd)}` exited {done.returncode}:\n" + "\n".join(tail))
    return done.stdout


def down_leaves(files: Sequence[str] = ()) -> dict[str, list[str]]:
    """``down -v`` the stack, then what of the project is left: its containers, volumes and
    networks by kind (empty when nothing is)."""
    compose("down", "-v", "--remove-orphans", files=files, timeout=300)
    label = "label=com.docker.compose.project=reid-hdfs"
    left = {}
    for kind, flags in (("container", ["-a"]), ("volume", []), ("network", [])):
        listed = subprocess.run(["docker", kind, "ls", *flags, "-q", "--filter", label],
                                capture_output=True, text=True, check=True).stdout.split()
        if listed:
            left[kind] = listed
    return left


@contextmanager
def fresh_stack(bring_up: Callable[[], R], files: Sequence[str] = ()) -> Iterator[R]:
    """``bring_up()``'s result on a stack started from empty volumes, and nothing of it left
    after (the compose tests' once-per-module fixture)."""
    compose("down", "-v", "--remove-orphans", files=files, timeout=300)
    try:
        yield bring_up()
    finally:
        compose("down", "-v", "--remove-orphans", files=files, timeout=300)


def run_in(service: str, *cmd: str, files: Sequence[str] = (), timeout: float = 600.0) -> str:
    """A command in a running service's container (no TTY), its standard output."""
    return compose("exec", "-T", service, *cmd, files=files, timeout=timeout)


def land_generated(ids: int, source: str, landing: str, clear: Sequence[str] = (),
                   files: Sequence[str] = ()) -> None:
    """On trainer1: generate ``ids`` identities into ``source`` and put them into a fresh HDFS
    ``landing`` directory, removing it and the ``clear`` paths of an earlier run first."""
    run_in("trainer1", "bash", "-c",
           f"python -m ingest.synthetic --out {source} --ids {ids} --seed 0 --force --workers 1"
           f" && hdfs dfs -rm -f -r -skipTrash {landing} {' '.join(clear)}"
           f" && hdfs dfs -mkdir -p {landing} && hdfs dfs -put -t 8 {source}/* {landing}/",
           files=files, timeout=900)


@dataclass
class Result:
    up_s: float = 0.0
    healthy: int = 0
    services: dict[str, str] = field(default_factory=dict)
    ps: str = ""
    topology: dict[str, list[str]] = field(default_factory=dict)
    topology_text: str = ""
    ingest_s: float = 0.0
    scan: dict[str, int] = field(default_factory=dict)
    locality: dict[str, int] = field(default_factory=dict)
    placement: dict[str, int] = field(default_factory=dict)
    two_host_steps_per_s: float = 0.0
    single_host_steps_per_s: float = 0.0
    weights: dict[str, float] = field(default_factory=dict)
    report: str = ""
    heal_s: float = 0.0
    heal_reads: dict[str, int] = field(default_factory=dict)
    lost_blocks: int = -1

    @property
    def node_local_frac(self) -> float:
        total = sum(self.locality.values())
        return self.locality.get("NODE_LOCAL", 0) / total if total else 0.0

    @property
    def rack_local_frac(self) -> float:
        total = sum(self.locality.values())
        return self.locality.get("RACK_LOCAL", 0) / total if total else 0.0

    def result_line(self) -> str:
        return (f"RESULT up_s={self.up_s:.1f} healthy={self.healthy} "
                f"ingest_s={self.ingest_s:.1f} node_local_frac={self.node_local_frac:.3f} "
                f"rack_local_frac={self.rack_local_frac:.3f} "
                f"two_host_steps_per_s={self.two_host_steps_per_s:.3f} "
                f"single_host_steps_per_s={self.single_host_steps_per_s:.3f} "
                f"weights_max_abs_diff={self.weights.get('max_abs_diff', -1):.3g} "
                f"heal_s={self.heal_s:.1f} lost_blocks={self.lost_blocks}")


def service_states(files: Sequence[str] = ()) -> dict[str, str]:
    """Each service's state: its health when it has a health check, else running/exited."""
    states = {}
    for line in compose("ps", "--all", "--format", "json", files=files).splitlines():
        if line.strip():
            row = json.loads(line)
            states[row["Service"]] = row.get("Health") or row.get("State", "")
    return states


def parse_topology(text: str) -> dict[str, list[str]]:
    """``dfsadmin -printTopology`` output -> rack -> DataNode IPs."""
    racks: dict[str, list[str]] = {}
    rack = ""
    for line in text.splitlines():
        if line.startswith("Rack: "):
            rack = line.split(": ", 1)[1].strip()
            racks[rack] = []
        elif line.strip() and rack:
            racks[rack].append(line.split()[0].rsplit(":", 1)[0])
    return racks


def task_localities(event_logs: Path) -> dict[str, int]:
    """Locality level of every finished task in a directory of Spark event logs (written by
    Spark's own EventLoggingListener)."""
    counts: collections.Counter[str] = collections.Counter()
    for log in event_logs.iterdir():
        if not log.is_file():
            continue
        for line in log.read_text().splitlines():
            if '"SparkListenerTaskEnd"' in line:
                counts[json.loads(line)["Task Info"]["Locality"]] += 1
    return dict(counts)


def submit(job: str, *args: str, events: str, files: Sequence[str] = ()) -> tuple[float, str]:
    """spark-submit a job from trainer1 (client1's address) to the stack's Spark master, its
    event log in ``reports/compose/spark-events/<events>`` (mounted). Wall time and output."""
    began = time.monotonic()
    logs = f"{EVENTS}/{events}"
    out = run_in("trainer1", "bash", "-c", f"rm -rf {logs} && mkdir -p {logs} && "
                 "spark_jobs/submit --master \"$SPARK_MASTER\" "
                 "--conf spark.driver.host=\"$SPARK_LOCAL_IP\" "
                 f"--conf spark.eventLog.enabled=true --conf spark.eventLog.dir=file://{logs} "
                 "--conf spark.eventLog.rolling.enabled=false "
                 "--conf spark.eventLog.compress=false "
                 f"--conf spark.executor.memory=700m {job} {' '.join(args)}", files=files,
                 timeout=900)
    return time.monotonic() - began, out


def steps_per_s(metrics_csv: Path) -> float:
    """Optimiser steps per second from the trainer's metrics CSV, first step (warm-up) left out."""
    rows = metrics_csv.read_text().splitlines()[1:]
    seconds = [float(row.split(",")[-2]) for row in rows[1:]]
    return len(seconds) / sum(seconds) if seconds else 0.0


def torchrun_two_hosts(steps: int, checkpoint: str, out: str) -> None:
    """torchrun on trainer1 and trainer2 at once: two nodes, one process each, c10d rendezvous
    at trainer1's address; each node tells the rendezvous its own address (--local-addr)."""
    procs = []
    for service, address in (("trainer1", "172.28.0.21"), ("trainer2", "172.28.0.22")):
        cmd = ["docker", "compose", "exec", "-T", service, "torchrun", "--nnodes", "2",
               "--nproc-per-node", "1", "--rdzv-backend", "c10d", "--rdzv-id", "compose",
               "--rdzv-endpoint", "172.28.0.21:29500", "--local-addr", address,
               "-m", "training.train", "--data", DATA, "--stages", "2",
               "--max-steps", str(steps), "--checkpoint-every", str(steps),
               "--checkpoint", checkpoint, "--out", out, *TRAIN_FLAGS]
        procs.append(subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True))
    for proc in procs:
        try:
            text, _ = proc.communicate(timeout=1800)
        except subprocess.TimeoutExpired as exc:
            for other in procs:
                other.kill()
            raise StackError("two-host torchrun did not finish within 1800 s") from exc
        if proc.returncode != 0:
            raise StackError(f"two-host torchrun exited {proc.returncode}:\n{text[-3000:]}")


def heal_drill(result: Result, timeout: float = 300.0) -> None:
    """Kill one DataNode container; read every shard while HDFS re-replicates its blocks."""
    from hadoop.cluster.jmx import NameNodeJmx  # the published web UI, from the host

    jmx = NameNodeJmx(PUBLISHED_WEB)
    datanodes = len(jmx.live_datanodes())
    reads: dict[str, int] = {}
    reader = threading.Thread(target=lambda: reads.update(json.loads(run_in(
        "trainer2", "python", "-m", "benchmarks.compose", "inside", "read-all", "--data", DATA,
        "--seconds", "40"))))
    compose("kill", KILLED)
    began = time.monotonic()
    reader.start()
    while True:
        health = jmx.block_health()
        dead = len(jmx.live_datanodes()) < datanodes
        if dead and health["under_replicated"] == 0 and health["pending_replication"] == 0:
            break
        if time.monotonic() - began > timeout:
            raise StackError(f"not healed {timeout:.0f} s after killing {KILLED}: {health}")
        time.sleep(1.0)
    result.heal_s = time.monotonic() - began
    reader.join()
    result.heal_reads = reads
    result.lost_blocks = jmx.block_health()["missing"]
    compose("start", KILLED)


def run(quick: bool, down: bool) -> Result:
    result = Result()
    ids, steps = (12, 6) if quick else (24, 20)
    stage("up: docker compose up -d --wait")
    began = time.monotonic()
    compose("up", "-d", "--wait", "--wait-timeout", "600", timeout=660)
    result.up_s = time.monotonic() - began
    result.services = service_states()
    result.healthy = int(all(s in ("healthy", "running") for s in result.services.values()))
    result.ps = compose("ps")
    print(result.ps)

    stage("topology from inside the stack")
    result.topology_text = run_in("namenode", "python3", "-m", "hadoop.shell", "dfsadmin",
                                  "-printTopology")
    result.topology = parse_topology(result.topology_text)
    print(result.topology_text)

    stage(f"ingest: {ids} generated identities -> {LANDING} -> spark-submit on the cluster")
    land_generated(ids, "data/compose", LANDING, clear=("/reid/compose", "/reid/runs"))
    # the job's own --master: its SparkConf() is made before the JVM starts, so it does not see
    # spark-submit's --master and its setIfMissing("spark.master", "local[*]") would win
    result.ingest_s, _ = submit("spark_jobs/ingest.py", "--master", MASTER, "--source",
                                f"{NN}{LANDING}", "--dest", DATA, events="ingest")
    _, scan_out = submit("spark_jobs/scan.py", "--data", DATA, events="scan")
    result.scan = json.loads(scan_out.strip().splitlines()[-1])
    result.locality = task_localities(REPO / "reports" / "compose" / "spark-events" / "scan")
    print(f"    ingest {result.ingest_s:.1f} s; scan task locality: {result.locality}")

    stage("placement of the shards")
    result.placement = json.loads(run_in("trainer1", "python", "-m", "benchmarks.compose",
                                         "inside", "placement", "--data", DATA))
    print(f"    {result.placement}")

    stage(f"training: {steps} steps, 2 stages on two hosts, then on one host")
    torchrun_two_hosts(steps, f"{RUNS}/two-host", "reports/compose/two-host")
    run_in("trainer1", "torchrun", "--standalone", "--nproc-per-node", "2", "-m",
           "training.train", "--data", DATA, "--stages", "2", "--max-steps", str(steps),
           "--checkpoint-every", str(steps), "--checkpoint", f"{RUNS}/one-host",
           "--out", "reports/compose/one-host", *TRAIN_FLAGS, timeout=1800)
    reports = REPO / "reports" / "compose"
    result.two_host_steps_per_s = steps_per_s(reports / "two-host" / "metrics.csv")
    result.single_host_steps_per_s = steps_per_s(reports / "one-host" / "metrics.csv")
    result.weights = json.loads(run_in(
        "trainer1", "python", "-m", "benchmarks.compose", "inside", "weights",
        f"{RUNS}/two-host", f"{RUNS}/one-host"))
    print(f"    two hosts {result.two_host_steps_per_s:.3f} steps/s, one host "
          f"{result.single_host_steps_per_s:.3f} steps/s; weights {result.weights}")

    # its own directory: the report is swapped in whole, which would drop the event logs and
    # training metrics beside it
    stage("evaluation; report in ./reports/compose/report")
    run_in("trainer1", "python", "-m", "training.evaluate", "--data", DATA, "--checkpoint",
           f"{RUNS}/two-host", "--report", "reports/compose/report", timeout=1800)
    result.report = str(reports / "report" / "index.html")

    stage(f"heal drill: docker compose kill {KILLED}")
    heal_drill(result)
    print(f"    healed in {result.heal_s:.1f} s; reads meanwhile {result.heal_reads}; "
          f"missing blocks {result.lost_blocks}")
    if down:
        stage("docker compose down -v")
        compose("down", "-v", "--remove-orphans", timeout=300)
    (reports / "result.json").write_text(json.dumps(asdict(result), indent=1))
    print(result.result_line(), flush=True)
    return result


def stage(text: str) -> None:
    print(f"\n==> [compose] {text}", flush=True)


# ---- probes run inside the jobs containers ---------------------------------------------------

def _shards(data: str) -> tuple[FileSystem, list[str]]:
    fs, root = resolve(data)
    return fs, sorted(s.path for s in fs.list(f"{root}/shards", recursive=True)
                      if s.path.endswith(".shard"))


def inside_placement(data: str) -> dict[str, int]:
    from hadoop.blocks import block_locations

    counts: collections.Counter[str] = collections.Counter()
    for path in _shards(data)[1]:
        for block in block_locations(path, NN_WEB):
            counts["blocks"] += 1
            counts["three_replicas"] += len(block.replicas) == 3
            counts["two_racks_or_more"] += len(block.racks) >= 2
    return dict(counts)


def inside_weights(first: str, second: str) -> dict[str, Any]:
    from training.checkpoint import CheckpointStore

    a, b = CheckpointStore(first), CheckpointStore(second)
    info_a, info_b = a.require_latest(), b.require_latest()
    state_a, state_b = a.load_model(info_a).state_dict(), b.load_model(info_b).state_dict()
    diff = max((state_a[k].double() - state_b[k].double()).abs().max().item()
               for k in state_a if state_a[k].is_floating_point())
    return {"max_abs_diff": diff, "tensors": len(state_a), "steps": [info_a.step, info_b.step]}


def inside_read_all(data: str, seconds: float) -> dict[str, int]:
    """Read every shard in full, over and over for ``seconds``; count reads and failures."""
    fs, paths = _shards(data)
    counts = {"reads": 0, "failures": 0, "bytes": 0}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for path in paths:
            try:
                counts["bytes"] += len(fs.read_file(path))
                counts["reads"] += 1
            except StorageError:
                counts["failures"] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m benchmarks.compose", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer identities and steps")
    parser.add_argument("--down", action="store_true", help="down -v the stack at the end")
    sub = parser.add_subparsers(dest="inside")
    probe = sub.add_parser("inside", help="a probe run in a jobs container")
    probe.add_argument("probe", choices=("placement", "weights", "read-all"))
    probe.add_argument("checkpoints", nargs="*")
    probe.add_argument("--data", default=DATA)
    probe.add_argument("--seconds", type=positive_float, default=30.0)
    args = parser.parse_args(argv)
    if args.inside:
        if args.probe == "placement":
            out: dict[str, Any] = inside_placement(args.data)
        elif args.probe == "weights":
            out = inside_weights(*args.checkpoints)
        else:
            out = inside_read_all(args.data, args.seconds)
        print(json.dumps(out))
        return 0
    run(args.quick, args.down)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
