"""The generator: its trees pass the strict reader, copy MARS's label structure, are the same
bytes for a seed whatever the worker count, appear atomically, and are not trivially easy."""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import simplejpeg
import torch
import torchvision

from hadoop.cli import run
from ingest import mars, mars_stats, synthetic
from ingest.mars import Tracklet, read_mars
from ingest.synthetic import SyntheticConfig, SyntheticError, generate, make_plan

TINY = SyntheticConfig(ids=6, seed=3, mean_len=3.0, min_len=2, max_len=5, workers=1)


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def tiny_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synthetic") / "mars"
    generate(out, TINY)
    return out


def test_generated_tree_passes_the_strict_reader(tiny_tree: Path) -> None:
    dataset = read_mars(tiny_tree, strict=True, files="read")
    plan = make_plan(TINY)
    for split in mars.SPLITS:
        got = [(t.pid, t.camid, len(t.frames)) for t in dataset.tracklets if t.split == split]
        assert got == [(t.pid, t.camid, t.length) for t in plan.tracklets[split]]
    frame = simplejpeg.decode_jpeg((tiny_tree / dataset.tracklets[0].frames[0]).read_bytes())
    assert frame.shape == (256, 128, 3)
    assert not any(p.name.startswith(".") for p in tiny_tree.rglob("*"))


def test_same_seed_same_bytes_whatever_the_workers(tiny_tree: Path, tmp_path: Path) -> None:
    generate(tmp_path / "two", SyntheticConfig(**{**TINY.__dict__, "workers": 2}))
    assert _digest(tmp_path / "two") == _digest(tiny_tree)
    generate(tmp_path / "other", SyntheticConfig(**{**TINY.__dict__, "seed": 4}))
    assert _digest(tmp_path / "other") != _digest(tiny_tree)


def test_labels_follow_mars_conventions() -> None:
    plan = make_plan(SyntheticConfig(ids=300, seed=1))
    test = plan.tracklets["test"]
    assert {t.pid % 2 for t in plan.tracklets["train"]} == {1}
    assert {t.pid % 2 for t in test if t.pid > 0} == {0}
    assert [(t.pid, t.camid) for t in test] == sorted((t.pid, t.camid) for t in test)
    distractors = sum(t.pid == mars.DISTRACTOR_PID for t in test) / len(test)
    junk = sum(t.pid == mars.JUNK_PID for t in test) / len(test)
    assert distractors == pytest.approx(mars_stats.DISTRACTOR_TRACKLETS / 12180, abs=0.01)
    assert junk == pytest.approx(mars_stats.JUNK_TRACKLETS / 12180, abs=0.01)
    # One query per (identity, camera) of every test identity seen by two or more cameras.
    cameras: dict[int, set[int]] = defaultdict(set)
    for t in test:
        if t.pid > 0:
            cameras[t.pid].add(t.camid)
    queried = [(test[row - 1].pid, test[row - 1].camid) for row in plan.query_rows]
    assert sorted(queried) == sorted((pid, cam) for pid, cams in cameras.items() if len(cams) > 1
                                     for cam in cams)
    assert all(len(plan.tracklets[s]) and t.length <= 64 for s in mars.SPLITS
               for t in plan.tracklets[s])


def test_test_share_picks_evenly_spread_test_identities() -> None:
    plan = make_plan(SyntheticConfig(ids=100, test_share=0.4))
    test_ids = {t.pid for t in plan.tracklets["test"] if t.pid > 0}
    train_ids = {t.pid for t in plan.tracklets["train"]}
    assert len(test_ids) == 40
    assert test_ids | train_ids == set(range(1, 101))
    assert max(sum(pid in test_ids for pid in range(k, k + 10)) for k in range(1, 92)) <= 5


def test_families_share_colours_but_not_patterns() -> None:
    persons = make_plan(SyntheticConfig(ids=9, family_size=3)).persons
    for first in (1, 4, 7):
        family = [persons[pid] for pid in range(first, first + 3)]
        for person in family[1:]:
            assert np.allclose(person.top, family[0].top, atol=30)
            assert np.allclose(person.bottom, family[0].bottom, atol=30)
        assert len({p.top_pattern for p in family}) == 3
    assert not np.allclose(persons[1].top, persons[4].top, atol=30)


