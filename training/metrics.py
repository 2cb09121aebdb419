"""Scoring re-ID rankings under the two MARS protocols.

Published MARS numbers come from two incompatible protocols, so every result here carries the
name of the protocol that produced it:

- ``standard`` (torchreid, Video-Person-ReID): gallery = test tracklets minus queries minus junk;
  per query, gallery entries with the query's identity *and* camera are dropped; queries left
  without a match are skipped (their number is reported); AP is non-interpolated (mean
  precision at each hit).
- ``official`` (MARS-evaluation, STE-NVAN): gallery = every test tracklet, queries included;
  junk = identity -1 or same identity and camera (the query itself included) and is skipped in
  the ranking; AP is the trapezoid rule starting from precision 1; every query counts.

Distractors (identity 0) are ordinary labels: they are never a real query's identity, so they
only ever appear as negatives.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import torch

from training.errors import TrainingError

# The MARS evaluation protocols (which gallery entries count for a query; see score_protocol).
EvalProtocol = Literal["standard", "official"]
Metric = Literal["euclidean", "cosine"]
PROTOCOLS: tuple[EvalProtocol, ...] = ("standard", "official")
METRICS: tuple[Metric, ...] = ("euclidean", "cosine")
JUNK_PID = -1
REPORTED_RANKS = (1, 5, 10, 20)

Features = npt.NDArray[np.floating] | torch.Tensor
FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

# Queries scored per block: bounds the (block x gallery) 8-byte sort and label buffers to a few
# hundred MB at MARS size.
_QUERY_BLOCK = 512
# Query rows per distance matmul: bounds the float64 product buffer at ~100 MB for a 12,180
# gallery.
_DISTANCE_CHUNK = 1024


class EvaluationError(TrainingError):
    """Inputs to evaluation are inconsistent (shapes, labels, protocol, metric)."""


@dataclass(frozen=True)
class ProtocolResult:
    """CMC and mAP under one named protocol, with how many queries the figures average over."""

    protocol: EvalProtocol
    cmc: npt.NDArray[np.float64]
    mAP: float  # noqa: N815 - the field's universal spelling
    num_queries: int
    num_with_match: int

    @property
    def num_counted(self) -> int:
        """Queries the averages run over: all for ``official``, those with a match otherwise."""
        return self.num_queries if self.protocol == "official" else self.num_with_match

    def rank(self, k: int) -> float:
        """CMC at rank ``k`` (1-based)."""
        if not 1 <= k <= len(self.cmc):
            raise EvaluationError(f"rank {k} is outside 1..{len(self.cmc)} (max_rank)")
        return float(self.cmc[k - 1])

    def as_dict(self) -> dict[str, object]:
        """JSON-ready figures; the protocol name travels with them."""
        ranks = {f"rank{k}": self.rank(k) for k in REPORTED_RANKS if k <= len(self.cmc)}
        return {
            "protocol": self.protocol,
            **ranks,
            "mAP": self.mAP,
            "num_queries": self.num_queries,
            "num_with_match": self.num_with_match,
            "num_counted": self.num_counted,
            "cmc": [float(v) for v in self.cmc],
        }

    def summary(self) -> str:
        """One line for logs, e.g. ``standard: R1 0.901 R5 ... mAP 0.823 (1840/1980 queries)``."""
        ranks = " ".join(f"R{k} {self.rank(k):.3f}" for k in REPORTED_RANKS if k <= len(self.cmc))
        return (
            f"{self.protocol}: {ranks} mAP {self.mAP:.3f} "
            f"({self.num_counted}/{self.num_queries} queries counted)"
        )


@dataclass(frozen=True)
class MarsSplit:
    """Row indices into the test tracklets for each role under each protocol."""

    query: IntArray
    standard_gallery: IntArray
    official_gallery: IntArray


def mars_split(pids: npt.ArrayLike, query_rows: npt.ArrayLike) -> MarsSplit:
    """Query and gallery rows of MARS's test tracklets (``query_rows`` 0-based, e.g. query_IDX-1).

    The standard gallery drops the queries and the junk tracklets; the official one keeps all.
    """
    pid_arr = np.asarray(pids)
    rows = np.asarray(query_rows, dtype=np.int64).ravel()
    if pid_arr.ndim != 1:
        raise EvaluationError(f"pids must be 1-D, got shape {pid_arr.shape}")
    if rows.size and (rows.min() < 0 or rows.max() >= pid_arr.size):
        raise EvaluationError(
            f"query_rows must lie in 0..{pid_arr.size - 1} (0-based), "
            f"got {rows.min()}..{rows.max()}"
        )
    if np.unique(rows).size != rows.size:
        raise EvaluationError("query_rows contains duplicates")
    is_query = np.zeros(pid_arr.size, dtype=bool)
    is_query[rows] = True
    standard = np.flatnonzero(~is_query & (pid_arr != JUNK_PID))
    return MarsSplit(
        query=rows,
        standard_gallery=standard.astype(np.int64),
        official_gallery=np.arange(pid_arr.size, dtype=np.int64),
    )


def compute_cmc_map(
    distmat: npt.ArrayLike,
    q_pids: npt.ArrayLike,
    g_pids: npt.ArrayLike,
    q_camids: npt.ArrayLike,
    g_camids: npt.ArrayLike,
    max_rank: int = 50,
) -> tuple[npt.NDArray[np.float64], float]:
    """CMC (length ``max_rank``) and mAP under the ``standard`` protocol.

    Use :func:`score_protocol` to also learn how many queries were skipped.
    """
    result = score_protocol(
        distmat, q_pids, g_pids, q_camids, g_camids, protocol="standard", max_rank=max_rank
    )
    return result.cmc, result.mAP


def score_protocol(
    distmat: npt.ArrayLike,
    q_pids: npt.ArrayLike,
    g_pids: npt.ArrayLike,
    q_camids: npt.ArrayLike,
    g_camids: npt.ArrayLike,
    *,
    protocol: EvalProtocol,
    max_rank: int = 50,
) -> ProtocolResult:
    """Score a (query x gallery) distance matrix under ``protocol``; smaller distance = closer.

    The caller chooses the gallery that the protocol prescribes (see :func:`mars_split`). Ties
    are broken by gallery order, so results are deterministic. Under ``official``, a query with
    no good match at all (never the case on MARS) counts as AP 0 and never matched.
    """
    if protocol not in PROTOCOLS:
        raise EvaluationError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    if max_rank < 1:
        raise EvaluationError(f"max_rank must be >= 1, got {max_rank}")
    dist = np.asarray(distmat)
    qp, gp, qc, gc = _labels(dist, q_pids, g_pids, q_camids, g_camids)

    first_hit = np.empty(len(qp), dtype=np.int64)  # 1-based rank among kept entries; 0 = none
    ap = np.empty(len(qp), dtype=np.float64)
    for rows in _blocks(len(qp), _QUERY_BLOCK):
        first_hit[rows], ap[rows] = _score_block(
            dist[rows], qp[rows], gp, qc[rows], gc, trapezoid=protocol == "official"
        )

    matched = first_hit > 0
    counted = np.ones_like(matched) if protocol == "official" else matched
    num_counted = int(counted.sum())
    hits_by_rank = np.bincount(first_hit[matched], minlength=max_rank + 1)[1 : max_rank + 1]
    cmc = np.cumsum(hits_by_rank) / max(num_counted, 1)
    mean_ap = float(ap[counted].sum() / num_counted) if num_counted else 0.0
    return ProtocolResult(
        protocol=protocol,
        cmc=cmc,
        mAP=mean_ap,
        num_queries=len(qp),
        num_with_match=int(matched.sum()),
    )


def top_k_matches(
    distances: npt.ArrayLike,
    q_pid: int,
    q_camid: int,
    g_pids: npt.ArrayLike,
    g_camids: npt.ArrayLike,
    k: int = 10,
) -> tuple[IntArray, npt.NDArray[np.bool_]]:
    """One query's ``k`` best gallery indices and whether each is correct, as both protocols
    see them: junk and same-identity-same-camera entries are left out, so a picture built
    from these shows exactly what CMC scored."""
    row = np.asarray(distances)
    gp, gc = np.asarray(g_pids, dtype=np.int64), np.asarray(g_camids, dtype=np.int64)
    if row.ndim != 1 or gp.shape != row.shape or gc.shape != row.shape:
        raise EvaluationError(
            f"distances, g_pids and g_camids must be 1-D of one length, got "
            f"{row.shape}, {gp.shape}, {gc.shape}"
        )
    if k < 1:
        raise EvaluationError(f"k must be >= 1, got {k}")
    kept = np.flatnonzero((gp != JUNK_PID) & ~((gp == q_pid) & (gc == q_camid)))
    best = kept[np.argsort(row[kept], kind="stable")[:k]]
    return best.astype(np.int64), gp[best] == q_pid


def _score_block(
    dist: npt.NDArray[np.floating],
    qp: IntArray,
    gp: IntArray,
    qc: IntArray,
    gc: IntArray,
    *,
    trapezoid: bool,
) -> tuple[IntArray, npt.NDArray[np.float64]]:
    """First-hit rank and AP for a block of queries from one sort per row.

    Only the hits (a few per query) are visited after the sort: a hit's rank among kept
    entries is its position minus the junk entries ranked above it.
    """
    num_rows, num_cols = dist.shape
    order = _stable_argsort(dist)
    ranked_pid = gp[order]
    same_pid = ranked_pid == qp[:, None]
    junk = (same_pid & (gc[order] == qc[:, None])) | (ranked_pid == JUNK_PID)
    good_keys = np.flatnonzero(same_pid & ~junk)  # row-major, so grouped by query, best first
    junk_keys = np.flatnonzero(junk)
    good_row, good_col = np.divmod(good_keys, num_cols)
    junk_above = np.searchsorted(junk_keys, good_keys) - np.searchsorted(
        junk_keys, good_row * num_cols
    )
    rank = good_col + 1 - junk_above

    num_good = np.bincount(good_row, minlength=num_rows)
    first = np.cumsum(num_good) - num_good  # index of each query's first hit
    hit = np.arange(len(good_keys)) - first[good_row] + 1  # hits so far, this one included
    precision = hit / rank
    if trapezoid:
        # Precision at the kept entry just above this hit; 1 above the top of the ranking.
        above = np.divide(hit - 1, rank - 1, out=np.ones(len(rank)), where=rank > 1)
        precision = (above + precision) / 2
    has_match = num_good > 0
    ap_sum = np.bincount(good_row, weights=precision, minlength=num_rows)
    ap = np.divide(ap_sum, num_good, out=np.zeros(num_rows), where=has_match)
    first_hit = np.zeros(num_rows, dtype=np.int64)
    first_hit[has_match] = rank[first[has_match]]
    return first_hit, ap


def _stable_argsort(dist: npt.NDArray[np.floating]) -> IntArray:
    """Row-wise argsort with ties in gallery order.

    float32 rows (what :func:`distance_matrix` returns) hold many exact ties at MARS size, so
    numpy's fast unstable sort is not enough and its stable one is much slower. Instead each
    entry becomes one uint64 whose high half orders like the float and whose low half is the
    column, and those keys are sorted with the fast sort: same order, at its speed.
    """
    if dist.dtype != np.float32:
        return np.argsort(dist, axis=1, kind="stable")
    keys = ranking_keys(dist)
    keys.sort(axis=1)
    return (keys & np.uint64(0xFFFF_FFFF)).astype(np.int64)


def ranking_keys(dist: npt.NDArray[np.float32], columns: npt.ArrayLike | None = None
                 ) -> npt.NDArray[np.uint64]:
    """One uint64 per float32 distance that sorts as the ranking does: by distance, ties by
    column (``columns``, the gallery index of each column of ``dist``, below 2**32; default
    0, 1, ...). Keys are unique, so any sort or partition of them gives the one stable order:
    the search ranks a gallery chunk by chunk with them and gets evaluation's ranking exactly."""
    bits = (dist + np.float32(0.0)).view(np.uint32)  # + 0.0 turns -0.0 into +0.0: they tie
    ordered = np.where(bits >> 31, ~bits, bits | np.uint32(0x8000_0000)).astype(np.uint64)
    index = np.arange(dist.shape[1]) if columns is None else np.asarray(columns)
    return (ordered << np.uint64(32)) | index.astype(np.uint64)


