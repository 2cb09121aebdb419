"""The path rule (local unless it says hdfs://), the local backend and the atomic-write helper."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hadoop.errors import ReidError
from hadoop.fs import (
    HdfsFS,
    LocalFS,
    NameNodeUnreachableError,
    PathExistsError,
    PathNotFoundError,
    RetryPolicy,
    ShortReadError,
    StorageError,
    atomic_path,
    atomic_write,
    describe,
    replace_tree,
    resolve,
)
from hadoop.siteconf import namenode_url

REPO = Path(__file__).resolve().parents[2]


def test_a_path_is_local_unless_it_says_hdfs(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    fs, path = resolve("/scratch/ckpt/")
    assert isinstance(fs, LocalFS)
    assert path == "/scratch/ckpt"
    monkeypatch.chdir(tmp_path)
    assert resolve("ckpt")[1] == str(tmp_path / "ckpt")  # absolute: the same file everywhere
    assert resolve("file:///data/mars")[1] == "/data/mars"
    fs, path = resolve("hdfs://127.0.0.10:8020/reid/mars/")
    assert isinstance(fs, HdfsFS)
    assert fs.url == "hdfs://127.0.0.10:8020"
    assert path == "/reid/mars"
    fs, path = resolve("hdfs:///reid/mars")  # no address: the configured NameNode
    assert isinstance(fs, HdfsFS)
    assert fs.url == namenode_url()
    assert path == "/reid/mars"
    with pytest.raises(StorageError, match="unsupported scheme s3://"):
        resolve("s3://bucket/key")


def test_messages_say_which_filesystem() -> None:
    assert describe("/scratch/ckpt") == "local /scratch/ckpt"
    assert describe("hdfs://127.0.0.10:8020/reid/x") == "HDFS hdfs://127.0.0.10:8020/reid/x"


def test_local_backend_reads_exact_ranges_and_lists(tmp_path: Path) -> None:
    fs = LocalFS()
    root = str(tmp_path / "d")
    assert fs.write_file(f"{root}/sub/a.bin", [b"0123", b"4567"]) == 8
    assert fs.read_range(f"{root}/sub/a.bin", 2, 3) == b"234"
    with pytest.raises(ShortReadError, match="asked for 4 bytes at 6, got 2"):
        fs.read_range(f"{root}/sub/a.bin", 6, 4)
    assert {(e.name, e.length, e.isdir) for e in fs.list(root, recursive=True)} == {
        ("sub", 0, True), ("a.bin", 8, False)}
    with pytest.raises(PathExistsError, match=r"a\.bin exists"):
        fs.write_file(f"{root}/sub/a.bin", b"again")
    with pytest.raises(PathNotFoundError, match=r"none\.bin: no such file") as caught:
        fs.read_file(f"{root}/none.bin")
    assert isinstance(caught.value, ReidError)
    fs.rename(f"{root}/sub/a.bin", f"{root}/b.bin")
    assert fs.delete(root, recursive=True)
    assert not fs.exists(root)
    assert pickle.loads(pickle.dumps(fs)).kind == "local"


def test_atomic_write_leaves_the_old_file_when_the_writer_fails(tmp_path: Path) -> None:
    target = tmp_path / "out" / "report.json"
    atomic_write(target, "first")

    def chunks() -> object:
        yield b"half"
        raise RuntimeError("writer died")

    with pytest.raises(RuntimeError, match="writer died"):
        atomic_write(target, chunks())  # type: ignore[arg-type]

    def plot(path: Path) -> None:
        path.write_text("partial")
        raise RuntimeError("plot failed")

    with pytest.raises(RuntimeError, match="plot failed"), atomic_path(target) as tmp:
        plot(tmp)
    assert target.read_text() == "first"
    assert sorted(os.listdir(target.parent)) == ["report.json"]  # no temporaries left


def test_replace_tree_swaps_a_directory_in_whole(tmp_path: Path) -> None:
    target, build = tmp_path / "tree", tmp_path / ".tree.build"
    (target / "old").mkdir(parents=True)
    (build / "new").mkdir(parents=True)
    replace_tree(build, target)
    assert sorted(os.listdir(target)) == ["new"]
    assert sorted(os.listdir(tmp_path)) == ["tree"]


def test_an_unreachable_namenode_fails_in_bounded_time_naming_it() -> None:
    """127.0.0.99 is loopback, where nothing listens: connections are refused at once."""
    began = time.monotonic()
    with pytest.raises(NameNodeUnreachableError,
                       match=r"cannot reach the NameNode at 127\.0\.0\.99:8020 within 3 s"):
        HdfsFS("hdfs://127.0.0.99:8020", RetryPolicy(connect_s=3)).exists("/reid/x")
    assert time.monotonic() - began < 10


@pytest.mark.slow
def test_training_against_an_unreachable_namenode_says_so_and_exits(tmp_path: Path) -> None:
    """The issue's repro: ``--data hdfs://<no NameNode>:8020/...`` hung silently."""
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "training.train", "--data", "hdfs://127.0.0.99:8020/reid/x",
         "--checkpoint", str(tmp_path / "ckpt"), "--out", str(tmp_path / "out"),
         "--device", "cpu", "--no-progress"],
        capture_output=True, text=True, timeout=120, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 2, done.stderr[-2000:]
    assert "cannot reach the NameNode at 127.0.0.99:8020 within 20 s" in done.stderr
    assert "waiting for the NameNode at 127.0.0.99:8020" in done.stderr
    assert time.monotonic() - began < 60
