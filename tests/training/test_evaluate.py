"""Scoring under both MARS protocols: hand-built cases with known answers, and agreement with a
plain-loop reading of each protocol on random data."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.spatial.distance as ssd
import torch

from training import metrics
from training.evaluate import (
    EvalProtocol,
    EvaluationError,
    compute_cmc_map,
    cosine_distance,
    distance_matrix,
    euclidean_distance,
    mars_split,
    score_protocol,
)

# --- independent brute force: one query at a time, plain Python ---------------------------


def _brute_force(
    dist: np.ndarray,
    q_pids: list[int],
    g_pids: list[int],
    q_cams: list[int],
    g_cams: list[int],
    max_rank: int,
    protocol: str,
) -> tuple[list[float], float, int]:
    """Returns cmc, mAP and the number of queries with a match, walking each ranking."""
    cmc_sum = [0.0] * max_rank
    ap_sum = 0.0
    with_match = 0
    for i in range(len(q_pids)):
        row = dist[i].tolist()
        order = sorted(range(len(g_pids)), key=lambda j: (row[j], j))
        ranking = []  # True/False per kept gallery entry, best first
        for j in order:
            if g_pids[j] == -1 or (g_pids[j] == q_pids[i] and g_cams[j] == q_cams[i]):
                continue
            ranking.append(g_pids[j] == q_pids[i])
        num_good = sum(ranking)
        if num_good == 0:
            continue  # skipped by standard; counted as 0 by official
        with_match += 1
        first = ranking.index(True)
        for r in range(first, max_rank):
            cmc_sum[r] += 1
        ap = 0.0
        if protocol == "standard":
            hits = 0
            for r, good in enumerate(ranking, start=1):
                if good:
                    hits += 1
                    ap += hits / r
            ap /= num_good
        else:  # MARS-evaluation's compute_AP: trapezoids between consecutive recall levels
            old_recall, old_precision, hits = 0.0, 1.0, 0
            for r, good in enumerate(ranking, start=1):
                hits += good
                recall, precision = hits / num_good, hits / r
                ap += (recall - old_recall) * (old_precision + precision) / 2
                old_recall, old_precision = recall, precision
        ap_sum += ap
    counted = with_match if protocol == "standard" else len(q_pids)
    return [c / counted for c in cmc_sum], ap_sum / counted, with_match


def _random_problem(
    seed: int, num_q: int, num_g: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    q_pids = rng.integers(1, 15, num_q)
    g_pids = rng.integers(-1, 15, num_g)  # includes junk (-1) and distractors (0)
    q_cams = rng.integers(1, 4, num_q)
    g_cams = rng.integers(1, 4, num_g)
    dist = rng.random((num_q, num_g))
    return dist, q_pids, g_pids, q_cams, g_cams


# --- hand-built cases ----------------------------------------------------------------------


def _one_query(
    g_pids: list[int], g_cams: list[int], protocol: EvalProtocol, max_rank: int = 5
) -> tuple[np.ndarray, float, int]:
    """Query pid 1 camera 1; gallery ranked in the order given (distance = position)."""
    dist = np.arange(len(g_pids), dtype=np.float64)[None, :]
    result = score_protocol(dist, [1], g_pids, [1], g_cams, protocol=protocol, max_rank=max_rank)
    return result.cmc, result.mAP, result.num_with_match


@pytest.mark.parametrize("protocol", ["standard", "official"])
def test_same_identity_same_camera_is_not_a_match(protocol: EvalProtocol) -> None:
    # The nearest entry is the same person on the query's camera: excluded, so the true
    # cross-camera match moves up to rank 2 (behind a different person).
    cmc, m_ap, with_match = _one_query([1, 2, 1], [1, 2, 2], protocol)
    np.testing.assert_allclose(cmc, [0, 1, 1, 1, 1])
    assert with_match == 1
    assert m_ap == pytest.approx(0.5 if protocol == "standard" else 0.25)


@pytest.mark.parametrize("protocol", ["standard", "official"])
def test_junk_is_skipped_and_distractor_is_a_negative(protocol: EvalProtocol) -> None:
    # -1 (junk) first: skipped; 0 (distractor) second: a wrong answer at rank 1.
    cmc, m_ap, _ = _one_query([-1, 0, 1], [2, 2, 2], protocol)
    np.testing.assert_allclose(cmc, [0, 1, 1, 1, 1])
    assert m_ap == pytest.approx(0.5 if protocol == "standard" else 0.25)


def test_trapezoid_ap_against_hand_computation() -> None:
    # Kept ranking: hit, miss, hit (2 good). Non-interpolated AP = (1/1 + 2/3) / 2.
    # Trapezoid: first hit (1 + 1) / 2 = 1, second (1/2 + 2/3) / 2 = 7/12, AP = (1 + 7/12) / 2.
    g_pids, g_cams = [1, 3, 1], [2, 2, 3]
    assert _one_query(g_pids, g_cams, "standard")[1] == pytest.approx((1 + 2 / 3) / 2)
    assert _one_query(g_pids, g_cams, "official")[1] == pytest.approx((1 + 7 / 12) / 2)
    # Miss, hit, hit: the first hit at rank 2 earns 1/(2*2) under the trapezoid, 1/2 otherwise.
    g_pids, g_cams = [3, 1, 1], [2, 2, 3]
    assert _one_query(g_pids, g_cams, "standard")[1] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert _one_query(g_pids, g_cams, "official")[1] == pytest.approx((1 / 4 + 7 / 12) / 2)


def test_official_query_in_its_own_gallery_is_junk() -> None:
    # The official gallery contains the query itself at distance 0: it must not count as a hit.
    dist = np.array([[0.0, 0.2, 0.5]])
    result = score_protocol(dist, [7], [7, 8, 7], [1], [1, 2, 3], protocol="official", max_rank=3)
    np.testing.assert_allclose(result.cmc, [0, 1, 1])
    assert result.mAP == pytest.approx(0.25)


def test_queries_without_match_are_skipped_by_standard_and_counted_by_official() -> None:
    # Query 0 (pid 1) finds its match first; query 1 (pid 2) has only a same-camera entry.
    dist = np.array([[0.1, 0.2, 0.3], [0.3, 0.2, 0.1]])
    args = (dist, [1, 2], [1, 2, 5], [1, 1], [2, 1, 2])
    standard = score_protocol(*args, protocol="standard", max_rank=3)
    official = score_protocol(*args, protocol="official", max_rank=3)
    assert (standard.num_queries, standard.num_with_match, standard.num_counted) == (2, 1, 1)
    assert (official.num_queries, official.num_with_match, official.num_counted) == (2, 1, 2)
    np.testing.assert_allclose(standard.cmc, [1, 1, 1])
    assert standard.mAP == pytest.approx(1.0)
    np.testing.assert_allclose(official.cmc, [0.5, 0.5, 0.5])
    assert official.mAP == pytest.approx(0.5)


def test_compute_cmc_map_is_the_standard_protocol() -> None:
    dist, qp, gp, qc, gc = _random_problem(3, 12, 40)
    cmc, m_ap = compute_cmc_map(dist, qp, gp, qc, gc, max_rank=10)
    result = score_protocol(dist, qp, gp, qc, gc, protocol="standard", max_rank=10)
    assert cmc.shape == (10,)
    np.testing.assert_array_equal(cmc, result.cmc)
    assert m_ap == result.mAP


def test_cmc_beyond_gallery_size_stays_at_its_last_value() -> None:
    cmc, m_ap = compute_cmc_map(np.array([[0.3, 0.1]]), [1], [1, 2], [1], [2, 2], max_rank=50)
    assert cmc.shape == (50,)
    np.testing.assert_allclose(cmc, [0.0] + [1.0] * 49)
    assert m_ap == pytest.approx(0.5)


def test_ties_are_broken_by_gallery_order() -> None:
    dist = np.zeros((1, 3))
    cmc, _ = compute_cmc_map(dist, [1], [2, 1, 1], [1], [2, 2, 2], max_rank=3)
    np.testing.assert_allclose(cmc, [0, 1, 1])


def test_summary_and_dict_name_the_protocol() -> None:
    dist, qp, gp, qc, gc = _random_problem(4, 10, 30)
    result = score_protocol(dist, qp, gp, qc, gc, protocol="official", max_rank=20)
    assert result.summary().startswith("official: R1 ")
    figures = result.as_dict()
    assert figures["protocol"] == "official"
    assert figures["rank1"] == result.rank(1)
    assert figures["num_counted"] == 10


# --- agreement with the brute force on random data -----------------------------------------


@pytest.mark.parametrize("protocol", ["standard", "official"])
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("ties", [False, True])
def test_agrees_with_brute_force(protocol: EvalProtocol, seed: int, ties: bool) -> None:
    dist, qp, gp, qc, gc = _random_problem(seed, 60, 150)
    if ties:  # float32, as distance_matrix returns, with many exact ties
        dist = np.round(dist, 2).astype(np.float32)
    result = score_protocol(dist, qp, gp, qc, gc, protocol=protocol, max_rank=20)
    cmc, m_ap, with_match = _brute_force(
        dist, qp.tolist(), gp.tolist(), qc.tolist(), gc.tolist(), 20, protocol
    )
    np.testing.assert_allclose(result.cmc, cmc, rtol=1e-6)
    assert result.mAP == pytest.approx(m_ap, rel=1e-9)
    assert result.num_with_match == with_match


def test_query_blocks_do_not_change_the_result(monkeypatch: pytest.MonkeyPatch) -> None:
    dist, qp, gp, qc, gc = _random_problem(5, 50, 80)
    whole = score_protocol(dist, qp, gp, qc, gc, protocol="official")
    monkeypatch.setattr("training.metrics._QUERY_BLOCK", 7)
    blocked = score_protocol(dist, qp, gp, qc, gc, protocol="official")
    np.testing.assert_array_equal(whole.cmc, blocked.cmc)
    assert whole.mAP == pytest.approx(blocked.mAP, rel=1e-12)


# --- splits, distances, errors -------------------------------------------------------------


def test_mars_split_roles() -> None:
    pids = np.array([5, 5, -1, 0, 6, 6, -1])
    split = mars_split(pids, [0, 4])
    np.testing.assert_array_equal(split.query, [0, 4])
    np.testing.assert_array_equal(split.standard_gallery, [1, 3, 5])
    np.testing.assert_array_equal(split.official_gallery, np.arange(7))


def test_mars_split_rejects_out_of_range_rows() -> None:
    with pytest.raises(EvaluationError, match="0-based"):
        mars_split([1, 2, 3], [3])


def test_distances_match_scipy_for_numpy_and_torch_inputs() -> None:
    rng = np.random.default_rng(0)
    q, g = rng.normal(size=(13, 32)), rng.normal(size=(21, 32))
    np.testing.assert_allclose(euclidean_distance(q, g, chunk_size=4), ssd.cdist(q, g), atol=1e-4)
    np.testing.assert_allclose(
        cosine_distance(torch.from_numpy(q), torch.from_numpy(g), chunk_size=5),
        ssd.cdist(q, g, "cosine"),
        atol=1e-5,
    )
    assert distance_matrix(q, g, "cosine").dtype == np.float32
    assert cosine_distance(q, q).min() >= 0.0  # rounding never makes a distance negative


def test_euclidean_self_distance_is_near_zero_not_nan() -> None:
    # |q|^2 + |g|^2 - 2 q.g cancels to tiny negatives in float32; they must clamp to 0, not NaN.
    x = np.random.default_rng(0).normal(scale=3.0, size=(50, 2048)).astype(np.float32)
    d = euclidean_distance(x, x)
    assert np.isfinite(d).all()
    off_diagonal = d[~np.eye(50, dtype=bool)]
    assert np.diag(d).max() < 1e-3 * off_diagonal.min()


def test_errors_name_the_argument_at_fault() -> None:
    dist = np.zeros((2, 3))
    with pytest.raises(EvaluationError, match="g_camids"):
        compute_cmc_map(dist, [1, 2], [1, 2, 3], [1, 1], [1, 2])
    with pytest.raises(EvaluationError, match="protocol"):
        score_protocol(dist, [1, 2], [1, 2, 3], [1, 1], [1, 2, 3], protocol="cuhk")  # type: ignore[arg-type]
    dist[1, 2] = np.nan
    with pytest.raises(EvaluationError, match="NaN, first at query 1, gallery 2"):
        compute_cmc_map(dist, [1, 2], [1, 2, 3], [1, 1], [1, 2, 3])
    with pytest.raises(EvaluationError, match="metric"):
        distance_matrix(np.zeros((1, 2)), np.zeros((1, 2)), "manhattan")  # type: ignore[arg-type]
    with pytest.raises(EvaluationError, match="8-d"):
        euclidean_distance(np.zeros((1, 4)), np.zeros((1, 8)))


def test_float32_fast_sort_orders_like_a_stable_argsort() -> None:
    rng = np.random.default_rng(6)
    dist = rng.normal(scale=1e-3, size=(40, 500)).astype(np.float32)
    dist[:, :100] = np.round(dist[:, :100], 4)  # many exact ties
    dist[:, 100:110] = 0.0
    dist[:, 110:120] = -0.0
    dist[:, 120:125] = np.inf
    expected = np.argsort(dist, axis=1, kind="stable")
    np.testing.assert_array_equal(metrics._stable_argsort(dist), expected)
