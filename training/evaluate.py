"""``python -m training.evaluate``: features from HDFS, both MARS protocols, the report.

The scoring itself lives in :mod:`training.metrics` and is re-exported here
(``training.evaluate.compute_cmc_map`` is the project's public scoring function).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hadoop.cli import ArgumentParser, entry_point, non_negative_int
from ingest.dataset import ShardedDataset, TrackletRecord, open_dataset
from training.checkpoint import CheckpointInfo, CheckpointStore
from training.data.decode import decode_frames
from training.features import extract_features, usable_rows
from training.metrics import (
    METRICS,
    PROTOCOLS,
    EvalProtocol,
    EvaluationError,
    MarsSplit,
    Metric,
    ProtocolResult,
    compute_cmc_map,
    cosine_distance,
    distance_matrix,
    euclidean_distance,
    mars_split,
    score_protocol,
    top_k_matches,
)
from training.model.units import Head, NeckFeature
from training.report import RankedQuery, write_report
from training.rerank import k_reciprocal_rerank

__all__ = [
    "METRICS",
    "PROTOCOLS",
    "EvalProtocol",
    "EvaluationError",
    "MarsSplit",
    "Metric",
    "ProtocolResult",
    "TestFeatures",
    "checkpoint_test_features",
    "compute_cmc_map",
    "cosine_distance",
    "distance_matrix",
    "euclidean_distance",
    "evaluate_checkpoint",
    "mars_split",
    "score_features",
    "score_protocol",
    "scored_tracklets",
    "top_k_matches",
]

@dataclass(frozen=True)
class TestFeatures:
    """A checkpoint's features of a dataset's test tracklets, as evaluation scores them."""

    data: ShardedDataset
    store: CheckpointStore
    info: CheckpointInfo  # the checkpoint the features came from
    neck_feature: NeckFeature
    test: list[TrackletRecord]  # the scored tracklets, in feature row order
    features: np.ndarray  # (len(test), D) float32
    left_out: list[str]  # test tracklets with no usable frame, not in ``test``


def checkpoint_test_features(data_url: str, checkpoint_url: str, *, step: int | None = None,
                             best: bool = False, feature: NeckFeature | None = None,
                             workers: int = 2, device: str = "cpu", progress: bool = True,
                             ) -> TestFeatures:
    """Features of every usable test tracklet from the committed checkpoint, the one of
    ``step`` (still kept), or the ``best`` one of an ``--eval-every`` run; evaluation and the
    search agreement check (:mod:`training.agreement`) both start here."""
    data = open_dataset(data_url)
    store = CheckpointStore(checkpoint_url)
    if best:
        info = store.require_best().info
    elif step is not None:
        info = store.at_step(step)
    else:
        info = store.require_latest()
    model = store.load_model(info)
    head = model.units["head"]
    assert isinstance(head, Head)
    if feature is not None:
        head.neck_feature = feature
    test = scored_tracklets(data, data_url)
    features = extract_features(model, data, test, device=torch.device(device),
                                workers=workers, progress=progress)
    features, test, left_out = usable_rows(features, test, "evaluation")
    return TestFeatures(data, store, info, head.neck_feature, test, features, left_out)


def evaluate_checkpoint(data_url: str, checkpoint_url: str, *, step: int | None = None,
                        best: bool = False, metric: Metric = "cosine",
                        feature: NeckFeature | None = None, rerank: bool = False,
                        report: Path | None = None, ranked_queries: int = 4, workers: int = 2,
                        device: str = "cpu", progress: bool = True,
                        ) -> tuple[list[ProtocolResult], Path | None]:
    """Score a checkpoint on a dataset's test split under both MARS protocols: the committed
    one, the one of ``step`` (still kept), or the ``best`` one of an ``--eval-every`` run."""
    scored = checkpoint_test_features(data_url, checkpoint_url, step=step, best=best,
                                      feature=feature, workers=workers, device=device,
                                      progress=progress)
    data, info, test = scored.data, scored.info, scored.test
    results, every, split = score_features(scored.features, test, metric=metric,
                                           rerank=rerank)
    index = None
    if report is not None:
        pids = np.array([r.pid for r in test])
        camids = np.array([r.camid for r in test])
        ranked = _ranked_examples(data, test, every[:, split.standard_gallery], split,
                                  pids, camids, ranked_queries)
        info_rows: dict[str, str | int | float | bool] = {
            "dataset": data_url, "checkpoint": checkpoint_url, "checkpoint step": info.step,
            "epochs trained": info.epoch, "distance": metric, "re-ranking": rerank,
            "feature": scored.neck_feature, "test tracklets": len(test),
            "left out (no usable frame)": len(scored.left_out)}
        with tempfile.TemporaryDirectory() as tmp:
            log = None
            csv = scored.store.metrics_csv(info)
            if csv is not None:
                log = Path(tmp) / "metrics.csv"
                log.write_bytes(csv)
            index = write_report(report, results, training_log=log, ranked=ranked,
                                 info=info_rows)
    return results, index


def scored_tracklets(data: ShardedDataset, data_url: str) -> list[TrackletRecord]:
    """The test split's tracklets, in the order features and scores use."""
    test = data.select(split="test")
    if not test:
        raise EvaluationError(f"{data_url} has no test tracklets")
    return test


