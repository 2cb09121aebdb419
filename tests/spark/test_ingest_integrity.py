"""What a re-run, a crash or a damaged tree must never do to a dataset (issue 23, items 5-8):
call changed content "up to date", delete another ingest's staging, leave a killed ingest's
staging behind, or drop a whole split without saying so."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark import SparkContext

from hadoop.cluster import LocalCluster
from hadoop.fs import HdfsFS, resolve
from ingest import mars
from ingest.dataset_manifest import read_manifest
from ingest.spark_ingest import MIB, IngestConfig, IngestError, run_ingest
from ingest.staging import Lease, StagingError
from tests.spark.test_ingest import load_index, spark_submit

pytestmark = [pytest.mark.cluster, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]


def config(source: Path, dest: str, **changes: object) -> IngestConfig:
    return IngestConfig(source=str(source), dest=dest, shard_size=MIB, block_size=MIB,
                        **changes)  # type: ignore[arg-type]


def staging_dirs(fs: HdfsFS, area: str, name: str) -> list[str]:
    """The staging directories of dataset ``name`` in ``area`` (``<name>.<token>``)."""
    if not fs.exists(area):
        return []
    return sorted(s.path for s in fs.list(area)
                  if s.isdir and s.path.rsplit("/", 1)[-1].rsplit(".", 1)[0] == name)


def started_staging(fs: HdfsFS, area: str, name: str, proc: subprocess.Popen[str]) -> str:
    """Wait until the ingest ``proc`` has created its staging directory; return its path."""
    deadline = time.monotonic() + 300
    while not (found := staging_dirs(fs, area, name)):
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            pytest.fail(f"the ingest ended before it started staging:\n{out[-3000:]}")
        assert time.monotonic() < deadline, "no staging directory after 300 s"
        time.sleep(0.1)
    [staging] = found
    return staging


@pytest.fixture
def tree(small_mars: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(small_mars, tmp_path / "mars"))


# ---- 5: "up to date" means the same content ------------------------------------------------

def test_repaired_tree_is_ingested_again(cluster: LocalCluster, tree: Path,
                                         sc: SparkContext) -> None:
    """A frame damaged in place (same size) is quarantined; once repaired, the next ingest
    must pack it, not call the dataset up to date."""
    frame = sorted((tree / "bbox_train").glob("*/*.jpg"))[7]
    original = frame.read_bytes()
    frame.write_bytes(b"\0\0\0" + original[3:])
    dest = f"{cluster.namenode_url}/reid/repaired"
    assert run_ingest(sc, config(tree, dest)).counts["quarantined_frames"] == 1

    frame.write_bytes(original)
    again = run_ingest(sc, config(tree, dest))
    assert again.status == "replaced", again.summary()
    fs, root = resolve(dest)
    [row] = [r for r in load_index(fs, root) if frame.name in r["frame_names"]]  # type: ignore[operator]
    length = len(next(t for t in mars.read_mars(tree, files="none").tracklets
                      if t.tracklet_id == row["tracklet_id"]).frames)
    assert row["num_frames"] == length
    manifest = read_manifest(fs, root)
    assert manifest is not None
    assert manifest.totals()["quarantined_frames"] == 0
    assert run_ingest(sc, config(tree, dest)).status == "up-to-date"


def test_same_names_other_content_is_a_different_dataset(cluster: LocalCluster, tree: Path,
                                                         small_mars: Path,
                                                         sc: SparkContext) -> None:
    """Another tree whose frames have the same names and sizes but other bytes."""
    dest = f"{cluster.namenode_url}/reid/other-content"
    assert run_ingest(sc, config(small_mars, dest)).status == "created"
    for frame in sorted((tree / "bbox_test").glob("*/*.jpg"))[::5]:
        data = bytearray(frame.read_bytes())
        data[len(data) // 2] ^= 0x55
        frame.write_bytes(bytes(data))
    with pytest.raises(IngestError, match="holds a different dataset") as caught:
        run_ingest(sc, config(tree, dest))
    assert dest in str(caught.value)
    assert str(small_mars) in str(caught.value)
    with pytest.raises(IngestError, match="different content"):
        run_ingest(sc, config(tree, dest, append=True))
    assert run_ingest(sc, config(tree, dest, replace=True)).status == "replaced"


# ---- 6 and 7: staging belongs to a live ingest or to nobody -----------------------------------

Stopped = tuple[subprocess.Popen[str], str, str]


@pytest.fixture
def stopped_ingest(cluster: LocalCluster, small_mars: Path) -> Iterator[Stopped]:
    """An ingest of ``<root>/foo.v2`` (a fresh root) paused (SIGSTOP) while it stages: alive
    and quiet. Yields the process, its staging directory and the root."""
    fs = HdfsFS(cluster.namenode_url)
    root = f"/reid/live-{uuid.uuid4().hex[:6]}"
    proc = spark_submit("--source", str(small_mars), "--dest",
                        f"{cluster.namenode_url}{root}/foo.v2", "--shard-size-mib", "1",
                        "--block-size-mib", "1", wait=False)
    try:
        staging = started_staging(fs, f"{root}/.staging", "foo.v2", proc)
        os.killpg(proc.pid, signal.SIGSTOP)
        yield proc, staging, root
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGCONT)
        try:
            proc.wait(timeout=300)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)


def test_ingest_never_deletes_a_live_ingests_staging(cluster: LocalCluster, small_mars: Path,
                                                     stopped_ingest: Stopped,
                                                     sc: SparkContext) -> None:
    proc, staging, root = stopped_ingest
    fs = HdfsFS(cluster.namenode_url)
    foo = run_ingest(sc, config(small_mars, f"{cluster.namenode_url}{root}/foo"))
    assert foo.status == "created"
    assert fs.exists(staging), "the ingest of foo deleted the staging of foo.v2"
    os.killpg(proc.pid, signal.SIGCONT)
    proc.wait(timeout=300)
    out = proc.stdout.read() if proc.stdout else ""
    assert proc.returncode == 0, out[-3000:]
    assert read_manifest(fs, f"{root}/foo.v2") is not None


def test_one_ingest_at_a_time_holds_a_dataset(cluster: LocalCluster,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The second taker is refused, also when it races past the existence check: HDFS's
    rename onto an existing lease fails."""
    fs = HdfsFS(cluster.namenode_url)
    with Lease(fs, "/reid/busy/x") as held:
        assert fs.exists(held.staging)
        with pytest.raises(StagingError, match=r"being ingested by another run \(pid"):
            Lease(fs, "/reid/busy/x").acquire()
        racer = HdfsFS(cluster.namenode_url)
        monkeypatch.setattr(racer, "exists", lambda path: False)
        with pytest.raises(StagingError, match="being ingested by another run"):
            Lease(racer, "/reid/busy/x").acquire()
    assert [s.path for s in fs.list("/reid/busy/.staging")] == []


