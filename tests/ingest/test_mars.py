"""The MARS reader against a hand-made tree in MARS's exact format, and against each kind of
damage: strict mode must name the file and row, lenient mode must skip exactly what is broken."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from hadoop.cli import run
from ingest import mars
from ingest.mars import MarsFormatError, ProblemKind, read_mars

FIXTURE = Path(__file__).parent / "fixtures" / "mars_mini"
TRAIN_IDS = ["0001C1T0001", "0001C1T0002", "0001C3T0003", "0003C2T0001", "0003C5T0002"]
TEST_IDS = ["00-1C2T0001", "0000C1T0001", "0000C6T0002", "0002C1T0001", "0002C1T0002",
            "0002C4T0003", "0004C2T0001", "0004C3T0002"]
ALL_IDS = [f"train/{t}" for t in TRAIN_IDS] + [f"test/{t}" for t in TEST_IDS]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A private copy of the fixture to damage."""
    return Path(shutil.copytree(FIXTURE, tmp_path / "mars"))


# --- MARS's conventions on the pristine fixture --------------------------------------------


def test_fixture_reads_as_mars_labels_it() -> None:
    dataset = read_mars(FIXTURE, strict=True, files="read")
    assert dataset.problems == []
    assert [t.tracklet_id for t in dataset.tracklets] == ALL_IDS
    by_id = {t.tracklet_id: t for t in dataset.tracklets}
    assert [(by_id[f"test/{t}"].pid, by_id[f"test/{t}"].camid) for t in TEST_IDS[:3]] == [
        (-1, 2), (0, 1), (0, 6)]
    # query_IDX = [5 6 7 8] are 1-based rows of track_test_info; everything else is gallery.
    roles = [by_id[f"test/{t}"].role for t in TEST_IDS]
    assert roles == ["gallery"] * 4 + ["query"] * 4
    assert {t.role for t in dataset.tracklets if t.split == "train"} == {"train"}


def test_frames_are_relative_paths_in_order_from_1_based_inclusive_rows() -> None:
    dataset = read_mars(FIXTURE)
    first, second = dataset.tracklets[0], dataset.tracklets[1]
    # Row 1 is lines 1..3 of train_name.txt, row 2 lines 4..5.
    assert first.frames == tuple(f"bbox_train/0001/0001C1T0001F00{k}.jpg" for k in (1, 2, 3))
    assert second.frames == ("bbox_train/0001/0001C1T0002F001.jpg",
                             "bbox_train/0001/0001C1T0002F002.jpg")
    junk = dataset.tracklets[len(TRAIN_IDS)]
    assert junk.frames[0] == "bbox_test/00-1/00-1C2T0001F001.jpg"
    assert all((FIXTURE / frame).is_file() for t in dataset.tracklets for frame in t.frames)


def test_summary_counts_mars_style() -> None:
    summary = read_mars(FIXTURE).summary()
    assert summary["train"]["identities"] == 2
    assert summary["train"]["frames"] == 14
    assert summary["train"]["cameras_per_identity"] == 2.0
    test = summary["test"]
    assert (test["identities"], test["tracklets"], test["frames"]) == (2, 8, 20)
    assert (test["distractor_tracklets"], test["junk_tracklets"]) == (2, 1)
    assert (test["query_tracklets"], test["gallery_tracklets"]) == (4, 4)
    assert summary["all"]["median_length"] == 2.0
    assert summary["problems"] == {}


def test_names_are_numbered_per_identity_across_cameras() -> None:
    names = mars.tracklet_names([(-1, 2, 1), (0, 1, 1), (0, 6, 2), (7, 1, 2), (7, 3, 1)])
    assert names == [["00-1C2T0001F001.jpg"], ["0000C1T0001F001.jpg"],
                     ["0000C6T0002F001.jpg", "0000C6T0002F002.jpg"],
                     ["0007C1T0001F001.jpg", "0007C1T0001F002.jpg"], ["0007C3T0002F001.jpg"]]
    with pytest.raises(ValueError, match="sorted"):
        mars.tracklet_names([(2, 1, 3), (1, 1, 3)])


