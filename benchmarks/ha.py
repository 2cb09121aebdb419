"""NameNode HA benchmark: failover time, what a running loader sees, and what HA costs.

In one temporary run directory it starts the plain cluster (test profile, one NameNode),
ingests a generated dataset and measures the training data path's throughput (the same
TrainClips + PKSampler + DataLoader as benchmarks.loader). Then it restarts the same storage
as the HA cluster (test+ha: the NameNode's edits are copied into three JournalNodes, the second
NameNode is bootstrapped as its standby, ZooKeeper and two ZKFCs) and measures the same loader
through the nameservice ``hdfs://reid``. Then, with that loader running, it kills -9 the active
NameNode and records the failover's timeline: the kill, the failover controllers' detection and
fencing (from their logs), the standby becoming active, the first successful read of a file not
yet opened (a NameNode lookup) and the first successful write through the nameservice. Every
file is verified afterwards, the killed NameNode restarted and seen rejoin as the standby, and
the daemons' resident memory is reported (the machine budget of HA on one host).

    .venv/bin/python -m benchmarks.ha [--quick]

Ends with ``RESULT failover_s=... loader_stall_s=... ha_vs_single_loader=... failed_reads=0
lost_files=0``.
"""

from __future__ import annotations

import argparse
import itertools
import random
import re
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from torch.utils.data import DataLoader

from benchmarks.generated import ingest_generated
from hadoop.cli import ArgumentParser, run
from hadoop.cluster import LocalCluster
from hadoop.cluster.launcher import Daemon
from hadoop.fs import HdfsFS, StorageError
from hadoop.fs.ranges import DEFAULT_MAX_GAP
from ingest.dataset import ShardedDataset, open_dataset
from training.data.clips import TrainClips, collate_clips
from training.data.sampler import PKSampler
from training.data.transforms import AugmentConfig

NAMESERVICE = "hdfs://reid"
SEQ_LEN = 4
# Lines of the ZKFC logs that mark the failover's steps (Hadoop's own messages).
_DETECT = re.compile(r"Transport-level exception trying to monitor health|"
                     r"Local service NameNode .* entered state: SERVICE_NOT_RESPONDING")
_FENCED = re.compile(r"Fencing successful")
_ACTIVE = re.compile(r"Successfully transitioned NameNode .* to active state")
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) ")


def clip_loader(data: ShardedDataset, batches: int) -> DataLoader:
    """The training data path over ``data`` (2 forkserver workers, as training runs it)."""
    train = data.select(split="train")
    clips = TrainClips(data, train, SEQ_LEN, AugmentConfig(), seed=0, max_gap=DEFAULT_MAX_GAP)
    sampler = PKSampler(train, 4, 4, seed=0)
    return DataLoader(clips, batch_sampler=list(sampler.run(0, batches)), num_workers=2,
                      collate_fn=collate_clips, multiprocessing_context="forkserver",
                      prefetch_factor=4)


def throughput(data: ShardedDataset, warmup: int, batches: int) -> float:
    """Clips per second in steady state (the first ``warmup`` batches start the workers)."""
    iterator = iter(clip_loader(data, warmup + batches))
    for _ in range(warmup):
        next(iterator)
    began = time.monotonic()
    clips = sum(batch.clips.shape[0] for batch in iterator)
    return clips / (time.monotonic() - began)


class RunningLoader(threading.Thread):
    """The training data path running through a failover: the time of every batch it
    delivers, and any error that ended it."""

    def __init__(self, data: ShardedDataset, batches: int) -> None:
        super().__init__(name="loader", daemon=True)
        self.data, self.batches = data, batches
        self.stamps: list[float] = []
        self.errors: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            for _ in clip_loader(self.data, self.batches):
                self.stamps.append(time.time())
                if self.stop.is_set():
                    return
        except Exception as exc:  # reported as failed reads, never hidden
            self.errors.append(f"{type(exc).__name__}: {exc}")

    def wait_for(self, enough: Callable[[list[float]], bool], timeout_s: float) -> None:
        """Until ``enough(stamps)``, the loader ended, or ``timeout_s`` passed."""
        deadline = time.monotonic() + timeout_s
        while not enough(self.stamps) and self.is_alive() and time.monotonic() < deadline:
            time.sleep(0.2)

    def longest_gap(self, start: float, end: float) -> float:
        """The longest wait for a batch between ``start`` and ``end`` (counted from the last
        batch before ``start``)."""
        earlier = [t for t in self.stamps if t < start][-1:]
        inside = earlier + [t for t in self.stamps if start <= t <= end]
        return max((b - a for a, b in itertools.pairwise(inside)), default=0.0)


