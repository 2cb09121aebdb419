"""NameNode HA on the docker-compose stack: two failover drills under load, timed.

Runs the stack with its HA overlay (``docker-compose.ha.yml``, see hadoop.compose) and kills
the active NameNode's container with SIGKILL twice: once during a training run, once during an
ingest. Every client addresses the nameservice ``hdfs://reid``. Steps, each in the stack's own
containers (the host runs ``docker compose`` and reads the trainers' mounted ./reports):

  up       ``docker compose -f docker-compose.yml -f docker-compose.ha.yml up -d --wait``;
           ``hdfs haadmin -getAllServiceState`` in trainer1: one active, one standby;
  ingest   generated MARS tree -> ``hdfs dfs -put`` into hdfs://reid -> spark-submit ingest on
           the stack's Spark cluster into hdfs://reid/reid/ha;
  drill a  ``python -m training.train`` in trainer1 on that dataset, checkpoints in
           hdfs://reid; after its first checkpoint ``docker compose kill -s KILL <active>``;
           a probe in trainer2 times the standby becoming active and the first read of a file
           not yet opened and the first write through hdfs://reid; the training must log every
           step once (nothing failed, nothing resumed); fsck HEALTHY (through the JVM tools'
           default filesystem, hdfs://reid); the killed NameNode is
           started again and must rejoin as the standby;
  drill b  a second ingest (hdfs://reid/reid/ha-b); once it holds its lease, the active is
           killed; it must complete, or fail leaving nothing and complete when run again;
           fsck; restart; rejoin;
  verify   every file of the first dataset is still there with its length, every clip of both
           datasets reads (the index's CRCs); ``docker stats --no-stream``.

Prints each drill's timeline and ends with ``RESULT failover_s=... loader_stall_s=...
failed_reads=0 lost_files=0 ingest_completed=1 rejoined_standby=1 new_client_gave_up=...``
(``Result`` says what each counts). ``--down`` removes the stack and its volumes at the end.

    .venv/bin/python -m benchmarks.compose_ha [--down]

The ``inside`` sub-commands are the probes this driver runs in the jobs containers.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from benchmarks.compose import (
    REPO,
    TRAIN_FLAGS,
    compose,
    land_generated,
    run_in,
    service_states,
    submit,
)
from hadoop.cli import ArgumentParser, positive_float
from hadoop.cli import run as run_cli
from hadoop.cluster.jmx import NameNodeJmx
from hadoop.compose import overlay_path, spark_master_url
from hadoop.errors import ReidError
from hadoop.ha import NAMESERVICE, namenode_id
from hadoop.siteconf import CONF_DIR, LAYERS, load_site
from hadoop.topology import load_rack_table

FILES = ("docker-compose.yml", overlay_path(REPO / "docker-compose.yml", "ha").name)
TABLE = load_rack_table(CONF_DIR / "racks.csv")
SERVICE = {namenode_id(i): host.name for i, host in enumerate(TABLE.namenodes)}
NS = f"hdfs://{NAMESERVICE}"
MASTER = spark_master_url(TABLE, ha=True)
LANDING = f"{NS}/landing/ha"
DATA = f"{NS}/reid/ha"
DATA_B = f"{NS}/reid/ha-b"
LEASE_B = "/reid/.staging/ha-b.lease"  # ingest.staging: held while the second ingest runs
CHECKPOINT = f"{NS}/reid/runs/ha"
REPORTS = REPO / "reports" / "compose-ha"
IDS, STEPS, CHECKPOINT_EVERY, PROBES = 12, 200, 20, 20


class DrillError(ReidError):
    """A failover drill did not go as HA promises; the message says which step."""


@dataclass
class Drill:
    """One kill of the active NameNode: what was killed and when things came back (epoch s)."""

    name: str
    killed: str = ""  # nn1 | nn2
    killed_at: float = 0.0
    active_at: float = 0.0
    read_at: float = 0.0
    write_at: float = 0.0
    probe_failures: int = 0  # the failover probe's reads/writes that HdfsFS gave up on
    probe_error: str = ""  # the last of them
    fsck_healthy: int = 0
    rejoined_standby: int = 0

    @property
    def failover_s(self) -> float:
        return self.active_at - self.killed_at

    def timeline(self) -> str:
        rows = [(self.killed_at, f"docker compose kill -s KILL {SERVICE[self.killed]} "
                                 f"({self.killed}, active)"),
                (self.active_at, f"{SERVICE[self.other]} ({self.other}) active"),
                (self.read_at, "first successful read of a file not yet opened (hdfs://reid)"),
                (self.write_at, "first successful write through hdfs://reid")]
        return "\n".join(f"  {datetime.fromtimestamp(t):%H:%M:%S.%f}"[:-3]
                         + f"  +{t - self.killed_at:6.2f} s  {label}" for t, label in rows)

    @property
    def other(self) -> str:
        return next(nn for nn in SERVICE if nn != self.killed)


@dataclass
class Result:
    up_s: float = 0.0
    services: dict[str, str] = field(default_factory=dict)
    ps: str = ""
    states: dict[str, str] = field(default_factory=dict)
    haadmin: str = ""
    ingest_s: float = 0.0
    training: Drill = field(default_factory=lambda: Drill("training"))
    steps: list[int] = field(default_factory=list)
    step_gaps: list[float] = field(default_factory=list)  # s between logged steps
    steps_before_kill: int = 0
    training_rc: int = -1
    ingest: Drill = field(default_factory=lambda: Drill("ingest"))
    ingest_first_error: str = ""
    left_after_failure: list[bool] = field(default_factory=list)  # [lease dir, dataset]
    ingest_completed: int = 0
    lost_files: int = -1
    bad_clips: int = -1
    stats: str = ""

    @property
    def loader_stall_s(self) -> float:
        """The longest wait for a training step from the kill on."""
        # gap i ends at logged step i + 2: the first that can have waited is the one in
        # progress at the kill, steps_before_kill + 1
        return max(self.step_gaps[max(self.steps_before_kill - 1, 0):], default=0.0)

    @property
    def failed_reads(self) -> int:
        """The training run failed (a read or write it gave up on ends it) or skipped a step."""
        return int(self.training_rc != 0 or self.steps != list(range(1, STEPS + 1)))

    @property
    def new_client_gave_up(self) -> int:
        """Requests of the failover probe, a client started after the kill, that HdfsFS gave
        up on before the first success (then retried): its first contact tries the killed
        NameNode's address, which drops packets rather than refusing them."""
        return self.training.probe_failures + self.ingest.probe_failures

    def result_line(self) -> str:
        failover = max(self.training.failover_s, self.ingest.failover_s)
        rejoined = int(self.training.rejoined_standby and self.ingest.rejoined_standby)
        return (f"RESULT failover_s={failover:.1f} loader_stall_s={self.loader_stall_s:.1f} "
                f"failed_reads={self.failed_reads} lost_files={self.lost_files} "
                f"ingest_completed={self.ingest_completed} rejoined_standby={rejoined} "
                f"new_client_gave_up={self.new_client_gave_up}")


