"""The Spark ingest against the real cluster: shards, index, manifest, atomicity, quarantine."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import time
import zlib
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pyspark import SparkContext
from pyspark.sql import SparkSession

from hadoop.blocks import block_locations
from hadoop.cluster import LocalCluster
from hadoop.fs import FileSystem, HdfsFS, resolve
from ingest import mars
from ingest.dataset_manifest import read_manifest
from ingest.spark_ingest import MIB, IngestConfig, IngestError, run_ingest

pytestmark = [pytest.mark.cluster, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
BAD_FRAME_NOTE = b"this is not a JPEG"


def spark_submit(*args: str, wait: bool = True) -> subprocess.Popen[str]:
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
    proc = subprocess.Popen([str(REPO / "spark_jobs" / "submit"),
                             str(REPO / "spark_jobs" / "ingest.py"), *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    if wait:
        proc.wait(timeout=600)
    return proc


@pytest.fixture(scope="module")
def source(small_mars: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small MARS tree with one frame replaced by non-JPEG bytes."""
    root = tmp_path_factory.mktemp("ingest-src") / "mars"
    shutil.copytree(small_mars, root)
    bad = sorted((root / "bbox_train").glob("*/*.jpg"))[5]
    bad.write_bytes(BAD_FRAME_NOTE)
    return root


@pytest.fixture(scope="module")
def ingested(cluster: LocalCluster, source: Path) -> str:
    """The dataset as `spark_jobs/submit spark_jobs/ingest.py` writes it (the user's command)."""
    dest = f"{cluster.namenode_url}/reid/test-small"
    proc = spark_submit("--source", str(source), "--dest", dest, "--shard-size-mib", "1",
                        "--block-size-mib", "1")
    out = proc.stdout.read() if proc.stdout else ""
    assert proc.returncode == 0, out[-3000:]
    assert "ingest created" in out
    return dest


def load_index(fs: FileSystem, root: str) -> list[dict[str, object]]:
    manifest = read_manifest(fs, root)
    assert manifest is not None
    rows: list[dict[str, object]] = []
    for part in manifest.index_parts:
        rows += pq.read_table(io.BytesIO(fs.read_file(f"{root}/{part}"))).to_pylist()
    return rows


def test_index_has_one_row_per_tracklet_with_labels(ingested: str, source: Path) -> None:
    fs, root = resolve(ingested)
    rows = {str(r["tracklet_id"]): r for r in load_index(fs, root)}
    expected = {t.tracklet_id: t for t in mars.read_mars(source, files="none").tracklets}
    assert set(rows) == set(expected)
    for tid, t in expected.items():
        row = rows[tid]
        assert (row["pid"], row["camid"], row["split"], row["role"]) == (
            t.pid, t.camid, t.split, t.role)
    roles = {str(r["role"]) for r in rows.values()}
    assert roles == {"train", "query", "gallery"}
    assert {-1, 0} <= {int(r["pid"]) for r in rows.values()}  # type: ignore[call-overload]


def test_every_tracklet_reads_back_as_source_bytes(ingested: str, source: Path) -> None:
    fs, root = resolve(ingested)
    for row in load_index(fs, root):
        data = fs.read_range(f"{root}/{row['shard']}", int(row["offset"]),  # type: ignore[call-overload]
                             int(row["length"]))  # type: ignore[call-overload]
        assert zlib.crc32(data) == row["crc32"]
        split_dir = mars.FRAME_DIRS["train" if row["split"] == "train" else "test"]
        expected = b"".join(
            (source / split_dir / name[:4] / name).read_bytes()
            for name in row["frame_names"])  # type: ignore[union-attr]
        assert data == expected
        for offset, length, name in zip(row["frame_offsets"], row["frame_lengths"],  # type: ignore[call-overload]
                                        row["frame_names"], strict=True):
            frame = (source / split_dir / name[:4] / name).read_bytes()
            assert data[offset:offset + length] == frame


