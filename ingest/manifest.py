"""The tracklet manifest: a source layout for footage that is not in MARS's layout.

``--source`` of the ingest may be a CSV file (with a header row) or a Parquet file listing one
tracklet per row, instead of a MARS tree; the same Spark job packs it into the same shards,
index and quarantine (``ingest.source`` plans both layouts alike). Columns:

==============  ========  ====================================================================
``tracklet_id`` string    unique in the manifest; becomes the index's tracklet id
``person_id``   integer   >= 1 a person; 0 a distractor and -1 junk, test gallery only (as in
                          MARS: evaluation drops junk, distractors only fill the gallery)
``camera_id``   integer   >= 0
``split``       string    ``train`` or ``test``
``role``        string    test rows: ``query`` or ``gallery``; train rows: empty (or ``train``)
``frames_dir``  path      a folder whose ``.jpg``/``.jpeg`` files are the tracklet's frames, in
                          name order with digit runs compared as numbers (``f2`` before ``f10``)
``frames``      paths     the frames in order: a Parquet list of strings, or one CSV cell with
                          the paths separated by ``;``
==============  ========  ====================================================================

Each row gives exactly one of ``frames_dir`` and ``frames`` (a manifest may have both columns,
or only the one it uses); ``role`` may be left out when there are no test rows. Any other column
is refused, so a misspelt name is never silently ignored. A path is relative to the manifest's
own folder (on the manifest's filesystem), an absolute local path, or an ``hdfs://`` URL (the
project's one rule, ``hadoop.fs.paths``); the ingest's Spark tasks read the frames where they
are, so local paths must be visible to every executor.

Rows are numbered from 1, the first data row (line 2 of a CSV). Strict reading (the default, and
the ingest without ``--lenient``) stops at the first problem with ``FILE row N, column C:
reason``; lenient reading skips the row and keeps the problem. Checking files costs one listing
per frame folder (``files="list"``, the default; ``frames_dir`` needs it to find the frames);
``files="read"`` also applies the ingest's frame check to every frame.

``python -m ingest.manifest validate FILE`` checks a manifest; ``python -m ingest.manifest
from-tree DIR --out FILE`` writes one for a tree ``<person>/<camera>/<tracklet>/*.jpg``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import posixpath
import re
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from hadoop.cli import ArgumentParser, entry_point, fraction
from hadoop.fs import FileInfo, PathNotFoundError, StorageError, resolve
from ingest import mars
from ingest.errors import IngestError
from ingest.frame_check import frame_problem
from ingest.frame_source import FrameSource

FileCheck = Literal["none", "list", "read"]

COLUMNS = ("tracklet_id", "person_id", "camera_id", "split", "role", "frames_dir", "frames")
REQUIRED = ("tracklet_id", "person_id", "camera_id", "split")
FRAME_COLUMNS = ("frames_dir", "frames")
FRAME_SEPARATOR = ";"
FRAME_SUFFIXES = (".jpg", ".jpeg")
MANIFEST_SUFFIXES = (".csv", ".parquet")
ROLES = {"train": ("train",), "test": ("query", "gallery")}
INT32_MAX = 2**31 - 1  # the index stores ids as int32


class ManifestFormatError(IngestError):
    """A tracklet manifest that cannot be used as it is; the message names file, row, column."""


@dataclass(frozen=True)
class RowProblem:
    """One violation. ``row`` is 1-based (the first data row); None when the file as a whole is
    at fault. ``kind`` is what the ingest's manifest counts."""

    row: int | None
    column: str | None
    kind: str
    reason: str

    def describe(self, where: str) -> str:
        if self.row is None:
            return f"{where}: {self.reason}"
        column = f", column {self.column}" if self.column else ""
        return f"{where} row {self.row}{column}: {self.reason}"