def probe(name: str, *args: str, timeout: float = 600.0) -> Any:
    """A probe of this module in trainer2 (client2's address, another rack than trainer1's
    jobs); its JSON answer."""
    return json.loads(run_in("trainer2", "python", "-m", "benchmarks.compose_ha", "inside",
                             name, *args, files=FILES, timeout=timeout).strip().splitlines()[-1])


def kill_active(drill: Drill) -> None:
    """SIGKILL the active NameNode's container, then time the failover from trainer2."""
    states = probe("states")
    active = [nn for nn, state in states.items() if state == "active"]
    if len(active) != 1:
        raise DrillError(f"{drill.name} drill: expected one active NameNode, found {states}")
    drill.killed = active[0]
    drill.killed_at = time.time()
    compose("kill", "-s", "KILL", SERVICE[drill.killed], files=FILES)
    watched = probe("failover", "--killed", drill.killed, "--timeout", "120", timeout=300)
    drill.active_at, drill.read_at, drill.write_at = (
        watched["active_at"], watched["read_at"], watched["write_at"])
    drill.probe_failures, drill.probe_error = watched["failures"], watched["error"]


def fsck_and_rejoin(drill: Drill) -> None:
    # no -fs: the JVM tools' default filesystem on an HA stack's host is the nameservice,
    # whichever NameNode was just killed
    out = run_in("trainer1", "hdfs", "fsck", "/", files=FILES, timeout=300)
    drill.fsck_healthy = int("is HEALTHY" in out)
    compose("start", SERVICE[drill.killed], files=FILES)
    answer = probe("wait-state", "--namenode", drill.killed, "--state", "standby", timeout=400)
    drill.rejoined_standby = int(answer["state"] == "standby")
    print(f"    fsck {'HEALTHY' if drill.fsck_healthy else 'NOT HEALTHY'}; "
          f"{SERVICE[drill.killed]} started again: {answer['state']} after "
          f"{answer['waited_s']:.1f} s")


