"""FrameSource on a local tree: what the ingest's driver lists and its tasks read."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from ingest.frame_source import FrameSource


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    folder = tmp_path / "bbox_train" / "0001"
    folder.mkdir(parents=True)
    (folder / "0001C1T0001F001.jpg").write_bytes(b"\xff\xd8one")
    (folder / "0001C1T0001F002.jpg").write_bytes(b"\xff\xd8second")
    (folder / "notes.txt").write_text("not a frame")
    return tmp_path


def test_sizes_lists_the_jpegs_of_the_asked_folders(tree: Path) -> None:
    sizes = FrameSource(str(tree)).sizes(["bbox_train/0001", "bbox_test/0002"])
    assert sizes == {"bbox_train/0001/0001C1T0001F001.jpg": 5,
                     "bbox_train/0001/0001C1T0001F002.jpg": 8}


def test_read_returns_bytes_or_none_for_a_missing_frame(tree: Path) -> None:
    source = FrameSource(str(tree))
    assert source.read("bbox_train/0001/0001C1T0001F002.jpg") == b"\xff\xd8second"
    assert source.read("bbox_train/0001/0001C1T0001F003.jpg") is None


def test_a_relative_source_resolves_where_it_was_made(tree: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree.parent)
    source = FrameSource(tree.name)
    monkeypatch.chdir("/")
    copy = pickle.loads(pickle.dumps(source))  # as a Spark task receives it
    assert copy.read("bbox_train/0001/0001C1T0001F001.jpg") == b"\xff\xd8one"
