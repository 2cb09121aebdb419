"""Generate a MARS-format dataset of synthetic pedestrians, for tests, CI and the demo.

``python -m ingest.synthetic --out DIR --ids N --seed S`` writes a complete MARS tree (frames,
name lists, ``.mat`` info files, query split) that passes ``read_mars(strict=True)``. It copies
MARS's label structure (:mod:`ingest.mars_stats`): cameras per identity, tracklets per
(identity, camera), the long-tailed tracklet length distribution, distractor (pid 0) and junk
(pid -1) tracklets in the test split, and one query per (identity, camera) for test identities
seen by two or more cameras. Appearance is drawn by :mod:`ingest.appearance`.

Knobs (:class:`SyntheticConfig`, the CLI flags of the same names), defaults sized for the demo:

- ``ids`` (80) and ``test_share`` (0.5): real identities, and the fraction of them (spread evenly
  over the pids; 0.5: the even pids) in the test split. Like MARS's, the splits are disjoint.
- ``seed`` (0): the output is a function of the config alone, byte for byte, whatever
  ``workers`` is: every identity and tracklet draws from its own seeded stream.
- ``mean_len`` (16), ``min_len`` (2), ``max_len`` (64): MARS's length distribution (mean 58.2,
  median 33, up to 920 frames) scaled by ``mean_len / 58.2``, then clipped; the clipping moves
  the mean a little.
- ``max_tracklets_per_camera`` (4): cap on MARS's tracklets per (identity, camera) (mean 4.1,
  up to 180); 0 means no cap. The defaults give 940 tracklets and 14,852 frames (seed 0).
- ``distractor_share`` (0.267) and ``junk_share`` (0.071): fractions of the test tracklets
  with pid 0 (false detections: 3 in 4 empty scenes, the rest unlabelled passers-by) and pid -1
  (badly framed crops), as in MARS.
- ``family_size`` (3): consecutive pids form a clothing-colour family: they wear the same top
  and bottom colours and differ in pattern (always), build, hair, shoes and bag.
- ``workers`` (all CPUs): processes rendering identities in parallel.

The tree is built in ``<out>.tmp-<random>`` next to ``out`` and renamed into place at the end,
so an interrupted run never leaves a tree that looks complete; an existing non-empty ``out`` is
refused unless ``force``, and then replaced only after the new tree is complete.
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing
import os
import secrets
import shutil
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import simplejpeg
from tqdm import tqdm

from hadoop.cli import (
    ArgumentParser,
    entry_point,
    fraction,
    fraction_below_one,
    int_in,
    non_negative_int,
    positive_float,
    positive_int,
)
from hadoop.fs import replace_tree
from ingest import appearance, mars, mars_stats
from ingest.appearance import FRAME_H, FRAME_W, Person
from ingest.errors import IngestError
from ingest.mars import Split

# Independent random streams: np.random.default_rng([seed, stream, ...]).
_PLAN, _PERSON, _FAMILY, _TRACKLET, _NOISE = 1, 2, 3, 4, 5
EMPTY_DISTRACTORS = 0.75  # share of distractor tracklets that show no one
_DISTRACTOR_CHUNK = 16  # distractor/junk tracklets per render task, to balance the workers
_NOISE_BANK = (FRAME_H + 40, 3 * (FRAME_W + 40))


class SyntheticError(IngestError):
    """The generator cannot run as asked: a bad knob or an output it must not overwrite."""


def _knob(default: float, help_text: str, flag_type: Callable[[str], float]) -> Any:
    """A config field; ``flag_type`` checks its CLI flag at parse time (:mod:`hadoop.cli`)."""
    return field(default=default, metadata={"help": help_text, "type": flag_type})


@dataclass(frozen=True)
class SyntheticConfig:
    """The generator's knobs; the module docstring explains them, the CLI mirrors them."""

    ids: int = _knob(80, "real identities (pids 1..ids)", int_in(2, 9999))
    test_share: float = _knob(0.5, "fraction of the identities in the test split (MARS: 0.5)",
                              fraction)
    seed: int = _knob(0, "random seed; the output depends on the config alone", non_negative_int)
    mean_len: float = _knob(16.0, "mean tracklet length before clipping (MARS: 58.2)",
                            positive_float)
    min_len: int = _knob(2, "shortest tracklet", int_in(1, mars.MAX_FRAMES))
    max_len: int = _knob(64, "longest tracklet (MARS: 920)", int_in(1, mars.MAX_FRAMES))
    max_tracklets_per_camera: int = _knob(4, "cap on tracklets per (identity, camera); 0: none",
                                          non_negative_int)
    distractor_share: float = _knob(mars_stats.DISTRACTOR_TRACKLETS / mars_stats.TEST_TRACKLETS,
                                    "fraction of test tracklets with pid 0", fraction_below_one)
    junk_share: float = _knob(mars_stats.JUNK_TRACKLETS / mars_stats.TEST_TRACKLETS,
                              "fraction of test tracklets with pid -1", fraction_below_one)
    family_size: int = _knob(3, "identities per clothing-colour family", positive_int)
    workers: int = _knob(0, "rendering processes; 0: one per available CPU", non_negative_int)

    def check(self) -> None:
        """Raise :class:`SyntheticError` naming the first knob out of range."""
        if not 2 <= self.ids <= 9999:
            raise SyntheticError(f"ids must be in 2..9999 (one per split at least), not {self.ids}")
        if not 0 < int(self.ids * self.test_share) < self.ids:
            raise SyntheticError(f"test_share {self.test_share} of {self.ids} ids leaves a split "
                                 "without identities")
        if self.seed < 0:
            raise SyntheticError(f"seed must be >= 0, not {self.seed}")
        if not 1 <= self.min_len <= self.max_len <= mars.MAX_FRAMES:
            raise SyntheticError(f"need 1 <= min_len ({self.min_len}) <= max_len "
                                 f"({self.max_len}) <= {mars.MAX_FRAMES}")
        if not self.min_len <= self.mean_len <= self.max_len:
            raise SyntheticError(f"mean_len {self.mean_len} must lie in min_len..max_len")
        if self.max_tracklets_per_camera < 0:
            raise SyntheticError("max_tracklets_per_camera must be >= 0 (0: no cap)")
        shares = (self.distractor_share, self.junk_share)
        if min(shares) < 0 or sum(shares) >= 1:
            raise SyntheticError(f"distractor_share + junk_share must be in [0, 1), not "
                                 f"{self.distractor_share} + {self.junk_share}")
        if self.family_size < 1:
            raise SyntheticError(f"family_size must be >= 1, not {self.family_size}")
        if self.workers < 0:
            raise SyntheticError(f"workers must be >= 0 (0: all CPUs), not {self.workers}")