def ingest(dest: str, events: str) -> float:
    seconds, _ = submit("spark_jobs/ingest.py", "--master", MASTER, "--source", LANDING,
                        "--dest", dest, events=events, files=FILES)
    return seconds


def training_drill(result: Result) -> None:
    out = REPORTS / "train"
    metrics = out / "metrics.csv"
    metrics.unlink(missing_ok=True)
    cmd = ["docker", "compose", *(arg for f in FILES for arg in ("-f", f)), "exec", "-T",
           "trainer1", "python", "-m", "training.train", "--data", DATA,
           "--max-steps", str(STEPS), "--checkpoint-every", str(CHECKPOINT_EVERY),
           "--checkpoint", CHECKPOINT, "--out", "reports/compose-ha/train", *TRAIN_FLAGS]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    deadline = time.monotonic() + 900
    # the first checkpoint is in HDFS once the step after it is logged
    while len(_steps(metrics)) <= CHECKPOINT_EVERY:
        if proc.poll() is not None or time.monotonic() > deadline:
            text = proc.communicate()[0] if proc.poll() is not None else "(still running)"
            proc.kill()
            raise DrillError(f"training did not reach step {CHECKPOINT_EVERY + 1}:\n"
                             f"{text[-3000:]}")
        time.sleep(0.2)
    result.steps_before_kill = len(_steps(metrics))
    kill_active(result.training)
    try:
        text, _ = proc.communicate(timeout=1200)
    except subprocess.TimeoutExpired as exc:
        proc.kill()
        raise DrillError("training did not finish within 1200 s of the kill") from exc
    result.training_rc = proc.returncode
    if proc.returncode != 0:
        print(text[-3000:])
    rows = _steps(metrics)
    result.steps = [int(row["step"]) for row in rows]
    elapsed = [float(row["elapsed"]) for row in rows]
    result.step_gaps = [b - a for a, b in itertools.pairwise(elapsed)]


def _steps(metrics_csv: Any) -> list[dict[str, str]]:
    try:
        with metrics_csv.open() as handle:
            return list(csv.DictReader(handle))
    except OSError:
        return []


def ingest_drill(result: Result) -> None:
    failed: list[BaseException] = []

    def first_run() -> None:
        try:
            ingest(DATA_B, "ha-ingest-b")
        except ReidError as exc:  # judged below: allowed only if it left nothing
            failed.append(exc)

    worker = threading.Thread(target=first_run, name="ingest-b")
    worker.start()
    probe("wait-path", "--path", LEASE_B, timeout=400)
    kill_active(result.ingest)
    worker.join(timeout=1200)
    if worker.is_alive():
        raise DrillError("the ingest did not end within 1200 s of the kill")
    if failed:
        result.ingest_first_error = str(failed[0])[-2000:]
        result.left_after_failure = probe("left", "--data", DATA_B)
        ingest(DATA_B, "ha-ingest-b-rerun")


