"""k-reciprocal re-ranking (Zhong et al., "Re-ranking Person Re-identification with k-reciprocal
Encoding", CVPR 2017).

Why: a gallery item that is a query's neighbour *and* has the query among its own neighbours is
far more likely to be the same person than one that is merely close. The final distance blends
the Jaccard distance between k-reciprocal neighbourhoods with the original distance.

Conventions, following the paper and its authors' code: distances are divided by their row's
maximum first; every neighbour list N(p, k) holds p itself plus its k nearest others; R(p, k) =
{g in N(p, k) : p in N(g, k)}; R*(p, k) adds R(q, round(k/2)) for each q in R(p, k) that shares
at least two thirds of it with R(p, k); V(p, g) = exp(-d(p, g)) on R*(p, k), normalised to sum 1;
local query expansion averages V over N(p, k2 - 1) (p and its k2 - 1 nearest); the Jaccard
distance is 1 - sum(min) / sum(max).

Everything is sparse (about k1 non-zeros per row) except the (N x N) original distances, so
memory grows as N^2 float32 for N = queries + gallery: ~0.5 GB at MARS's 1,980 + 9,330.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from training.errors import TrainingError

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

# Rows per argpartition call: bounds its int64 buffer at ~50 MB for MARS-size N.
_ROW_BLOCK = 512
# Query rows per Jaccard join: bounds the (entry pairs) buffers at a few hundred MB.
_JACCARD_BLOCK = 256


class RerankError(TrainingError):
    """Re-ranking inputs are inconsistent (matrix shapes, k1, k2, lambda_value)."""


def k_reciprocal_rerank(
    q_g: npt.ArrayLike,
    q_q: npt.ArrayLike,
    g_g: npt.ArrayLike,
    k1: int = 20,
    k2: int = 6,
    lambda_value: float = 0.3,
) -> FloatArray:
    """Re-ranked (query x gallery) distances from query-gallery, query-query, gallery-gallery ones.

    ``lambda_value`` weighs the (row-normalised) original distance against the Jaccard distance;
    ``k2 = 1`` turns local query expansion off.
    """
    if k1 < 1 or k2 < 1:
        raise RerankError(f"k1 and k2 must be >= 1, got k1={k1}, k2={k2}")
    if not 0.0 <= lambda_value <= 1.0:
        raise RerankError(f"lambda_value must lie in [0, 1], got {lambda_value}")
    dist = _joint_distances(q_g, q_q, g_g)
    num_q = np.asarray(q_g).shape[0]
    n = dist.shape[0]
    half = int(np.around(k1 / 2))
    nearest = _nearest(dist, min(max(k1, k2 - 1), n - 1) + 1)

    reciprocal = _reciprocal(nearest, k1 + 1, n)
    reciprocal_half = _reciprocal(nearest, half + 1, n)
    expanded = _expand(reciprocal, reciprocal_half)

    rows, cols = expanded.nonzero()
    weights = np.exp(-dist[rows, cols])
    v = sp.csr_array((weights, (rows, cols)), shape=(n, n), dtype=np.float64)
    v = sp.csr_array(v.multiply(1.0 / v.sum(axis=1)[:, None]))
    if k2 > 1:
        v = sp.csr_array(_indicator(nearest, k2, n) @ v) / min(k2, n)

    jaccard = _jaccard(v, num_q)
    final = (1.0 - lambda_value) * jaccard + lambda_value * dist[:num_q, num_q:]
    return final.astype(np.float32)


def _joint_distances(q_g: npt.ArrayLike, q_q: npt.ArrayLike, g_g: npt.ArrayLike) -> FloatArray:
    """The (N x N) distance matrix over queries then gallery, each row divided by its max."""
    qg, qq, gg = (np.asarray(m, dtype=np.float32) for m in (q_g, q_q, g_g))
    if qg.ndim != 2:
        raise RerankError(f"q_g must be 2-D (queries x gallery), got shape {qg.shape}")
    num_q, num_g = qg.shape
    if qq.shape != (num_q, num_q):
        raise RerankError(f"q_q must have shape {(num_q, num_q)} to match q_g, got {qq.shape}")
    if gg.shape != (num_g, num_g):
        raise RerankError(f"g_g must have shape {(num_g, num_g)} to match q_g, got {gg.shape}")
    if num_q == 0 or num_g == 0:
        raise RerankError(f"need at least one query and one gallery item, got q_g {qg.shape}")
    for name, matrix in (("q_g", qg), ("q_q", qq), ("g_g", gg)):
        if not np.isfinite(matrix).all() or (matrix < 0).any():
            raise RerankError(f"{name} must hold finite, non-negative distances")
    dist = np.block([[qq, qg], [qg.T, gg]])
    row_max = dist.max(axis=1, keepdims=True)
    dist /= np.where(row_max > 0, row_max, 1.0)
    return dist


def _nearest(dist: FloatArray, count: int) -> IntArray:
    """Each row's ``count`` nearest columns, nearest first, the row's own index always first."""
    n = dist.shape[0]
    out = np.empty((n, count), dtype=np.int64)
    diagonal = dist.diagonal().copy()
    np.fill_diagonal(dist, -1.0)  # self sorts first even when another item is at distance 0
    try:
        for start in range(0, n, _ROW_BLOCK):
            block = dist[start : start + _ROW_BLOCK]
            if count < n:
                part = np.argpartition(block, count - 1, axis=1)[:, :count]
            else:
                part = np.broadcast_to(np.arange(n), block.shape)
            order = np.argsort(np.take_along_axis(block, part, axis=1), axis=1, kind="stable")
            out[start : start + len(block)] = np.take_along_axis(part, order, axis=1)
    finally:
        np.fill_diagonal(dist, diagonal)
    return out


def _indicator(nearest: IntArray, count: int, n: int) -> sp.csr_array:
    """Sparse 0/1 matrix with row p marking N(p, count - 1): p and its count - 1 nearest."""
    cols = nearest[:, : min(count, nearest.shape[1])]
    rows = np.repeat(np.arange(n), cols.shape[1])
    return sp.csr_array((np.ones(cols.size), (rows, cols.ravel())), shape=(n, n))


def _reciprocal(nearest: IntArray, count: int, n: int) -> sp.csr_array:
    """Row p marks R(p, count - 1): neighbours g of p that also have p among their neighbours."""
    forward = _indicator(nearest, count, n)
    return sp.csr_array(forward.multiply(forward.T))


def _expand(reciprocal: sp.csr_array, reciprocal_half: sp.csr_array) -> sp.csr_array:
    """R*(p): R(p) plus each candidate's half-size set that overlaps R(p) by >= 2/3 of its size."""
    overlap = sp.csr_array((reciprocal @ reciprocal_half.T).multiply(reciprocal))
    half_size = np.asarray(reciprocal_half.sum(axis=1)).ravel()
    overlap = overlap.tocoo()
    keep = 3 * overlap.data >= 2 * half_size[overlap.col]
    accepted = sp.csr_array(
        (np.ones(int(keep.sum())), (overlap.row[keep], overlap.col[keep])), shape=overlap.shape
    )
    return sp.csr_array((reciprocal + accepted @ reciprocal_half) > 0)


