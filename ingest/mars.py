"""The MARS layout: typed tracklet records read from a tree, its consistency checks, its writer.

A MARS tree (Zheng et al., ECCV 2016) as the standard loaders read it::

    bbox_train/<pid>/<pid>C<cam>T<tracklet>F<frame>.jpg   e.g. bbox_train/0001/0001C1T0001F001.jpg
    bbox_test/<pid>/...                                   pid 0000 = distractors, 00-1 = junk
    info/train_name.txt, info/test_name.txt               one frame name per line
    info/tracks_train_info.mat (track_train_info, N x 4)  start, end, pid, camid per tracklet;
    info/tracks_test_info.mat  (track_test_info, N x 4)   start/end: 1-based inclusive lines
    info/query_IDX.mat         (query_IDX, 1 x Q)         1-based rows of track_test_info

Tracklet numbers (``T``) count up within an identity across its cameras, frames (``F``) restart
at 001 in every tracklet, and names are listed in sorted order, so the info rows come sorted by
(pid, camera). Test tracklets named in query_IDX are queries, the other test tracklets (junk
included, which evaluation drops) the gallery.

The reader trusts nothing: names against the info rows, frame numbering, identities against
folders, and (on request) the files themselves. Strict mode raises :class:`MarsFormatError` at
the first problem; lenient mode skips what is broken and keeps a :class:`Problem` for each skip.
Each problem names the file at fault relative to the root and the 1-based line or row.

Checking the files costs one directory listing per identity folder (``files="list"``, the
default); ``files="read"`` also reads every frame and applies the ingest's own frame check
(``ingest.frame_check.frame_problem``: one whole JPEG that decodes), so a tree that validates
ingests without quarantine; ``files="none"`` checks the metadata only.

``python -m ingest.mars validate [--strict] [--files none|list|read] DIR`` prints a summary.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import statistics
import sys
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Literal, TypedDict

import numpy as np
import scipy.io
from scipy.io.matlab import MatReadError

from hadoop.cli import ArgumentParser, entry_point, non_negative_int
from hadoop.fs import atomic_write
from ingest.errors import IngestError
from ingest.frame_check import frame_problem

Split = Literal["train", "test"]
Role = Literal["train", "query", "gallery"]
FileCheck = Literal["none", "list", "read"]

SPLITS: tuple[Split, ...] = ("train", "test")
DISTRACTOR_PID = 0
JUNK_PID = -1
FRAME_DIRS: dict[Split, str] = {"train": "bbox_train", "test": "bbox_test"}
NAME_FILES: dict[Split, str] = {"train": "info/train_name.txt", "test": "info/test_name.txt"}
INFO_FILES: dict[Split, str] = {
    "train": "info/tracks_train_info.mat",
    "test": "info/tracks_test_info.mat",
}
INFO_VARIABLES: dict[Split, str] = {"train": "track_train_info", "test": "track_test_info"}
QUERY_FILE = "info/query_IDX.mat"
QUERY_VARIABLE = "query_IDX"

NAME_RE = re.compile(
    r"(?P<pid>\d{4}|00-1)C(?P<cam>[1-9])T(?P<tracklet>\d{4})F(?P<frame>\d{3})\.jpg"
)
NAME_EXAMPLE = "0001C1T0001F001.jpg"
MAX_TRACKLET_NUMBER = 9999
MAX_FRAMES = 999
# The 116-byte free-text description that opens a MATLAB 5 file. scipy stamps the current time
# there; a fixed text makes the info files byte-identical for identical content.
_MAT_DESCRIPTION = b"MATLAB 5.0 MAT-file, written by reid-hdfs ingest.mars".ljust(116)


class MarsFormatError(IngestError):
    """A MARS tree breaks the format; ``problem`` says which file, row and rule."""

    def __init__(self, problem: Problem, root: Path | None = None) -> None:
        super().__init__(f"{root}/{problem}" if root is not None else str(problem))
        self.problem = problem


class ProblemKind(StrEnum):
    """What rule a problem breaks; the lenient summary counts problems per kind."""

    UNREADABLE_FILE = "unreadable-file"
    BAD_MATRIX = "bad-matrix"
    INDEX_OUT_OF_RANGE = "index-out-of-range"
    OVERLAPPING_ROWS = "overlapping-rows"
    UNCOVERED_NAMES = "uncovered-names"
    BAD_NAME = "bad-name"
    LABEL_MISMATCH = "label-mismatch"
    FRAME_NUMBERING = "frame-numbering"
    DUPLICATE_TRACKLET = "duplicate-tracklet"
    BAD_IDENTITY = "bad-identity"
    BAD_QUERY = "bad-query"
    MISSING_FOLDER = "missing-folder"
    EMPTY_FOLDER = "empty-folder"
    MISSING_FRAME = "missing-frame"
    UNLISTED_FRAMES = "unlisted-frames"
    NOT_JPEG = "not-jpeg"


@dataclass(frozen=True)
class Problem:
    """One violation. ``row`` is a 1-based line of a name list, row of an info matrix or entry
    of query_IDX; None when the file as a whole (or a folder) is at fault."""

    kind: ProblemKind
    file: str
    row: int | None
    reason: str

    def __str__(self) -> str:
        where = self.file if self.row is None else f"{self.file} row {self.row}"
        return f"{where}: {self.reason} [{self.kind}]"


@dataclass(frozen=True)
class Tracklet:
    """One tracklet. ``tracklet_id`` is ``<split>/<pid><cam><tracklet number>`` taken from the
    frame names (e.g. ``test/0002C1T0003``), so adding data later never renumbers it."""

    tracklet_id: str
    pid: int
    camid: int
    split: Split
    role: Role
    frames: tuple[str, ...]


class SplitSummary(TypedDict):
    """Counts and length statistics of one split (or of both, under ``all``)."""

    identities: int
    tracklets: int
    frames: int
    mean_length: float
    median_length: float
    min_length: int
    max_length: int
    cameras_per_identity: float
    distractor_tracklets: int
    junk_tracklets: int
    query_tracklets: int
    gallery_tracklets: int


class SkippedSummary(TypedDict):
    tracklets: int
    frames: int
    whole_split: bool


class DatasetSummary(TypedDict):
    train: SplitSummary
    test: SplitSummary
    all: SplitSummary
    problems: dict[str, int]
    skipped: dict[str, SkippedSummary]


@dataclass(frozen=True)
class Skipped:
    """What lenient mode left out of one split: tracklets (info rows not kept) and frames (name
    lines not in a kept tracklet). ``cause`` is the problem that dropped the whole split (an
    unreadable info, name or query file), None when only some tracklets were skipped. When a
    whole split is dropped, the counts come from whichever of its files still reads."""

    tracklets: int = 0
    frames: int = 0
    cause: Problem | None = None

    def summary(self) -> SkippedSummary:
        return {"tracklets": self.tracklets, "frames": self.frames,
                "whole_split": self.cause is not None}


@dataclass
class MarsDataset:
    """What :func:`read_mars` found: usable tracklets, and in lenient mode what it skipped."""

    root: Path
    tracklets: list[Tracklet]
    problems: list[Problem] = field(default_factory=list)
    skipped: dict[Split, Skipped] = field(
        default_factory=lambda: {split: Skipped() for split in SPLITS})

    def summary(self) -> DatasetSummary:
        counts: dict[str, int] = defaultdict(int)
        for problem in self.problems:
            counts[problem.kind.value] += 1
        return {
            "train": summarize([t for t in self.tracklets if t.split == "train"]),
            "test": summarize([t for t in self.tracklets if t.split == "test"]),
            "all": summarize(self.tracklets),
            "problems": dict(sorted(counts.items())),
            "skipped": {split: skipped.summary() for split, skipped in self.skipped.items()},
        }


def summarize(tracklets: Sequence[Tracklet]) -> SplitSummary:
    """Statistics in the terms MARS is usually described in: identities are real (pid > 0)."""
    lengths = [len(t.frames) for t in tracklets]
    cameras: dict[tuple[Split, int], set[int]] = defaultdict(set)
    for t in tracklets:
        if t.pid > 0:
            cameras[(t.split, t.pid)].add(t.camid)
    return {
        "identities": len(cameras),
        "tracklets": len(tracklets),
        "frames": sum(lengths),
        "mean_length": statistics.fmean(lengths) if lengths else 0.0,
        "median_length": float(statistics.median(lengths)) if lengths else 0.0,
        "min_length": min(lengths, default=0),
        "max_length": max(lengths, default=0),
        "cameras_per_identity": (
            statistics.fmean(len(c) for c in cameras.values()) if cameras else 0.0
        ),
        "distractor_tracklets": sum(t.pid == DISTRACTOR_PID for t in tracklets),
        "junk_tracklets": sum(t.pid == JUNK_PID for t in tracklets),
        "query_tracklets": sum(t.role == "query" for t in tracklets),
        "gallery_tracklets": sum(t.role == "gallery" for t in tracklets),
    }


# --- names ---------------------------------------------------------------------------------


def pid_folder(pid: int) -> str:
    """The 4-character identity field of names and folders (``00-1`` for junk)."""
    return "00-1" if pid == JUNK_PID else f"{pid:04d}"


def parse_pid(field_text: str) -> int:
    return JUNK_PID if field_text == "00-1" else int(field_text)


def tracklet_names(tracks: Sequence[tuple[int, int, int]]) -> list[list[str]]:
    """Frame names for (pid, camid, length) tracklets given in MARS order, numbering tracklets
    per identity across cameras as MARS does."""
    names: list[list[str]] = []
    numbers: dict[int, int] = defaultdict(int)
    previous: tuple[int, int] | None = None
    for pid, camid, length in tracks:
        if previous is not None and (pid, camid) < previous:
            raise ValueError(f"tracklets must be sorted by (pid, camid): {(pid, camid)} after "
                             f"{previous}")
        if not 1 <= camid <= 9 or pid < JUNK_PID or pid > 9999:
            raise ValueError(f"pid {pid} / camid {camid} cannot be written in a MARS name")
        if not 1 <= length <= MAX_FRAMES:
            raise ValueError(f"tracklet length {length} outside 1..{MAX_FRAMES}")
        previous = (pid, camid)
        numbers[pid] += 1
        if numbers[pid] > MAX_TRACKLET_NUMBER:
            raise ValueError(f"identity {pid} has more than {MAX_TRACKLET_NUMBER} tracklets")
        prefix = f"{pid_folder(pid)}C{camid}T{numbers[pid]:04d}"
        names.append([f"{prefix}F{frame:03d}.jpg" for frame in range(1, length + 1)])
    return names


def write_info(
    root: Path, names: Mapping[Split, Sequence[Sequence[str]]], query_rows: Sequence[int]
) -> None:
    """Write the five ``info/`` files for tracklets given as frame-name lists in MARS order;
    ``query_rows`` are 1-based rows of the test tracklets. Each file is replaced atomically."""
    info = root / "info"
    info.mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        rows = []
        start = 1
        for frames in names[split]:
            match = NAME_RE.fullmatch(frames[0])
            if match is None:
                raise ValueError(f"not a MARS frame name: {frames[0]!r}")
            end = start + len(frames) - 1
            rows.append((start, end, parse_pid(match["pid"]), int(match["cam"])))
            start = end + 1
        lines = "".join(f"{name}\n" for frames in names[split] for name in frames)
        atomic_write(root / NAME_FILES[split], lines.encode("ascii"))
        matrix = np.array(rows, dtype=np.int32).reshape(-1, 4)
        atomic_write(root / INFO_FILES[split], _mat_bytes(INFO_VARIABLES[split], matrix))
    queries = np.asarray(query_rows, dtype=np.int64).reshape(1, -1)
    fits_uint16 = queries.size == 0 or queries.max() <= np.iinfo(np.uint16).max
    dtype = np.uint16 if fits_uint16 else np.uint32  # MARS stores uint16
    atomic_write(root / QUERY_FILE, _mat_bytes(QUERY_VARIABLE, queries.astype(dtype)))


def _mat_bytes(variable: str, array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, {variable: array}, format="5")
    return _MAT_DESCRIPTION + buffer.getvalue()[len(_MAT_DESCRIPTION) :]



# --- reading -------------------------------------------------------------------------------


class _ProblemLog:
    """Strict: raise at the first problem. Lenient: remember it and let the caller skip."""

    def __init__(self, strict: bool, root: Path) -> None:
        self.strict = strict
        self.root = root
        self.problems: list[Problem] = []

    def report(self, kind: ProblemKind, file: str, row: int | None, reason: str) -> None:
        problem = Problem(kind, file, row, reason)
        if self.strict:
            raise MarsFormatError(problem, self.root)
        self.problems.append(problem)


class _Folders:
    """Directory listings of identity folders, each read once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[str, frozenset[str] | None] = {}

    def listing(self, folder: str) -> frozenset[str] | None:
        if folder not in self._cache:
            try:
                self._cache[folder] = frozenset(os.listdir(self.root / folder))
            except (FileNotFoundError, NotADirectoryError):
                self._cache[folder] = None
        return self._cache[folder]