def test_shards_have_three_replicas_on_two_racks(ingested: str) -> None:
    fs, root = resolve(ingested)
    manifest = read_manifest(fs, root)
    assert manifest is not None
    for shard in manifest.generations[0].shards:
        status = fs.status(f"{root}/{shard.path}")
        assert status.replication == 3
        assert status.blocksize == MIB
        for block in block_locations(f"{root}/{shard.path}"):
            assert len({r.address for r in block.replicas}) == 3
            assert len(block.racks) >= 2


def test_corrupt_jpeg_is_quarantined(ingested: str, source: Path) -> None:
    fs, root = resolve(ingested)
    manifest = read_manifest(fs, root)
    assert manifest is not None
    [entry] = manifest.generations[0].quarantine
    assert entry["reason"] == "not a JPEG (no SOI marker)"
    bad_name = entry["frame"].rsplit("/", 1)[-1]
    assert all(bad_name not in r["frame_names"] for r in load_index(fs, root))  # type: ignore[operator]
    kept = f"b000-{entry['tracklet_id'].replace('/', '%2F')}-{bad_name}"
    assert fs.read_file(f"{root}/quarantine/{kept}") == BAD_FRAME_NOTE
    assert manifest.totals()["quarantined_frames"] == 1


def test_index_is_readable_by_spark_and_hdfs_cat(ingested: str, spark: SparkSession) -> None:
    fs, root = resolve(ingested)
    rows = load_index(fs, root)
    via_spark = spark.read.parquet(f"{ingested}/index")
    assert via_spark.count() == len(rows)
    cat = subprocess.run([str(REPO / "hadoop" / "bin" / "hdfs"), "dfs", "-cat",
                          f"{root}/index/batch-000.parquet"], capture_output=True, check=True)
    assert pq.read_table(io.BytesIO(cat.stdout)).num_rows == len(rows)


def test_second_run_changes_nothing(ingested: str, source: Path, sc: SparkContext) -> None:
    fs, root = resolve(ingested)
    before = {s.path: s.modification_time for s in fs.list(root, recursive=True)}
    result = run_ingest(sc, IngestConfig(source=str(source), dest=ingested,
                                         shard_size=MIB, block_size=MIB))
    assert result.status == "up-to-date"
    assert {s.path: s.modification_time for s in fs.list(root, recursive=True)} == before


def test_different_data_at_dest_is_refused(ingested: str, small_mars: Path,
                                           sc: SparkContext) -> None:
    with pytest.raises(IngestError, match="already holds a different dataset"):
        run_ingest(sc, IngestConfig(source=str(small_mars), dest=ingested,
                                    shard_size=MIB, block_size=MIB))


def test_run_killed_half_way_leaves_old_dataset(ingested: str, small_mars: Path) -> None:
    fs, root = resolve(ingested)
    manifest_before = fs.read_file(f"{root}/manifest.json")
    proc = spark_submit("--source", str(small_mars), "--dest", ingested, "--replace",
                        "--shard-size-mib", "1", "--block-size-mib", "1", wait=False)
    deadline = time.monotonic() + 300
    while not any(s.path.startswith("/reid/.staging/test-small.")
                  for s in (fs.list("/reid/.staging") if fs.exists("/reid/.staging") else [])):
        assert proc.poll() is None, "the run ended before it started staging"
        assert time.monotonic() < deadline
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert fs.read_file(f"{root}/manifest.json") == manifest_before
    for row in load_index(fs, root)[:5]:
        data = fs.read_range(f"{root}/{row['shard']}", int(row["offset"]),  # type: ignore[call-overload]
                             int(row["length"]))  # type: ignore[call-overload]
        assert zlib.crc32(data) == row["crc32"]


def without_camera(src: Path, dst: Path, camid: int) -> Path:
    """A copy of ``src`` whose info files leave out camera ``camid``'s tracklets."""
    shutil.copytree(src, dst)
    dataset = mars.read_mars(src, files="none")
    names: dict[mars.Split, list[list[str]]] = {"train": [], "test": []}
    queries: list[int] = []
    for t in dataset.tracklets:
        if t.camid == camid:
            continue
        names[t.split].append([f.rsplit("/", 1)[-1] for f in t.frames])
        if t.role == "query":
            queries.append(len(names["test"]))
    mars.write_info(dst, names, queries)
    return dst