@dataclass(frozen=True)
class SyntheticTracklet:
    """A tracklet the generator will draw: its identity, camera and number of frames."""

    pid: int
    camid: int
    length: int


@dataclass(frozen=True)
class Plan:
    """Everything about the dataset except its pixels; tracklets are in MARS order."""

    persons: Mapping[int, Person]
    tracklets: Mapping[Split, Sequence[SyntheticTracklet]]
    query_rows: Sequence[int]  # 1-based rows of the test tracklets


@dataclass(frozen=True)
class SyntheticSummary:
    root: Path
    identities: int
    tracklets: int
    frames: int
    seconds: float

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("inf")


def _draw(rng: np.random.Generator, table: Mapping[int, int], size: int | None = None,
          replace: bool = True) -> np.ndarray:
    """Values of ``table`` (value -> count) drawn with the counts as weights."""
    values = np.fromiter(table, dtype=np.int64)
    weights = np.fromiter(table.values(), dtype=np.float64)
    return rng.choice(values, size=size, replace=replace, p=weights / weights.sum())


def _lengths(rng: np.random.Generator, config: SyntheticConfig, size: int) -> np.ndarray:
    """Tracklet lengths drawn from MARS's quantiles, scaled to ``mean_len`` and clipped."""
    quantiles = np.interp(rng.uniform(0, 100, size), mars_stats.LENGTH_PERCENTILES,
                          mars_stats.LENGTH_QUANTILES)
    scaled = np.rint(quantiles * config.mean_len / mars_stats.MEAN_LENGTH)
    return np.clip(scaled, config.min_len, config.max_len).astype(np.int64)


def _split_of(pid: int, test_share: float) -> Split:
    """Test identities spread evenly over the pids (share 0.5: the even pids)."""
    return "test" if int(pid * test_share) > int((pid - 1) * test_share) else "train"


