"""k-reciprocal re-ranking: agreement with a set-by-set reading of the paper, and a hand-built
case where re-ranking provably fixes a wrong first match."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.spatial.distance as ssd

from training.evaluate import compute_cmc_map
from training.rerank import RerankError, k_reciprocal_rerank


def _rerank_by_the_paper(
    q_g: np.ndarray, q_q: np.ndarray, g_g: np.ndarray, k1: int, k2: int, lambda_value: float
) -> np.ndarray:
    """Zhong et al. 2017, Sections 3.1-3.4, with Python sets and loops over every item."""
    num_q, num_g = q_g.shape
    n = num_q + num_g
    full = np.block([[q_q, q_g], [q_g.T, g_g]])
    d = [[full[p][j] / full[p].max() for j in range(n)] for p in range(n)]

    def neighbours(p: int, k: int) -> list[int]:  # N(p, k): p itself, then its k nearest
        return sorted(range(n), key=lambda j: (j != p, d[p][j]))[: k + 1]

    def reciprocal(p: int, k: int) -> set[int]:  # R(p, k), Eq. (3)
        return {g for g in neighbours(p, k) if p in neighbours(g, k)}

    half = int(np.around(k1 / 2))
    vectors = []
    for p in range(n):
        r_star = set(reciprocal(p, k1))  # Eq. (4)
        for q in reciprocal(p, k1):
            r_half = reciprocal(q, half)
            if len(r_half & reciprocal(p, k1)) >= 2 / 3 * len(r_half):
                r_star |= r_half
        weights = {j: math.exp(-d[p][j]) for j in r_star}  # Eq. (7)
        total = sum(weights.values())
        vectors.append([weights.get(j, 0.0) / total for j in range(n)])
    expanded = [  # local query expansion, Eq. (11)
        [sum(vectors[m][j] for m in neighbours(p, k2 - 1)) / k2 for j in range(n)] for p in range(n)
    ]
    out = np.empty((num_q, num_g))
    for i in range(num_q):
        for g in range(num_g):
            a, b = expanded[i], expanded[num_q + g]
            jaccard = 1 - sum(map(min, a, b)) / sum(map(max, a, b))  # Eq. (10)
            out[i, g] = (1 - lambda_value) * jaccard + lambda_value * d[i][num_q + g]  # Eq. (12)
    return out


def _distances(q: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return ssd.cdist(q, g), ssd.cdist(q, q), ssd.cdist(g, g)


@pytest.mark.parametrize(
    ("seed", "k1", "k2", "lambda_value"),
    [(0, 20, 6, 0.3), (1, 5, 3, 0.0), (2, 7, 1, 0.5), (3, 4, 2, 1.0)],
)
def test_matches_the_papers_definition(seed: int, k1: int, k2: int, lambda_value: float) -> None:
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(6, 4))
    q = centres[rng.integers(0, 6, 9)] + rng.normal(size=(9, 4))
    g = centres[rng.integers(0, 6, 25)] + rng.normal(size=(25, 4))
    q_g, q_q, g_g = _distances(q, g)
    got = k_reciprocal_rerank(q_g, q_q, g_g, k1=k1, k2=k2, lambda_value=lambda_value)
    want = _rerank_by_the_paper(q_g, q_q, g_g, k1, k2, lambda_value)
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_lambda_one_keeps_the_original_ranking() -> None:
    rng = np.random.default_rng(4)
    q_g, q_q, g_g = _distances(rng.normal(size=(5, 3)), rng.normal(size=(12, 3)))
    got = k_reciprocal_rerank(q_g, q_q, g_g, k1=4, k2=2, lambda_value=1.0)
    np.testing.assert_array_equal(np.argsort(got, axis=1), np.argsort(q_g, axis=1))


def test_fixes_a_wrong_first_match() -> None:
    # Person A: five gallery tracklets near x=0. Person B: four near x=10 and one outlier b* at
    # x=5.5. The query (person A) at x=4 is closest to b*, so the plain ranking is wrong at
    # rank 1. With k1=6, N(query) = {b*, all of A}, and each A's 6 neighbours are the other
    # four A's, the query and b*: A's reciprocal sets are A plus the query, sharing almost all
    # of R(query), while R(b*) is b*, the query, B's four and one A. The Jaccard term (0.7) then
    # puts every A ahead of b*, which the original term (0.3, distances 1.5 vs ~4) cannot undo.
    jitter = np.array([0.0, 0.05, -0.05, 0.1, -0.1])
    a = np.stack([jitter, jitter[::-1]], axis=1)
    b = np.stack([10.0 + jitter[:4], jitter[:4]], axis=1)
    gallery = np.vstack([a, b, [[5.5, 0.0]]])
    g_pids = np.array([1] * 5 + [2] * 5)
    query = np.array([[4.0, 0.0]])
    q_g, q_q, g_g = _distances(query, gallery)
    assert g_pids[np.argmin(q_g[0])] == 2  # the outlier wins without re-ranking

    reranked = k_reciprocal_rerank(q_g, q_q, g_g, k1=6, k2=1, lambda_value=0.3)
    cams = ([1], np.full(10, 2))
    cmc_before, map_before = compute_cmc_map(q_g, [1], g_pids, cams[0], cams[1], max_rank=5)
    cmc_after, map_after = compute_cmc_map(reranked, [1], g_pids, cams[0], cams[1], max_rank=5)
    assert (cmc_before[0], cmc_after[0]) == (0.0, 1.0)
    assert map_after == pytest.approx(1.0)
    assert map_before < 0.9


def test_rejects_inconsistent_shapes_and_parameters() -> None:
    q_g, q_q, g_g = np.ones((2, 3)), np.ones((2, 2)), np.ones((3, 3))
    with pytest.raises(RerankError, match="g_g"):
        k_reciprocal_rerank(q_g, q_q, np.ones((2, 2)))
    with pytest.raises(RerankError, match="k1"):
        k_reciprocal_rerank(q_g, q_q, g_g, k1=0)
    with pytest.raises(RerankError, match="lambda_value"):
        k_reciprocal_rerank(q_g, q_q, g_g, lambda_value=1.5)
    with pytest.raises(RerankError, match="q_q must hold finite, non-negative"):
        k_reciprocal_rerank(q_g, -q_q, g_g)