def read_mars(root: Path, *, strict: bool = True, files: FileCheck = "list") -> MarsDataset:
    """Read and check the MARS tree under ``root``; see the module docstring for the rules."""
    if files not in ("none", "list", "read"):
        raise ValueError(f"files must be 'none', 'list' or 'read', not {files!r}")
    log = _ProblemLog(strict, root)
    folders = _Folders(root)
    tracklets: list[Tracklet] = []
    skipped: dict[Split, Skipped] = {}
    for split in SPLITS:
        kept, skipped[split] = _read_split(root, split, files, folders, log)
        tracklets.extend(kept)
    return MarsDataset(root, tracklets, log.problems, skipped)


def _read_split(
    root: Path, split: Split, files: FileCheck, folders: _Folders, log: _ProblemLog
) -> tuple[list[Tracklet], Skipped]:
    """The split's usable tracklets, and what was skipped (lenient mode)."""
    names = _read_names(root, NAME_FILES[split], log)
    info = _read_matrix(root, INFO_FILES[split], INFO_VARIABLES[split], log)
    if info is not None and (info.ndim != 2 or info.shape[1] != 4):
        log.report(ProblemKind.BAD_MATRIX, INFO_FILES[split], None,
                   f"{INFO_VARIABLES[split]} has shape {info.shape}, expected N x 4 "
                   "(start, end, pid, camid)")
        info = None
    if names is None or info is None:
        return [], _whole_split(names, info, log)
    query_rows: set[int] = set()
    if split == "test":
        queries = _read_matrix(root, QUERY_FILE, QUERY_VARIABLE, log)
        if queries is None:  # without query_IDX the test roles are unknown
            return [], _whole_split(names, info, log)
        query_rows = _check_queries(queries.reshape(-1), info, log)

    name_file, info_file = NAME_FILES[split], INFO_FILES[split]
    owner = np.zeros(len(names), dtype=np.int64)  # info row (1-based) that claims each name
    seen_ids: dict[str, int] = {}
    frames_of: dict[str, set[str]] = defaultdict(set)  # folder -> frame names the info claims
    tracklets: list[Tracklet] = []
    for row, (start, end, pid, camid) in enumerate(info.tolist(), start=1):
        if not 1 <= start <= end <= len(names):
            log.report(ProblemKind.INDEX_OUT_OF_RANGE, info_file, row,
                       f"start {start}, end {end} must satisfy 1 <= start <= end <= "
                       f"{len(names)} (the lines of {name_file})")
            continue
        claimed = owner[start - 1 : end]
        if claimed.any():
            log.report(ProblemKind.OVERLAPPING_ROWS, info_file, row,
                       f"lines {start}..{end} of {name_file} overlap row "
                       f"{int(claimed[claimed > 0][0])}")
            continue
        owner[start - 1 : end] = row
        chunk = names[start - 1 : end]
        prefix = _check_names(chunk, start, int(pid), int(camid), split, row, name_file,
                              info_file, log)
        if prefix is None:
            continue
        tracklet_id = f"{split}/{prefix}"
        if tracklet_id in seen_ids:
            log.report(ProblemKind.DUPLICATE_TRACKLET, info_file, row,
                       f"tracklet {prefix} is already row {seen_ids[tracklet_id]}")
            continue
        seen_ids[tracklet_id] = row
        folder = f"{FRAME_DIRS[split]}/{chunk[0][:4]}"
        frames_of[folder].update(chunk)
        if files != "none" and not _check_files(root, folder, chunk, start, row, files, name_file,
                                                info_file, folders, log):
            continue
        role: Role = "train" if split == "train" else (
            "query" if row in query_rows else "gallery")
        tracklets.append(Tracklet(tracklet_id, int(pid), int(camid), split, role,
                                  tuple(f"{folder}/{name}" for name in chunk)))
    _check_coverage(owner, name_file, info_file, log)
    if files != "none":
        _check_folders(root, split, frames_of, folders, log)
    skipped = Skipped(tracklets=len(info) - len(tracklets),
                      frames=len(names) - sum(len(t.frames) for t in tracklets))
    return tracklets, skipped