def make_plan(config: SyntheticConfig) -> Plan:
    """Identities, their cameras and tracklets, distractors, junk and queries, MARS-like."""
    config.check()
    rng = np.random.default_rng([config.seed, _PLAN])
    persons: dict[int, Person] = {}
    tracklets: dict[Split, list[SyntheticTracklet]] = {"train": [], "test": []}
    for pid in range(1, config.ids + 1):
        family, member = divmod(pid - 1, config.family_size)
        look = appearance.random_family(np.random.default_rng([config.seed, _FAMILY, family]))
        persons[pid] = appearance.random_person(
            np.random.default_rng([config.seed, _PERSON, pid]), look, member)
        cameras = _draw(rng, mars_stats.CAMERA_WEIGHTS, int(_draw(rng, mars_stats.
                        CAMERAS_PER_IDENTITY)), replace=False)
        split = _split_of(pid, config.test_share)
        for camid in sorted(cameras.tolist()):
            count = int(_draw(rng, mars_stats.TRACKLETS_PER_CAMERA))
            if config.max_tracklets_per_camera:
                count = min(count, config.max_tracklets_per_camera)
            tracklets[split].extend(SyntheticTracklet(pid, camid, int(length))
                                    for length in _lengths(rng, config, count))
    real_test = len(tracklets["test"])
    total_test = real_test / (1 - config.distractor_share - config.junk_share)
    for pid, share, weights in (
        (mars.DISTRACTOR_PID, config.distractor_share, mars_stats.DISTRACTOR_CAMERA_WEIGHTS),
        (mars.JUNK_PID, config.junk_share, mars_stats.JUNK_CAMERA_WEIGHTS),
    ):
        count = round(total_test * share)
        cameras = _draw(rng, weights, count)
        tracklets["test"].extend(SyntheticTracklet(pid, int(camid), int(length)) for camid, length
                                 in zip(cameras, _lengths(rng, config, count), strict=True))
    for split in tracklets:
        tracklets[split].sort(key=lambda t: (t.pid, t.camid))  # stable: MARS order
    return Plan(persons, tracklets, _queries(rng, tracklets["test"]))


def _queries(rng: np.random.Generator, test: Sequence[SyntheticTracklet]) -> list[int]:
    """One random tracklet per (identity, camera) of identities seen by 2+ cameras."""
    rows: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for row, tracklet in enumerate(test, start=1):
        if tracklet.pid > 0:
            rows[tracklet.pid][tracklet.camid].append(row)
    queries = [int(rng.choice(candidates)) for cameras in rows.values() if len(cameras) > 1
               for candidates in cameras.values()]
    return sorted(queries)


# --- rendering (runs in worker processes) --------------------------------------------------


@dataclass(frozen=True)
class _Task:
    """Tracklets of one identity folder for one worker: (info row, camid, frame names)."""

    root: Path
    seed: int
    split: Split
    pid: int
    person: Person | None
    tracklets: tuple[tuple[int, int, tuple[str, ...]], ...]


@functools.cache
def _camera(seed: int, camid: int) -> appearance.Camera:
    return appearance.make_camera(seed, camid)


@functools.cache
def _noise(seed: int, camid: int) -> np.ndarray:
    bank = np.random.default_rng([seed, _NOISE, camid]).normal(0, 1, _NOISE_BANK)
    return (bank * _camera(seed, camid).noise).astype(np.float32)


def _render_task(task: _Task) -> int:
    """Write the task's frames as JPEGs; returns how many."""
    folder = task.root / mars.FRAME_DIRS[task.split] / mars.pid_folder(task.pid)
    split_key = mars.SPLITS.index(task.split)
    sprites: dict[int, appearance.Poses] = {}
    written = 0
    for row, camid, names in task.tracklets:
        camera = _camera(task.seed, camid)
        rng = np.random.default_rng([task.seed, _TRACKLET, split_key, row])
        lift = 0
        if task.person is not None:
            if camid not in sprites:
                height = round(camera.person_height * task.person.height * FRAME_H)
                sprites[camid] = appearance.render_poses(task.person, camera.view, height,
                                                         camera.blur)
            poses: appearance.Poses | None = sprites[camid]
        else:
            poses, lift = _stranger(rng, camera, junk=task.pid == mars.JUNK_PID)
        walk = appearance.random_walk(rng, camera, len(names))
        frames = appearance.walk_frames(camera, poses, walk, len(names), rng,
                                        _noise(task.seed, camid), lift)
        for name, frame in zip(names, frames, strict=True):
            data = simplejpeg.encode_jpeg(frame, quality=camera.quality, colorspace="RGB")
            (folder / name).write_bytes(data)
        written += len(names)
    return written


