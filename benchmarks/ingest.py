"""Ingest benchmark: the Spark ingest vs plain `hdfs dfs -put`, on the same generated frames.

Baselines, measured in the same run on the same cluster (replication 3):
  (a) raw put:   `hdfs dfs -put` of all frame bytes concatenated into ONE file (the limit:
                 one sequential stream, no per-frame work);
  (b) naive put: `hdfs dfs -put` of the frame tree, one HDFS file per frame.
Ours: `spark_jobs/submit spark_jobs/ingest.py` (spark-submit with the project's settings:
validation, grouping, shards, index, manifest).
All three are timed as whole commands (JVM and Spark start-up included); (a) and the ingest
run twice, alternating, and the faster run of each counts (one run swung by +-20%); the naive
put runs once (10 minutes on the full set). The ingest's own summary line (without start-up) is
printed too. Ratios are throughput ratios (> 1: ours faster).

    .venv/bin/python -m benchmarks.ingest [--quick]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

from hadoop.cli import ArgumentParser, int_in, positive_int, run
from hadoop.cluster import LocalCluster
from ingest.synthetic import SyntheticConfig, generate

REPO = Path(__file__).resolve().parents[1]
HDFS = str(REPO / "hadoop" / "bin" / "hdfs")
MIB = 1 << 20


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    began = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    elapsed = time.monotonic() - began
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} ... failed:\n{done.stdout[-2000:]}"
                           f"{done.stderr[-2000:]}")
    return elapsed, done.stdout + done.stderr


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="~5,000 frames instead of ~24,000")
    parser.add_argument("--ids", type=int_in(2, 9999),
                        help="identities to generate (sets the size)")
    parser.add_argument("--rounds", type=positive_int, default=2,
                        help="raw put and ingest runs, alternating; the best of each counts")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be >= 1, got {args.rounds}")
    ids = args.ids or (30 if args.quick else 150)

    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        work = Path(tmp)
        source = work / "mars"
        print(f"generating {ids} identities ...", flush=True)
        summary = generate(source, SyntheticConfig(ids=ids, seed=5))
        frames = sorted(source.glob("bbox_*/*/*.jpg"))
        total = sum(f.stat().st_size for f in frames)
        blob = work / "frames.bin"
        with blob.open("wb") as handle:
            for frame in frames:
                handle.write(frame.read_bytes())
        print(f"{len(frames)} frames, {total / MIB:.1f} MiB ({summary})", flush=True)

        cluster = LocalCluster(work / "cluster")
        cluster.up()
        try:
            nn = cluster.namenode_url
            timed([HDFS, "dfs", "-mkdir", "-p", f"{nn}/bench/naive"])  # put makes no parents
            naive_s, _ = timed([HDFS, "dfs", "-put", str(source / "bbox_train"),
                                str(source / "bbox_test"), f"{nn}/bench/naive/"])
            env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
            raw_runs: list[float] = []
            ours_runs: list[tuple[float, float]] = []
            for run in range(args.rounds):  # alternating, each into a new file / dataset
                seconds, _ = timed([HDFS, "dfs", "-D", "dfs.blocksize=67108864", "-put",
                                    str(blob), f"{nn}/bench/raw-{run}.bin"])
                raw_runs.append(seconds)
                seconds, out = timed([str(REPO / "spark_jobs" / "submit"),
                                      str(REPO / "spark_jobs" / "ingest.py"),
                                      "--source", str(source), "--dest", f"{nn}/reid/bench-{run}"],
                                     env)
                job = re.search(r"^ingest created .*, ([\d.]+) s \(", out, re.MULTILINE)
                ours_runs.append((seconds, float(job.group(1)) if job else float("nan")))
                print(f"round {run + 1}: raw put {raw_runs[-1]:.1f} s, ingest {seconds:.1f} s",
                      flush=True)
        finally:
            cluster.down()

    raw_s = min(raw_runs)
    ours_s, job_s = min(ours_runs)
    mb = total / MIB
    print(f"\nbest of {args.rounds} rounds for (a) and the ingest; (b) once")
    print(f"{'':<34} {'seconds':>8} {'frames/s':>9} {'MiB/s':>7}")
    for name, seconds in (("(a) hdfs dfs -put, one file", raw_s),
                          ("(b) hdfs dfs -put, file per frame", naive_s),
                          ("ingest, spark-submit end to end", ours_s),
                          ("ingest, job only (no start-up)", job_s)):
        print(f"{name:<34} {seconds:>8.1f} {len(frames) / seconds:>9.0f} {mb / seconds:>7.1f}")
    print(f"RESULT vs_raw_put={raw_s / ours_s:.2f} vs_naive_put={naive_s / ours_s:.2f} "
          f"frames={len(frames)} mib={mb:.1f} ingest_s={ours_s:.1f} "
          f"frames_per_s={len(frames) / ours_s:.0f} mib_per_s={mb / ours_s:.1f} "
          f"job_only_vs_raw_put={raw_s / job_s:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run(main))