def run(down: bool) -> Result:
    result = Result()
    REPORTS.mkdir(parents=True, exist_ok=True)
    stage("up: docker compose -f docker-compose.yml -f docker-compose.ha.yml up -d --wait")
    began = time.monotonic()
    compose("up", "-d", "--wait", "--wait-timeout", "600", files=FILES, timeout=660)
    result.up_s = time.monotonic() - began
    result.services = service_states(FILES)
    result.ps = compose("ps", files=FILES)
    print(result.ps)
    result.haadmin = run_in("trainer1", "hdfs", "haadmin", "-getAllServiceState", files=FILES)
    result.states = probe("states")
    print(result.haadmin.rstrip(), f"\n    {result.states}")

    stage(f"ingest: {IDS} generated identities -> {LANDING} -> spark-submit into {DATA}")
    land_generated(IDS, "data/compose-ha", LANDING, clear=(DATA, DATA_B, CHECKPOINT),
                   files=FILES)
    result.ingest_s = ingest(DATA, "ha-ingest")
    before = probe("listing", "--data", DATA)
    probe("write-probes", "--count", str(PROBES))
    print(f"    ingest {result.ingest_s:.1f} s, {len(before)} files")

    stage(f"drill a: training {STEPS} steps on {DATA}; kill -9 the active NameNode after "
          f"step {CHECKPOINT_EVERY}'s checkpoint")
    training_drill(result)
    print(result.training.timeline())
    print(f"    failover probe: {result.training.probe_failures} requests given up "
          f"{result.training.probe_error}")
    print(f"    training exit {result.training_rc}, steps logged {result.steps}; longest wait "
          f"for a step from the kill on {result.loader_stall_s:.2f} s (median step "
          f"{statistics.median(result.step_gaps or [0.0]):.2f} s)")
    fsck_and_rejoin(result.training)

    stage(f"drill b: ingest into {DATA_B}; kill -9 the active NameNode once it holds its lease")
    ingest_drill(result)
    print(result.ingest.timeline())
    print(f"    failover probe: {result.ingest.probe_failures} requests given up "
          f"{result.ingest.probe_error}")
    if result.ingest_first_error:
        print(f"    first run failed ({result.ingest_first_error.splitlines()[-1]}); it left "
              f"(manifest, dataset) {result.left_after_failure}; the second run completed")
    else:
        print("    the ingest completed through the failover")
    fsck_and_rejoin(result.ingest)

    stage("verify: every file of the first dataset, every clip of both")
    after = probe("listing", "--data", DATA)
    result.lost_files = sum(after.get(path) != size for path, size in before.items())
    checked = [probe("verify", "--data", url, timeout=900) for url in (DATA, DATA_B)]
    result.bad_clips = sum(c["bad"] for c in checked)
    result.ingest_completed = int(checked[1]["records"] == checked[0]["records"] > 0
                                  and checked[1]["bad"] == 0
                                  and result.left_after_failure in ([], [False, False]))
    result.stats = subprocess.run(
        ["docker", "stats", "--no-stream", "--format", "{{.Name}}\t{{.MemUsage}}"],
        capture_output=True, text=True, check=False).stdout
    print(f"    lost or changed files {result.lost_files}; clips {checked}")
    print(result.stats)
    if down:
        stage("docker compose down -v")
        compose("down", "-v", "--remove-orphans", files=FILES, timeout=300)
    (REPORTS / "result.json").write_text(json.dumps(asdict(result), indent=1))
    print(result.result_line(), flush=True)
    return result


def stage(text: str) -> None:
    print(f"\n==> [compose-ha] {text}", flush=True)


# ---- probes run inside the jobs containers ---------------------------------------------------

def _namenodes() -> dict[str, NameNodeJmx]:
    site = load_site(CONF_DIR, layers=LAYERS)
    return {nn: NameNodeJmx("http://" + site[f"dfs.namenode.http-address.{NAMESERVICE}.{nn}"],
                            timeout=1.0) for nn in SERVICE}


def inside_states() -> dict[str, str]:
    """Each NameNode's HA state as it reports it, or ``down``."""
    states = {}
    for nn, jmx in _namenodes().items():
        try:
            states[nn] = jmx.ha_state()
        except (OSError, ValueError, KeyError):
            states[nn] = "down"
    return states


def inside_failover(killed: str, timeout: float = 240.0) -> dict[str, Any]:
    """From just after the kill: when the other NameNode reports active (its JMX, polled), and,
    at the same time through the nameservice, when a probe file not yet opened is first read and
    a new file first written (HdfsFS waits, bounded, while no NameNode is active)."""
    from hadoop.fs import HdfsFS, StorageError

    other = _namenodes()[next(nn for nn in SERVICE if nn != killed)]
    times: dict[str, Any] = {"failures": 0, "error": ""}

    def client() -> None:
        fs = HdfsFS(NS)
        deadline = time.monotonic() + timeout
        for key, action in (("read_at", lambda: fs.read_file("/reid/ha-probe/file-0000")),
                            ("write_at", lambda: fs.write_file("/reid/ha-probe/after-kill",
                                                               b"ok", overwrite=True))):
            while key not in times:
                try:
                    action()
                    times[key] = time.time()
                except StorageError as exc:
                    times["failures"] += 1
                    times["error"] = f"{type(exc).__name__}: {exc}"[-500:]
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)

    worker = threading.Thread(target=client, daemon=True)  # must not outlive a failed drill
    worker.start()
    deadline = time.monotonic() + timeout
    while "active_at" not in times:
        try:
            if other.ha_state() == "active":
                times["active_at"] = time.time()
        except (OSError, ValueError, KeyError):
            pass
        if time.monotonic() > deadline:
            raise DrillError(f"no NameNode became active within {timeout:.0f} s of the kill")
        time.sleep(0.1)
    worker.join(timeout)
    if worker.is_alive() or "write_at" not in times:
        raise DrillError(f"no read and write through {NS} within {timeout:.0f} s: {times}")
    return times