def test_killed_ingest_staging_is_removed_by_the_next_ingest_of_any_dataset(
        cluster: LocalCluster, small_mars: Path, sc: SparkContext) -> None:
    fs = HdfsFS(cluster.namenode_url)
    proc = spark_submit("--source", str(small_mars), "--dest",
                        f"{cluster.namenode_url}/reid/crash/a", "--shard-size-mib", "1",
                        "--block-size-mib", "1", wait=False)
    staging = started_staging(fs, "/reid/crash/.staging", "a", proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert fs.exists(staging)
    run_ingest(sc, config(small_mars, f"{cluster.namenode_url}/reid/crash/b"))
    assert not fs.exists(staging), "the killed ingest's staging outlived the next ingest"
    assert [s.path for s in fs.list("/reid/crash/.staging")] == []


def test_staging_command_lists_and_cleans_only_abandoned_staging(
        cluster: LocalCluster, small_mars: Path, stopped_ingest: Stopped) -> None:
    _, live, root = stopped_ingest
    fs = HdfsFS(cluster.namenode_url)
    proc = spark_submit("--source", str(small_mars), "--dest",
                        f"{cluster.namenode_url}{root}/dead", "--shard-size-mib", "1",
                        "--block-size-mib", "1", wait=False)
    dead = started_staging(fs, f"{root}/.staging", "dead", proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()

    def staging_cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "ingest.staging", *args,
                               f"{cluster.namenode_url}{root}"], capture_output=True,
                              text=True, timeout=120, check=False, cwd=REPO)

    listed = staging_cli("list")
    assert listed.returncode == 0, listed.stderr
    [live_line] = [line for line in listed.stdout.splitlines() if live in line]
    [dead_line] = [line for line in listed.stdout.splitlines() if dead in line]
    assert "live" in live_line
    assert "abandoned" in dead_line
    cleaned = staging_cli("clean")
    assert cleaned.returncode == 0, cleaned.stderr
    assert dead in cleaned.stdout
    assert not fs.exists(dead)
    assert fs.exists(live)


# ---- 8: --lenient says what it dropped, and never drops a split unasked -----------------------

def test_lenient_ingest_never_drops_a_split_quietly(cluster: LocalCluster, tree: Path,
                                                    small_mars: Path,
                                                    sc: SparkContext) -> None:
    info = tree / mars.INFO_FILES["test"]
    info.write_bytes(info.read_bytes()[:60])
    dest = f"{cluster.namenode_url}/reid/no-test-split"
    with pytest.raises(IngestError, match=r"info/tracks_test_info\.mat.*--allow-missing-split "
                                          r"test") as caught:
        run_ingest(sc, config(tree, dest, strict=False))
    assert "\n" not in str(caught.value)

    test = [t for t in mars.read_mars(small_mars, files="none").tracklets if t.split == "test"]
    frames = sum(len(t.frames) for t in test)
    result = run_ingest(sc, config(tree, dest, strict=False, allow_missing_split=("test",)))
    assert result.status == "created"
    assert result.counts["skipped_tracklets"] == len(test)
    assert result.counts["skipped_frames"] == frames
    summary = result.summary()
    assert (f"test split dropped ({len(test)} tracklets, {frames} frames): "
            f"{tree}/{mars.INFO_FILES['test']}") in summary
    fs, root = resolve(dest)
    manifest = read_manifest(fs, root)
    assert manifest is not None
    assert manifest.generations[0].skipped["test"]["tracklets"] == len(test)
