"""The secure profile on the docker-compose stack, end to end: the demo pipeline as the service
user, then issue 24's attacks from a trainer container.

Needs the images (``make images``) and a Docker engine with compose v2+. The stack is
docker-compose.yml with docker-compose.secure.yml over it (KDC, Kerberos, privacy on RPC and
block transfer, HTTPS only); the host only runs ``docker compose``. Steps:

  up       ``docker compose -f docker-compose.yml -f docker-compose.secure.yml up -d --wait``;
  ingest   generated MARS tree -> ``hdfs dfs -put`` under /reid -> spark-submit ingest on the
           Spark cluster, driver and executors authenticated by the reid principal's ticket;
  train    a short 2-stage torchrun on trainer1 (checkpoints in HDFS);
  evaluate that checkpoint (R1 from its summary line);
  modes    dataset and checkpoint directories are reid:reid 0750;
  attack   from trainer1: no ticket (as anyone and as root), anonymous HTTPS, the intruder's
           valid ticket (alone and as root), and a packet capture on the container's eth0
           while it writes and reads a frame (hadoop.security.attacks), and the same capture
           during a kinit, which must see the principal's name (the capture's control).

Ends with ``RESULT up_s=... healthy=1 ingest_s=... unauthenticated_ops_allowed=0
spoofed_ops_allowed=0 intruder_reads_allowed=0 cleartext_frames_seen=0 train_steps=...
eval_r1=...``. ``--down`` removes the stack and its volumes at the end.

    .venv/bin/python -m benchmarks.compose_secure [--down]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.compose import (
    MASTER,
    NAMENODE_IP,
    NN,
    REPO,
    TRAIN_FLAGS,
    StackError,
    compose,
    land_generated,
    run_in,
    service_states,
    stage,
    submit,
)
from hadoop.cli import ArgumentParser
from hadoop.cli import run as run_cli
from hadoop.security.attacks import Attempt

FILES = ("docker-compose.yml", "docker-compose.secure.yml")
SOURCE = "data/compose-secure"  # in trainer1
LANDING = "/reid/landing/compose-secure"
DATA = f"{NN}/reid/compose-secure"
RUNS = f"{NN}/reid/runs/compose-secure"
REPORTS = "reports/compose-secure"  # mounted: ./reports on the host
TARGET = "/reid/capture/shards/g/frame.jpg"
IDS, STEPS = 12, 4
_CAPTURED = re.compile(r"^(\d+) bytes in (\d+) streams")


@dataclass
class Result:
    up_s: float = 0.0
    healthy: int = 0
    services: dict[str, str] = field(default_factory=dict)
    ps: str = ""
    ingest_s: float = 0.0
    train_steps: int = 0
    eval_r1: float = -1.0
    modes: dict[str, str] = field(default_factory=dict)
    attempts: list[dict[str, Any]] = field(default_factory=list)

    def allowed(self, *attacks: str) -> int:
        return sum(a["allowed"] for a in self.attempts if a["attack"] in attacks)

    @property
    def unauthenticated_ops_allowed(self) -> int:
        return self.allowed("no ticket", "no ticket+root", "anonymous web")

    @property
    def spoofed_ops_allowed(self) -> int:
        """Claims of root (HADOOP_USER_NAME), with no ticket or the intruder's."""
        return self.allowed("no ticket+root", "other+root")

    @property
    def intruder_ops_allowed(self) -> int:
        """Operations on /reid with the intruder's valid ticket, alone and claiming root."""
        return self.allowed("other ticket", "other+root")

    @property
    def capture(self) -> dict[str, Any]:
        return next(a for a in self.attempts if a["attack"] == "capture")

    @property
    def control(self) -> dict[str, Any]:
        return next(a for a in self.attempts if a["attack"] == "capture control")

    @property
    def captured_bytes(self) -> int:
        match = _CAPTURED.match(self.capture["answer"])
        return int(match.group(1)) if match else 0

    def result_line(self) -> str:
        return (f"RESULT up_s={self.up_s:.1f} healthy={self.healthy} "
                f"ingest_s={self.ingest_s:.1f} "
                f"unauthenticated_ops_allowed={self.unauthenticated_ops_allowed} "
                f"spoofed_ops_allowed={self.spoofed_ops_allowed} "
                f"intruder_reads_allowed={self.intruder_ops_allowed} "
                f"cleartext_frames_seen={int(self.capture['allowed'])} "
                f"train_steps={self.train_steps} eval_r1={self.eval_r1:.3f}")


def inside(service: str, probe: str, timeout: float = 600.0) -> Any:
    """A probe of this module run in ``service``'s container; its JSON answer."""
    out = run_in(service, "python", "-m", "benchmarks.compose_secure", "inside", probe,
                 files=FILES, timeout=timeout)
    return json.loads(out.strip().splitlines()[-1])