def key_distances(keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.float32]:
    """The float32 distances that :func:`ranking_keys` encoded."""
    ordered = (keys >> np.uint64(32)).astype(np.uint32)
    bits = np.where(ordered >> 31, ordered & np.uint32(0x7FFF_FFFF), ~ordered)
    return bits.view(np.float32)


def _labels(
    dist: np.ndarray,
    q_pids: npt.ArrayLike,
    g_pids: npt.ArrayLike,
    q_camids: npt.ArrayLike,
    g_camids: npt.ArrayLike,
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    if dist.ndim != 2:
        raise EvaluationError(f"distmat must be 2-D (queries x gallery), got shape {dist.shape}")
    num_q, num_g = dist.shape
    if num_g == 0:
        raise EvaluationError("distmat has an empty gallery (0 columns)")
    if np.isnan(dist).any():
        bad = np.argwhere(np.isnan(dist))[0]
        raise EvaluationError(f"distmat has NaN, first at query {bad[0]}, gallery {bad[1]}")
    arrays = {"q_pids": q_pids, "g_pids": g_pids, "q_camids": q_camids, "g_camids": g_camids}
    expected = {"q_pids": num_q, "g_pids": num_g, "q_camids": num_q, "g_camids": num_g}
    out: list[IntArray] = []
    for name, values in arrays.items():
        arr = np.asarray(values)
        if arr.shape != (expected[name],):
            raise EvaluationError(
                f"{name} must have shape ({expected[name]},) to match distmat {dist.shape}, "
                f"got {arr.shape}"
            )
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise EvaluationError(f"{name} must hold integers, got dtype {arr.dtype}")
        out.append(arr.astype(np.int64))
    return out[0], out[1], out[2], out[3]


def _blocks(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def distance_matrix(
    query: Features, gallery: Features, metric: Metric, chunk_size: int = _DISTANCE_CHUNK
) -> FloatArray:
    """(query x gallery) distances, ``metric`` = ``euclidean`` or ``cosine`` (1 - cosine sim).

    Computed in float64 and rounded to float32, so each distance is the same bits whatever
    else is computed with it: in float32, BLAS sums a dot product in another order for one
    query (a matrix-vector product) or a few gallery rows than for a full matrix, and the
    search, which scores one query against gallery chunks, must see the very distances (and
    ties) evaluation ranks.
    """
    if metric == "euclidean":
        return euclidean_distance(query, gallery, chunk_size)
    if metric == "cosine":
        return cosine_distance(query, gallery, chunk_size)
    raise EvaluationError(f"metric must be one of {METRICS}, got {metric!r}")


def euclidean_distance(
    query: Features, gallery: Features, chunk_size: int = _DISTANCE_CHUNK
) -> FloatArray:
    """Euclidean distances via |q|^2 + |g|^2 - 2 q.g, one matmul per chunk of queries."""
    q, g = _feature_pair(query, gallery)
    q_sq = (q * q).sum(dim=1, keepdim=True)
    g_sq = (g * g).sum(dim=1).unsqueeze(0)
    out = np.empty((len(q), len(g)), dtype=np.float32)
    for rows in _blocks(len(q), _checked_chunk(chunk_size)):
        sq = torch.addmm(q_sq[rows] + g_sq, q[rows], g.T, alpha=-2.0)
        out[rows] = sq.clamp_(min=0.0).sqrt_().numpy()
    return out


def cosine_distance(
    query: Features, gallery: Features, chunk_size: int = _DISTANCE_CHUNK
) -> FloatArray:
    """1 - cosine similarity, clamped at 0 against rounding; zero vectors sit at distance 1."""
    q, g = _feature_pair(query, gallery)
    q = torch.nn.functional.normalize(q, dim=1)
    g = torch.nn.functional.normalize(g, dim=1)
    out = np.empty((len(q), len(g)), dtype=np.float32)
    for rows in _blocks(len(q), _checked_chunk(chunk_size)):
        out[rows] = (1.0 - q[rows] @ g.T).clamp_(min=0.0).numpy()
    return out


def _feature_pair(query: Features, gallery: Features) -> tuple[torch.Tensor, torch.Tensor]:
    q = torch.as_tensor(query).detach().to("cpu", torch.float64)
    g = torch.as_tensor(gallery).detach().to("cpu", torch.float64)
    if q.ndim != 2 or g.ndim != 2:
        raise EvaluationError(
            f"features must be 2-D (n x dim), got query {tuple(q.shape)}, gallery {tuple(g.shape)}"
        )
    if q.shape[1] != g.shape[1]:
        raise EvaluationError(
            f"query features are {q.shape[1]}-d but gallery features are {g.shape[1]}-d"
        )
    return q, g


def _checked_chunk(chunk_size: int) -> int:
    if chunk_size < 1:
        raise EvaluationError(f"chunk_size must be >= 1, got {chunk_size}")
    return chunk_size
