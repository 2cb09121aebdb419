"""``training.train --resume`` takes the run's configuration from its checkpoint: flags left out
come from it, flags given again must agree (or only change how the run is executed), and a
disagreeing flag ends the command with one line naming the flag and both values, exit 2, before
any dataset or process group is touched. The checkpoint is a local directory committed the way
the trainer commits one."""

from __future__ import annotations

from pathlib import Path

import pytest

from hadoop.cli import run
from training.checkpoint import CheckpointStore
from training.model import ModelConfig
from training.resume import stored_settings
from training.train import NOT_STORED, TrainConfig, build_parser, main, resumed_flags

MODEL = ModelConfig(num_classes=4, seq_len=4, preset="small", frame_size=(64, 32))
DATA = "hdfs://127.0.0.1:9/reid/small"  # never read: the flags are settled first


def stored_run(root: Path, training: TrainConfig | None) -> str:
    """A committed one-stage checkpoint at step 10 that stores ``training``."""
    store = CheckpointStore(str(root))
    store.save_stage(10, 0, 1, {"model": {}})
    store.commit(10, 10, 1, MODEL, boundaries=[0, 11], replicas=1, training=None if training is
                 None else stored_settings(training, not_stored=NOT_STORED))
    return str(root)


RUN = TrainConfig(data=DATA, checkpoint="", out=Path("runs/first"), stages=2, microbatches=2,
                  preset="small", seq_len=4, height=64, width=32, ids_per_batch=4,
                  tracklets_per_id=2, lr=3e-4, max_steps=40, seed=7, rack_aware=True)


def resolve(argv: list[str]) -> dict[str, object]:
    parser = build_parser()
    return vars(resumed_flags(parser, argv, parser.parse_args(argv)))


def test_resume_with_only_data_and_checkpoint_continues_the_stored_run(tmp_path: Path) -> None:
    ckpt = stored_run(tmp_path / "ckpt", RUN)
    args = resolve(["--data", DATA, "--checkpoint", ckpt, "--resume"])
    for name in ("stages", "microbatches", "preset", "seq_len", "height", "width",
                 "ids_per_batch", "tracklets_per_id", "lr", "max_steps", "seed", "rack_aware"):
        assert args[name] == getattr(RUN, name), name
    assert args["out"] == Path("runs/first")
    assert args["pretrained"] is None
    assert args["checkpoint"] == ckpt  # this invocation's, never stored


def test_flags_that_agree_or_only_change_the_execution_are_accepted(tmp_path: Path) -> None:
    ckpt = stored_run(tmp_path / "ckpt", RUN)
    args = resolve(["--data", DATA, "--checkpoint", ckpt, "--resume", "--lr", "0.0003",
                    "--seed", "7", "--rack-aware", "--stages", "3", "--max-steps", "80",
                    "--workers", "0", "--out", str(tmp_path / "elsewhere")])
    assert (args["stages"], args["max_steps"], args["workers"]) == (3, 80, 0)
    assert args["out"] == tmp_path / "elsewhere"
    assert args["ids_per_batch"] == RUN.ids_per_batch  # not given: stored


@pytest.mark.parametrize(("flags", "named"), [
    (["--lr", "0.001"], "--lr 0.001 disagrees with the run in {ckpt} (step 10), which has "
                        "--lr 0.0003"),
    (["--ids-per-batch", "8"], "--ids-per-batch 8 disagrees with the run in {ckpt} (step 10), "
                               "which has --ids-per-batch 4"),
    (["--seed", "0"], "--seed 0 disagrees"),
    (["--preset", "resnet50"], "--preset resnet50 disagrees"),
    (["--amp", "bf16"], "--amp bf16 disagrees with the run in {ckpt} (step 10), which has "
                        "no --amp"),
])
def test_a_disagreeing_flag_is_refused_in_one_line_naming_both_values(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], named: str) -> None:
    ckpt = stored_run(tmp_path / "ckpt", RUN)
    assert run(main, ["--data", DATA, "--checkpoint", ckpt, "--resume", *flags]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("error: "), err
    assert named.format(ckpt=ckpt) in err


def test_a_switch_the_run_did_not_have_is_refused(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    ckpt = stored_run(tmp_path / "ckpt", TrainConfig(data=DATA, checkpoint="", out=Path("r")))
    assert run(main, ["--data", DATA, "--checkpoint", ckpt, "--resume", "--rack-aware"]) == 2
    err = capsys.readouterr().err
    assert "--rack-aware disagrees with the run in" in err
    assert "which has no --rack-aware" in err


def test_stored_flags_are_checked_together_as_fresh_ones_are(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The merged flags pass the same clash checks: 1f1b needs micro-batches >= stages."""
    ckpt = stored_run(tmp_path / "ckpt", RUN)
    argv = ["--data", DATA, "--checkpoint", ckpt, "--resume", "--stages", "3",
            "--schedule", "1f1b"]
    assert run(main, argv) == 2
    assert "--schedule 1f1b needs --microbatches >= --stages, not 2 < 3" in capsys.readouterr().err


def test_without_a_checkpoint_or_a_stored_configuration_the_flags_stand(tmp_path: Path) -> None:
    fresh = resolve(["--data", DATA, "--checkpoint", str(tmp_path / "none"), "--resume",
                     "--lr", "0.01"])
    assert fresh["lr"] == 0.01
    assert fresh["stages"] == 1
    older = stored_run(tmp_path / "older", None)
    args = resolve(["--data", DATA, "--checkpoint", older, "--resume", "--lr", "0.01"])
    assert args["lr"] == 0.01