def score_features(features: np.ndarray, test: list[TrackletRecord], *,
                   metric: Metric = "cosine", rerank: bool = False,
                   ) -> tuple[list[ProtocolResult], np.ndarray, MarsSplit]:
    """Both MARS protocols from the test tracklets' features (rows in ``test`` order): the
    results (standard, official), the query x every-tracklet distances and the split. Training's
    ``--eval-every`` scores through here too, so its figures are this command's."""
    pids = np.array([r.pid for r in test])
    camids = np.array([r.camid for r in test])
    split = mars_split(pids, [i for i, r in enumerate(test) if r.role == "query"])
    query = features[split.query]
    every = distance_matrix(query, features, metric)  # the official gallery is every tracklet
    results = []
    for protocol, gallery in (("standard", split.standard_gallery),
                              ("official", split.official_gallery)):
        dist = every[:, gallery]
        if rerank:
            dist = k_reciprocal_rerank(dist, distance_matrix(query, query, metric),
                                       distance_matrix(features[gallery], features[gallery],
                                                       metric))
        results.append(score_protocol(dist, pids[split.query], pids[gallery],
                                      camids[split.query], camids[gallery],
                                      protocol=protocol))  # type: ignore[arg-type]
    return results, every, split


def _ranked_examples(data: ShardedDataset, test: list[TrackletRecord], dist: np.ndarray,
                     split: MarsSplit, pids: np.ndarray, camids: np.ndarray,
                     count: int) -> list[RankedQuery]:
    """A few queries (evenly spread) with their top-10 standard-gallery tracklets."""
    gallery = split.standard_gallery
    picks = np.linspace(0, len(split.query) - 1, num=min(count, len(split.query)), dtype=int)
    ranked = []
    for q in picks:
        row = split.query[q]
        top, correct = top_k_matches(dist[q], int(pids[row]), int(camids[row]), pids[gallery],
                                     camids[gallery], k=10)
        tracklets = [test[row]] + [test[gallery[g]] for g in top]
        frames = [decode_frames(data.read_frames(t, [0]))[0] for t in tracklets]
        ranked.append(RankedQuery(
            query_frame=frames[0], query_caption=f"pid {pids[row]} cam {camids[row]}",
            gallery_frames=frames[1:], gallery_correct=list(correct),
            gallery_captions=[f"pid {t.pid} cam {t.camid}" for t in tracklets[1:]]))
    return ranked


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="python -m training.evaluate",
        description="Features for every test tracklet of a dataset in HDFS, scored under both "
                    "MARS protocols (standard and official), written into a report directory.")
    parser.add_argument("--data", required=True, help="the ingested dataset: hdfs://host:port/"
                        "reid/<name> (a path without hdfs:// is a local directory)")
    parser.add_argument("--checkpoint", required=True,
                        help="checkpoint directory: hdfs://... or a local path")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--step", type=non_negative_int, default=None,
                       help="score the checkpoint of this step (one still kept beside the "
                       "committed one; default: the committed, newest, checkpoint)")
    which.add_argument("--best", action="store_true",
                       help="score the best checkpoint of a run trained with --eval-every")
    parser.add_argument("--report", type=Path, default=None,
                        help="report directory (default: reports/<dataset name>)")
    parser.add_argument("--metric", choices=METRICS, default="cosine")
    parser.add_argument("--feature", choices=("bn", "pre_bn"), default=None,
                        help="evaluation feature (default: the checkpoint model's, BN)")
    parser.add_argument("--rerank", action="store_true", help="k-reciprocal re-ranking")
    parser.add_argument("--workers", type=non_negative_int, default=2, help="DataLoader workers")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    report = args.report or Path("reports") / args.data.rstrip("/").rsplit("/", 1)[-1]
    results, index = evaluate_checkpoint(
        args.data, args.checkpoint, step=args.step, best=args.best, metric=args.metric,
        feature=args.feature, rerank=args.rerank, report=report, workers=args.workers,
        device=args.device)
    for result in results:
        print(result.summary())
    print(f"report: {index}")
    return 0


cli = entry_point(main)

if __name__ == "__main__":
    cli()