@dataclass
class TrackletManifest:
    """What :func:`read_tracklet_manifest` found. ``folder`` is where relative frame paths
    start; ``sizes`` holds every listed or found frame's size (files checked), keyed as the
    tracklets name their frames."""

    location: str
    folder: str
    tracklets: list[mars.Tracklet]
    sizes: dict[str, int] = field(default_factory=dict)
    problems: list[RowProblem] = field(default_factory=list)
    skipped: dict[str, dict[str, int]] = field(default_factory=dict)

    def problem_counts(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for problem in self.problems:
            counts[problem.kind] += 1
        return dict(sorted(counts.items()))


def is_manifest(source: str) -> bool:
    """``--source`` names a tracklet manifest (not a MARS tree) when it ends in .csv/.parquet."""
    return source.lower().rstrip("/").endswith(MANIFEST_SUFFIXES)


def natural_key(name: str) -> list[Any]:
    """Sort key that compares digit runs as numbers: ``f2.jpg`` before ``f10.jpg``."""
    return [int(part) if i % 2 else part for i, part in enumerate(re.split(r"(\d+)", name))]


# --- reading --------------------------------------------------------------------------------


def read_table(location: str) -> pa.Table:
    """The manifest file as an Arrow table (CSV cells as strings, so every value is checked
    here, row by row, rather than by the CSV reader's type inference)."""
    if not is_manifest(location):
        raise ManifestFormatError(f"{location}: a tracklet manifest is a .csv or .parquet file")
    fs, path = resolve(location)
    try:
        data = fs.read_file(path)
    except PathNotFoundError:
        raise ManifestFormatError(f"{fs.location(path)}: no such file ({fs.kind})") from None
    except StorageError as exc:
        raise ManifestFormatError(f"{fs.location(path)}: cannot be read: {exc}") from exc
    if path.lower().endswith(".parquet"):
        try:
            return pq.read_table(pa.BufferReader(data))
        except (pa.ArrowException, OSError) as exc:
            raise ManifestFormatError(f"{location}: not a readable Parquet file: {exc}") from exc
    bad_rows: list[Any] = []

    def invalid_row(row: Any) -> str:
        bad_rows.append(row)
        return "error"

    try:
        return pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(use_threads=False),  # so bad rows carry a line number
            parse_options=pacsv.ParseOptions(invalid_row_handler=invalid_row),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in COLUMNS}, strings_can_be_null=False))
    except (pa.ArrowException, OSError) as exc:
        if bad_rows and bad_rows[0].number is not None:
            line = bad_rows[0].number
            raise ManifestFormatError(
                f"{location} row {line - 1} (line {line}): {bad_rows[0].actual_columns} cells, "
                f"the header has {bad_rows[0].expected_columns} columns") from exc
        raise ManifestFormatError(f"{location}: not a readable CSV file: {exc}") from exc


class _Log:
    """Strict: raise at the first problem. Lenient: keep it; the caller skips the row."""

    def __init__(self, location: str, strict: bool) -> None:
        self.location = location
        self.strict = strict
        self.problems: list[RowProblem] = []

    def report(self, row: int | None, column: str | None, kind: str, reason: str) -> None:
        problem = RowProblem(row, column, kind, reason)
        if self.strict or row is None:  # a file-level problem leaves nothing to read
            raise ManifestFormatError(problem.describe(self.location))
        self.problems.append(problem)


