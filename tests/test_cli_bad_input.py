"""Every command line refuses bad input the same way: one line on stderr naming the flag, path or
value at fault, exit code 2, no traceback; numeric flags are checked when they are parsed, before
a cluster, dataset, Spark driver or process group is touched.

Most cases run in-process through :func:`hadoop.cli.run`, the wrapper every entry point runs
under; a few run as real processes to prove the ``python -m``, script and console-script paths.
The issue's own repros (``--stages 0``, ``--stages -1``, ``--ids-per-batch 0``,
``--checkpoint-every 0``) also run against a real ingested dataset, where they used to end in a
ZeroDivisionError or ValueError traceback, or in a step of training before one.
"""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from torch.utils.data import DataLoader, Dataset

from benchmarks import loader as bench_loader
from benchmarks import pipeline as bench_pipeline
from benchmarks import placement as bench_placement
from hadoop import compose, shell
from hadoop.cli import run
from hadoop.cluster import __main__ as cluster_cli
from ingest import describe, manifest, mars, staging, synthetic
from ingest.dataset import DatasetError
from spark_jobs import ingest as ingest_job
from spark_jobs import scan as scan_job
from training import embed, evaluate, experiments, export, search, train

REPO = Path(__file__).resolve().parents[1]
NOWHERE = "hdfs://127.0.0.1:1/reid/none"  # never contacted: parsing fails first
Main = Callable[[list[str]], int]


