"""Soft-margin batch-hard triplet + cross-entropy, checked against brute-force references."""

import math

import pytest
import torch
from torch.nn import functional

from training.losses import (
    LossInputError,
    batch_hard_triplet_loss,
    hardest_pairs,
    reid_loss,
)


def brute_force_triplet(embeddings: torch.Tensor, labels: list[int]) -> float:
    """One anchor at a time, in plain Python floats."""
    rows = embeddings.tolist()
    n = len(rows)

    def dist(i: int, j: int) -> float:
        return math.sqrt(sum((a - b) ** 2 for a, b in zip(rows[i], rows[j], strict=True)))

    total = 0.0
    for a in range(n):
        d_ap = max(dist(a, p) for p in range(n) if p != a and labels[p] == labels[a])
        d_an = min(dist(a, q) for q in range(n) if labels[q] != labels[a])
        total += math.log1p(math.exp(d_ap - d_an))
    return total / n


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_triplet_matches_brute_force(seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(4).repeat_interleave(3)[torch.randperm(12, generator=gen)]
    embeddings = torch.randn(12, 16, generator=gen, dtype=torch.float64)
    loss = batch_hard_triplet_loss(embeddings, labels)
    assert loss.item() == pytest.approx(brute_force_triplet(embeddings, labels.tolist()), rel=1e-9)


def test_hardest_pairs_are_the_farthest_positive_and_nearest_negative() -> None:
    # Points on a line; label 0 at 0, 1, 5 and label 1 at 2, 9, 10.
    points = torch.tensor([[0.0], [1.0], [5.0], [2.0], [9.0], [10.0]])
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    positive, negative = hardest_pairs(torch.cdist(points, points), labels)
    assert positive.tolist() == [2, 2, 0, 5, 3, 3]
    assert negative.tolist() == [3, 3, 3, 1, 2, 2]


def test_triplet_gradient_matches_finite_differences() -> None:
    gen = torch.Generator().manual_seed(4)
    embeddings = torch.randn(8, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    assert torch.autograd.gradcheck(lambda e: batch_hard_triplet_loss(e, labels), (embeddings,))


def test_duplicate_embeddings_give_finite_gradients() -> None:
    embeddings = torch.zeros(4, 8, requires_grad=True)
    loss = batch_hard_triplet_loss(embeddings, torch.tensor([0, 0, 1, 1]))
    loss.backward()
    assert loss.item() == pytest.approx(math.log(2))
    assert embeddings.grad is not None
    assert torch.isfinite(embeddings.grad).all()


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_reid_loss_is_triplet_plus_cross_entropy(smoothing: float) -> None:
    gen = torch.Generator().manual_seed(0)
    features = torch.randn(8, 32, generator=gen)
    logits = torch.randn(8, 5, generator=gen)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    terms = reid_loss(features, logits, labels, label_smoothing=smoothing)
    expected_ce = functional.cross_entropy(logits, labels, label_smoothing=smoothing)
    torch.testing.assert_close(terms.cross_entropy, expected_ce)
    torch.testing.assert_close(terms.triplet, batch_hard_triplet_loss(features, labels))
    torch.testing.assert_close(terms.total, terms.triplet + terms.cross_entropy)


def test_whole_batch_mining_differs_from_per_micro_batch_mining() -> None:
    """Why the pipeline must gather every micro-batch's embeddings before the triplet term."""
    gen = torch.Generator().manual_seed(3)
    embeddings = torch.randn(16, 8, generator=gen)
    labels = torch.arange(4).repeat(4)  # each micro-batch of 8 still holds pairs of every id
    whole = batch_hard_triplet_loss(embeddings, labels)
    halves = [batch_hard_triplet_loss(embeddings[i : i + 8], labels[i : i + 8]) for i in (0, 8)]
    assert abs(whole.item() - sum(h.item() for h in halves) / 2) > 1e-3


def test_unusable_batches_are_reported() -> None:
    embeddings = torch.randn(4, 3)
    with pytest.raises(LossInputError, match=r"labels with one sample: \[2, 3\]"):
        batch_hard_triplet_loss(embeddings, torch.tensor([0, 0, 2, 3]))
    with pytest.raises(LossInputError, match="only label 7"):
        batch_hard_triplet_loss(embeddings, torch.tensor([7, 7, 7, 7]))
    with pytest.raises(LossInputError, match=r"embeddings \(4, 3\) and labels \(3,\)"):
        batch_hard_triplet_loss(embeddings, torch.tensor([0, 0, 1]))
    with pytest.raises(LossInputError, match=r"logits \(4,\)"):
        reid_loss(embeddings, torch.zeros(4), torch.tensor([0, 0, 1, 1]))