def log_time(daemon: Daemon, pattern: re.Pattern[str], after: float) -> float | None:
    """The first time (epoch seconds) after ``after`` that ``daemon``'s log has a line
    matching ``pattern``."""
    try:
        lines = daemon.log_file.read_text(errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        stamp = _STAMP.match(line)
        if stamp and pattern.search(line):
            when = datetime.strptime(stamp.group(1), "%Y-%m-%d %H:%M:%S").timestamp() + int(
                stamp.group(2)) / 1000
            if when >= after - 0.001:
                return when
    return None


def first_success(action: Callable[[], object], deadline_s: float = 300.0) -> float:
    """Call ``action`` until it succeeds (HdfsFS waits through the failover itself); the time
    it first did."""
    end = time.monotonic() + deadline_s
    while True:
        try:
            action()
            return time.time()
        except StorageError:
            if time.monotonic() > end:
                raise
            time.sleep(0.1)


def rss_mib(cluster: LocalCluster) -> dict[str, float]:
    """Resident memory of each running daemon, MiB (VmRSS)."""
    sizes = {}
    for daemon in cluster.daemons:
        pid = daemon.pid()
        if pid is None:
            continue
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                sizes[daemon.name] = int(line.split()[1]) / 1024
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smaller dataset, fewer batches")
    args = parser.parse_args(argv)
    ids, warmup, batches, probes = (16, 10, 120, 40) if args.quick else (40, 20, 400, 200)

    with tempfile.TemporaryDirectory(prefix="ha-bench-") as tmp:
        work = Path(tmp)
        single = LocalCluster(work / "cluster", profile="test")
        single.up()
        try:
            url = ingest_generated(work, single.namenode_url, "ha-bench", ids=ids)
            single_rate = throughput(open_dataset(url), warmup, batches)
            single_rss = rss_mib(single)
        finally:
            single.down()

        cluster = LocalCluster(work / "cluster", profile="test+ha")
        began = time.monotonic()
        cluster.up()
        ha_up_s = time.monotonic() - began
        try:
            url = f"{NAMESERVICE}/reid/ha-bench"
            data = open_dataset(url)
            ha_rate = throughput(data, warmup, batches)
            ha_rss = rss_mib(cluster)
            fs = HdfsFS(NAMESERVICE)
            rng = random.Random(5)
            probe_files = {f"/reid/ha-probe/file-{i:04d}": rng.randbytes(4096)
                           for i in range(probes)}
            for path, content in probe_files.items():
                fs.write_file(path, content, overwrite=True)
            before = {e.path: e.length for e in fs.list("/reid", recursive=True) if not e.isdir}

            loader = RunningLoader(data, 100_000)
            loader.start()
            loader.wait_for(lambda stamps: len(stamps) >= 8, 300)  # in steady state
            active = cluster.active_namenode()
            assert active is not None, cluster.status().render()
            standby = next(nn for nn in cluster.namenodes if nn is not active)
            killed_at = time.time()
            cluster.stop([active.name], kill=True)
            unread = iter(list(probe_files)[probes // 2:])  # never opened by this process
            read_at = first_success(lambda: fs.read_file(next(unread)))
            wrote_at = first_success(lambda: fs.write_file("/reid/ha-probe/after-kill", b"ok",
                                                           overwrite=True))
            loader.wait_for(lambda stamps: sum(t > wrote_at for t in stamps) >= 8, 300)
            loader.stop.set()
            loader.join(timeout=120)
            ended = time.time()

            zkfc_old = cluster.daemon(f"{active.name}-zkfc")
            zkfc_new = cluster.daemon(f"{standby.name}-zkfc")
            detected_at = log_time(zkfc_old, _DETECT, killed_at)
            fenced_at = log_time(zkfc_new, _FENCED, killed_at)
            active_at = log_time(zkfc_new, _ACTIVE, killed_at)

            after = {e.path: e.length for e in fs.list("/reid", recursive=True) if not e.isdir}
            lost = [p for p, n in before.items() if after.get(p) != n]
            lost += [p for p, c in probe_files.items() if p not in lost and fs.read_file(p) != c]
            cluster.start([active.name])
            rejoin_deadline = time.monotonic() + 120
            while cluster.ha_state(active) != "standby" and time.monotonic() < rejoin_deadline:
                time.sleep(1)
            rejoined = cluster.ha_state(active)
            status = cluster.status().render()
        finally:
            cluster.down()

    def at(when: float | None) -> str:
        return "(not in the log)" if when is None else f"+{when - killed_at:6.2f} s"

    print(f"\nloader, clips/s (T={SEQ_LEN}): single NameNode {single_rate:.1f}, "
          f"HA nameservice {ha_rate:.1f} (ratio {ha_rate / single_rate:.2f})")
    print(f"HA cluster start on the single cluster's storage (initializeSharedEdits, "
          f"bootstrapStandby, formatZK): {ha_up_s:.0f} s")
    print(f"\nfailover timeline (kill -9 of the active NameNode {active.name}):")
    print(f"  {datetime.fromtimestamp(killed_at):%H:%M:%S.%f}"[:-3]
          + f"  +  0.00 s  kill -9 {active.name}")
    for label, when in (("detection: its ZKFC finds it not responding", detected_at),
                        (f"fencing done by {standby.name}'s ZKFC", fenced_at),
                        (f"{standby.name} active", active_at),
                        ("first successful read of a file not yet opened", read_at),
                        ("first successful write through hdfs://reid", wrote_at)):
        clock = "?" if when is None else f"{datetime.fromtimestamp(when):%H:%M:%S.%f}"[:-3]
        print(f"  {clock:>12}  {at(when)}  {label}")
    stall = loader.longest_gap(killed_at, ended)
    quiet = loader.longest_gap(loader.stamps[1] if len(loader.stamps) > 1 else killed_at,
                               killed_at)
    print(f"\nrunning loader: {len(loader.stamps)} batches, longest gap between batches "
          f"{stall:.2f} s from the kill on (before the kill, after its first batch: "
          f"{quiet:.2f} s), "
          f"{len(loader.errors)} errors {loader.errors[:1]}")
    print(f"files verified: {len(before)}, lost or changed: {len(lost)} {lost[:3]}")
    print(f"killed NameNode restarted: {rejoined}\n{status}")
    extra = {name: mib for name, mib in ha_rss.items() if name not in single_rss}
    print(f"\nresident memory, MiB: single cluster {sum(single_rss.values()):.0f} "
          f"({len(single_rss)} JVMs), HA cluster {sum(ha_rss.values()):.0f} "
          f"({len(ha_rss)} JVMs); the HA daemons: "
          + ", ".join(f"{name} {mib:.0f}" for name, mib in sorted(extra.items()))
          + f"; NameNodes {single_rss.get(active.name, 0):.0f} (single) vs "
          + ", ".join(f"{nn.name} {ha_rss.get(nn.name, 0):.0f}" for nn in cluster.namenodes))
    failover_s = wrote_at - killed_at
    print(f"RESULT failover_s={failover_s:.1f} loader_stall_s={stall:.2f} "
          f"ha_vs_single_loader={ha_rate / single_rate:.2f} failed_reads={len(loader.errors)} "
          f"lost_files={len(lost)}")
    return 0 if not loader.errors and not lost and rejoined == "standby" else 1


if __name__ == "__main__":
    raise SystemExit(run(main))