def _stranger(
    rng: np.random.Generator, camera: appearance.Camera, junk: bool
) -> tuple[appearance.Poses | None, int]:
    """A distractor or a junk crop; returns the poses (None: no one) and how high the feet are.

    MARS's distractors come from false detections and tracking errors, so three in four are
    empty scenes and the rest unlabelled passers-by. Junk is a passer-by too close to the
    camera, cut off by the frame."""
    if not junk and rng.random() < EMPTY_DISTRACTORS:
        return None, 0
    person = appearance.random_person(rng, appearance.random_family(rng), 0)
    zoom = rng.uniform(1.4, 2.2) if junk else 1.0
    height = round(camera.person_height * person.height * FRAME_H * zoom)
    lift = int(rng.uniform(-0.5, 0.3) * height) if junk else 0
    return appearance.render_poses(person, camera.view, height, camera.blur), lift


# --- the tree ------------------------------------------------------------------------------


def _tasks(root: Path, config: SyntheticConfig, plan: Plan,
           names: Mapping[Split, Sequence[Sequence[str]]]) -> list[_Task]:
    """One task per identity, distractors and junk in chunks; largest first for balance."""
    grouped: dict[tuple[Split, int], list[tuple[int, int, tuple[str, ...]]]] = defaultdict(list)
    for split in mars.SPLITS:
        for row, (tracklet, frames) in enumerate(
                zip(plan.tracklets[split], names[split], strict=True), start=1):
            grouped[(split, tracklet.pid)].append((row, tracklet.camid, tuple(frames)))
    tasks: list[_Task] = []
    for (split, pid), items in grouped.items():
        step = _DISTRACTOR_CHUNK if pid <= 0 else len(items)
        tasks.extend(_Task(root, config.seed, split, pid, plan.persons.get(pid),
                           tuple(items[i : i + step])) for i in range(0, len(items), step))
    tasks.sort(key=lambda task: -sum(len(frames) for _, _, frames in task.tracklets))
    return tasks


def generate(out: Path, config: SyntheticConfig, *, force: bool = False,
             progress: bool = False) -> SyntheticSummary:
    """Write a complete MARS tree for ``config`` at ``out`` (see the module docstring).

    With more than one worker this starts "spawn" processes, which re-import the caller's main
    module: scripts must call it under ``if __name__ == "__main__":``.
    """
    started = time.perf_counter()
    config.check()
    out = out.absolute()
    if out.exists() and not out.is_dir():
        raise SyntheticError(f"--out {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise SyntheticError(f"--out {out} is not empty; pass --force to replace it")
    plan = make_plan(config)
    names = {split: mars.tracklet_names([(t.pid, t.camid, t.length)
                                         for t in plan.tracklets[split]])
             for split in mars.SPLITS}
    out.parent.mkdir(parents=True, exist_ok=True)
    build = out.parent / f"{out.name}.tmp-{secrets.token_hex(4)}"
    try:
        build.mkdir()
        for split in mars.SPLITS:
            for pid in {t.pid for t in plan.tracklets[split]}:
                (build / mars.FRAME_DIRS[split] / mars.pid_folder(pid)).mkdir(parents=True)
        tasks = _tasks(build, config, plan, names)
        total = sum(len(f) for split in mars.SPLITS for f in names[split])
        workers = config.workers or len(os.sched_getaffinity(0))
        with tqdm(total=total, unit="frame", disable=not progress) as bar:
            if workers == 1:
                for task in tasks:
                    bar.update(_render_task(task))
            else:
                with multiprocessing.get_context("spawn").Pool(workers) as pool:
                    for written in pool.imap_unordered(_render_task, tasks):
                        bar.update(written)
        mars.write_info(build, names, plan.query_rows)  # last: a tree with info is complete
        replace_tree(build, out)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    return SyntheticSummary(out, config.ids, sum(len(plan.tracklets[s]) for s in mars.SPLITS),
                            total, time.perf_counter() - started)



def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m ingest.synthetic", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="directory of the MARS tree")
    parser.add_argument("--force", action="store_true", help="replace a non-empty --out")
    defaults = SyntheticConfig()
    for knob in fields(SyntheticConfig):
        default = getattr(defaults, knob.name)
        parser.add_argument(f"--{knob.name.replace('_', '-')}", type=knob.metadata["type"],
                            default=default, help=f"{knob.metadata['help']} (default {default:g})")
    args = parser.parse_args(argv)
    config = SyntheticConfig(**{k.name: getattr(args, k.name) for k in fields(SyntheticConfig)})
    summary = generate(args.out, config, force=args.force, progress=sys.stderr.isatty())
    print(f"wrote {summary.frames} frames in {summary.tracklets} tracklets of "
          f"{summary.identities} identities to {summary.root} in {summary.seconds:.1f} s "
          f"({summary.frames_per_s:.0f} frames/s)")
    return 0


cli = entry_point(main)

if __name__ == "__main__":
    cli()