def run(down: bool) -> Result:
    result = Result()
    stage("up: docker compose -f docker-compose.yml -f docker-compose.secure.yml up -d --wait")
    began = time.monotonic()
    compose("up", "-d", "--wait", "--wait-timeout", "600", files=FILES, timeout=660)
    result.up_s = time.monotonic() - began
    result.services = service_states(FILES)
    result.healthy = int(all(s in ("healthy", "running") for s in result.services.values()))
    result.ps = compose("ps", files=FILES)
    print(result.ps)

    stage(f"ingest as reid: {IDS} generated identities -> {LANDING} -> spark-submit")
    land_generated(IDS, SOURCE, LANDING, clear=("/reid/compose-secure",
                                                 "/reid/runs/compose-secure"), files=FILES)
    result.ingest_s, _ = submit("spark_jobs/ingest.py", "--master", MASTER, "--source",
                                f"{NN}{LANDING}", "--dest", DATA, events="secure-ingest",
                                files=FILES)
    print(f"    ingest {result.ingest_s:.1f} s")

    stage(f"training: {STEPS} steps, 2 stages, torchrun on trainer1")
    run_in("trainer1", "torchrun", "--standalone", "--nproc-per-node", "2", "-m",
           "training.train", "--data", DATA, "--stages", "2", "--max-steps", str(STEPS),
           "--checkpoint-every", str(STEPS), "--checkpoint", RUNS, "--out", f"{REPORTS}/train",
           *TRAIN_FLAGS, files=FILES, timeout=1800)
    metrics = REPO / REPORTS / "train" / "metrics.csv"
    result.train_steps = len(metrics.read_text().splitlines()) - 1

    stage("evaluation")
    out = run_in("trainer1", "python", "-m", "training.evaluate", "--data", DATA,
                 "--checkpoint", RUNS, "--report", f"{REPORTS}/report", "--workers", "0",
                 files=FILES, timeout=1800)
    r1 = re.search(r"standard: R1 ([\d.]+)", out)
    if r1 is None:
        raise StackError(f"the evaluation printed no 'standard: R1' line:\n{out[-2000:]}")
    result.eval_r1 = float(r1.group(1))
    result.modes = inside("trainer1", "modes")
    print(f"    R1 {result.eval_r1:.3f}; {result.modes}")

    stage("attacks from trainer1")
    result.attempts = inside("trainer1", "attacks")
    for attempt in result.attempts:
        print("   ", Attempt(**attempt).render())
    if down:
        stage("docker compose down -v")
        compose("down", "-v", "--remove-orphans", files=FILES, timeout=300)
    (REPO / REPORTS / "result.json").write_text(json.dumps(asdict(result), indent=1))
    print(result.result_line(), flush=True)
    return result


# ---- probes run inside trainer1 (the reid principal's ticket cache is the default) -----------

def inside_modes() -> dict[str, str]:
    """owner:group mode of the dataset, its shards' first file and the checkpoints."""
    from hadoop.fs import HdfsFS

    fs = HdfsFS(NN)
    data, runs = DATA.removeprefix(NN), RUNS.removeprefix(NN)
    shard = next(f.path for f in fs.list(f"{data}/shards", recursive=True)
                 if f.path.endswith(".shard"))
    modes = {}
    for path in (data, runs, shard.split(":8020", 1)[-1]):
        info = fs.client.get_file_info(path)
        modes[path] = f"{info.owner}:{info.group}:{info.permission:04o}"
    return modes


def inside_attacks() -> list[dict[str, Any]]:
    """The capture (a frame of the generated tree written and read by reid while eth0 is
    captured) and its control, then every other attack against that frame."""
    from benchmarks.secure import a_frame
    from hadoop.fs import HdfsFS
    from hadoop.security import attacks, stack
    from hadoop.security.names import INTRUDER

    nn_https, dn_https = "https://namenode.reid.test:9871", "https://dn1.reid.test:9865"
    found = [attacks.cleartext(HdfsFS(NN), TARGET, a_frame(Path(SOURCE)), interface="eth0")]
    web = attacks.web_requests(f"http://{NAMENODE_IP}:9870", nn_https, dn_https, TARGET)
    with tempfile.TemporaryDirectory(prefix="attacks-") as scratch:
        found.append(capture_control(Path(scratch)))
        found += attacks.against(NN, TARGET, web, stack.CAFILE, stack.keytab(INTRUDER),
                                 Path(scratch))
    return [vars(a) for a in found]


def capture_control(scratch: Path) -> Attempt:
    """The same eth0 capture must see cleartext where there is some, or its 'not found' above
    proves nothing: a Kerberos AS exchange names its client principal in clear."""
    from hadoop.security import stack
    from hadoop.security.kdc import KDC_PORT, kinit
    from hadoop.security.names import INTRUDER, user_principal
    from hadoop.security.sniffer import LoopbackCapture

    with LoopbackCapture((KDC_PORT,), "eth0") as capture:
        kinit(user_principal(INTRUDER), stack.keytab(INTRUDER), scratch / "control.ccache")
        time.sleep(0.3)  # let the capture thread drain the socket
    seen = capture.contains(INTRUDER.encode())
    return Attempt("capture control", f"kinit {INTRUDER} on eth0 port {KDC_PORT}", seen,
                   f"{capture.captured_bytes} bytes in {len(capture.flows)} streams, principal "
                   f"name {'FOUND' if seen else 'not found'}")


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m benchmarks.compose_secure", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--down", action="store_true", help="down -v the stack at the end")
    sub = parser.add_subparsers(dest="inside")
    probe = sub.add_parser("inside", help="a probe run in a trainer container")
    probe.add_argument("probe", choices=("modes", "attacks"))
    args = parser.parse_args(argv)
    if args.inside:
        if not os.environ.get("KRB5CCNAME"):
            parser.error("run the probes in a trainer of the secure stack (no KRB5CCNAME)")
        out = inside_modes() if args.probe == "modes" else inside_attacks()
        print(json.dumps(out))
        return 0
    run(args.down)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