def one_line_error(capsys: pytest.CaptureFixture[str], main: Main, argv: list[str]) -> str:
    """Run ``main`` under the wrapper; assert exit 2 and a single ``error:`` line; return it."""
    assert run(main, argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: "), err
    assert err.count("\n") == 1, err
    return err


TRAIN = ["--data", NOWHERE]
BAD_INPUT: list[tuple[Main, list[str], str]] = [
    # training.train: every numeric flag, then flags that clash
    (train.main, [*TRAIN, "--stages", "0"], "argument --stages: must be an integer >= 1, not 0"),
    (train.main, [*TRAIN, "--stages", "-1"], "argument --stages: must be an integer >= 1"),
    (train.main, [*TRAIN, "--stages", "two"], "argument --stages: must be an integer, not 'two'"),
    (train.main, [*TRAIN, "--ids-per-batch", "0"], "argument --ids-per-batch: must be an integer"),
    (train.main, [*TRAIN, "--tracklets-per-id", "1"], "argument --tracklets-per-id: must be an"),
    (train.main, [*TRAIN, "--checkpoint-every", "0"], "argument --checkpoint-every: must be an"),
    (train.main, [*TRAIN, "--keep-checkpoints", "0"], "argument --keep-checkpoints:"),
    (train.main, [*TRAIN, "--epochs", "0"], "argument --epochs: must be an integer >= 1"),
    (train.main, [*TRAIN, "--epochs", "1.5"], "argument --epochs: must be an integer, not '1.5'"),
    (train.main, [*TRAIN, "--max-steps", "-1"], "argument --max-steps: must be an integer >= 0"),
    (train.main, [*TRAIN, "--lr", "0"], "argument --lr: must be a number > 0, not 0"),
    (train.main, [*TRAIN, "--lr", "nan"], "argument --lr: must be a finite number"),
    (train.main, [*TRAIN, "--weight-decay", "-0.001"], "argument --weight-decay: must be a number"),
    (train.main, [*TRAIN, "--warmup-epochs", "-1"], "argument --warmup-epochs:"),
    (train.main, [*TRAIN, "--decay-epochs", "0"], "argument --decay-epochs:"),
    (train.main, [*TRAIN, "--seq-len", "0"], "argument --seq-len: must be an integer >= 1"),
    (train.main, [*TRAIN, "--microbatches", "0"], "argument --microbatches: must be an integer"),
    (train.main, [*TRAIN, "--height", "16"], "argument --height: must be an integer >= 32"),
    (train.main, [*TRAIN, "--width", "0"], "argument --width:"),
    (train.main, [*TRAIN, "--erase-p", "1.5"], "argument --erase-p: must be a number in [0, 1]"),
    (train.main, [*TRAIN, "--label-smoothing", "1"], "argument --label-smoothing: must be a "
                                                     "number in [0, 1)"),
    (train.main, [*TRAIN, "--workers", "-1"], "argument --workers: must be an integer >= 0"),
    (train.main, [*TRAIN, "--seed", "-3"], "argument --seed:"),
    (train.main, [*TRAIN, "--microbatches", "5"],
     "--microbatches 5 must split the batch of 32 clips (--ids-per-batch 8 x "
     "--tracklets-per-id 4)"),
    (train.main, [*TRAIN, "--microbatches", "32"], "micro-batches of at least 2 clips"),
    (train.main, [*TRAIN, "--stages", "2"], "--stages 2 needs a multiple of 2 processes, not 1"),
    (train.main, [*TRAIN, "--frobnicate"], "unrecognized arguments: --frobnicate"),
    (train.main, ["--stages", "2"], "the following arguments are required: --data"),
    # training.evaluate, training.experiments
    (evaluate.main, ["--data", NOWHERE, "--checkpoint", NOWHERE, "--workers", "-2"],
     "argument --workers: must be an integer >= 0, not -2"),
    (evaluate.main, ["--data", NOWHERE], "required: --checkpoint"),
    (experiments.main, ["--data", NOWHERE, "--out", "x", "--stages", "1", "0"],
     "argument --stages: must be an integer >= 1, not 0"),
    (experiments.main, ["--data", NOWHERE, "--out", "x", "--ids-per-batch", "1"],
     "argument --ids-per-batch: must be an integer >= 2, not 1"),
    (experiments.main, ["--data", NOWHERE, "--out", "x", "--epochs", "0"], "argument --epochs"),
    (experiments.main, ["--data", NOWHERE, "--out", "x", "--seeds", "0", "-1"],
     "argument --seeds: must be an integer >= 0, not -1"),
    (experiments.main, ["--data", NOWHERE, "--out", "x", "--microbatches", "3"],
     "--microbatches 3 must split the batch of 8 clips"),
    (export.main, ["--checkpoint", NOWHERE, "--out", "m.pt", "--check-clips", "0"],
     "argument --check-clips: must be an integer >= 1, not 0"),
    (export.main, ["--checkpoint", NOWHERE, "--out", "m.pt", "--step", "-5"],
     "argument --step: must be an integer >= 0"),
    (export.main, ["--checkpoint", NOWHERE, "--out", "m.pt", "--portable", "m.pt"],
     "--portable m.pt would overwrite --out"),
    (search.main, ["--features", NOWHERE, "--query", "0001C1T0001", "--top-k", "0"],
     "argument --top-k: must be an integer >= 1, not 0"),
    (search.main, ["--features", NOWHERE, "--query-dir", "x", "--query-camera", "-1"],
     "argument --query-camera: must be an integer >= 1"),
    (search.main, ["--features", NOWHERE, "--query-dir", "x"], "--query-dir needs --model"),
    (embed.main, ["--data", NOWHERE, "--model", "m.pt", "--workers", "-1"],
     "argument --workers: must be an integer >= 0, not -1"),
    (scan_job.main, ["--data", NOWHERE, "--partitions", "-4"],
     "argument --partitions: must be an integer >= 0, not -4"),
    # spark_jobs/ingest.py (no Spark driver starts)
    (ingest_job.main, ["--source", "x", "--dest", NOWHERE, "--replication", "0"],
     "argument --replication: must be an integer in 1..16, not 0"),
    (ingest_job.main, ["--source", "x", "--dest", NOWHERE, "--shard-size-mib", "0"],
     "argument --shard-size-mib: must be an integer >= 1"),
    (ingest_job.main, ["--source", "x", "--dest", NOWHERE, "--block-size-mib", "-64"],
     "argument --block-size-mib:"),
    (ingest_job.main, ["--source", "x", "--dest", NOWHERE, "--ids-per-group", "0"],
     "argument --ids-per-group:"),
    (ingest_job.main, ["--source", "x", "--dest", NOWHERE, "--partitions", "-1"],
     "argument --partitions: must be an integer >= 0"),
    (ingest_job.main, ["--source", "x", "--dest", NOWHERE, "--append", "--replace"],
     "argument --replace: not allowed with argument --append"),
    (ingest_job.main, ["--source", "x", "--dest", "/reid/x"],
     "--dest '/reid/x' must be hdfs://<namenode>/<dir>/<name>"),
    # the cluster launcher, compose file and Hadoop shell
    (cluster_cli.main, ["up", "--timeout", "0"], "argument --timeout: must be a number > 0"),
    (cluster_cli.main, ["corrupt", "/x", "--block", "-1"], "argument --block: must be an integer"),
    (cluster_cli.main, ["explode"], "argument command: invalid choice: 'explode'"),
    (compose.main, ["--write", "a.yml", "--check", "b.yml"], "not allowed with argument"),
    (shell.main, ["rm"], "unknown command 'rm': choose one of dfs, dfsadmin"),
    (staging.main, ["clean", "/reid"], "root '/reid' must be hdfs://<namenode>/<dir>"),
    (staging.main, ["purge", NOWHERE], "argument command: invalid choice: 'purge'"),
    # benchmarks
    (bench_pipeline.main, ["--stages", "0"], "argument --stages: must be an integer >= 1"),
    (bench_placement.main, ["--epsilon", "0"], "argument --epsilon: must be a number > 0"),
    (bench_loader.main, ["--max-gap", "-1"], "argument --max-gap: must be an integer >= 0"),
    # the MARS validator and the generator
    (mars.main, ["validate", "/nonexistent/mars"], "/nonexistent/mars is not a directory"),
    (mars.main, ["validate", ".", "--show", "-1"], "argument --show: must be an integer >= 0"),
    # the tracklet manifest and the dataset description
    (manifest.main, ["validate", "/nonexistent/t.csv"], "/nonexistent/t.csv: no such file"),
    (manifest.main, ["validate", "/nonexistent/t.txt"], "a tracklet manifest is a .csv or"),
    (manifest.main, ["from-tree", "/nonexistent", "--out", "t.csv", "--test-share", "2"],
     "argument --test-share: must be a number in [0, 1], not 2"),
    (manifest.main, ["from-tree", "/nonexistent", "--out", "t.csv"],
     "/nonexistent: no such directory"),
    (describe.main, ["/nonexistent/reid/x"], "no dataset at /nonexistent/reid/x"),
    (ingest_job.main, ["--source", "/nonexistent/t.csv", "--dest", NOWHERE],
     "/nonexistent/t.csv: no such file"),
    (synthetic.main, ["--out", "x", "--ids", "1"], "argument --ids: must be an integer in 2..9999"),
    (synthetic.main, ["--out", "x", "--test-share", "2"], "argument --test-share:"),
    (synthetic.main, ["--out", "x", "--mean-len", "0"], "argument --mean-len: must be a number"),
    (synthetic.main, ["--out", "x", "--max-len", "1000"], "argument --max-len:"),
    (synthetic.main, ["--out", "x", "--junk-share", "1"], "argument --junk-share:"),
    (synthetic.main, ["--out", "x", "--workers", "-1"], "argument --workers:"),
    (synthetic.main, ["--out", "x", "--min-len", "9", "--max-len", "3"],
     "need 1 <= min_len (9) <= max_len (3)"),
]


@pytest.mark.parametrize(("main", "argv", "message"), BAD_INPUT,
                         ids=[f"{m.__module__}:{' '.join(a[-2:])}" for m, a, _ in BAD_INPUT])
def test_bad_input_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], main: Main,
                                          argv: list[str], message: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert message in one_line_error(capsys, main, argv)


