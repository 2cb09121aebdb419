"""NVAN's losses: soft-margin batch-hard triplet on the pre-BN feature + cross-entropy, summed.

The triplet term mines the hardest positive and negative of every anchor across the WHOLE
P x K batch, so it takes all the batch's embeddings at once; a pipeline that runs the batch as
micro-batches must gather their outputs before calling it (per-micro-batch mining is a
different loss).
"""

from typing import NamedTuple

import torch
from torch import Tensor
from torch.nn import functional

from training.errors import TrainingError


class LossInputError(TrainingError):
    """Embeddings, logits or labels that the re-ID losses cannot be computed on."""


class ReIDLossTerms(NamedTuple):
    total: Tensor
    triplet: Tensor
    cross_entropy: Tensor


def hardest_pairs(distances: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """Per anchor, the index of its farthest same-label sample and its nearest other-label one.

    The anchor itself is never its own positive, so every label needs two samples in the batch
    and at least two labels must be present (P x K sampling with K >= 2, P >= 2).
    """
    same = labels.unsqueeze(0) == labels.unsqueeze(1)
    positive = same & ~torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    lonely = labels[~positive.any(dim=1)]
    if lonely.numel():
        raise LossInputError(
            f"batch-hard triplet needs >= 2 samples per label; labels with one sample: "
            f"{sorted(set(lonely.tolist()))}"
        )
    if same.all():
        raise LossInputError(
            f"batch-hard triplet needs >= 2 distinct labels; the batch has only label "
            f"{labels[0].item()}"
        )
    hardest_positive = distances.masked_fill(~positive, float("-inf")).argmax(dim=1)
    hardest_negative = distances.masked_fill(same, float("inf")).argmin(dim=1)
    return hardest_positive, hardest_negative


def batch_hard_triplet_loss(embeddings: Tensor, labels: Tensor) -> Tensor:
    """mean over anchors of log(1 + exp(d(a, hardest p) - d(a, hardest n))), Euclidean d."""
    _check_batch(embeddings, labels, "embeddings")
    distances = torch.cdist(embeddings, embeddings)
    positive, negative = hardest_pairs(distances.detach(), labels)
    d_ap = distances.gather(1, positive.unsqueeze(1)).squeeze(1)
    d_an = distances.gather(1, negative.unsqueeze(1)).squeeze(1)
    return functional.softplus(d_ap - d_an).mean()


def reid_loss(
    features: Tensor, logits: Tensor, labels: Tensor, *, label_smoothing: float = 0.0
) -> ReIDLossTerms:
    """Triplet on the pre-BN features + cross-entropy on the logits, weighted 1:1 as in NVAN."""
    _check_batch(logits, labels, "logits")
    triplet = batch_hard_triplet_loss(features, labels)
    cross_entropy = functional.cross_entropy(logits, labels, label_smoothing=label_smoothing)
    return ReIDLossTerms(triplet + cross_entropy, triplet, cross_entropy)


def _check_batch(values: Tensor, labels: Tensor, what: str) -> None:
    if values.ndim != 2 or labels.ndim != 1 or len(values) != len(labels):
        raise LossInputError(
            f"{what} must be (batch, dim) with one label per row; got {what} "
            f"{tuple(values.shape)} and labels {tuple(labels.shape)}"
        )