def inside_wait_state(namenode: str, state: str, timeout: float = 360.0) -> dict[str, Any]:
    """Until ``namenode`` reports ``state`` (a restarted one: standby), bounded."""
    jmx = _namenodes()[namenode]
    began = time.monotonic()
    seen = "down"
    while time.monotonic() - began < timeout:
        try:
            seen = jmx.ha_state()
        except (OSError, ValueError, KeyError):
            seen = "down"
        if seen == state:
            break
        time.sleep(0.5)
    return {"state": seen, "waited_s": time.monotonic() - began}


def inside_wait_path(path: str, timeout: float = 360.0) -> dict[str, float]:
    """Until ``path`` exists in hdfs://reid, bounded."""
    from hadoop.fs import HdfsFS

    fs = HdfsFS(NS)
    began = time.monotonic()
    while not fs.exists(path):
        if time.monotonic() - began > timeout:
            raise DrillError(f"{NS}{path} did not appear within {timeout:.0f} s")
        time.sleep(0.1)
    return {"waited_s": time.monotonic() - began}


def inside_left(data: str) -> list[bool]:
    """What a failed ingest left at its destination: [a committed manifest, the directory]."""
    from hadoop.fs import resolve
    from ingest.dataset_manifest import read_manifest

    fs, root = resolve(data)
    return [read_manifest(fs, root) is not None, fs.exists(root)]


def inside_write_probes(count: int) -> dict[str, int]:
    """Small files the failover probe reads later, never opened by it before."""
    from hadoop.fs import HdfsFS

    fs = HdfsFS(NS)
    for i in range(count):
        fs.write_file(f"/reid/ha-probe/file-{i:04d}", f"probe {i}".encode(), overwrite=True)
    return {"written": count}


def inside_listing(data: str) -> dict[str, int]:
    """Every file under a dataset and its length."""
    from hadoop.fs import resolve

    fs, root = resolve(data)
    return {s.path: s.length for s in fs.list(root, recursive=True) if not s.isdir}


def inside_verify(data: str) -> dict[str, int]:
    """Every clip of a dataset read in full, checked against the index's CRC."""
    from ingest.dataset import open_dataset

    dataset = open_dataset(data)
    bad = 0
    for record in dataset.records:
        try:
            dataset.read_frames(record)
        except ReidError:
            bad += 1
    return {"records": len(dataset.records), "bad": bad}


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m benchmarks.compose_ha", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--down", action="store_true", help="down -v the stack at the end")
    sub = parser.add_subparsers(dest="inside")
    inside = sub.add_parser("inside", help="a probe run in a jobs container")
    inside.add_argument("probe", choices=("states", "failover", "wait-state", "wait-path",
                                          "left", "write-probes", "listing", "verify"))
    inside.add_argument("--killed", choices=sorted(SERVICE))
    inside.add_argument("--namenode", choices=sorted(SERVICE))
    inside.add_argument("--state", default="standby")
    inside.add_argument("--path")
    inside.add_argument("--data", default=DATA)
    inside.add_argument("--count", type=int, default=PROBES)
    inside.add_argument("--timeout", type=positive_float, default=360.0)
    args = parser.parse_args(argv)
    if not args.inside:
        run(args.down)
        return 0
    answers = {
        "states": lambda: inside_states(),
        "failover": lambda: inside_failover(args.killed, args.timeout),
        "wait-state": lambda: inside_wait_state(args.namenode, args.state, args.timeout),
        "wait-path": lambda: inside_wait_path(args.path, args.timeout),
        "left": lambda: inside_left(args.data),
        "write-probes": lambda: inside_write_probes(args.count),
        "listing": lambda: inside_listing(args.data),
        "verify": lambda: inside_verify(args.data),
    }
    print(json.dumps(answers[args.probe]()))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