def _jaccard(v: sp.csr_array, num_q: int) -> npt.NDArray[np.float64]:
    """1 - sum_j min(V[q, j], V[g, j]) / sum_j max(...) for query rows q and gallery rows g.

    Rows of V sum to 1, so sum(max) = 2 - sum(min); the min-sum only gets contributions from
    columns where both rows are non-zero, found by joining the query entries with the gallery
    entries column by column.
    """
    num_g = v.shape[0] - num_q
    gallery = sp.csc_array(v[num_q:])
    g_ptr, g_rows, g_vals = gallery.indptr, gallery.indices, gallery.data
    per_col = np.diff(g_ptr)
    min_sum = np.zeros((num_q, num_g))
    for start in range(0, num_q, _JACCARD_BLOCK):
        block = sp.coo_array(v[start : min(start + _JACCARD_BLOCK, num_q)])
        pairs = per_col[block.col]
        entry = np.repeat(np.arange(block.nnz), pairs)
        # Position of each pair's gallery entry inside the CSC arrays of its column.
        first_of_entry = np.repeat(np.cumsum(pairs) - pairs, pairs)
        pos = g_ptr[block.col[entry]] + np.arange(entry.size) - first_of_entry
        mins = np.minimum(block.data[entry], g_vals[pos])
        flat = block.row[entry] * num_g + g_rows[pos]
        rows_here = block.shape[0]
        min_sum[start : start + rows_here] = np.bincount(
            flat, weights=mins, minlength=rows_here * num_g
        ).reshape(rows_here, num_g)
    return 1.0 - min_sum / (2.0 - min_sum)
