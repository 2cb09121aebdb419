"""Does search rank a gallery the way evaluation scores it?

Search answers from features stored in HDFS by ``training.embed`` (the exported model, read back
from Parquet, scored in chunks); evaluation extracts features from the checkpoint and scores one
query x gallery matrix. Both must give every query the same ranking, or a user's search results
would disagree with the accuracy the report claims. This module computes both sides for a
dataset, a checkpoint and a stored gallery, so a test (small data) and the search benchmark (the
demo's data and model) can check it.

Official protocol: the gallery is every test tracklet, so search's top k must be the first k of
each query's stable ranking. Standard protocol: evaluation's ranking leaves out junk and the
query's own identity on its own camera, and scores only the standard gallery; search gets the
same exclusions as a mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from training.evaluate import checkpoint_test_features
from training.gallery import FeatureGallery
from training.metrics import JUNK_PID, Metric, distance_matrix, mars_split, top_k_matches
from training.search import SearchError, rank_gallery


@dataclass(frozen=True)
class Agreement:
    """How many queries got the same top-k from search as from evaluation, per protocol."""

    queries: int
    k: int
    feature_max_abs_diff: float  # stored (exported model) vs checkpoint features
    official_equal: int
    standard_equal: int

    @property
    def complete(self) -> bool:
        return self.official_equal == self.standard_equal == self.queries

    def summary(self) -> str:
        return (f"search vs evaluation, top-{self.k} of {self.queries} queries: official "
                f"{self.official_equal}/{self.queries} equal, standard "
                f"{self.standard_equal}/{self.queries} equal; stored features differ from the "
                f"checkpoint's by at most {self.feature_max_abs_diff:.1e}")


def compare_with_evaluation(data_url: str, checkpoint_url: str, features_url: str, *,
                            k: int = 20, metric: Metric = "cosine", chunk_rows: int = 4096,
                            workers: int = 2) -> Agreement:
    """Rank every query of ``data_url``'s test split both ways and count equal rankings."""
    scored = checkpoint_test_features(data_url, checkpoint_url, workers=workers, progress=False)
    test, features = scored.test, scored.features
    gallery = FeatureGallery(features_url)
    if gallery.meta().tracklet_ids != [r.tracklet_id for r in test]:
        raise SearchError(f"{features_url} does not hold {data_url}'s test tracklets in "
                          "dataset order; embed the dataset again")
    stored = gallery.features_of(np.arange(len(test)), chunk_rows)
    pids = np.array([r.pid for r in test])
    camids = np.array([r.camid for r in test])
    split = mars_split(pids, [i for i, r in enumerate(test) if r.role == "query"])
    every = distance_matrix(features[split.query], features, metric)
    queries = stored[split.query]
    k = min(k, len(test))

    official = rank_gallery(queries, gallery.chunks(chunk_rows), k, metric)
    expected = np.argsort(every, axis=1, kind="stable")[:, :k]
    official_equal = int(np.all(official.rows == expected, axis=1).sum())

    in_standard = np.zeros(len(test), dtype=bool)
    in_standard[split.standard_gallery] = True

    def excluded(start: int, count: int) -> npt.NDArray[np.bool_]:
        rows = slice(start, start + count)
        same = ((pids[rows][None, :] == pids[split.query][:, None])
                & (camids[rows][None, :] == camids[split.query][:, None]))
        return ~in_standard[rows][None, :] | (pids[rows] == JUNK_PID)[None, :] | same

    standard = rank_gallery(queries, gallery.chunks(chunk_rows), k, metric, excluded)
    standard_equal = 0
    for q, row in enumerate(split.query):
        best, _ = top_k_matches(every[q, split.standard_gallery], int(pids[row]),
                                int(camids[row]), pids[split.standard_gallery],
                                camids[split.standard_gallery], k=k)
        got = standard.rows[q][standard.rows[q] >= 0]
        standard_equal += int(np.array_equal(got, split.standard_gallery[best]))
    return Agreement(queries=len(split.query), k=k,
                     feature_max_abs_diff=float(np.abs(stored - features).max()),
                     official_equal=official_equal, standard_equal=standard_equal)
