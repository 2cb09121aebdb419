"""Evaluation during training (``training.train --eval-every N``): the checkpoint just committed,
scored on the dataset's test split under both MARS protocols, data parallel over every rank.

A pipeline run has its model split across ranks, so something must put it back together. Every
rank loads the committed checkpoint and merges its stage files into the unsplit model
(``CheckpointStore.load_model``: the pipeline's ``merge_stage_states``), then extracts the
features of every N-th test tracklet (``training.features``, as ``training.evaluate`` does);
rank 0 gathers them and scores them with ``training.evaluate.score_features``. Hence:

- the figures are those of exactly what is stored, so ``best.json`` can point at it, and
  ``training.evaluate --best`` reproduces them;
- the pause costs about 1/N of a one-rank evaluation however many ranks there are, where rank 0
  alone would hold the N-1 others idle in their next pipeline receive for the whole evaluation
  (and, at MARS size, close to the process group's timeout);
- a rank whose part fails sends its error instead of features, and rank 0 broadcasts the outcome,
  so every rank raises together and none is left waiting in a collective.

The best checkpoint is the one with the highest standard-protocol mAP (R1 breaks ties): mAP uses
the whole ranking, so it moves less by chance than R1 on a small test split.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist

from ingest.dataset import ShardedDataset, TrackletRecord
from training.checkpoint import BestCheckpoint, CheckpointInfo, CheckpointStore
from training.errors import TrainingError
from training.evaluate import score_features, scored_tracklets
from training.features import extract_features, usable_rows
from training.metrics import ProtocolResult
from training.pipeline.mesh import ParallelLayout

logger = logging.getLogger("training.train")
BEST_BY = "standard mAP"


@dataclass(frozen=True)
class Evaluation:
    """One evaluation's figures and the best checkpoint after it (both on rank 0 only)."""

    step: int
    results: list[ProtocolResult]
    best: BestCheckpoint
    seconds: float


def scores_of(results: list[ProtocolResult]) -> dict[str, dict[str, float]]:
    return {r.protocol: {"R1": r.rank(1), "mAP": r.mAP} for r in results}


def _rank_key(scores: dict[str, dict[str, float]]) -> tuple[float, float]:
    return scores["standard"]["mAP"], scores["standard"]["R1"]


class TrainEvaluator:
    """Called by every rank at the same steps, right after a checkpoint is committed."""

    def __init__(self, data: ShardedDataset, data_url: str, store: CheckpointStore,
                 layout: ParallelLayout, device: torch.device, workers: int,
                 keep_checkpoints: int) -> None:
        self.data, self.store, self.layout = data, store, layout
        self.device, self.workers, self.keep = device, workers, keep_checkpoints
        self.test = scored_tracklets(data, data_url)  # no test split: refused before training
        self.best = store.best() if layout.rank == 0 else None  # a resumed run's best so far

    def __call__(self, committed: CheckpointInfo | None) -> Evaluation | None:
        """Score the checkpoint rank 0 has just committed (``committed``, None elsewhere); a
        collective over every rank. Returns the evaluation on rank 0, None elsewhere."""
        began = time.monotonic()
        rank, world = self.layout.rank, _world()
        shared = [committed]
        if world > 1:
            dist.broadcast_object_list(shared, src=0)
        info = shared[0]
        if info is None:
            raise TrainingError(f"{self.store.url}: no committed checkpoint to evaluate")
        failure: BaseException | None = None
        part: np.ndarray | str
        try:
            part = self._features(info, self.test[rank::world])
        except Exception as exc:  # sent to rank 0, raised on every rank below
            failure, part = exc, f"rank {rank}: {type(exc).__name__}: {exc}"
        parts: list[np.ndarray | str | None] = [part]
        if world > 1:
            parts = [None] * world if rank == 0 else []
            dist.gather_object(part, parts if rank == 0 else None, dst=0)
        evaluation, message = None, None
        if rank == 0:
            try:
                evaluation = self._score(info, parts, began)
            except Exception as exc:  # broadcast, then raised on every rank
                failure = failure or exc
                message = f"rank 0: {type(exc).__name__}: {exc}"
            errors = [p for p in parts if isinstance(p, str)]
            message = "; ".join(errors) or message
        outcome = [message]
        if world > 1:
            dist.broadcast_object_list(outcome, src=0)
        if outcome[0] is not None:
            raise TrainingError(f"evaluation of {self.store.url} step {info.step} failed: "
                                f"{outcome[0]}") from failure
        return evaluation

    def _features(self, info: CheckpointInfo, records: list[TrackletRecord]) -> np.ndarray:
        cuda = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda):  # training's random streams stay as they were
            model = self.store.load_model(info)
            features = extract_features(model, self.data, records, device=self.device,
                                        workers=self.workers, progress=False)
        del model
        if cuda:
            torch.cuda.empty_cache()
        return features

    def _score(self, info: CheckpointInfo, parts: list[np.ndarray | str | None],
               began: float) -> Evaluation:
        arrays = [p for p in parts if isinstance(p, np.ndarray)]
        if len(arrays) != len(parts):
            raise TrainingError("features missing from some ranks")
        features = np.zeros((len(self.test), arrays[0].shape[1]), dtype=np.float32)
        for rank, array in enumerate(arrays):
            features[rank::len(arrays)] = array
        features, test, _ = usable_rows(features, self.test, f"step {info.step} evaluation")
        results, _, _ = score_features(features, test)
        scores = scores_of(results)
        if self.best is None or _rank_key(scores) > _rank_key(self.best.scores):
            self.best = BestCheckpoint(info=info, scores=scores, chosen_by=BEST_BY)
            self.store.mark_best(self.best)
            self.store.prune(keep=self.keep)  # the step that was best until now may go
        evaluation = Evaluation(info.step, results, self.best, time.monotonic() - began)
        logger.info("step %d evaluation (%d test tracklets, %.1f s over %d ranks): %s; best: "
                    "step %d (%s %.3f)", info.step, len(self.test), evaluation.seconds,
                    len(parts), "; ".join(r.summary() for r in results), self.best.info.step,
                    BEST_BY, _rank_key(self.best.scores)[0])
        return evaluation


def _world() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1