@pytest.mark.slow
def test_mars_sized_name_lists_read_in_seconds(tmp_path: Path) -> None:
    """A MARS-size plan (1,261 identities, MARS's lengths uncapped) written as name lists and
    .mat files, then read back without touching frames: the statistics match MARS's."""
    config = SyntheticConfig(ids=1261, seed=0, mean_len=mars_stats.MEAN_LENGTH, max_len=920,
                             max_tracklets_per_camera=0)
    plan = make_plan(config)
    names = {s: mars.tracklet_names([(t.pid, t.camid, t.length) for t in plan.tracklets[s]])
             for s in mars.SPLITS}
    mars.write_info(tmp_path, names, plan.query_rows)
    started = time.perf_counter()
    summary = read_mars(tmp_path, strict=True, files="none").summary()
    assert time.perf_counter() - started < 30  # far above an idle machine's time: a bound
    every = summary["all"]
    assert every["frames"] == pytest.approx(1_191_003, rel=0.15)
    assert every["tracklets"] == pytest.approx(20_478, rel=0.15)
    assert every["mean_length"] == pytest.approx(mars_stats.MEAN_LENGTH, rel=0.1)
    assert every["median_length"] == pytest.approx(mars_stats.MEDIAN_LENGTH, abs=3)
    assert every["cameras_per_identity"] == pytest.approx(3.13, abs=0.15)


def test_existing_output_is_refused_then_replaced_only_after_success(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "mars"
    out.mkdir()
    (out / "keep.txt").write_text("old tree")
    with pytest.raises(SyntheticError, match="not empty"):
        generate(out, TINY)

    def crash(task: object) -> int:
        raise RuntimeError("worker died")

    monkeypatch.setattr(synthetic, "_render_task", crash)
    with pytest.raises(RuntimeError, match="worker died"):
        generate(out, TINY, force=True)
    assert (out / "keep.txt").read_text() == "old tree"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mars"]  # no half-built tree left
    monkeypatch.undo()

    generate(out, TINY, force=True)
    assert not (out / "keep.txt").exists()
    assert read_mars(out).problems == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mars"]


@pytest.mark.parametrize(
    ("knob", "value"),
    [("ids", 1), ("max_len", 1000), ("mean_len", 100.0), ("junk_share", 0.8),
     ("family_size", 0), ("workers", -1), ("min_len", 0), ("test_share", 0.0)],
)
def test_bad_knobs_are_named(knob: str, value: float) -> None:
    with pytest.raises(SyntheticError, match=knob):
        SyntheticConfig(**{knob: value}).check()  # type: ignore[arg-type]


def test_cli_writes_a_tree_and_refuses_to_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--out", str(tmp_path / "cli"), "--ids", "4", "--mean-len", "2", "--max-len", "3",
            "--workers", "1"]
    assert synthetic.main(args) == 0
    assert "frames/s" in capsys.readouterr().out
    assert mars.main(["validate", "--strict", str(tmp_path / "cli")]) == 0
    assert run(synthetic.main, args) == 2
    assert "--force" in capsys.readouterr().err


# --- not trivially easy --------------------------------------------------------------------


def _rank1(features: dict[str, np.ndarray], tracklets: list[Tracklet]) -> float:
    """Standard MARS protocol rank-1: gallery without junk and queries; per query, the
    gallery entries of its own identity and camera are left out."""
    queries = [t for t in tracklets if t.role == "query"]
    gallery = [t for t in tracklets if t.role == "gallery" and t.pid != mars.JUNK_PID]
    g = np.stack([features[t.tracklet_id] for t in gallery])
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    hits = []
    for q in queries:
        f = features[q.tracklet_id] / np.linalg.norm(features[q.tracklet_id])
        allowed = [i for i, t in enumerate(gallery) if (t.pid, t.camid) != (q.pid, q.camid)]
        best = allowed[int(np.argmax(g[allowed] @ f))]
        hits.append(gallery[best].pid == q.pid)
    return float(np.mean(hits))


@pytest.mark.slow
def test_neither_pixels_nor_a_random_network_solve_the_test_split(tmp_path: Path) -> None:
    generate(tmp_path / "mars", SyntheticConfig(ids=60, seed=5, mean_len=3.0, max_len=4))
    dataset = read_mars(tmp_path / "mars")
    test = [t for t in dataset.tracklets if t.split == "test"]
    frames = {t.tracklet_id: simplejpeg.decode_jpeg(
        (tmp_path / "mars" / t.frames[0]).read_bytes(), min_height=128, min_width=64)
        for t in test}
    pixels = {k: v[::4, ::4].astype(np.float32).ravel() for k, v in frames.items()}
    assert _rank1(pixels, test) < 0.9

    torch.manual_seed(0)
    network = torchvision.models.resnet18(weights=None, num_classes=1).eval()
    network.fc = torch.nn.Identity()
    batch = torch.from_numpy(np.stack(list(frames.values()))).permute(0, 3, 1, 2).float() / 255
    with torch.no_grad():
        embedded = network(batch).numpy()
    assert _rank1(dict(zip(frames, embedded, strict=True)), test) < 0.9
