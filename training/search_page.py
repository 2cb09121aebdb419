"""The search result as a page a person opens offline: ``index.html``, ``search.json``, frames.

Frames are the JPEG bytes as stored (read from the dataset's shards, or the query's own crop
files), written unchanged under ``frames/``. The directory is built beside the target and
swapped in whole (``training.report.building``), like the evaluation report.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from training.report import building

INDEX_HTML = "index.html"
SEARCH_JSON = "search.json"
FRAMES = "frames"

InfoValue = str | int | float | bool


@dataclass(frozen=True)
class QueryView:
    title: str
    pid: int | None  # known for a tracklet of the dataset, None for new footage
    camid: int | None
    frames: Sequence[bytes]  # image files' bytes (JPEG, or PNG crops)
    names: Sequence[str] = field(default_factory=list)  # crop file names, for their suffix


@dataclass(frozen=True)
class Match:
    rank: int
    tracklet_id: str
    pid: int
    camid: int
    distance: float
    num_frames: int
    frames: Sequence[bytes]  # JPEG bytes of a few frames


def write_search_page(target: Path, query: QueryView, matches: Sequence[Match],
                      settings: Mapping[str, InfoValue]) -> Path:
    """Write the page and its JSON into ``target`` (replaced whole); returns ``index.html``."""
    with building(Path(target)) as staging:
        (staging / FRAMES).mkdir()
        query_files = []
        for i, blob in enumerate(query.frames):
            suffix = Path(query.names[i]).suffix.lower() if query.names else ".jpg"
            query_files.append(_store(staging, f"query-{i}{suffix}", blob))
        match_files = [[_store(staging, f"{m.rank:03d}-{_file_name(m.tracklet_id)}-{i}.jpg", blob)
                        for i, blob in enumerate(m.frames)] for m in matches]
        document = {
            "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "settings": dict(settings),
            "query": {"title": query.title, "pid": query.pid, "camid": query.camid,
                      "frames": query_files},
            "matches": [{"rank": m.rank, "tracklet_id": m.tracklet_id, "pid": m.pid,
                         "camid": m.camid, "distance": m.distance, "num_frames": m.num_frames,
                         "frames": files} for m, files in zip(matches, match_files, strict=True)],
        }
        (staging / SEARCH_JSON).write_text(json.dumps(document, indent=2) + "\n",
                                           encoding="utf-8")
        (staging / INDEX_HTML).write_text(_html(query, query_files, matches, match_files,
                                                settings), encoding="utf-8")
    return Path(target) / INDEX_HTML


def _file_name(tracklet_id: str) -> str:
    """A tracklet id (``test/0003C1T0001``) as one safe file name component."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in tracklet_id)


def _store(folder: Path, name: str, blob: bytes) -> str:
    relative = f"{FRAMES}/{name}"
    (folder / relative).write_bytes(blob)
    return relative


def _images(files: Sequence[str]) -> str:
    return "".join(f'<img src="{html.escape(f)}" alt="">' for f in files)


def _html(query: QueryView, query_files: Sequence[str], matches: Sequence[Match],
          match_files: Sequence[Sequence[str]], settings: Mapping[str, InfoValue]) -> str:
    esc = html.escape
    label = "" if query.pid is None else f"pid {query.pid}, "
    camera = "camera unknown" if query.camid is None else f"camera {query.camid}"
    rows = []
    for match, files in zip(matches, match_files, strict=True):
        same = query.pid is not None and match.pid == query.pid
        css = ' class="same"' if same else ""
        rows.append(
            f"<tr{css}><td class=\"rank\">{match.rank}</td><td>{esc(match.tracklet_id)}<br>"
            f"<small>pid {match.pid} &middot; camera {match.camid} &middot; "
            f"{match.num_frames} frames</small></td><td class=\"num\">{match.distance:.4f}</td>"
            f"<td class=\"frames\">{_images(files)}</td></tr>")
    info = "".join(f"<tr><th>{esc(str(k))}</th><td>{esc(str(v))}</td></tr>"
                   for k, v in settings.items())
    legend = ("<p>Rows with a green bar share the query's identity label (known only for a "
              "query from the dataset).</p>" if query.pid is not None else "")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>reid-hdfs search: {esc(query.title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; max-width: 1200px; }}
table {{ border-collapse: collapse; margin-bottom: 1.5em; }}
td, th {{ border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: left; vertical-align: middle; }}
td.num, td.rank {{ text-align: right; font-variant-numeric: tabular-nums; }}
img {{ height: 128px; margin-right: 4px; border: 1px solid #ddd; image-rendering: auto; }}
.query {{ background: #eef3ff; padding: 0.8em; border-left: 6px solid #3c6edc; }}
tr.same td:first-child {{ border-left: 6px solid #1eaa3c; }}
</style>
</head>
<body>
<h1>Where else did the cameras see this person?</h1>
<div class="query"><b>Query:</b> {esc(query.title)} ({esc(label)}{esc(camera)})<br>
{_images(query_files)}</div>
<h2>Top {len(matches)} matches (smaller distance = more alike)</h2>
{legend}
<table>
<tr><th>rank</th><th>tracklet</th><th>distance</th><th>frames (from HDFS)</th></tr>
{"".join(rows)}
</table>
<table>
{info}
</table>
<p><a href="{SEARCH_JSON}">{SEARCH_JSON}</a> holds the same matches.</p>
</body>
</html>
"""