def test_writer_reproduces_the_fixture_info(tmp_path: Path) -> None:
    """write_info (used by the generator) writes what MARS's own files hold."""
    dataset = read_mars(FIXTURE)
    names = {split: [[Path(f).name for f in t.frames] for t in dataset.tracklets
                     if t.split == split] for split in mars.SPLITS}
    mars.write_info(tmp_path, names, [5, 6, 7, 8])
    for file, variable in [*zip(mars.INFO_FILES.values(), mars.INFO_VARIABLES.values(),
                                strict=True), (mars.QUERY_FILE, mars.QUERY_VARIABLE)]:
        ours = scipy.io.loadmat(tmp_path / file)[variable]
        theirs = scipy.io.loadmat(FIXTURE / file)[variable]
        assert ours.dtype == theirs.dtype
        assert ours.shape == theirs.shape
        assert np.array_equal(ours, theirs)
    for file in mars.NAME_FILES.values():
        assert (tmp_path / file).read_bytes() == (FIXTURE / file).read_bytes()
    assert sorted(p.name for p in (tmp_path / "info").iterdir()) == sorted(
        p.name for p in (FIXTURE / "info").iterdir())  # no temporary files left behind


# --- damage: one kind of problem each ------------------------------------------------------


def _replace_line(path: Path, line: int, text: str) -> None:
    lines = path.read_text().splitlines()
    lines[line - 1] = text
    path.write_text("\n".join(lines) + "\n")


def _edit_matrix(tree: Path, split: mars.Split, row: int, column: int, value: int) -> None:
    file = tree / mars.INFO_FILES[split]
    matrix = scipy.io.loadmat(file)[mars.INFO_VARIABLES[split]]
    matrix[row - 1, column] = value
    scipy.io.savemat(file, {mars.INFO_VARIABLES[split]: matrix})


def _set_queries(tree: Path, rows: list[int]) -> None:
    scipy.io.savemat(tree / mars.QUERY_FILE, {"query_IDX": np.array([rows], np.uint16)})


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _rename_frame(tree: Path, old: str, new: str) -> None:
    folder = tree / "bbox_train" / old[:4]
    (folder / old).rename(folder / new)
    text = (tree / mars.NAME_FILES["train"]).read_text()
    (tree / mars.NAME_FILES["train"]).write_text(text.replace(old, new))


def _empty_folder(tree: Path, folder: str) -> None:
    for frame in (tree / folder).iterdir():
        frame.unlink()


def _relabel_row_3_as_row_2(tree: Path) -> None:
    """Test row 3 lists frames of 0000C1T0001 (three of them) again, without overlapping."""
    for line in (5, 6, 7):
        _replace_line(tree / mars.NAME_FILES["test"], line, f"0000C1T0001F00{line - 4}.jpg")
    _edit_matrix(tree, "test", 3, 3, 1)


Damage = Callable[[Path], object]
TRAIN_NAMES, TEST_NAMES = mars.NAME_FILES["train"], mars.NAME_FILES["test"]
TRAIN_INFO, TEST_INFO = mars.INFO_FILES["train"], mars.INFO_FILES["test"]