def _whole_split(names: list[str] | None, info: np.ndarray | None, log: _ProblemLog) -> Skipped:
    """A split dropped by the problem just reported, counted from the file that still reads:
    info rows and their line ranges, or else the name list (a tracklet per name prefix)."""
    if info is not None:
        lengths = (int(end) - int(start) + 1 for start, end, _, _ in info.tolist())
        return Skipped(len(info), sum(max(0, n) for n in lengths), log.problems[-1])
    if names is not None:
        return Skipped(len({name[:11] for name in names}), len(names), log.problems[-1])
    return Skipped(cause=log.problems[-1])


def _read_names(root: Path, name_file: str, log: _ProblemLog) -> list[str] | None:
    try:
        data = (root / name_file).read_bytes()
    except OSError as exc:
        log.report(ProblemKind.UNREADABLE_FILE, name_file, None, f"cannot read: {exc.strerror}")
        return None
    # Non-ASCII bytes become U+FFFD and then fail the name check on their own line.
    lines = data.decode("ascii", errors="replace").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    return [line.rstrip() for line in lines]


def _read_matrix(root: Path, file: str, variable: str, log: _ProblemLog) -> np.ndarray | None:
    """The integer matrix ``variable`` of a MATLAB 5 file, or None after reporting why not."""
    try:
        content = scipy.io.loadmat(root / file)
    except FileNotFoundError:
        log.report(ProblemKind.UNREADABLE_FILE, file, None, "file does not exist")
        return None
    except (MatReadError, ValueError, OSError, IndexError, EOFError) as exc:
        log.report(ProblemKind.UNREADABLE_FILE, file, None,
                   f"not a readable MATLAB 5 file (truncated or corrupt?): {exc}")
        return None
    if variable not in content:
        found = ", ".join(k for k in content if not k.startswith("__")) or "none"
        log.report(ProblemKind.BAD_MATRIX, file, None,
                   f"has no variable {variable!r} (variables: {found}; truncated?)")
        return None
    matrix = np.asarray(content[variable])
    if matrix.dtype.kind in "iu":
        return matrix.astype(np.int64)
    if matrix.dtype.kind == "f" and np.all(np.isfinite(matrix)) and np.all(matrix % 1 == 0):
        return matrix.astype(np.int64)
    log.report(ProblemKind.BAD_MATRIX, file, None,
               f"{variable} holds {matrix.dtype} values, expected integers")
    return None


