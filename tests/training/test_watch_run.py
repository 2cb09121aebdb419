"""What a person watching a training run sees: progress lines (not bar frames) in a log file,
TensorBoard scalars that TensorBoard's own reader reads back, and one-line refusals of bad
watching flags."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from hadoop.cli import run
from training import evaluate, train
from training.metrics import score_protocol
from training.pipeline import StepStats
from training.progress import Progress
from training.scalars import Scalars, eval_scalars, step_scalars

NOWHERE = "hdfs://127.0.0.1:1/reid/none"  # never contacted: parsing fails first
Main = Callable[[list[str]], int]


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    """stderr's lines without their time stamps (``YYYY-mm-dd HH:MM:SS ``)."""
    err = capsys.readouterr().err
    assert "\r" not in err  # no bar frames
    return [line[20:] for line in err.splitlines()]


def test_without_a_terminal_progress_is_a_line_every_interval(
        capsys: pytest.CaptureFixture[str]) -> None:
    clock = _Clock()
    progress = Progress(1000, initial=100, every_s=30, tty=False, clock=clock)
    for _ in range(900):  # one step per second
        clock.now += 1
        progress.update(epoch=3, loss="1.234")
    progress.close()
    lines = _lines(capsys)
    assert len(lines) == 900 // 30  # one every 30 s; the last also closes the run
    assert lines[0] == ("progress: 130/1000 steps (13%) epoch 3 loss 1.234; 1.00 steps/s, "
                        "elapsed 0:00:30, eta 0:14:30")
    assert lines[-1].startswith("progress: 1000/1000 steps (100%)")


def test_the_last_line_comes_at_close_and_disabled_is_silent(
        capsys: pytest.CaptureFixture[str]) -> None:
    clock = _Clock()
    quiet = Progress(10, tty=False, enabled=False, clock=clock)
    quiet.update()
    quiet.close()
    progress = Progress(10, every_s=30, tty=False, clock=clock, desc="features",
                        unit="tracklet")
    clock.now = 5
    progress.update(4)
    progress.close()
    assert _lines(capsys) == [
        "features: 4/10 tracklets (40%); 0.80 tracklets/s, elapsed 0:00:05, eta 0:00:08"]


def test_on_a_terminal_progress_is_a_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    progress = Progress(3, tty=True, every_s=0)
    for _ in range(3):
        progress.update(loss="0.5")
    progress.close()
    assert "\r" in stream.getvalue()  # tqdm's redrawn bar, not lines
    assert "progress:" not in stream.getvalue()
    assert "3/3" in stream.getvalue()
    assert "loss=0.5" in stream.getvalue()


def test_tensorboard_reads_back_every_scalar(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    pids, cams = rng.integers(1, 6, 30), rng.integers(1, 3, 30)
    results = [score_protocol(rng.random((10, 30)), pids[:10], pids, cams[:10], cams,
                              protocol=p) for p in ("standard", "official")]
    scalars = Scalars(tmp_path, enabled=True)
    for step in (1, 2, 3):
        scalars.add(step, step_scalars(StepStats(3.0 / step, 1.0 / step, 2.0 / step,
                                                 1e-3, step), clips_per_s=10.0 * step))
    scalars.add(3, eval_scalars(results))
    scalars.close()
    Scalars(tmp_path / "elsewhere", enabled=False).add(1, {"loss/total": 1.0})  # not rank 0

    events = EventAccumulator(str(tmp_path))
    events.Reload()
    assert sorted(events.Tags()["scalars"]) == sorted([
        "loss/total", "loss/triplet", "loss/cross_entropy", "train/lr", "train/clips_per_s",
        "eval/standard_R1", "eval/standard_mAP", "eval/official_R1", "eval/official_mAP"])
    total = events.Scalars("loss/total")
    assert [e.step for e in total] == [1, 2, 3]
    assert [e.value for e in total] == pytest.approx([3.0, 1.5, 1.0])
    assert [e.value for e in events.Scalars("train/clips_per_s")] == [10.0, 20.0, 30.0]
    (r1,) = events.Scalars("eval/standard_R1")
    (mean_ap,) = events.Scalars("eval/official_mAP")
    assert (r1.step, r1.value) == (3, pytest.approx(results[0].rank(1)))
    assert mean_ap.value == pytest.approx(results[1].mAP)
    assert not (tmp_path / "elsewhere").exists()


def test_a_resumed_run_shows_each_step_once(tmp_path: Path) -> None:
    """Steps after the checkpoint that the interrupted run had logged are purged from view."""
    first = Scalars(tmp_path, enabled=True)
    for step in range(1, 8):
        first.add(step, {"loss/total": 1.0})
    first.close()
    again = Scalars(tmp_path, enabled=True, resumed_at=5)
    for step in range(5, 10):
        again.add(step, {"loss/total": 2.0})
    again.close()
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    assert [(e.step, e.value) for e in events.Scalars("loss/total")] == [
        (1, 1.0), (2, 1.0), (3, 1.0), (4, 1.0), (5, 2.0), (6, 2.0), (7, 2.0), (8, 2.0),
        (9, 2.0)]


@pytest.mark.parametrize(("main", "argv", "message"), [
    (train.main, ["--data", NOWHERE, "--progress-every", "0"],
     "argument --progress-every: must be a number > 0, not 0"),
    (train.main, ["--data", NOWHERE, "--progress-every", "soon"],
     "argument --progress-every: must be a number"),
    (train.main, ["--data", NOWHERE, "--eval-every", "-1"],
     "argument --eval-every: must be an integer >= 0, not -1"),
    (train.main, ["--data", NOWHERE, "--eval-every", "often"],
     "argument --eval-every: must be an integer, not 'often'"),
    (evaluate.main, ["--data", NOWHERE, "--checkpoint", NOWHERE, "--step", "-3"],
     "argument --step: must be an integer >= 0"),
    (evaluate.main, ["--data", NOWHERE, "--checkpoint", NOWHERE, "--step", "3", "--best"],
     "argument --best: not allowed with argument --step"),
])
def test_bad_watching_flags_are_one_line_exit_2(capsys: pytest.CaptureFixture[str], main: Main,
                                                argv: list[str], message: str) -> None:
    assert run(main, argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: "), err
    assert err.count("\n") == 1, err
    assert message in err