class _RowError(IngestError):
    """A value of one row is unusable (internal: turned into a RowProblem)."""

    def __init__(self, column: str, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.column, self.kind, self.reason = column, kind, reason


def _text(value: Any) -> str | None:
    """A cell as text; None when empty."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _integer(row: dict[str, Any], column: str, low: int) -> int:
    value = row.get(column)
    if isinstance(value, bool):
        value = None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        value = int(value)
    if value is None or value == "":
        raise _RowError(column, "missing-value", "is empty")
    if not isinstance(value, int):
        raise _RowError(column, "bad-value", f"{value!r} is not an integer")
    if not low <= value <= INT32_MAX:
        raise _RowError(column, "bad-value", f"{value} is outside {low}..{INT32_MAX}")
    return value


def _normalized(path: str) -> str:
    """``path`` without ``./``, ``//`` or a trailing ``/`` (URLs keep their scheme and host)."""
    if "://" in path:
        scheme, rest = path.split("://", 1)
        host, _, inner = rest.partition("/")
        return f"{scheme}://{host}{posixpath.normpath('/' + inner) if inner else ''}"
    return posixpath.normpath(path)


def _frame_list(value: Any) -> list[str] | None:
    if value is None:
        return None
    items = value.split(FRAME_SEPARATOR) if isinstance(value, str) else list(value)
    if isinstance(value, str) and not value.strip():
        return None
    frames = []
    for number, item in enumerate(items, start=1):
        text = _text(item)
        if text is None:
            raise _RowError("frames", "bad-value", f"frame {number} of {len(items)} is empty")
        frames.append(_normalized(text))
    if not frames:
        return None
    return frames


@dataclass(frozen=True)
class _Row:
    tracklet_id: str
    pid: int
    camid: int
    split: mars.Split
    role: mars.Role
    frames_dir: str | None
    frames: list[str] | None


def _check_values(row: dict[str, Any], first_row_of: dict[str, int], number: int) -> _Row:
    """The row's labels and frame reference, checked without touching any file."""
    tracklet_id = _text(row.get("tracklet_id"))
    if tracklet_id is None:
        raise _RowError("tracklet_id", "missing-value", "is empty")
    if tracklet_id in first_row_of:
        raise _RowError("tracklet_id", "duplicate-tracklet",
                        f"{tracklet_id!r} is already row {first_row_of[tracklet_id]}")
    first_row_of[tracklet_id] = number
    split = _text(row.get("split"))
    if split not in ROLES:
        raise _RowError("split", "bad-value", f"{split or ''!r} must be train or test")
    pid = _integer(row, "person_id", mars.JUNK_PID)
    if split == "train" and pid < 1:
        raise _RowError("person_id", "bad-value",
                        f"identity {pid} (distractor/junk) belongs to the test split only")
    camid = _integer(row, "camera_id", 0)
    role = _text(row.get("role")) or ("train" if split == "train" else None)
    if role not in ROLES[split]:
        allowed = " or ".join(ROLES[split]) + (" (or empty)" if split == "train" else "")
        raise _RowError("role", "bad-value" if role else "missing-value",
                        f"{role or ''!r}: a {split} row's role is {allowed}")
    if role == "query" and pid < 1:
        raise _RowError("role", "bad-value",
                        f"a query must be a real identity, not person_id {pid}")
    frames_dir = _text(row.get("frames_dir"))
    frames = _frame_list(row.get("frames"))
    if (frames_dir is None) == (frames is None):
        raise _RowError("frames_dir" if frames_dir else "frames", "bad-value",
                        "give exactly one of frames_dir and frames" if frames_dir
                        else "neither frames_dir nor frames is given")
    if frames is not None:
        seen: dict[str, int] = {}
        for position, frame in enumerate(frames, start=1):
            if frame in seen:
                raise _RowError("frames", "bad-value",
                                f"frame {position} ({frame}) repeats frame {seen[frame]}")
            seen[frame] = position
    return _Row(tracklet_id, pid, camid, cast(mars.Split, split), cast(mars.Role, role),
                _normalized(frames_dir) if frames_dir else None, frames)


class _Folders:
    """Listings of frame folders, each listed once."""

    def __init__(self, source: FrameSource) -> None:
        self.source = source
        self._cache: dict[str, dict[str, int] | None] = {}

    def files(self, folder: str) -> dict[str, int] | None:
        """Name -> size of the files in ``folder``; None if it is not a listable folder."""
        if folder not in self._cache:
            try:
                listing: list[FileInfo] | None = self.source.listing(folder)
            except StorageError:  # e.g. a local file where a folder should be
                listing = None
            self._cache[folder] = None if listing is None else {e.name: e.length
                                                                for e in listing}
        return self._cache[folder]


def _check_files(row: _Row, files: FileCheck, folders: _Folders, sizes: dict[str, int],
                 ) -> list[str]:
    """The row's frames, found on their filesystem (``files`` permitting); their sizes go
    into ``sizes``."""
    source = folders.source
    if row.frames_dir is not None:
        listing = folders.files(row.frames_dir)
        if listing is None:
            raise _RowError("frames_dir", "missing-folder",
                            f"folder {source.location(row.frames_dir)} does not exist")
        names = sorted((n for n in listing if n.lower().endswith(FRAME_SUFFIXES)),
                       key=natural_key)
        if not names:
            raise _RowError("frames_dir", "empty-folder",
                            f"folder {source.location(row.frames_dir)} holds no "
                            f"{'/'.join(FRAME_SUFFIXES)} frame")
        frames = [f"{row.frames_dir}/{name}" for name in names]
        sizes.update((f"{row.frames_dir}/{name}", listing[name]) for name in names)
    else:
        frames = list(row.frames or ())
        if files == "none":
            return frames
        for position, frame in enumerate(frames, start=1):
            folder, name = posixpath.split(frame)
            listing = folders.files(folder or ".")
            if listing is None or name not in listing:
                raise _RowError("frames", "missing-frame",
                                f"frame {position} of {len(frames)} "
                                f"({source.location(frame)}) does not exist")
            sizes[frame] = listing[name]
    if files == "read":
        for position, frame in enumerate(frames, start=1):
            reason = frame_problem(source.read(frame))
            if reason is not None:
                column = "frames" if row.frames_dir is None else "frames_dir"
                raise _RowError(column, "not-jpeg",
                                f"frame {position} of {len(frames)} "
                                f"({source.location(frame)}): {reason}")
    return frames


def check_table(table: pa.Table, location: str, folder: str, *, strict: bool = True,
                files: FileCheck = "list") -> TrackletManifest:
    """Check a manifest's rows (see the module docstring) and list its tracklets. ``folder``
    is where relative frame paths start. With ``files="none"``, a ``frames_dir`` row is not
    listed and its tracklet has no frames."""
    if files not in ("none", "list", "read"):
        raise ValueError(f"files must be 'none', 'list' or 'read', not {files!r}")
    log = _Log(location, strict)
    names = list(table.column_names)
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        log.report(None, None, "bad-column",
                   f"unknown column {unknown[0]!r} (the columns are {', '.join(COLUMNS)})")
    for required in REQUIRED:
        if required not in names:
            log.report(None, None, "bad-column", f"no {required} column (columns: "
                       f"{', '.join(names) or 'none'}; required: {', '.join(REQUIRED)})")
    if not any(c in names for c in FRAME_COLUMNS):
        log.report(None, None, "bad-column", "neither a frames_dir nor a frames column")
    if table.num_rows == 0:
        log.report(None, None, "empty", "lists no tracklet")

    folders = _Folders(FrameSource(folder))
    manifest = TrackletManifest(location, folder, [])
    first_row_of: dict[str, int] = {}
    for number, row in enumerate(table.to_pylist(), start=1):
        try:
            checked = _check_values(row, first_row_of, number)
            frames = (list(checked.frames or ()) if files == "none"
                      else _check_files(checked, files, folders, manifest.sizes))
        except _RowError as problem:
            log.report(number, problem.column, problem.kind, problem.reason)
            split = _text(row.get("split"))
            counts = manifest.skipped.setdefault(split if split in ROLES else "unknown",
                                                 {"tracklets": 0, "frames": 0})
            counts["tracklets"] += 1
            with contextlib.suppress(_RowError):  # frames that cannot be counted
                counts["frames"] += len(_frame_list(row.get("frames")) or ())
            continue
        manifest.tracklets.append(mars.Tracklet(checked.tracklet_id, checked.pid, checked.camid,
                                                checked.split, checked.role, tuple(frames)))
    manifest.problems = log.problems
    return manifest


def manifest_folder(location: str) -> str:
    """The folder of a manifest file, where its relative frame paths start."""
    fs, path = resolve(location)
    return fs.location(posixpath.dirname(path))


def read_tracklet_manifest(location: str, *, strict: bool = True, files: FileCheck = "list",
                           ) -> TrackletManifest:
    """Read and check the tracklet manifest at ``location`` (local or ``hdfs://``)."""
    return check_table(read_table(location), location, manifest_folder(location),
                       strict=strict, files=files)


# --- from a tree ----------------------------------------------------------------------------


def _folder_number(root: str, name: str, what: str) -> int:
    digits = re.findall(r"\d+", name)
    if not digits:
        raise ManifestFormatError(f"{root}/{name}: a {what} folder's name must hold its number "
                                  f"(e.g. 0001, cam3)")
    return int(digits[-1])


def _is_test(index: int, share: float) -> bool:
    """Spread ``share`` of the persons (in id order) evenly over the test split: with 0.5,
    every second one."""
    return math.floor((index + 1) * share) > math.floor(index * share)


def tree_table(root: str, test_share: float, relative: bool) -> pa.Table:
    """The manifest of a tree ``<person>/<camera>/<tracklet>/*.jpg`` under ``root`` (local or
    ``hdfs://``): one row per tracklet folder holding frames, ``frames_dir`` relative to
    ``root`` (``relative``) or its full location. Person and camera ids are the last digit
    run of their folder names. A share ``test_share`` of the persons (spread evenly in id
    order) is the test split; in it, the first tracklet (name order) of each camera of a
    person seen by two or more cameras is a query, everything else gallery."""
    fs, base = resolve(root)
    base = base.rstrip("/")
    try:
        entries = fs.list(base, recursive=True)
    except PathNotFoundError:
        raise ManifestFormatError(f"{fs.location(base)}: no such directory ({fs.kind})") from None
    except StorageError as exc:
        raise ManifestFormatError(f"{fs.location(base)}: cannot be listed: {exc}") from exc
    tracklets: dict[tuple[str, str, str], int] = defaultdict(int)
    for entry in entries:
        if entry.isdir or not entry.name.lower().endswith(FRAME_SUFFIXES):
            continue
        parts = entry.path[len(base) + 1:].split("/")
        if len(parts) != 4:
            raise ManifestFormatError(f"{fs.location(entry.path)}: frames must sit in "
                                      "<person>/<camera>/<tracklet>/ folders")
        tracklets[(parts[0], parts[1], parts[2])] += 1
    if not tracklets:
        raise ManifestFormatError(f"{fs.location(base)}: no <person>/<camera>/<tracklet>/*.jpg "
                                  "frames found")
    where = fs.location(base)
    persons: dict[int, str] = {}
    cameras: dict[tuple[str, int], str] = {}
    for person, camera, _ in sorted(tracklets):
        pid = _folder_number(where, person, "person")
        if pid < 1:
            raise ManifestFormatError(f"{where}/{person}: person ids start at 1")
        if persons.setdefault(pid, person) != person:
            raise ManifestFormatError(f"{where}: person folders {persons[pid]} and {person} "
                                      f"are both person {pid}")
        camid = _folder_number(f"{where}/{person}", camera, "camera")
        if cameras.setdefault((person, camid), camera) != camera:
            raise ManifestFormatError(f"{where}/{person}: camera folders "
                                      f"{cameras[(person, camid)]} and {camera} are both "
                                      f"camera {camid}")
    test = {persons[pid] for i, pid in enumerate(sorted(persons)) if _is_test(i, test_share)}
    by_person: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for person, camera, tracklet in tracklets:
        by_person[person][camera].append(tracklet)
    rows = []
    for pid in sorted(persons):
        person = persons[pid]
        seen = by_person[person]
        for camera in sorted(seen, key=natural_key):
            for number, tracklet in enumerate(sorted(seen[camera], key=natural_key)):
                relative_dir = f"{person}/{camera}/{tracklet}"
                role = None
                if person in test:
                    role = "query" if number == 0 and len(seen) > 1 else "gallery"
                rows.append({"tracklet_id": relative_dir, "person_id": pid,
                             "camera_id": _folder_number(f"{where}/{person}", camera, "camera"),
                             "split": "test" if person in test else "train", "role": role,
                             "frames_dir": relative_dir if relative
                             else f"{where}/{relative_dir}"})
    schema = pa.schema([("tracklet_id", pa.string()), ("person_id", pa.int64()),
                        ("camera_id", pa.int64()), ("split", pa.string()),
                        ("role", pa.string()), ("frames_dir", pa.string())])
    return pa.Table.from_pylist(rows, schema=schema)


def write_table(table: pa.Table, location: str, overwrite: bool = False) -> None:
    """Write a manifest (CSV or Parquet, by its suffix) atomically, local or ``hdfs://``."""
    if not is_manifest(location):
        raise ManifestFormatError(f"--out {location}: a tracklet manifest is a .csv or "
                                  ".parquet file")
    fs, path = resolve(location)
    if not overwrite and fs.exists(path):
        raise ManifestFormatError(f"--out {fs.location(path)} exists (pass --force to replace "
                                  "it)")
    buffer = io.BytesIO()
    if path.lower().endswith(".parquet"):
        pq.write_table(table, buffer)
    else:
        pacsv.write_csv(table, buffer)
    fs.mkdirs(posixpath.dirname(path) or "/")
    fs.write_file(path, buffer.getvalue(), overwrite=True)


def from_tree(root: str, out: str, *, test_share: float = 0.5, overwrite: bool = False,
              ) -> TrackletManifest:
    """Write the manifest of the tree under ``root`` to ``out`` (see :func:`tree_table`), its
    frame folders relative when ``out`` sits in ``root``. Checked as the ingest will read it
    (every folder holds frames by construction, so no second listing) before it is written."""
    if not is_manifest(out):
        raise ManifestFormatError(f"--out {out}: a tracklet manifest is a .csv or .parquet file")
    fs, base = resolve(root)
    relative = manifest_folder(out) == fs.location(base.rstrip("/"))
    table = tree_table(root, test_share, relative)
    checked = check_table(table, out, manifest_folder(out), files="none")
    write_table(table, out, overwrite)
    return checked


# --- command line ---------------------------------------------------------------------------


def _summary_lines(manifest: TrackletManifest) -> list[str]:
    tracklets = manifest.tracklets
    summary: mars.DatasetSummary = {
        "train": mars.summarize([t for t in tracklets if t.split == "train"]),
        "test": mars.summarize([t for t in tracklets if t.split == "test"]),
        "all": mars.summarize(tracklets), "problems": manifest.problem_counts(), "skipped": {}}
    return list(mars.format_summary(summary))


def _validate(args: argparse.Namespace) -> int:
    manifest = read_tracklet_manifest(args.file, strict=not args.all, files=args.files)
    print(f"tracklet manifest {args.file}")
    for line in _summary_lines(manifest):
        print(line)
    if args.files == "none":
        print("(--files none: the frames of frames_dir rows are not counted)")
    for problem in manifest.problems:
        print(problem.describe(args.file), file=sys.stderr)
    if manifest.problems:
        counts = ", ".join(f"{k} {n}" for k, n in manifest.problem_counts().items())
        rows = len(manifest.problems)
        print(f"{rows} row{'' if rows == 1 else 's'} with problems ({counts})", file=sys.stderr)
        return 1
    return 0


def _from_tree(args: argparse.Namespace) -> int:
    manifest = from_tree(args.root, args.out, test_share=args.test_share, overwrite=args.force)
    queries = sum(t.role == "query" for t in manifest.tracklets)
    print(f"wrote {args.out}: {len(manifest.tracklets)} tracklets of "
          f"{len({t.pid for t in manifest.tracklets})} persons, {queries} queries")
    return 0


FROM_TREE_HELP = """\
Write the tracklet manifest of a tree DIR/<person>/<camera>/<tracklet>/*.jpg (local or hdfs://):
one row per tracklet folder holding .jpg/.jpeg frames, frames_dir naming the folder. Person and
camera ids are the last number in their folder names (0007, cam3). --test-share of the persons,
spread evenly in id order, form the test split; in it, the first tracklet (name order) of each
camera of a person seen by two or more cameras is a query, every other one gallery. The
manifest is checked as the ingest reads it before it is written."""


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m ingest.manifest", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser("validate", help="check a tracklet manifest (CSV or Parquet)")
    validate.add_argument("file", metavar="FILE", help="a .csv or .parquet file, local or hdfs://")
    validate.add_argument("--files", choices=("none", "list", "read"), default="list",
                          help="none: values only; list: frame folders and frames exist (one "
                               "listing per folder, default); read: also check every frame")
    validate.add_argument("--all", action="store_true",
                          help="report every problem row (exit 1) instead of stopping at the "
                               "first (one line, exit 2)")
    validate.set_defaults(run=_validate)
    tree = commands.add_parser(
        "from-tree", help="write a manifest for a tree <person>/<camera>/<tracklet>/*.jpg",
        description=FROM_TREE_HELP)
    tree.add_argument("root", metavar="DIR", help="the tree's root, local or hdfs://")
    tree.add_argument("--out", required=True, metavar="FILE",
                      help="the manifest to write: .csv or .parquet, local or hdfs:// (frame "
                           "folders are relative when it sits in DIR, else full locations)")
    tree.add_argument("--test-share", type=fraction, default=0.5, metavar="F",
                      help="share of the persons in the test split, spread evenly in id order "
                           "(default %(default)s: every second person; 0: all train, 1: all "
                           "test)")
    tree.add_argument("--force", action="store_true", help="replace FILE if it exists")
    tree.set_defaults(run=_from_tree)
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    return run(args)


cli = entry_point(main)

if __name__ == "__main__":
    cli()
