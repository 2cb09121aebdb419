"""The one-file export: what it holds, that its features are the live model's (both forms), and
that anything else is refused naming the file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hadoop.cli import run
from training.checkpoint import CheckpointError
from training.export import export_checkpoint, main
from training.model import ExportError, ModelConfig, VideoReIDNet, load_exported
from training.model.exported import (
    Preprocessing,
    export_portable,
    load_portable,
    model_fingerprint,
    save_exported,
)
from training.pipeline import PipelineEngine

SMALL = ModelConfig(num_classes=5, seq_len=4, preset="small", frame_size=(64, 32))


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def model() -> VideoReIDNet:
    torch.manual_seed(1)
    net = VideoReIDNet(SMALL).train()
    with torch.no_grad():  # non-trivial BatchNorm statistics
        net(torch.randn(4, SMALL.seq_len, 3, *SMALL.frame_size))
    return net.eval()


def clips(seed: int, batch: int = 3) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, SMALL.seq_len, 3, *SMALL.frame_size, generator=generator)


def test_one_file_holds_weights_config_and_preprocessing(model: VideoReIDNet,
                                                         tmp_path: Path) -> None:
    path = tmp_path / "m.pt"
    save_exported(model, path, source={"checkpoint": "hdfs://x/ckpt", "step": 7})
    loaded = load_exported(path)
    assert loaded.model.config == SMALL
    assert not loaded.model.training
    assert loaded.preprocessing == Preprocessing(
        frame_size=(64, 32), seq_len=4, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225),
        feature="bn", feature_dim=model.feature_dim)
    assert loaded.source == {"checkpoint": "hdfs://x/ckpt", "step": 7}
    assert loaded.fingerprint == model_fingerprint(SMALL, model.state_dict())
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_exported_features_equal_the_live_model(model: VideoReIDNet, tmp_path: Path) -> None:
    save_exported(model, tmp_path / "m.pt", source={})
    loaded = load_exported(tmp_path / "m.pt")
    export_portable(loaded, tmp_path / "m.pt2")
    portable, meta = load_portable(tmp_path / "m.pt2")
    assert meta["fingerprint"] == loaded.fingerprint
    assert meta["preprocessing"]["frame_size"] == [64, 32]
    with torch.no_grad():
        for batch in (1, 3, 5):  # the portable program's batch dimension is dynamic
            x = clips(batch, batch)
            want = model(x)
            assert (loaded.model(x) - want).abs().max() <= 1e-5
            assert (portable(x) - want).abs().max() <= 1e-5


def test_loading_needs_no_training_code_no_hdfs_and_no_process_group(model: VideoReIDNet,
                                                                      tmp_path: Path) -> None:
    path = tmp_path / "m.pt"
    save_exported(model, path, source={})
    script = (
        "import sys, torch\n"
        "from training.model import load_exported\n"
        f"m = load_exported({str(path)!r})\n"
        "assert not torch.distributed.is_initialized()\n"
        "bad = [n for n in sys.modules if n.startswith(('hdfs', 'hadoop.cluster', 'ingest',"
        " 'training.pipeline', 'training.checkpoint', 'training.train', 'pyspark'))]\n"
        "assert not bad, bad\n"
        "print(m.version)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == load_exported(path).version


def test_wrong_truncated_or_altered_files_are_refused_naming_the_file(model: VideoReIDNet,
                                                                      tmp_path: Path) -> None:
    good = tmp_path / "m.pt"
    save_exported(model, good, source={})
    data = good.read_bytes()
    cases = {
        "truncated.pt": data[: len(data) // 2],
        "text.pt": b"not a model\n",
        "empty.pt": b"",
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
    torch.save({"model": model.state_dict()}, tmp_path / "state_dict.pt")  # a plain state dict
    document = torch.load(good, weights_only=True)
    document["state_dict"]["units.head.neck.running_mean"] += 1.0
    torch.save(document, tmp_path / "altered.pt")
    for name in [*cases, "state_dict.pt", "altered.pt", "missing.pt"]:
        with pytest.raises(ExportError, match=str(tmp_path / name)):
            load_exported(tmp_path / name)
    (tmp_path / "bad.pt2").write_bytes(data[:1000])
    with pytest.raises(ExportError, match=r"bad\.pt2"):
        load_portable(tmp_path / "bad.pt2")


def test_cli_refuses_bad_flags_in_one_line(capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path) -> None:
    for flags, message in ((["--check-clips", "0"], "argument --check-clips: must be an integer "
                                                    ">= 1, not 0"),
                           (["--portable", str(tmp_path / "m.pt")], "would overwrite --out")):
        assert run(main, ["--checkpoint", "hdfs://127.0.0.10:8020/x", "--out",
                          str(tmp_path / "m.pt"), *flags]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ")
        assert err.count("\n") == 1
        assert message in err


@pytest.mark.cluster
def test_export_from_hdfs_checkpoint_equals_the_live_pipeline_model(
        tiny_checkpoint: tuple[str, PipelineEngine], tmp_path: Path) -> None:
    """The stage files merged from HDFS, exported, loaded back and run as the portable program
    give the features of the engine that trained them (max abs difference <= 1e-5)."""
    url, engine = tiny_checkpoint
    live = engine.gather_model()
    assert live is not None
    result = export_checkpoint(url, tmp_path / "m.pt", portable=tmp_path / "m.pt2")
    assert result.max_abs_diff <= 1e-5
    portable, _ = load_portable(tmp_path / "m.pt2")
    x = torch.randn(2, 4, 3, 64, 32, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        want = live(x)
        assert (result.exported.model(x) - want).abs().max() <= 1e-5
        assert (portable(x) - want).abs().max() <= 1e-5
    assert result.exported.source == {"checkpoint": url, "step": engine.steps}
    with pytest.raises(CheckpointError, match="keeps no complete step 999"):
        export_checkpoint(url, tmp_path / "old.pt", step=999)