def test_append_adds_new_tracklets_without_rewriting(cluster: LocalCluster, small_mars: Path,
                                                     tmp_path: Path, sc: SparkContext) -> None:
    dest = f"{cluster.namenode_url}/reid/test-append"
    first = without_camera(small_mars, tmp_path / "v1", camid=2)
    created = run_ingest(sc, IngestConfig(source=str(first), dest=dest, shard_size=MIB,
                                          block_size=MIB))
    assert created.status == "created"
    fs, root = resolve(dest)
    old = {s.path: (s.modification_time, s.length)
           for s in fs.list(f"{root}/shards", recursive=True) if not s.isdir}

    appended = run_ingest(sc, IngestConfig(source=str(small_mars), dest=dest, shard_size=MIB,
                                           block_size=MIB, append=True))
    assert appended.status == "appended"
    all_ids = {t.tracklet_id for t in mars.read_mars(small_mars, files="none").tracklets}
    rows = load_index(fs, root)
    assert sorted(str(r["tracklet_id"]) for r in rows) == sorted(all_ids)  # no duplicates
    assert {int(r["camid"]) for r in rows if r["batch"] == 1} == {2}  # type: ignore[call-overload]
    now = {s.path: (s.modification_time, s.length)
           for s in fs.list(f"{root}/shards", recursive=True) if not s.isdir}
    assert {p: now[p] for p in old} == old  # old shards untouched
    again = run_ingest(sc, IngestConfig(source=str(small_mars), dest=dest, shard_size=MIB,
                                        block_size=MIB, append=True))
    assert again.status == "up-to-date"


def test_strict_mode_refuses_missing_frames(cluster: LocalCluster, small_mars: Path,
                                            tmp_path: Path, sc: SparkContext) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(small_mars, broken)
    sorted((broken / "bbox_test").glob("*/*.jpg"))[3].unlink()
    dest = f"{cluster.namenode_url}/reid/test-missing"
    with pytest.raises(IngestError, match=r"1 frames listed .* are missing"):
        run_ingest(sc, IngestConfig(source=str(broken), dest=dest))
    lenient = run_ingest(sc, IngestConfig(source=str(broken), dest=dest, strict=False,
                                          shard_size=MIB, block_size=MIB))
    assert lenient.counts["quarantined_frames"] == 1


def test_hdfs_landing_dir_ingests_like_a_local_tree(cluster: LocalCluster, small_mars: Path,
                                                    sc: SparkContext) -> None:
    """A MARS tree landed in HDFS is listed and read by the tasks from HDFS: same index."""
    fs = HdfsFS(cluster.namenode_url)
    landing = "/landing/small-mars"
    for path in sorted(p for p in small_mars.rglob("*") if p.is_file()):
        # default replication: a single-replica block would read as missing to the fault
        # tests, which kill DataNodes of this same session cluster
        fs.write_file(f"{landing}/{path.relative_to(small_mars)}", path.read_bytes())
    local = run_ingest(sc, IngestConfig(source=str(small_mars),
                                        dest=f"{cluster.namenode_url}/reid/from-local",
                                        shard_size=MIB, block_size=MIB))
    landed = run_ingest(sc, IngestConfig(
        source=f"{cluster.namenode_url}{landing}", dest=f"{cluster.namenode_url}/reid/from-hdfs",
        shard_size=MIB, block_size=MIB))
    assert landed.status == "created"
    assert landed.counts == local.counts
    columns = ("tracklet_id", "pid", "camid", "split", "role", "num_frames", "frame_lengths")
    rows = [sorted(tuple(str(r[k]) for k in columns) for r in load_index(fs, root))
            for root in ("/reid/from-local", "/reid/from-hdfs")]
    assert rows[0] == rows[1]
