"""``python -m training.export``: a checkpoint in HDFS -> one model file (+ a portable one).

    python -m training.export --checkpoint hdfs://127.0.0.10:8020/reid/runs/demo/checkpoints \\
        --out models/demo.pt

Why: the checkpoint is one file per pipeline stage behind ``latest.json``; a user needs the
network alone. The stage files are merged by the checkpoint store (the engine's own merge and
its checks), and the result is written with its ``ModelConfig`` and preprocessing as one file
(``training.model.load_exported`` reads it) and as a ``torch.export`` program beside it
(``.pt2``). Both are checked against the merged model on random clips before the command
reports success.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from hadoop.cli import ArgumentParser, entry_point, non_negative_int, positive_int
from training.checkpoint import CheckpointStore
from training.model import VideoReIDNet
from training.model.exported import (
    ExportedModel,
    ExportError,
    export_portable,
    load_exported,
    load_portable,
    save_exported,
)


@dataclass(frozen=True)
class ExportResult:
    exported: ExportedModel
    portable: Path | None
    max_abs_diff: float  # largest feature difference, live model vs each exported form


def export_checkpoint(checkpoint_url: str, out: Path, *, step: int | None = None,
                      portable: Path | None = None, check_clips: int = 2) -> ExportResult:
    """Merge a checkpoint's stages, write ``out`` (and ``portable``), check both on clips."""
    store = CheckpointStore(checkpoint_url)
    info = store.require_latest() if step is None else store.at_step(step)
    live = store.load_model(info)
    source = {"checkpoint": checkpoint_url, "step": info.step}
    save_exported(live, out, source=source)
    exported = load_exported(out)  # what a user will load, not what was in memory
    if portable is not None:
        export_portable(exported, portable)
    diff = max_feature_difference(live, exported, portable, check_clips)
    return ExportResult(exported, portable, diff)


@torch.no_grad()
def max_feature_difference(live: VideoReIDNet, exported: ExportedModel, portable: Path | None,
                           clips: int, seed: int = 0) -> float:
    """Largest |feature difference| between the live model and each exported form, on
    ``clips`` random normalised clips."""
    generator = torch.Generator().manual_seed(seed)
    example = live.example_clips(clips)
    x = torch.randn(example.shape, generator=generator)
    want = live.eval()(x)
    forms: list[torch.nn.Module] = [exported.model.eval()]
    if portable is not None:
        forms.append(load_portable(portable)[0])
    diffs = [float((form(x) - want).abs().max()) for form in forms]
    return max(diffs)


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="python -m training.export",
        description="Merge a checkpoint's stage files from HDFS into one model file holding the "
                    "weights, the ModelConfig and the preprocessing, plus a torch.export "
                    "program beside it.")
    parser.add_argument("--checkpoint", required=True, help="hdfs:// checkpoint directory")
    parser.add_argument("--step", type=non_negative_int, default=None,
                        help="an older kept step (default: the committed one)")
    parser.add_argument("--out", type=Path, required=True, help="model file to write (.pt)")
    parser.add_argument("--portable", type=Path, default=None,
                        help="torch.export program to write (default: OUT with suffix .pt2)")
    parser.add_argument("--no-portable", action="store_true", help="skip the torch.export form")
    parser.add_argument("--check-clips", type=positive_int, default=2,
                        help="random clips the exported forms are checked on")
    args = parser.parse_args(argv)
    portable = None if args.no_portable else (args.portable or args.out.with_suffix(".pt2"))
    if portable is not None and portable.resolve() == args.out.resolve():
        parser.error(f"--portable {portable} would overwrite --out")
    result = export_checkpoint(args.checkpoint, args.out, step=args.step, portable=portable,
                               check_clips=args.check_clips)
    exported = result.exported
    config = exported.model.config
    print(f"model {exported.version} (step {exported.source['step']}, {config.preset}, "
          f"T={config.seq_len}, {config.frame_size[0]}x{config.frame_size[1]}, "
          f"{exported.preprocessing.feature_dim}-d {exported.preprocessing.feature} feature)")
    print(f"wrote {args.out} ({args.out.stat().st_size / 2**20:.1f} MiB)")
    if portable is not None:
        print(f"wrote {portable} ({portable.stat().st_size / 2**20:.1f} MiB, torch.export)")
    print(f"check: max abs feature difference vs the checkpoint's model {result.max_abs_diff:.2e}"
          f" on {args.check_clips} random clips")
    if result.max_abs_diff > 1e-5:
        raise ExportError(f"{args.out}: exported features differ from the checkpoint's by "
                          f"{result.max_abs_diff:.2e} (> 1e-5)")
    return 0


cli = entry_point(main)

if __name__ == "__main__":
    cli()