def _check_queries(queries: np.ndarray, info: np.ndarray, log: _ProblemLog) -> set[int]:
    """Valid 1-based query rows; queries must be real identities, each listed once."""
    rows: set[int] = set()
    for entry, row in enumerate(queries.tolist(), start=1):
        if not 1 <= row <= len(info):
            log.report(ProblemKind.INDEX_OUT_OF_RANGE, QUERY_FILE, entry,
                       f"query row {row} is outside 1..{len(info)} (rows of "
                       f"{INFO_FILES['test']})")
        elif row in rows:
            log.report(ProblemKind.BAD_QUERY, QUERY_FILE, entry, f"query row {row} is repeated")
        elif info[row - 1, 2] <= 0:
            log.report(ProblemKind.BAD_QUERY, QUERY_FILE, entry,
                       f"query row {row} is identity {info[row - 1, 2]}; queries must be real "
                       "identities (not 0 or -1)")
        else:
            rows.add(row)
    return rows


def _check_names(
    chunk: list[str], start: int, pid: int, camid: int, split: Split, row: int,
    name_file: str, info_file: str, log: _ProblemLog,
) -> str | None:
    """The tracklet's name prefix if its names are exactly ``<prefix>F001.jpg ...``."""
    first = NAME_RE.fullmatch(chunk[0])
    if first is None:
        log.report(ProblemKind.BAD_NAME, name_file, start,
                   f"{chunk[0]!r} is not a MARS frame name like {NAME_EXAMPLE}")
        return None
    name_pid, name_cam = parse_pid(first["pid"]), int(first["cam"])
    if (name_pid, name_cam) != (pid, camid):
        log.report(ProblemKind.LABEL_MISMATCH, info_file, row,
                   f"pid {pid}, camid {camid} disagree with {chunk[0]} (line {start} of "
                   f"{name_file})")
        return None
    if split == "train" and pid <= 0:
        log.report(ProblemKind.BAD_IDENTITY, info_file, row,
                   f"identity {pid} (distractor/junk) belongs to the test split only")
        return None
    prefix = chunk[0][:11]
    expected = [f"{prefix}F{frame:03d}.jpg" for frame in range(1, len(chunk) + 1)]
    if chunk == expected:
        return prefix
    offset = next(i for i, (got, want) in enumerate(zip(chunk, expected, strict=True))
                  if got != want)
    got, want = chunk[offset], expected[offset]
    if NAME_RE.fullmatch(got) is None:
        kind, reason = ProblemKind.BAD_NAME, f"{got!r} is not a MARS frame name like {NAME_EXAMPLE}"
    elif got[:11] != prefix:
        kind, reason = ProblemKind.LABEL_MISMATCH, (
            f"{got} belongs to another tracklet than {prefix} (info row {row})")
    else:
        kind, reason = ProblemKind.FRAME_NUMBERING, (
            f"{got}: expected {want}, frames are numbered F001.. in order within a tracklet")
    log.report(kind, name_file, start + offset, reason)
    return None


