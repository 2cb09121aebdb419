"""A tracklet manifest through the real Spark ingest into the real cluster: the same index and
shards as the MARS ingest of the same data; a manifest and frames on HDFS (from-tree there),
through the user's spark-submit command, with clashing frame names quarantined apart."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from PIL import Image
from pyspark import SparkContext

from hadoop.cluster import LocalCluster
from hadoop.fs import resolve
from ingest import manifest, mars
from ingest.dataset import open_dataset
from ingest.spark_ingest import MIB, IngestConfig, run_ingest
from tests.spark.test_ingest import spark_submit

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def test_a_manifest_ingest_gives_the_mars_ingest_s_index(
        cluster: LocalCluster, small_mars: Path, small_dataset: str, sc: SparkContext,
        tmp_path: Path) -> None:
    """``small_dataset`` is ``small_mars`` ingested as a MARS tree with these sizes."""
    rows = [{"tracklet_id": t.tracklet_id, "person_id": t.pid, "camera_id": t.camid,
             "split": t.split, "role": None if t.split == "train" else t.role,
             "frames": ";".join(f"{small_mars}/{f}" for f in t.frames)}
            for t in mars.read_mars(small_mars, files="none").tracklets]
    csv = tmp_path / "small.csv"
    pacsv.write_csv(pa.Table.from_pylist(rows), str(csv))
    dest = f"{cluster.namenode_url}/reid/small-from-manifest"
    result = run_ingest(sc, IngestConfig(source=str(csv), dest=dest, shard_size=MIB,
                                         block_size=MIB))
    assert result.status == "created"
    by_mars, by_manifest = open_dataset(small_dataset), open_dataset(dest)
    assert by_manifest.table.num_rows == len(rows)
    assert by_manifest.table.equals(by_mars.table)  # every column: ids, labels, shards,
    # offsets, frame names, CRCs, content digests
    [mars_generation] = by_mars.manifest.generations
    [manifest_generation] = by_manifest.manifest.generations
    assert manifest_generation.shards == mars_generation.shards  # same paths, bytes, sha256
    assert manifest_generation.counts == mars_generation.counts
    assert manifest_generation.source == str(csv)
    # a second run over the same manifest finds nothing to do
    again = run_ingest(sc, IngestConfig(source=str(csv), dest=dest, shard_size=MIB,
                                        block_size=MIB))
    assert again.status == "up-to-date"


def jpeg(shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 32), (shade, 40, 80)).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_manifest_and_frames_on_hdfs_through_spark_submit(cluster: LocalCluster) -> None:
    fs, landing = resolve(f"{cluster.namenode_url}/landing/cams")
    tree = {("0001", "c1", "t1"): 3, ("0001", "c2", "t1"): 2, ("0002", "c1", "t1"): 2,
            ("0002", "c2", "t1"): 3, ("0003", "c1", "t1"): 2, ("0004", "c1", "t1"): 2,
            ("0004", "c3", "t1"): 2}
    for n, ((person, camera, tracklet), frames) in enumerate(sorted(tree.items())):
        for frame in range(1, frames + 1):
            data = jpeg(n * 30 + frame)
            if (person, camera) in (("0001", "c2"), ("0002", "c2")) and frame == 1:
                data = b"not a JPEG"  # two bad frames, both named 000001.jpg
            fs.write_file(f"{landing}/{person}/{camera}/{tracklet}/{frame:06d}.jpg", data)
    out = f"{cluster.namenode_url}/landing/cams/tracklets.parquet"
    done = subprocess.run([sys.executable,
                           "-m", "ingest.manifest", "from-tree", fs.location(landing), "--out",
                           out], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "7 tracklets of 4 persons, 4 queries" in done.stdout
    checked = manifest.read_tracklet_manifest(out)
    assert checked.tracklets[0].frames[0] == "0001/c1/t1/000001.jpg"  # relative to the manifest

    dest = f"{cluster.namenode_url}/reid/cams"
    proc = spark_submit("--source", out, "--dest", dest, "--shard-size-mib", "1",
                        "--block-size-mib", "1")
    log = proc.stdout.read() if proc.stdout else ""
    assert proc.returncode == 0, log[-3000:]
    assert "ingest created" in log
    dataset = open_dataset(dest)
    assert {r.tracklet_id: (r.pid, r.camid, r.split, r.role, r.num_frames)
            for r in dataset.records} == {
        t.tracklet_id: (t.pid, t.camid, t.split, t.role,
                        len(t.frames) - (t.tracklet_id in ("0001/c2/t1", "0002/c2/t1")))
        for t in checked.tracklets}
    for record in dataset.records:
        assert len(dataset.read_frames(record)) == record.num_frames
    [generation] = dataset.manifest.generations
    assert [(q["tracklet_id"], q["frame"]) for q in generation.quarantine] == [
        ("0001/c2/t1", "0001/c2/t1/000001.jpg"), ("0002/c2/t1", "0002/c2/t1/000001.jpg")]
    kept = sorted(e.name for e in fs.list(f"{resolve(dest)[1]}/quarantine"))
    assert kept == ["b000-0001%2Fc2%2Ft1-000001.jpg", "b000-0002%2Fc2%2Ft1-000001.jpg"]


def test_a_bad_manifest_is_refused_before_spark_starts(cluster: LocalCluster,
                                                       tmp_path: Path) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text("tracklet_id,person_id,camera_id,split,frames_dir\na,1,1,train,nowhere\n")
    proc = spark_submit("--source", str(csv), "--dest", f"{cluster.namenode_url}/reid/bad")
    log = proc.stdout.read() if proc.stdout else ""
    assert proc.returncode == 2
    assert log.strip().splitlines()[-1] == (
        f"error: {csv} row 1, column frames_dir: folder {tmp_path}/nowhere does not exist")
    assert "SparkContext" not in log
