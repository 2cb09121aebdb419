"""The tracklet manifest source layout: reading CSV and Parquet, row/column errors, from-tree,
and a manifest of a MARS tree planning exactly what the MARS tree plans."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from PIL import Image

from hadoop.cli import run
from ingest import manifest, mars
from ingest.dataset_manifest import plan_digest
from ingest.frame_source import FrameSource
from ingest.manifest import ManifestFormatError, read_tracklet_manifest
from ingest.source import plan_source
from ingest.spark_ingest import IngestConfig, IngestError


def jpeg(shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 16), (shade, 0, 0)).save(buffer, format="JPEG")
    return buffer.getvalue()


# person folder, camera folder, tracklet folder, frame names
TREE = [
    ("0001", "c1", "t1", ["f1.jpg", "f2.jpg", "f10.jpg"]),
    ("0001", "c2", "t1", ["000001.jpg"]),
    ("0002", "cam1", "t1", ["a.jpg", "b.jpeg"]),
    ("0002", "cam1", "t2", ["a.jpg"]),
    ("0002", "cam3", "t1", ["a.jpg"]),
    ("0003", "c1", "t1", ["x.jpg"]),
    ("0004", "c2", "t1", ["x.jpg"]),
]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    for n, (person, camera, tracklet, frames) in enumerate(TREE):
        folder = root / person / camera / tracklet
        folder.mkdir(parents=True)
        for frame in frames:
            (folder / frame).write_bytes(jpeg(n * 20))
        (folder / "notes.txt").write_text("not a frame")
    return root


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_from_tree_round_trip(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tree / "tracklets.csv"
    assert run(manifest.main, ["from-tree", str(tree), "--out", str(out)]) == 0
    assert "7 tracklets of 4 persons, 2 queries" in capsys.readouterr().out
    read = read_tracklet_manifest(str(out))
    assert [(t.tracklet_id, t.pid, t.camid, t.split, t.role) for t in read.tracklets] == [
        ("0001/c1/t1", 1, 1, "train", "train"),
        ("0001/c2/t1", 1, 2, "train", "train"),
        ("0002/cam1/t1", 2, 1, "test", "query"),    # every second person is test; the first
        ("0002/cam1/t2", 2, 1, "test", "gallery"),  # tracklet of each of its cameras a query
        ("0002/cam3/t1", 2, 3, "test", "query"),
        ("0003/c1/t1", 3, 1, "train", "train"),
        ("0004/c2/t1", 4, 2, "test", "gallery"),    # one camera only: no query
    ]
    # frame folders relative to the manifest in the tree; frames in name order, numbers as
    # numbers; .jpeg counts, other files do not
    assert read.tracklets[0].frames == ("0001/c1/t1/f1.jpg", "0001/c1/t1/f2.jpg",
                                        "0001/c1/t1/f10.jpg")
    assert read.tracklets[2].frames == ("0002/cam1/t1/a.jpg", "0002/cam1/t1/b.jpeg")
    source = FrameSource(read.folder)
    for t in read.tracklets:
        for frame in t.frames:
            assert source.read(frame) == (tree / frame).read_bytes()
            assert read.sizes[frame] == (tree / frame).stat().st_size


def test_from_tree_outside_the_tree_writes_full_paths_and_parquet(tree: Path,
                                                                  tmp_path: Path) -> None:
    out = tmp_path / "elsewhere" / "tracklets.parquet"
    assert run(manifest.main, ["from-tree", str(tree), "--out", str(out), "--test-share",
                               "0"]) == 0
    table = pq.read_table(out)
    assert table.column("frames_dir")[0].as_py() == f"{tree}/0001/c1/t1"
    read = read_tracklet_manifest(str(out))
    assert {t.split for t in read.tracklets} == {"train"}
    assert read.tracklets[0].frames[0] == f"{tree}/0001/c1/t1/f1.jpg"


def test_from_tree_refuses_to_overwrite_and_misplaced_frames(
        tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tree / "tracklets.csv"
    out.write_text("mine\n")
    assert run(manifest.main, ["from-tree", str(tree), "--out", str(out)]) == 2
    assert "exists (pass --force to replace it)" in capsys.readouterr().err
    assert out.read_text() == "mine\n"
    (tree / "0001" / "stray.jpg").write_bytes(jpeg(1))
    with pytest.raises(ManifestFormatError, match=r"0001/stray\.jpg: frames must sit in"):
        manifest.from_tree(str(tree), str(out), overwrite=True)


def test_parquet_frame_lists_and_csv_lists_read_alike(tree: Path) -> None:
    frames = ["0001/c1/t1/f10.jpg", "0001/c1/t1/f1.jpg"]  # the order given is kept
    pq.write_table(pa.table({"tracklet_id": ["a"], "person_id": [1], "camera_id": [1],
                             "split": ["train"], "frames": [frames]}), tree / "m.parquet")
    write_csv(tree / "m.csv", "tracklet_id,person_id,camera_id,split,frames\n"
                              f"a,1,1,train,{';'.join(frames)}\n")
    for name in ("m.parquet", "m.csv"):
        [t] = read_tracklet_manifest(str(tree / name)).tracklets
        assert t.frames == tuple(frames)


HEADER = "tracklet_id,person_id,camera_id,split,role,frames_dir,frames\n"
GOOD = "a,1,1,train,,0001/c1/t1,\n"
BAD_ROWS = [
    ("b,x,1,train,,0001/c2/t1,\n", "row 2, column person_id: 'x' is not an integer"),
    ("a,1,2,train,,0001/c2/t1,\n", "row 2, column tracklet_id: 'a' is already row 1"),
    ("b,1,1,dev,,0001/c2/t1,\n", "row 2, column split: 'dev' must be train or test"),
    ("b,1,1,test,,0001/c2/t1,\n", "row 2, column role: '': a test row's role is query or"),
    ("b,1,1,train,query,0001/c2/t1,\n", "row 2, column role: 'query': a train row's role"),
    ("b,0,1,train,,0001/c2/t1,\n", "row 2, column person_id: identity 0 (distractor/junk)"),
    ("b,0,1,test,query,0001/c2/t1,\n", "row 2, column role: a query must be a real identity"),
    ("b,-2,1,test,gallery,0001/c2/t1,\n", "row 2, column person_id: -2 is outside -1.."),
    ("b,1,-1,train,,0001/c2/t1,\n", "row 2, column camera_id: -1 is outside 0.."),
    ("b,1,1,train,,,\n", "row 2, column frames: neither frames_dir nor frames is given"),
    ("b,1,1,train,,0001/c2/t1,0001/c2/t1/000001.jpg\n",
     "row 2, column frames_dir: give exactly one of frames_dir and frames"),
    ("b,1,1,train,,0001/c9/t1,\n", "row 2, column frames_dir: folder "),
    ("b,1,1,train,,,0001/c2/t1/000001.jpg;0001/c2/t1/000002.jpg\n",
     "row 2, column frames: frame 2 of 2 ("),
    ("b,1,1,train,,,0001/c2/t1/000001.jpg;;\n", "row 2, column frames: frame 2 of 3 is empty"),
    ("b,1,1,train,,,0001/c2/t1/000001.jpg;./0001/c2/t1/000001.jpg\n",
     "row 2, column frames: frame 2 (0001/c2/t1/000001.jpg) repeats frame 1"),
    ("b,1,1,train\n", "row 2 (line 3): 4 cells, the header has 7 columns"),
]


@pytest.mark.parametrize(("row", "message"), BAD_ROWS, ids=[m for _, m in BAD_ROWS])
def test_errors_name_the_row_and_column(tree: Path, row: str, message: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tree / "m.csv", HEADER + GOOD + row)
    with pytest.raises(ManifestFormatError) as caught:
        read_tracklet_manifest(str(path))
    assert str(caught.value).startswith(f"{path} ")
    assert message in str(caught.value)
    # the command line: that one line, exit 2
    assert run(manifest.main, ["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert message in err


@pytest.mark.parametrize(("text", "message"), [
    ("tracklet_id,person_id,camera_id,split,frame_dir\na,1,1,train,x\n",
     "unknown column 'frame_dir'"),
    ("tracklet_id,person_id,split,frames_dir\na,1,train,x\n", "no camera_id column"),
    ("tracklet_id,person_id,camera_id,split\na,1,1,train\n", "neither a frames_dir nor a frames"),
    (HEADER, "lists no tracklet"),
])
def test_file_level_errors(tree: Path, text: str, message: str) -> None:
    with pytest.raises(ManifestFormatError, match=message):
        read_tracklet_manifest(str(write_csv(tree / "m.csv", text)))


def test_missing_and_unreadable_files_are_one_line(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    for argv, message in [
        (["validate", str(tmp_path / "none.csv")], f"{tmp_path}/none.csv: no such file"),
        (["validate", str(tmp_path / "tree")], "a tracklet manifest is a .csv or .parquet file"),
        (["validate", str(write_csv(tmp_path / "x.parquet", "not parquet"))],
         "not a readable Parquet file"),
        (["from-tree", str(tmp_path / "none"), "--out", str(tmp_path / "m.csv")],
         "no such directory"),
        (["from-tree", str(tmp_path), "--out", str(tmp_path / "m.txt")],
         "--out"),
    ]:
        assert run(manifest.main, argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: "), err
        assert err.count("\n") == 1, err
        assert message in err, err


def test_validate_all_lists_every_bad_row_and_lenient_skips_them(
        tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tree / "m.csv", HEADER + GOOD + BAD_ROWS[0][0] + "d,1,1,dev,,0001/c2/t1,\n"
                     + "c,2,1,test,gallery,,0001/c2/t1/000001.jpg;0001/c2/t1/missing.jpg\n")
    assert run(manifest.main, ["validate", "--all", str(path)]) == 1
    captured = capsys.readouterr()
    assert "row 2, column person_id" in captured.err
    assert "row 3, column split" in captured.err
    assert "row 4, column frames: frame 2 of 2" in captured.err
    assert "3 rows with problems" in captured.err
    lenient = read_tracklet_manifest(str(path), strict=False)
    assert [t.tracklet_id for t in lenient.tracklets] == ["a"]
    assert lenient.skipped == {"train": {"tracklets": 1, "frames": 0},
                               "unknown": {"tracklets": 1, "frames": 0},
                               "test": {"tracklets": 1, "frames": 2}}
    assert lenient.problem_counts() == {"bad-value": 2, "missing-frame": 1}


def test_validate_read_applies_the_frame_check(tree: Path) -> None:
    (tree / "0001" / "c2" / "t1" / "000001.jpg").write_bytes(b"not a jpeg")
    path = write_csv(tree / "m.csv", HEADER + GOOD + "b,1,2,train,,0001/c2/t1,\n")
    read_tracklet_manifest(str(path))  # listing only: fine
    with pytest.raises(ManifestFormatError, match=r"row 2, column frames_dir: frame 1 of 1 .* "
                                                  r"not a JPEG"):
        read_tracklet_manifest(str(path), files="read")


def mars_manifest(root: Path, out: Path) -> Path:
    """The tracklet manifest of a MARS tree: its tracklets, labels and frame lists."""
    rows = [{"tracklet_id": t.tracklet_id, "person_id": t.pid, "camera_id": t.camid,
             "split": t.split, "role": None if t.split == "train" else t.role,
             "frames": ";".join(t.frames if out.parent == root
                                else [f"{root}/{f}" for f in t.frames])}
            for t in mars.read_mars(root, files="none").tracklets]
    table = pa.Table.from_pylist(rows)
    if out.suffix == ".parquet":
        pq.write_table(table, out)
    else:
        pacsv.write_csv(table, str(out))
    return out


def test_a_manifest_of_a_mars_tree_plans_what_the_tree_plans(small_mars: Path,
                                                             tmp_path: Path) -> None:
    tree = tmp_path / "mars"
    shutil.copytree(small_mars, tree)
    planned = plan_source(str(tree))
    # inside the tree, frames relative to it: the very same plan, frame names included
    inside = plan_source(str(mars_manifest(tree, tree / "tracklets.csv")))
    assert (inside.layout, planned.layout) == ("tracklet manifest", "MARS tree")
    assert inside.tracklets == planned.tracklets
    assert plan_digest(inside.tracklets) == plan_digest(planned.tracklets)
    assert inside.sizes == planned.sizes
    assert {-1, 0} <= {t.pid for t in inside.tracklets}
    assert {t.role for t in inside.tracklets} == {"train", "query", "gallery"}
    # elsewhere, with absolute paths: the same tracklets and groups, frames where they are
    outside = plan_source(str(mars_manifest(tree, tmp_path / "tracklets.parquet")))
    assert [(t.tracklet_id, t.pid, t.camid, t.split, t.role, t.group) for t in outside.tracklets
            ] == [(t.tracklet_id, t.pid, t.camid, t.split, t.role, t.group)
                  for t in planned.tracklets]
    assert [t.frames for t in outside.tracklets] == [
        tuple(f"{tree}/{f}" for f in t.frames) for t in planned.tracklets]


def test_allow_missing_split_is_for_mars_trees_only() -> None:
    with pytest.raises(IngestError, match="is for a MARS tree's info files"):
        IngestConfig(source="x.csv", dest="hdfs://h:1/reid/x", strict=False,
                     allow_missing_split=("test",)).check()