def _check_files(
    root: Path, folder: str, chunk: list[str], start: int, row: int, files: FileCheck,
    name_file: str, info_file: str, folders: _Folders, log: _ProblemLog,
) -> bool:
    listing = folders.listing(folder)
    if listing is None:
        log.report(ProblemKind.MISSING_FOLDER, info_file, row,
                   f"identity folder {folder} does not exist")
        return False
    if not listing:
        log.report(ProblemKind.EMPTY_FOLDER, info_file, row, f"identity folder {folder} is empty")
        return False
    if not listing.issuperset(chunk):
        offset, name = next((i, n) for i, n in enumerate(chunk) if n not in listing)
        missing = sum(n not in listing for n in chunk)
        log.report(ProblemKind.MISSING_FRAME, name_file, start + offset,
                   f"frame {folder}/{name} does not exist ({missing} of the tracklet's "
                   f"{len(chunk)} frames missing)")
        return False
    if files == "read":
        for offset, name in enumerate(chunk):
            try:
                reason = frame_problem((root / folder / name).read_bytes())
            except OSError as exc:
                reason = f"cannot be read: {exc.strerror}"
            if reason is not None:
                log.report(ProblemKind.NOT_JPEG, name_file, start + offset,
                           f"{folder}/{name}: {reason}")
                return False
    return True


