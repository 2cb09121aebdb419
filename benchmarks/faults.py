"""Redundancy benchmark: time to heal after a DataNode loss, and what readers see meanwhile.

Starts its own cluster (test profile: a silent DataNode is declared dead after ~14 s instead of
10.5 min) in a temporary run directory, then for each data size:

  write the data (replication 3) -> start a reader that checks every byte it reads ->
  kill -9 one DataNode -> time until the NameNode declares it dead (detect) and until every
  block is back to 3 live replicas (repair) -> verify every file -> restart the node.

Then one corrupt replica (verified and replaced through the DataNodes) and one whole rack stopped
(no block may be missing). Ends with one RESULT line:

    .venv/bin/python -m benchmarks.faults [--quick]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from hadoop.blocks import block_locations, scrub
from hadoop.cli import ArgumentParser, positive_int, run
from hadoop.cluster import LocalCluster
from hadoop.cluster.faults import corrupt_replica, wait_until_dead, wait_until_replicated
from hadoop.fs import HdfsFS, StorageError
from hadoop.fs.probe import ReadProbe

MIB = 1 << 20
BLOCK = 4 * MIB
FILE = 16 * MIB


@dataclass(frozen=True)
class HealRow:
    size_mib: int
    blocks: int
    lost_replicas: int
    detect_s: float
    repair_s: float
    reads: int
    failed_reads: int

    @property
    def heal_s(self) -> float:
        return self.detect_s + self.repair_s


def write_dataset(fs: HdfsFS, root: str, size: int, seed: int) -> dict[str, bytes]:
    rng = random.Random(seed)
    contents = {f"{root}/part-{i:04d}.bin": rng.randbytes(min(FILE, size - i * FILE))
                for i in range(-(-size // FILE))}
    for path, data in contents.items():
        fs.write_file(path, data, replication=3, block_size=BLOCK, overwrite=True)
    return contents


def heal_after_kill(cluster: LocalCluster, fs: HdfsFS, size_mib: int, victim: str) -> HealRow:
    root = f"/bench/faults/{size_mib}m"
    contents = write_dataset(fs, root, size_mib * MIB, seed=size_mib)
    paths = sorted(contents)
    victim_ip = cluster.daemon(victim).host.local_ip
    blocks = [b for p in paths for b in block_locations(p)]
    lost = sum(victim_ip in {r.address for r in b.replicas} for b in blocks)
    with ReadProbe(fs, contents, max_length=2 * BLOCK) as probe:
        cluster.stop([victim], kill=True)
        detect_s = wait_until_dead(cluster, victim)
        repair_s = wait_until_replicated(cluster, paths, timeout=900)
    for path, data in contents.items():
        if fs.read_file(path) != data:
            raise AssertionError(f"{path} changed after healing")
    cluster.start([victim])
    fs.delete(root, recursive=True)
    return HealRow(size_mib, len(blocks), lost, detect_s, repair_s, probe.reads, probe.failures)


def corrupt_and_repair(cluster: LocalCluster, fs: HdfsFS) -> tuple[int, float]:
    """Corrupt one replica; returns (wrong reads, seconds until scrubbed and re-replicated)."""
    contents = write_dataset(fs, "/bench/faults/corrupt", 2 * BLOCK, seed=99)
    path = next(iter(contents))
    corrupt_replica(cluster, path, block_index=1)
    wrong = int(fs.read_file(path) != contents[path])
    began = time.monotonic()
    scrub(path, cluster.status().web_ui, cluster.namenode_url)
    wait_until_replicated(cluster, [path])
    elapsed = time.monotonic() - began
    corrupt = cluster.jmx.block_health()["corrupt"]
    fs.delete("/bench/faults/corrupt", recursive=True)
    return wrong + corrupt, elapsed


def stop_rack(cluster: LocalCluster, fs: HdfsFS, rack: str) -> tuple[int, int]:
    """Stop a whole rack and read everything; returns (unreadable files, missing blocks)."""
    contents = write_dataset(fs, "/bench/faults/rack", 8 * BLOCK, seed=7)
    cluster.stop([rack])
    unreadable = 0
    try:
        for path, data in contents.items():
            try:
                unreadable += fs.read_file(path) != data
            except StorageError:
                unreadable += 1
        missing = cluster.jmx.block_health()["missing"]
    finally:
        cluster.start([rack])
    wait_until_replicated(cluster, sorted(contents))
    fs.delete("/bench/faults/rack", recursive=True)
    return unreadable, missing


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="16/64/128 MiB instead of "
                        "128/512/1024 MiB")
    parser.add_argument("--sizes", type=positive_int, nargs="+", help="data sizes in MiB")
    args = parser.parse_args(argv)
    sizes = args.sizes or ([16, 64, 128] if args.quick else [128, 512, 1024])

    with tempfile.TemporaryDirectory(prefix="faults-bench-") as run_dir:
        cluster = LocalCluster(Path(run_dir), profile="test")
        print(f"starting a test-profile cluster in {run_dir}", flush=True)
        cluster.up()
        try:
            fs = HdfsFS(cluster.namenode_url)
            rows = []
            for i, size in enumerate(sizes):
                victim = cluster.datanodes[i % len(cluster.datanodes)].name
                print(f"{size} MiB: killing {victim} ...", flush=True)
                rows.append(heal_after_kill(cluster, fs, size, victim))
            wrong_after_corruption, corrupt_repair_s = corrupt_and_repair(cluster, fs)
            rack = next(iter(cluster.table.racks))
            unreadable, missing = stop_rack(cluster, fs, rack)
        finally:
            cluster.down()

    print(f"\n{'size MiB':>8} {'blocks':>6} {'lost replicas':>13} {'detect s':>8} "
          f"{'repair s':>8} {'heal s':>7} {'repair MiB/s':>12} {'reads':>6} {'failed':>6}")
    for r in rows:
        rate = r.lost_replicas * BLOCK / MIB / r.repair_s if r.repair_s else float("inf")
        print(f"{r.size_mib:>8} {r.blocks:>6} {r.lost_replicas:>13} {r.detect_s:>8.1f} "
              f"{r.repair_s:>8.1f} {r.heal_s:>7.1f} {rate:>12.1f} {r.reads:>6} "
              f"{r.failed_reads:>6}")
    print(f"corrupt replica: wrong reads + corrupt blocks left = {wrong_after_corruption}, "
          f"scrubbed and re-replicated in {corrupt_repair_s:.1f} s")
    print(f"rack {rack} stopped: {unreadable} unreadable files, {missing} missing blocks")
    largest = rows[-1]
    failed = sum(r.failed_reads for r in rows)
    print(f"RESULT heal_s={largest.heal_s:.1f} lost_blocks={missing} failed_reads={failed} "
          f"detect_s={largest.detect_s:.1f} repair_s={largest.repair_s:.1f} "
          f"size_mib={largest.size_mib} corrupt_left={wrong_after_corruption} "
          f"rack_unreadable_files={unreadable}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run(main))