def test_1f1b_needs_as_many_microbatches_as_stages(capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORLD_SIZE", "3")
    err = one_line_error(capsys, train.main, [*TRAIN, "--stages", "3", "--schedule", "1f1b",
                                              "--microbatches", "2"])
    assert "--schedule 1f1b needs --microbatches >= --stages, not 2 < 3" in err


def test_strict_validation_names_the_tree_and_exits_2(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "info").mkdir()
    err = one_line_error(capsys, mars.main, ["validate", "--strict", str(tmp_path)])
    assert f"{tmp_path}/info/train_name.txt" in err


class _BadShard(Dataset[int]):
    def __len__(self) -> int:
        return 2

    def __getitem__(self, index: int) -> int:
        raise DatasetError(f"{NOWHERE}/shards/g0.shard: frame {index} lies beyond the shard")


def test_an_error_in_a_loader_worker_is_its_own_one_line(
        capsys: pytest.CaptureFixture[str]) -> None:
    """torch re-raises a worker's error with the worker's traceback in its message; the user
    sees the message the worker raised, not the traceback on one line."""

    def main(argv: list[str]) -> int:
        for _ in DataLoader(_BadShard(), num_workers=1):
            pass
        return 0

    err = one_line_error(capsys, main, [])
    assert err == f"error: {NOWHERE}/shards/g0.shard: frame 0 lies beyond the shard\n"


def test_help_still_prints_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        run(train.main, ["--help"])
    assert exited.value.code == 0
    assert "--checkpoint-every" in capsys.readouterr().out


# --- as real processes -----------------------------------------------------------------------


def _process(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("WORLD_SIZE", None)
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=120, check=False)


def test_python_m_training_train(capsys: pytest.CaptureFixture[str]) -> None:
    """torchrun runs ``-m training.train``: the module path goes through the wrapper too."""
    done = _process("-m", "training.train", "--data", NOWHERE, "--checkpoint-every", "0")
    assert done.returncode == 2
    assert done.stderr == "error: argument --checkpoint-every: must be an integer >= 1, not 0\n"


def test_spark_job_file() -> None:
    """spark-submit runs spark_jobs/ingest.py as a file: the script path goes through it too."""
    done = _process("spark_jobs/ingest.py", "--source", "x", "--dest", NOWHERE, "--replication",
                    "17")
    assert done.returncode == 2
    assert done.stderr == "error: argument --replication: must be an integer in 1..16, not 17\n"


def test_debug_keeps_the_traceback() -> None:
    done = _process("-m", "ingest.synthetic", "--out", "x", "--ids", "1", "--debug")
    assert done.returncode == 1
    assert "Traceback" in done.stderr
    assert "UsageError: argument --ids" in done.stderr


def _console_scripts() -> dict[str, str]:
    setup = configparser.ConfigParser()
    setup.read(REPO / "setup.cfg")
    lines = setup["options.entry_points"]["console_scripts"].strip().splitlines()
    return dict(tuple(part.strip() for part in line.split("=")) for line in lines)  # type: ignore[misc]


def test_every_cli_is_a_documented_console_script() -> None:
    """Each console script is its module's main under the wrapper, and the README names it."""
    scripts = _console_scripts()
    modules = {target.split(":")[0] for target in scripts.values()}
    assert modules == {"hadoop.cluster.__main__", "hadoop.shell", "hadoop.compose",
                       "ingest.synthetic", "ingest.mars", "ingest.manifest", "ingest.describe",
                       "ingest.staging", "spark_jobs.ingest",
                       "training.train",
                       "training.evaluate", "training.experiments", "training.export",
                       "training.embed", "training.search"}
    readme = (REPO / "README.md").read_text()
    for name in scripts:
        assert f"`{name}`" in readme or f"{name} " in readme, name


def test_console_script_runs_main_under_the_wrapper() -> None:
    """What the installed ``reid-train`` does: import the target and call it."""
    module, _, attr = _console_scripts()["reid-train"].partition(":")
    done = _process("-c", f"import sys; sys.argv[0] = 'reid-train'; from {module} import {attr};"
                          f" {attr}()", "--data", NOWHERE, "--ids-per-batch", "0")
    assert done.returncode == 2
    assert done.stderr == "error: argument --ids-per-batch: must be an integer >= 2, not 0\n"


# --- the repros, against a real dataset -------------------------------------------------

SMALL = ["--preset", "small", "--seq-len", "4", "--height", "64", "--width", "32",
         "--ids-per-batch", "4", "--tracklets-per-id", "2", "--no-progress", "--workers", "0",
         "--max-steps", "3"]


@pytest.mark.cluster
@pytest.mark.parametrize("flag", [["--stages", "0"], ["--stages", "-1"], ["--ids-per-batch", "0"],
                                  ["--checkpoint-every", "0"]], ids=" ".join)
def test_reported_repros_fail_at_parse_time(capsys: pytest.CaptureFixture[str],
                                            small_dataset: str, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch,
                                            flag: list[str]) -> None:
    """Each used to die with a traceback (ZeroDivisionError, ValueError; --checkpoint-every 0
    after a training step) or an error that did not name the flag."""
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    err = one_line_error(capsys, train.main, ["--data", small_dataset, "--checkpoint",
                                              f"{small_dataset}-runs/repro", "--out",
                                              str(tmp_path), *SMALL, *flag])
    assert f"argument {flag[0]}: must be an integer" in err
    assert not (tmp_path / "metrics.csv").exists()  # refused before a single step
