"""Secure vs plain: what Kerberos, encrypted RPC and block transfer cost, and what attacks get.

One run, two clusters on the same addresses, one after the other: the plain profile and the
secure one (KDC, Kerberos, privacy on RPC and block transfer, HTTPS only). On each: the same
generated MARS tree is ingested with spark-submit (the job's own seconds, without JVM start-up)
and the training data path (TrainClips + PKSampler + 2 forkserver DataLoader workers, T=4)
streams clips from it. On the plain cluster, a loopback capture during a frame's write and read
must find the frame's JPEG bytes (the capture works); on the secure one the attacks of
hadoop.security.attacks run, and the capture must find nothing. Each cluster's phase runs in
its own process (a DataLoader's forkserver keeps the environment it started with, and the
secure phase's clients need the realm's). Needs root (the capture, /etc/hosts). Ends with one
RESULT line.

    .venv/bin/python -m benchmarks.secure [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hadoop.cli import ArgumentParser, run
from hadoop.cluster import LocalCluster
from hadoop.fs import HdfsFS
from hadoop.security import attacks
from hadoop.security.names import INTRUDER
from ingest.dataset import open_dataset
from ingest.synthetic import SyntheticConfig, generate

REPO = Path(__file__).resolve().parents[1]


def ingest_seconds(source: Path, dest: str) -> tuple[float, float]:
    """spark-submit end to end, and the job's own seconds from its last line."""
    began = time.monotonic()
    done = subprocess.run([str(REPO / "spark_jobs" / "submit"),
                           str(REPO / "spark_jobs" / "ingest.py"), "--source", str(source),
                           "--dest", dest], capture_output=True, text=True, check=False,
                          timeout=1800, env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"})
    elapsed = time.monotonic() - began
    out = done.stdout + done.stderr
    job = re.search(r"^ingest created .*, ([\d.]+) s \(", out, re.MULTILINE)
    if done.returncode != 0 or job is None:
        raise RuntimeError(f"the ingest into {dest} failed:\n{out[-3000:]}")
    return elapsed, float(job.group(1))


def loader_rate(url: str, warmup: int, batches: int, rounds: int) -> float:
    from benchmarks.loader import throughput
    from hadoop.fs.ranges import DEFAULT_MAX_GAP

    data = open_dataset(url)
    return max(throughput(data, 4, warmup, batches, DEFAULT_MAX_GAP)[0] for _ in range(rounds))


def a_frame(source: Path) -> bytes:
    return max(source.glob("bbox_train/*/*.jpg"), key=lambda p: p.stat().st_size).read_bytes()


def phase(profile: str, work: Path, quick: bool) -> dict[str, object]:
    """Everything measured on one cluster; runs in its own process."""
    warmup, batches, rounds = (10, 120, 2) if quick else (30, 400, 3)
    source = work / "mars"
    cluster = LocalCluster(work / profile, profile=profile)
    cluster.up()
    result: dict[str, object] = {}
    try:
        if cluster.security:
            os.environ.update(cluster.security.client_env())
        url = f"{cluster.namenode_url}/reid/bench"
        result["ingest_s"], result["ingest_job_s"] = ingest_seconds(source, url)
        result["clips_per_s"] = loader_rate(url, warmup, batches, rounds)
        fs = HdfsFS(cluster.namenode_url)
        seen = attacks.cleartext(fs, "/reid/capture/shards/g/frame.jpg", a_frame(source))
        found = [seen]
        if cluster.security:
            found += attack(cluster, "/reid/capture/shards/g/frame.jpg")
        result["attempts"] = [vars(a) for a in found]
    finally:
        cluster.down()
    return result


def attack(cluster: LocalCluster, target: str) -> list[attacks.Attempt]:
    security = cluster.security
    assert security is not None
    nn, dn = cluster.table.namenode, cluster.table.datanodes[0]
    web = attacks.web_requests(f"http://{nn.local_ip}:9870", security.web_url(nn, 9871),
                               security.web_url(dn, 9865), target)
    return attacks.against(cluster.namenode_url, target, web, security.cafile,
                           security.keytab(INTRUDER), cluster.run_dir)


def unauthenticated_attack(attempt: dict[str, object]) -> bool:
    return str(attempt["attack"]).startswith(("no ticket", "anonymous"))


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smaller dataset, fewer batches")
    parser.add_argument("--phase", choices=("default", "secure"), help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        print("PHASE " + json.dumps(phase(args.phase, args.work, args.quick)))
        return 0
    if os.geteuid() != 0:
        parser.error("needs root: the packet capture and the secure profile's /etc/hosts names")
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="secure-bench-") as tmp:
        work = Path(tmp)
        generate(work / "mars", SyntheticConfig(ids=16 if args.quick else 60, seed=11))
        for profile in ("default", "secure"):
            print(f"==> {profile} profile: cluster, ingest, loader, capture", flush=True)
            cmd = [sys.executable, "-m", "benchmarks.secure", "--phase", profile,
                   "--work", str(work), *(["--quick"] if args.quick else [])]
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            line = [ln for ln in done.stdout.splitlines() if ln.startswith("PHASE ")]
            if done.returncode != 0 or not line:
                raise RuntimeError(f"the {profile} phase failed:\n"
                                   f"{(done.stdout + done.stderr)[-3000:]}")
            results[profile] = json.loads(line[-1][6:])
    plain, secure = results["default"], results["secure"]
    print(f"\n{'profile':<8} {'ingest s':>9} {'job s':>7} {'clips/s T=4':>12}")
    for name, r in (("plain", plain), ("secure", secure)):
        print(f"{name:<8} {r['ingest_s']:>9.1f} {r['ingest_job_s']:>7.1f} "
              f"{r['clips_per_s']:>12.1f}")
    print("\nattempts (plain: the capture only)")
    for name, r in (("plain", plain), ("secure", secure)):
        for attempt in r["attempts"]:
            print(f"{name:<7}", attacks.Attempt(**attempt).render())
    secure_attempts = secure["attempts"]
    capture_plain = plain["attempts"][0]["allowed"]
    cleartext = sum(a["allowed"] for a in secure_attempts if a["attack"] == "capture")
    unauth = sum(a["allowed"] for a in secure_attempts if unauthenticated_attack(a))
    spoofed = sum(a["allowed"] for a in secure_attempts if str(a["attack"]).startswith("other"))
    print(f"\nthe capture found the frame on the plain cluster: {capture_plain} "
          "(it must: otherwise cleartext_frames_seen=0 proves nothing)")
    print(f"RESULT secure_vs_plain_loader={secure['clips_per_s'] / plain['clips_per_s']:.2f} "
          f"secure_vs_plain_ingest={plain['ingest_job_s'] / secure['ingest_job_s']:.2f} "
          f"unauthenticated_ops_allowed={unauth} spoofed_ops_allowed={spoofed} "
          f"cleartext_frames_seen={cleartext}")
    return 0 if capture_plain else 1


if __name__ == "__main__":
    sys.exit(run(main))
