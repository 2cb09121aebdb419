"""``python -m training.embed``: one feature row per tracklet, as Parquet under the dataset in HDFS.

    python -m training.embed --data hdfs://127.0.0.10:8020/reid/demo --model models/demo.pt
    torchrun --nproc-per-node 2 -m training.embed --data ... --model ...   # data parallel

Why: a gallery is embedded once and searched many times. Layout, beside the dataset's shards::

    features/<model version>/<split>/part-00000-of-00002.parquet   one per rank
    features/<model version>/<split>/features.json                 the commit

The model version is the first 16 hex digits of the exported model's fingerprint, so a new model
writes a new version beside the old ones and re-running with the same model on the same dataset
is a no-op (the commit records the dataset's batch fingerprints; a re-ingested dataset is
embedded again). Every file is written atomically; the commit is written last, by rank 0, once
every rank's part is in place, so a reader never sees a half-embedded gallery.

Features come from ``training.features.extract_features``, the code evaluation uses.
"""

from __future__ import annotations

import io
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
import torch.distributed as dist

from hadoop.cli import ArgumentParser, entry_point, non_negative_int
from hadoop.fs import FileSystem, resolve
from ingest.dataset import ShardedDataset, TrackletRecord, open_dataset
from training.errors import TrainingError
from training.features import extract_features, usable_rows
from training.model.exported import ExportedModel, load_exported
from training.pipeline.mesh import backend_for

FEATURES_DIR = "features"
COMMIT = "features.json"
FORMAT = "reid-hdfs/features"
ROW_GROUP = 8192  # rows per Parquet row group: the unit a search reads at a time


class EmbedError(TrainingError):
    """The gallery cannot be embedded or its committed features cannot be read."""


@dataclass(frozen=True)
class FeatureCommit:
    """``features.json``: what the parts hold and what they were computed from."""

    format: str
    model: str  # the model version (fingerprint prefix)
    fingerprint: str
    split: str
    dim: int
    rows: int
    parts: list[str]
    dataset: str
    dataset_batches: list[str]  # the dataset's batch fingerprints at embedding time
    preprocessing: dict[str, object]
    model_source: dict[str, object]
    seconds: float
    flip_averaged: bool = False  # features are clip_features' (commits before it: plain)

    @classmethod
    def read(cls, fs: FileSystem, path: str) -> FeatureCommit:
        try:
            document = json.loads(fs.read_file(path))
            commit = cls(**document)
        except (ValueError, TypeError) as exc:
            raise EmbedError(f"{fs.location(path)} is not a features commit: {exc}") from exc
        if commit.format != FORMAT:
            raise EmbedError(f"{fs.location(path)} is not a {FORMAT} commit")
        return commit


def schema(dim: int) -> pa.Schema:
    return pa.schema([
        ("tracklet_id", pa.string()), ("pid", pa.int32()), ("camid", pa.int32()),
        ("split", pa.string()), ("role", pa.string()), ("num_frames", pa.int32()),
        ("feature", pa.list_(pa.float32(), dim)),
    ])


def features_url(data_url: str, version: str, split: str) -> str:
    """Where the features of ``split`` by model ``version`` live."""
    return f"{data_url.rstrip('/')}/{FEATURES_DIR}/{version}/{split}"


def dataset_batches(data: ShardedDataset) -> list[str]:
    return [generation.fingerprint for generation in data.manifest.generations]


@dataclass(frozen=True)
class EmbedResult:
    url: str
    rows: int
    written: bool  # False: the features were already committed (a no-op)
    seconds: float


