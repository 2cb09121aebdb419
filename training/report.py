"""The evaluation report: a directory a person opens in a browser, offline.

Contents: ``metrics.json`` (both protocols, named), ``cmc.png``, ``loss.png`` (from the training
metrics CSV), ``ranked.png`` (queries with their top gallery tracklets, green = correct,
red = wrong) and ``index.html`` linking them with relative paths.

The directory is built next to the target under a hidden temporary name and swapped in only
once complete, so a crash or a failed re-run never leaves a half-written report behind and never
destroys the previous one.
"""

from __future__ import annotations

import csv
import html
import json
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from hadoop.fs import atomic_path, replace_tree
from training.errors import TrainingError
from training.metrics import REPORTED_RANKS, ProtocolResult

METRICS_JSON = "metrics.json"
CMC_PNG = "cmc.png"
LOSS_PNG = "loss.png"
RANKED_PNG = "ranked.png"
INDEX_HTML = "index.html"
LOSS_COLUMNS = ("step", "epoch", "loss")

InfoValue = str | int | float | bool
Frame = npt.NDArray[np.uint8]

# Ranked picture geometry in pixels: cells keep MARS's 1:2 frame aspect.
_CELL = (80, 160)
_BORDER = 5
_GAP = 6
_QUERY_GAP = 14  # extra space setting the query apart from its gallery
_CAPTION = 30  # two caption lines above each row
_TITLE = 24
_DPI = 100
_QUERY_RGB = (60, 110, 220)
_CORRECT_RGB = (30, 170, 60)
_WRONG_RGB = (220, 40, 40)
_STYLE = {True: (_CORRECT_RGB, "darkgreen"), False: (_WRONG_RGB, "darkred")}  # border, caption


class ReportError(TrainingError):
    """Report inputs are unusable (bad frames, malformed loss CSV, target in the way)."""


@dataclass(frozen=True)
class RankedQuery:
    """One row of the ranked-results picture: a query frame and its top gallery frames.

    Frames are HxWx3 uint8 (one representative frame per tracklet); captions are short labels
    such as ``"pid 12 cam 3"``.
    """

    query_frame: Frame
    query_caption: str
    gallery_frames: Sequence[Frame]
    gallery_correct: Sequence[bool]
    gallery_captions: Sequence[str] = ()


@dataclass(frozen=True)
class LossHistory:
    """Training loss per logged row, in file order."""

    source: Path
    step: npt.NDArray[np.int64]
    epoch: npt.NDArray[np.int64]
    loss: npt.NDArray[np.float64]


def write_report(
    target: Path,
    results: Sequence[ProtocolResult],
    *,
    training_log: Path | None = None,
    ranked: Sequence[RankedQuery] = (),
    info: Mapping[str, InfoValue] | None = None,
) -> Path:
    """Build the report in a temporary directory next to ``target`` and swap it into place.

    ``results`` holds one :class:`ProtocolResult` per protocol (normally standard and official);
    ``training_log`` is the training metrics CSV; ``info`` (checkpoint, distance, re-ranking, ...)
    is shown on the page and stored in the JSON. Returns the path of ``index.html``.
    """
    target = Path(target)
    protocols = [r.protocol for r in results]
    if not results or len(set(protocols)) != len(protocols):
        raise ReportError(f"need one result per protocol, got protocols {protocols}")
    history = read_loss_history(training_log) if training_log is not None else None
    _check_ranked(ranked)
    info = dict(info or {})

    with building(target) as staging:
        files = {METRICS_JSON: "metrics (JSON)", CMC_PNG: "CMC curve"}
        _write_metrics(staging / METRICS_JSON, results, info)
        _plot_cmc(staging / CMC_PNG, results)
        if history is not None:
            _plot_loss(staging / LOSS_PNG, history)
            files[LOSS_PNG] = "training loss"
        if ranked:
            _draw_ranked(staging / RANKED_PNG, ranked)
            files[RANKED_PNG] = "ranked results"
        (staging / INDEX_HTML).write_text(_html(results, info, files), encoding="utf-8")
    return target / INDEX_HTML


