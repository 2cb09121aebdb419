"""The report directory: every file present, links resolving offline, sensible pictures, and
atomic replacement of a previous report."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training import report
from training.evaluate import ProtocolResult, score_protocol, top_k_matches
from training.report import RankedQuery, ReportError, read_loss_history, write_report


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.targets += [v for k, v in attrs if k in ("href", "src") and v is not None]


def _results(seed: int = 0) -> list[ProtocolResult]:
    rng = np.random.default_rng(seed)
    q_pids, g_pids = rng.integers(1, 9, 20), rng.integers(0, 9, 60)
    q_cams, g_cams = rng.integers(1, 4, 20), rng.integers(1, 4, 60)
    dist = rng.random((20, 60)) + 0.8 * (q_pids[:, None] != g_pids[None, :])
    return [
        score_protocol(dist, q_pids, g_pids, q_cams, g_cams, protocol=p, max_rank=20)
        for p in ("standard", "official")
    ]


def _training_log(path: Path) -> Path:
    rows = ["step,epoch,loss,lr,triplet"]
    for step in range(120):
        loss = 4.0 * np.exp(-step / 40) + 0.1 * np.sin(step)
        rows.append(f"{step},{step // 30},{loss:.5f},0.0001,{loss / 2:.5f}")
    path.write_text("\n".join(rows) + "\n")
    return path


def _ranked(num_queries: int = 3) -> list[RankedQuery]:
    rng = np.random.default_rng(1)
    frame_sizes = [(256, 128), (200, 90)]  # callers may hand frames of different sizes

    def frame(i: int) -> np.ndarray:
        h, w = frame_sizes[i % 2]
        return rng.integers(0, 255, (h, w, 3), dtype=np.uint8)

    return [
        RankedQuery(
            query_frame=frame(q),
            query_caption=f"pid {q + 1} cam 1",
            gallery_frames=[frame(r) for r in range(10)],
            gallery_correct=[r % 3 == 0 for r in range(10)],
            gallery_captions=[f"pid {r} cam 2" for r in range(10)],
        )
        for q in range(num_queries)
    ]


def _write(target: Path, tmp_path: Path, seed: int = 0) -> Path:
    return write_report(
        target,
        _results(seed),
        training_log=_training_log(tmp_path / "metrics.csv"),
        ranked=_ranked(),
        info={"checkpoint": "hdfs://nn/ckpt/last.pt", "distance": "cosine", "rerank": False},
    )


def test_report_has_every_file_and_links_resolve(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "latest"
    index = _write(target, tmp_path)
    assert index == target / "index.html"
    names = {p.name for p in target.iterdir()}
    assert names == {"index.html", "metrics.json", "cmc.png", "loss.png", "ranked.png"}

    parser = _Links()
    parser.feed(index.read_text())
    assert set(parser.targets) == {"metrics.json", "cmc.png", "loss.png", "ranked.png"}
    for link in parser.targets:
        assert not Path(link).is_absolute()
        assert "://" not in link
        assert (target / link).is_file()


def test_metrics_json_names_both_protocols(tmp_path: Path) -> None:
    results = _results()
    target = tmp_path / "report"
    write_report(target, results, info={"distance": "cosine"})
    document = json.loads((target / "metrics.json").read_text())
    assert document["info"] == {"distance": "cosine"}
    for result in results:
        figures = document["protocols"][result.protocol]
        assert figures["protocol"] == result.protocol
        assert figures["rank1"] == pytest.approx(result.rank(1))
        assert figures["mAP"] == pytest.approx(result.mAP)
        assert len(figures["cmc"]) == 20
    # Without a training log or ranked queries the page says what is missing.
    page = (target / "index.html").read_text()
    assert "Not in this report: training loss, ranked results" in page


def test_picture_sizes_and_colours(tmp_path: Path) -> None:
    target = tmp_path / "report"
    _write(target, tmp_path)
    with Image.open(target / "cmc.png") as cmc, Image.open(target / "loss.png") as loss:
        assert cmc.size == (640, 420)
        assert loss.size == (640, 420)
    with Image.open(target / "ranked.png") as ranked_image:
        # 11 cells of 80 + 6 px plus the query's 14 px gap; 3 rows of 160 + 30 px, 6 px bottom
        # margin, 24 px title.
        assert ranked_image.size == (11 * 86 + 14, 3 * 190 + 6 + 24)
        pixels = np.asarray(ranked_image.convert("RGB")).reshape(-1, 3)
    present = {tuple(p) for p in np.unique(pixels, axis=0)}
    assert report._QUERY_RGB in present
    assert report._CORRECT_RGB in present
    assert report._WRONG_RGB in present


def test_rerun_replaces_the_previous_report_completely(tmp_path: Path) -> None:
    target = tmp_path / "report"
    _write(target, tmp_path, seed=0)
    (target / "stale.txt").write_text("from an older run")
    write_report(target, _results(seed=1))
    assert not (target / "stale.txt").exists()
    assert not (target / "ranked.png").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_failed_build_keeps_the_previous_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report"
    _write(target, tmp_path)
    before = (target / "metrics.json").read_text()

    def broken(path: Path, ranked: object) -> None:
        path.write_bytes(b"half a png")
        raise OSError("disk full")

    monkeypatch.setattr(report, "_draw_ranked", broken)
    with pytest.raises(OSError, match="disk full"):
        _write(target, tmp_path, seed=1)
    assert (target / "metrics.json").read_text() == before
    with Image.open(target / "ranked.png") as still_valid:
        still_valid.verify()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_loss_history_ignores_extra_columns_and_names_bad_rows(tmp_path: Path) -> None:
    history = read_loss_history(_training_log(tmp_path / "metrics.csv"))
    assert len(history.step) == 120
    assert history.epoch.max() == 3

    bad = tmp_path / "bad.csv"
    bad.write_text("step,epoch,loss\n0,0,1.5\n1,0,oops\n")
    with pytest.raises(ReportError, match=r"bad\.csv:3"):
        read_loss_history(bad)
    bad.write_text("step,loss\n0,1.5\n")
    with pytest.raises(ReportError, match=r"missing column\(s\) \['epoch'\]"):
        read_loss_history(bad)


def test_bad_frame_is_named(tmp_path: Path) -> None:
    ranked = _ranked(1)
    frames = list(ranked[0].gallery_frames)
    frames[4] = frames[4].astype(np.float32)
    broken = RankedQuery(
        ranked[0].query_frame, "q", frames, ranked[0].gallery_correct, ranked[0].gallery_captions
    )
    with pytest.raises(ReportError, match=r"ranked\[0\]\.gallery_frames\[4\]"):
        write_report(tmp_path / "report", _results(), ranked=[broken])
    assert not (tmp_path / "report").exists()


def test_top_k_matches_skips_what_the_protocols_skip() -> None:
    # Gallery: same pid+cam (excluded), junk (excluded), distractor, true match, other person.
    distances = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    g_pids, g_cams = np.array([7, -1, 0, 7, 3]), np.array([1, 2, 2, 2, 2])
    best, correct = top_k_matches(distances, 7, 1, g_pids, g_cams, k=10)
    np.testing.assert_array_equal(best, [2, 3, 4])
    np.testing.assert_array_equal(correct, [False, True, False])