# (damage, kind, file, row, tracklets lost in lenient mode)
CASES: dict[str, tuple[Damage, ProblemKind, str, int | None, list[str]]] = {
    "bad name": (
        lambda t: _replace_line(t / TRAIN_NAMES, 5, "0001C1T0002F02.jpg"),
        ProblemKind.BAD_NAME, TRAIN_NAMES, 5, ["train/0001C1T0002"]),
    "non-ASCII name": (
        lambda t: (t / TRAIN_NAMES).write_bytes(
            (t / TRAIN_NAMES).read_bytes().replace(b"0003C5T0002F003", b"0003C5T0002F\xff03")),
        ProblemKind.BAD_NAME, TRAIN_NAMES, 14, ["train/0003C5T0002"]),
    "missing frame": (
        lambda t: (t / "bbox_test/0004/0004C2T0001F003.jpg").unlink(),
        ProblemKind.MISSING_FRAME, TEST_NAMES, 17, ["test/0004C2T0001"]),
    "end index out of range": (
        lambda t: _edit_matrix(t, "train", 5, 1, 99),
        ProblemKind.INDEX_OUT_OF_RANGE, TRAIN_INFO, 5, ["train/0003C5T0002"]),
    "start index 0 (0-based)": (
        lambda t: _edit_matrix(t, "test", 1, 0, 0),
        ProblemKind.INDEX_OUT_OF_RANGE, TEST_INFO, 1, ["test/00-1C2T0001"]),
    "query index out of range": (
        lambda t: _set_queries(t, [5, 6, 7, 8, 9]),
        ProblemKind.INDEX_OUT_OF_RANGE, mars.QUERY_FILE, 5, []),
    "truncated tracks .mat": (
        lambda t: _truncate(t / TEST_INFO),
        ProblemKind.UNREADABLE_FILE, TEST_INFO, None, [f"test/{i}" for i in TEST_IDS]),
    "truncated query .mat": (
        lambda t: _truncate(t / mars.QUERY_FILE),
        ProblemKind.UNREADABLE_FILE, mars.QUERY_FILE, None, [f"test/{i}" for i in TEST_IDS]),
    "missing name list": (
        lambda t: (t / TRAIN_NAMES).unlink(),
        ProblemKind.UNREADABLE_FILE, TRAIN_NAMES, None, [f"train/{i}" for i in TRAIN_IDS]),
    "empty identity folder in use": (
        lambda t: _empty_folder(t, "bbox_train/0003"),
        ProblemKind.EMPTY_FOLDER, TRAIN_INFO, 4, ["train/0003C2T0001", "train/0003C5T0002"]),
    "empty identity folder unused": (
        lambda t: (t / "bbox_test/0006").mkdir(),
        ProblemKind.EMPTY_FOLDER, "bbox_test/0006", None, []),
    "missing identity folder": (
        lambda t: shutil.rmtree(t / "bbox_test/0004"),
        ProblemKind.MISSING_FOLDER, TEST_INFO, 7, ["test/0004C2T0001", "test/0004C3T0002"]),
    "frame on disk but not listed": (
        lambda t: shutil.copy(t / "bbox_train/0001/0001C1T0001F001.jpg",
                              t / "bbox_train/0001/0001C1T0001F004.jpg"),
        ProblemKind.UNLISTED_FRAMES, "bbox_train/0001", None, []),
    "frame numbering gap": (
        lambda t: _rename_frame(t, "0001C3T0003F003.jpg", "0001C3T0003F005.jpg"),
        ProblemKind.FRAME_NUMBERING, TRAIN_NAMES, 8, ["train/0001C3T0003"]),
    "identity disagrees with names": (
        lambda t: _edit_matrix(t, "test", 4, 2, 6),
        ProblemKind.LABEL_MISMATCH, TEST_INFO, 4, ["test/0002C1T0001"]),
    "row spans two tracklets": (  # row 1 ends inside row 2, which then overlaps it
        lambda t: _edit_matrix(t, "train", 1, 1, 4),
        ProblemKind.LABEL_MISMATCH, TRAIN_NAMES, 4, ["train/0001C1T0001", "train/0001C1T0002"]),
    "overlapping rows": (
        lambda t: _edit_matrix(t, "train", 2, 0, 3),
        ProblemKind.OVERLAPPING_ROWS, TRAIN_INFO, 2, ["train/0001C1T0002"]),
    "names no row covers": (
        lambda t: _edit_matrix(t, "train", 5, 1, 13),
        ProblemKind.UNCOVERED_NAMES, TRAIN_NAMES, 14, []),
    "tracklet listed twice": (
        _relabel_row_3_as_row_2,
        ProblemKind.DUPLICATE_TRACKLET, TEST_INFO, 3, ["test/0000C6T0002"]),
    "query on a distractor": (
        lambda t: _set_queries(t, [2, 5, 6, 7, 8]),
        ProblemKind.BAD_QUERY, mars.QUERY_FILE, 1, []),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_strict_mode_names_file_and_row(tree: Path, case: str) -> None:
    damage, kind, file, row, _ = CASES[case]
    damage(tree)
    with pytest.raises(MarsFormatError) as caught:
        read_mars(tree, strict=True)
    problem = caught.value.problem
    assert (problem.kind, problem.file, problem.row) == (kind, file, row)
    assert file in str(caught.value)
    if row is not None:
        assert f"row {row}" in str(caught.value)


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_lenient_mode_skips_and_counts(tree: Path, case: str) -> None:
    damage, kind, file, row, lost = CASES[case]
    damage(tree)
    dataset = read_mars(tree, strict=False)
    assert [(p.kind, p.file, p.row) for p in dataset.problems][:1] == [(kind, file, row)]
    assert dataset.summary()["problems"][kind.value] >= 1
    kept = [t.tracklet_id for t in dataset.tracklets]
    assert kept == [t for t in ALL_IDS if t not in lost]


def test_lost_query_leaves_the_rest_of_the_split(tree: Path) -> None:
    (tree / "bbox_test/0004/0004C2T0001F003.jpg").unlink()
    dataset = read_mars(tree, strict=False)
    assert [t.tracklet_id for t in dataset.tracklets if t.role == "query"] == [
        "test/0002C1T0002", "test/0002C4T0003", "test/0004C3T0002"]


def test_non_jpeg_bytes_are_found_when_files_are_read(tree: Path) -> None:
    (tree / "bbox_test/0002/0002C1T0002F002.jpg").write_bytes(b"GIF89a not a jpeg")
    assert read_mars(tree, files="list").problems == []  # listing does not open files
    with pytest.raises(MarsFormatError) as caught:
        read_mars(tree, files="read")
    problem = caught.value.problem
    assert (problem.kind, problem.file, problem.row) == (ProblemKind.NOT_JPEG, TEST_NAMES, 12)
    assert "bbox_test/0002/0002C1T0002F002.jpg" in problem.reason
    lenient = read_mars(tree, strict=False, files="read")
    assert "test/0002C1T0002" not in {t.tracklet_id for t in lenient.tracklets}
    assert len(lenient.tracklets) == len(ALL_IDS) - 1


def test_truncated_jpeg_is_found_when_files_are_read(tree: Path) -> None:
    frame = tree / "bbox_train/0001/0001C1T0001F002.jpg"
    frame.write_bytes(frame.read_bytes()[:200])
    with pytest.raises(MarsFormatError, match="end marker"):
        read_mars(tree, files="read")


def test_metadata_only_mode_never_touches_frames(tree: Path) -> None:
    shutil.rmtree(tree / "bbox_train")
    shutil.rmtree(tree / "bbox_test")
    assert [t.tracklet_id for t in read_mars(tree, files="none").tracklets] == ALL_IDS


def test_train_split_rejects_distractors(tree: Path) -> None:
    _replace_line(tree / TRAIN_NAMES, 10, "0000C2T0001F001.jpg")
    _replace_line(tree / TRAIN_NAMES, 11, "0000C2T0001F002.jpg")
    _edit_matrix(tree, "train", 4, 2, 0)
    with pytest.raises(MarsFormatError, match="test split only"):
        read_mars(tree, files="none")


# --- command line --------------------------------------------------------------------------


def test_cli_validates_and_prints_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert mars.main(["validate", "--strict", "--files", "read", str(FIXTURE)]) == 0
    out = capsys.readouterr().out
    assert "query tracklets" in out
    assert "junk tracklets (pid -1)" in out


def test_cli_json_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert mars.main(["validate", "--json", str(FIXTURE)]) == 0
    assert json.loads(capsys.readouterr().out)["test"]["query_tracklets"] == 4


def test_cli_reports_problems_and_fails(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tree / "bbox_test/0004/0004C2T0001F003.jpg").unlink()
    assert mars.main(["validate", str(tree)]) == 1
    err = capsys.readouterr().err
    assert "info/test_name.txt row 17" in err
    assert "missing-frame 1" in err
    assert run(mars.main, ["validate", "--strict", str(tree)]) == 2
    assert "0004C2T0001F003.jpg does not exist" in capsys.readouterr().err


# --- what lenient mode leaves out -----------------------------------------------------------


def test_lenient_mode_counts_a_dropped_split(tree: Path) -> None:
    """An unreadable info file drops its whole split: the dataset says which, why and how much
    (tracklets and frames counted from the name list, which still reads)."""
    _truncate(tree / TEST_INFO)
    dataset = read_mars(tree, strict=False)
    assert [t.tracklet_id for t in dataset.tracklets] == ALL_IDS[:len(TRAIN_IDS)]
    test = dataset.skipped["test"]
    assert (test.tracklets, test.frames) == (len(TEST_IDS), 20)
    assert test.cause is not None
    assert test.cause.file == TEST_INFO
    assert dataset.skipped["train"] == mars.Skipped()
    assert dataset.summary()["skipped"]["test"] == {"tracklets": 8, "frames": 20,
                                                    "whole_split": True}


def test_lenient_mode_counts_skipped_tracklets_and_frames(tree: Path) -> None:
    (tree / "bbox_test/0004/0004C2T0001F003.jpg").unlink()  # a tracklet of 4 frames
    _edit_matrix(tree, "train", 5, 1, 13)  # leaves line 14 (one frame) to no tracklet
    dataset = read_mars(tree, strict=False)
    assert dataset.skipped["test"] == mars.Skipped(tracklets=1, frames=4)
    assert dataset.skipped["train"] == mars.Skipped(tracklets=0, frames=1)