@contextmanager
def building(target: Path) -> Iterator[Path]:
    """A fresh directory next to ``target`` to build a page in; swapped into place as a whole
    when the block ends, deleted if it raises (the previous ``target`` is then untouched)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    try:
        staging.chmod(0o755)  # mkdtemp's 0700 would hide the page from a web server
        yield staging
        replace_tree(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def plot_training_loss(training_log: Path, png: Path) -> None:
    """The training loss curve of a metrics CSV as a PNG (what the report shows). Replaced
    whole: training redraws it at every checkpoint while a person may be looking at it."""
    history = read_loss_history(training_log)
    with atomic_path(png) as tmp:
        _plot_loss(tmp, history)


def read_loss_history(path: Path) -> LossHistory:
    """Read ``step,epoch,loss`` from a metrics CSV; other columns are ignored."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in LOSS_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise ReportError(
                    f"{path}: missing column(s) {missing}; header is {reader.fieldnames}"
                )
            rows = []
            for line, row in enumerate(reader, start=2):
                try:
                    rows.append((int(row["step"]), int(row["epoch"]), float(row["loss"])))
                except (TypeError, ValueError) as exc:
                    raise ReportError(f"{path}:{line}: unreadable step/epoch/loss: {exc}") from exc
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ReportError(f"cannot read training log {path}: {exc}") from exc
    if not rows:
        raise ReportError(f"{path}: no rows after the header")
    step, epoch, loss = zip(*rows, strict=True)
    return LossHistory(
        source=Path(path),
        step=np.asarray(step, dtype=np.int64),
        epoch=np.asarray(epoch, dtype=np.int64),
        loss=np.asarray(loss, dtype=np.float64),
    )


def _check_ranked(ranked: Sequence[RankedQuery]) -> None:
    for i, query in enumerate(ranked):
        _check_frame(query.query_frame, f"ranked[{i}].query_frame")
        if len(query.gallery_frames) != len(query.gallery_correct):
            raise ReportError(
                f"ranked[{i}]: {len(query.gallery_frames)} gallery frames but "
                f"{len(query.gallery_correct)} correct flags"
            )
        if query.gallery_captions and len(query.gallery_captions) != len(query.gallery_frames):
            raise ReportError(
                f"ranked[{i}]: {len(query.gallery_captions)} captions for "
                f"{len(query.gallery_frames)} gallery frames"
            )
        for j, frame in enumerate(query.gallery_frames):
            _check_frame(frame, f"ranked[{i}].gallery_frames[{j}]")


def _check_frame(frame: Frame, where: str) -> None:
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ReportError(f"{where} must be an HxWx3 uint8 array, got {frame.dtype} {frame.shape}")