def _check_coverage(owner: np.ndarray, name_file: str, info_file: str, log: _ProblemLog) -> None:
    """Every listed name must belong to a tracklet; one problem per run of orphan lines."""
    orphan = owner == 0
    if not orphan.any():
        return
    edges = np.flatnonzero(np.diff(np.concatenate(([0], orphan.view(np.int8), [0]))))
    for first, stop in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
        log.report(ProblemKind.UNCOVERED_NAMES, name_file, first + 1,
                   f"lines {first + 1}..{stop} belong to no row of {info_file}")


def _check_folders(
    root: Path, split: Split, frames_of: dict[str, set[str]], folders: _Folders,
    log: _ProblemLog,
) -> None:
    """Identity folders must hold exactly the frames the info files list."""
    bbox = root / FRAME_DIRS[split]
    try:
        on_disk = sorted(entry.name for entry in os.scandir(bbox) if entry.is_dir())
    except FileNotFoundError:
        if frames_of:  # the tracklets have already been reported as missing folders
            return
        log.report(ProblemKind.MISSING_FOLDER, FRAME_DIRS[split], None, "folder does not exist")
        return
    for name in on_disk:
        folder = f"{FRAME_DIRS[split]}/{name}"
        listing = folders.listing(folder) or frozenset()
        claimed = frames_of.get(folder, set())
        if not listing:
            if folder not in frames_of:  # claimed empty folders were reported per tracklet
                log.report(ProblemKind.EMPTY_FOLDER, folder, None,
                           "identity folder is empty and no tracklet uses it")
            continue
        extra = sorted(n for n in listing if n not in claimed)
        if extra:
            log.report(ProblemKind.UNLISTED_FRAMES, folder, None,
                       f"{len(extra)} files are not listed in {NAME_FILES[split]} or belong "
                       f"to skipped tracklets (first: {extra[0]})")