def embed_dataset(data_url: str, exported: ExportedModel, *, split: str = "test",
                  device: str = "cpu", workers: int = 2, progress: bool = True,
                  rank: int = 0, world: int = 1) -> EmbedResult:
    """Embed ``split``'s tracklets; this process is rank ``rank`` of ``world`` and embeds its
    slice. With ``world`` > 1, torch.distributed must be initialised (rank 0 waits for every
    part at a barrier before it commits)."""
    began = time.monotonic()
    data = open_dataset(data_url)
    url = features_url(data_url, exported.version, split)
    fs, root = resolve(url)
    batches = dataset_batches(data)
    if fs.exists(f"{root}/{COMMIT}"):
        done = FeatureCommit.read(fs, f"{root}/{COMMIT}")
        if (done.fingerprint == exported.fingerprint and done.dataset_batches == batches
                and done.flip_averaged):
            return EmbedResult(url, done.rows, False, time.monotonic() - began)
    records = data.select(split=split)
    if not records:
        raise EmbedError(f"{data_url} has no {split!r} tracklets to embed")
    mine = np.array_split(np.arange(len(records)), world)[rank]
    part = f"part-{rank:05d}-of-{world:05d}.parquet"
    slice_records = [records[i] for i in mine]
    features = extract_features(exported.model, data, slice_records, device=torch.device(device),
                                workers=workers, progress=progress and rank == 0)
    features, slice_records, _ = usable_rows(features, slice_records,
                                             f"rank {rank}'s part of the gallery")
    rows = [len(slice_records)] * world
    if world > 1:
        dist.all_gather_object(rows, len(slice_records))
    fs.write_file(f"{root}/{part}", _parquet(slice_records, features), overwrite=True)
    if world > 1:
        dist.barrier()
    if rank == 0:
        parts = [f"part-{r:05d}-of-{world:05d}.parquet" for r in range(world)]
        missing = [p for p in parts if not fs.exists(f"{root}/{p}")]
        if missing:
            raise EmbedError(f"{url}: parts {missing} were not written; nothing committed")
        commit = FeatureCommit(
            format=FORMAT, model=exported.version, fingerprint=exported.fingerprint, split=split,
            dim=exported.preprocessing.feature_dim, rows=sum(rows), parts=parts,
            dataset=data_url, dataset_batches=batches,
            preprocessing=asdict(exported.preprocessing), model_source=exported.source,
            seconds=round(time.monotonic() - began, 3), flip_averaged=True)
        fs.write_file(f"{root}/{COMMIT}", json.dumps(asdict(commit), indent=2).encode(),
                      overwrite=True)
        for status in fs.list(root):  # parts of an earlier run with another world size
            name = status.path.rsplit("/", 1)[-1]
            if name.startswith("part-") and name not in parts:
                fs.delete(f"{root}/{name}")
    if world > 1:
        dist.barrier()  # no rank reports success before the commit is in place
    return EmbedResult(url, sum(rows), True, time.monotonic() - began)


def _parquet(records: list[TrackletRecord], features: np.ndarray) -> bytes:
    dim = features.shape[1]
    table = pa.table({
        "tracklet_id": [r.tracklet_id for r in records],
        "pid": pa.array([r.pid for r in records], pa.int32()),
        "camid": pa.array([r.camid for r in records], pa.int32()),
        "split": [r.split for r in records],
        "role": [r.role for r in records],
        "num_frames": pa.array([r.num_frames for r in records], pa.int32()),
        "feature": pa.FixedSizeListArray.from_arrays(
            pa.array(features.astype(np.float32).ravel()), dim),
    }, schema=schema(dim))
    buffer = io.BytesIO()
    pq.write_table(table, buffer, row_group_size=ROW_GROUP)
    return buffer.getvalue()


def _join_process_group(device: str) -> tuple[int, int, str]:
    """(rank, world, device) under torchrun; (0, 1, device) otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1, device
    rank = int(os.environ["RANK"])
    if device.startswith("cuda"):
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
        torch.cuda.set_device(torch.device(device))
    dist.init_process_group(backend_for(torch.device(device)))
    return rank, world, device


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="python -m training.embed",
        description="Embed a dataset's tracklets with an exported model: one Parquet feature "
                    "row per tracklet under <data>/features/<model version>/<split>/ in HDFS. "
                    "Runs data parallel under torchrun (each rank a slice, rank 0 commits).")
    parser.add_argument("--data", required=True, help="hdfs://.../reid/<name> (the ingest's)")
    parser.add_argument("--model", type=Path, required=True,
                        help="exported model file (python -m training.export)")
    parser.add_argument("--split", default="test", help="which split to embed")
    parser.add_argument("--workers", type=non_negative_int, default=2,
                        help="DataLoader workers")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    exported = load_exported(args.model)
    rank, world, device = _join_process_group(args.device)
    try:
        result = embed_dataset(args.data, exported, split=args.split, device=device,
                               workers=args.workers, progress=not args.no_progress, rank=rank,
                               world=world)
    finally:
        if world > 1:
            dist.destroy_process_group()
    if rank == 0:
        if result.written:
            print(f"embedded {result.rows} tracklets ({result.rows / result.seconds:.1f}/s on "
                  f"{world} rank(s)) with model {exported.version}")
        else:
            print(f"up to date: {result.rows} tracklets already embedded with model "
                  f"{exported.version}")
        print(f"features: {result.url}")
    return 0


cli = entry_point(main)

if __name__ == "__main__":  # torchrun runs `-m training.embed`
    cli()