def _write_metrics(
    path: Path, results: Sequence[ProtocolResult], info: Mapping[str, InfoValue]
) -> None:
    document = {
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "info": dict(info),
        "protocols": {r.protocol: r.as_dict() for r in results},
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")  # in staging


def _plot_cmc(path: Path, results: Sequence[ProtocolResult]) -> None:
    fig = Figure(figsize=(6.4, 4.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    styles = [("-", "o"), ("--", "s"), (":", "^")]  # curves often coincide: keep both visible
    for i, result in enumerate(results):
        ranks = np.arange(1, len(result.cmc) + 1)
        label = f"{result.protocol}: R1 {result.rank(1):.3f}, mAP {result.mAP:.3f}"
        line, marker = styles[i % len(styles)]
        ax.plot(ranks, result.cmc, linestyle=line, marker=marker, markersize=3, label=label)
    ax.set(xlabel="rank", ylabel="matching rate", title="CMC (MARS protocols)", ylim=(0, 1.02))
    ax.set_xlim(1, max(2, *(len(r.cmc) for r in results)))
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path)


def _plot_loss(path: Path, history: LossHistory) -> None:
    order = np.argsort(history.step, kind="stable")
    step, epoch, loss = history.step[order], history.epoch[order], history.loss[order]
    window = max(1, len(loss) // 25)
    smooth = np.convolve(loss, np.ones(window) / window, mode="valid")

    fig = Figure(figsize=(6.4, 4.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(step, loss, linewidth=0.8, alpha=0.4, color="tab:blue", label="loss")
    if window > 1:
        ax.plot(step[window - 1 :], smooth, color="tab:blue", label=f"mean of {window}")
    starts = step[1:][np.diff(epoch) != 0]
    every = max(1, -(-len(starts) // 10))  # at most about 10 epoch marks, so they stay readable
    for boundary in starts[every - 1 :: every]:
        ax.axvline(boundary, color="grey", linewidth=0.6, alpha=0.5)
    marks = f"; grey line every {every} epochs" if every > 1 else ""
    ax.set(xlabel="step", ylabel="loss",
           title=f"training loss ({np.unique(epoch).size} epochs{marks})")
    fig.text(0.99, 0.01, history.source.name, ha="right", va="bottom", fontsize=7, color="grey")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path, format="png")  # the path may be a temporary name without .png


def _bordered(frame: Frame, rgb: tuple[int, int, int]) -> Frame:
    """The frame scaled to one cell size, framed in ``rgb``."""
    width, height = _CELL
    inner = Image.fromarray(frame).resize(
        (width - 2 * _BORDER, height - 2 * _BORDER), Image.Resampling.BILINEAR
    )
    cell = np.empty((height, width, 3), dtype=np.uint8)
    cell[:] = rgb
    cell[_BORDER:-_BORDER, _BORDER:-_BORDER] = np.asarray(inner)
    return cell


def _draw_ranked(path: Path, ranked: Sequence[RankedQuery]) -> None:
    """One mosaic image (a single axes: fast even for many queries) with a caption per cell."""
    width, height = _CELL
    columns = 1 + max(len(q.gallery_frames) for q in ranked)
    mosaic_w = columns * (width + _GAP) + _QUERY_GAP
    mosaic_h = len(ranked) * (height + _CAPTION) + _GAP
    mosaic = np.full((mosaic_h, mosaic_w, 3), 255, dtype=np.uint8)
    captions: list[tuple[float, float, str, str]] = []
    for row, query in enumerate(ranked):
        top = row * (height + _CAPTION) + _CAPTION
        cells = [(query.query_frame, _QUERY_RGB, f"query\n{query.query_caption}", "navy")]
        for rank, frame in enumerate(query.gallery_frames, start=1):
            correct = bool(query.gallery_correct[rank - 1])
            caption = query.gallery_captions[rank - 1] if query.gallery_captions else ""
            rgb, colour = _STYLE[correct]
            cells.append((frame, rgb, f"#{rank}\n{caption}", colour))
        for column, (frame, rgb, text, colour) in enumerate(cells):
            left = column * (width + _GAP) + (_QUERY_GAP if column else 0)
            mosaic[top : top + height, left : left + width] = _bordered(frame, rgb)
            captions.append((left + width / 2, top - 3, text, colour))

    fig = Figure(figsize=(mosaic_w / _DPI, (mosaic_h + _TITLE) / _DPI), dpi=_DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 1.0, mosaic_h / (mosaic_h + _TITLE)))
    ax.imshow(mosaic, interpolation="nearest")
    ax.axis("off")
    for x, y, text, colour in captions:
        ax.text(x, y, text, ha="center", va="bottom", fontsize=7, color=colour)
    fig.suptitle("ranked results: blue = query, green = correct, red = wrong", fontsize=9, y=0.995)
    fig.savefig(path)


def _html(
    results: Sequence[ProtocolResult], info: Mapping[str, InfoValue], files: Mapping[str, str]
) -> str:
    esc = html.escape
    ranks = [k for k in REPORTED_RANKS if all(k <= len(r.cmc) for r in results)]
    header = "".join(f"<th>R{k}</th>" for k in ranks)
    metric_rows = "".join(
        f"<tr><td>{esc(r.protocol)}</td>"
        + "".join(f"<td>{r.rank(k):.4f}</td>" for k in ranks)
        + f"<td>{r.mAP:.4f}</td><td>{r.num_counted} / {r.num_queries}</td></tr>"
        for r in results
    )
    info_rows = "".join(
        f"<tr><th>{esc(str(key))}</th><td>{esc(str(value))}</td></tr>"
        for key, value in info.items()
    )
    figures = "".join(
        f'<figure><img src="{esc(name)}" alt="{esc(title)}">'
        f"<figcaption>{esc(title)}</figcaption></figure>"
        for name, title in files.items()
        if name.endswith(".png")
    )
    absent = [
        t
        for n, t in ((LOSS_PNG, "training loss"), (RANKED_PNG, "ranked results"))
        if n not in files
    ]
    note = f"<p>Not in this report: {esc(', '.join(absent))}.</p>" if absent else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>reid-hdfs evaluation report</title>
<style>
body {{ font-family: sans-serif; margin: 2em; max-width: 1200px; }}
table {{ border-collapse: collapse; margin-bottom: 1.5em; }}
td, th {{ border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: left; }}
figure {{ margin: 1em 0; }}
img {{ max-width: 100%; border: 1px solid #eee; }}
</style>
</head>
<body>
<h1>reid-hdfs evaluation report</h1>
<p>Two MARS protocols; their figures are not comparable with each other.
<b>standard</b>: gallery without queries and junk, queries without a cross-camera match
skipped, non-interpolated AP. <b>official</b>: all test tracklets as gallery, junk skipped,
trapezoid AP, every query counted.</p>
<table>
<tr><th>protocol</th>{header}<th>mAP</th><th>queries counted</th></tr>
{metric_rows}
</table>
<table>
{info_rows}
</table>
<p><a href="{METRICS_JSON}">{METRICS_JSON}</a> holds every figure, with the full CMC curves.</p>
{note}
{figures}
</body>
</html>
"""