# --- command line --------------------------------------------------------------------------

_SUMMARY_ROWS = (
    ("identities", "identities (pid > 0)"),
    ("tracklets", "tracklets"),
    ("frames", "frames"),
    ("mean_length", "mean tracklet length"),
    ("median_length", "median tracklet length"),
    ("min_length", "min tracklet length"),
    ("max_length", "max tracklet length"),
    ("cameras_per_identity", "cameras per identity"),
    ("distractor_tracklets", "distractor tracklets (pid 0)"),
    ("junk_tracklets", "junk tracklets (pid -1)"),
    ("query_tracklets", "query tracklets"),
    ("gallery_tracklets", "gallery tracklets"),
)


def format_summary(summary: DatasetSummary) -> Iterator[str]:
    """The summary as an aligned text table: one line per statistic, one column per split."""
    columns: list[Mapping[str, object]] = [summary["train"], summary["test"], summary["all"]]
    yield f"{'':30s}{'train':>12s}{'test':>12s}{'all':>12s}"
    for key, label in _SUMMARY_ROWS:
        cells = []
        for column in columns:
            value = column[key]
            cells.append(f"{value:12.2f}" if isinstance(value, float) else f"{value:12d}")
        yield f"{label:30s}{''.join(cells)}"


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m ingest.mars", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser("validate", help="check a MARS tree and print a summary")
    validate.add_argument("root", type=Path, metavar="DIR")
    validate.add_argument("--strict", action="store_true",
                          help="stop at the first problem (default: skip and count)")
    validate.add_argument("--files", choices=("none", "list", "read"), default="list",
                          help="none: metadata only; list: frames exist (one listing per "
                               "folder, default); read: also open every frame")
    validate.add_argument("--json", action="store_true", help="print the summary as JSON")
    validate.add_argument("--show", type=non_negative_int, default=20, metavar="N",
                          help="print at most N problems (default 20)")
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        parser.error(f"{args.root} is not a directory")
    dataset = read_mars(args.root, strict=args.strict, files=args.files)
    summary = dataset.summary()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"MARS tree {args.root}")
        for line in format_summary(summary):
            print(line)
    for problem in dataset.problems[: args.show]:
        print(problem, file=sys.stderr)
    if dataset.problems:
        counts = ", ".join(f"{kind} {n}" for kind, n in summary["problems"].items())
        print(f"{len(dataset.problems)} problems skipped ({counts})", file=sys.stderr)
        return 1
    return 0


cli = entry_point(main)

if __name__ == "__main__":
    cli()
