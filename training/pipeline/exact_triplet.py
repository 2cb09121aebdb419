"""The batch-hard triplet over the WHOLE P x K batch, exact under micro-batched pipelining.

Batch-hard mining needs every embedding of the batch at once, but a pipeline's last stage sees
one micro-batch at a time, and mining inside each micro-batch is a different, weaker loss (each
anchor's hardest negative is searched among B/M clips instead of B; with identity-major P x K
batches a micro-batch can even hold a single identity, where the loss is undefined).

Method chosen: a GradCache-style two-pass step (Gao et al. 2021, arXiv:2101.06983), because it
is exact under ANY schedule (GPipe and 1F1B here), whereas injecting the full-batch gradient
from inside GPipe's loss function only works when every forward precedes every backward.
  1. Forward-only pass through the pipeline (no autograd graph kept, every stage's BatchNorm
     buffers saved and restored around it) to collect all B embeddings on the last stage.
  2. The last stage computes the full-batch triplet loss and G = dL_triplet / d embeddings.
  3. The normal pipelined training pass, whose per-micro-batch loss is
     <embeddings_i, G_i> + CE_i / M: its gradient w.r.t. every parameter summed over the
     micro-batches is exactly that of triplet(all embeddings) + CE(all logits), since pass 1
     and pass 3 compute the same embeddings (same weights, same inputs, same per-micro-batch
     BatchNorm statistics).
Cost: one extra forward of every stage per step plus its pipeline fill and drain, about a
third of the compute of a forward+backward and no extra activation memory (the pass keeps no
graph). Measured by benchmarks/pipeline.py (``exact_pass_frac``; small preset, K=2, M=4 or 8,
2-core CPU): 23-30% of the pipelined step's wall time. With one micro-batch the last stage
already holds the whole batch, so the engine skips pass 1: the step is the plain step.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

import torch
from torch import Tensor, nn
from torch.nn import functional

from training.losses import batch_hard_triplet_loss


class MicroTarget(NamedTuple):
    """What the last stage needs for one micro-batch besides the network's output."""

    labels: Tensor
    # dL_triplet/d(embeddings) of this micro-batch's rows of the full batch; None when the
    # micro-batch IS the whole batch and the triplet is computed directly.
    feature_grad: Tensor | None


def triplet_and_feature_grad(features: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """The full-batch triplet loss and its gradient w.r.t. every embedding (rows of features)."""
    leaf = features.detach().requires_grad_(True)
    with torch.enable_grad():
        loss = batch_hard_triplet_loss(leaf, labels)
        (grad,) = torch.autograd.grad(loss, leaf)
    return loss.detach(), grad


class MicrobatchLoss:
    """The schedule's ``loss_fn``: each micro-batch's exact share of the full-batch loss.

    Shares add up to the full loss's gradient, so the schedule must not rescale gradients
    (``scale_grads=False``). The cross-entropy (and, with one micro-batch, the triplet) values
    are recorded for the step's statistics. Called with gradients disabled (the forward-only
    pass), it has nothing to contribute and returns zero.
    """

    def __init__(self, microbatches: int, label_smoothing: float = 0.0) -> None:
        self.microbatches = microbatches
        self.label_smoothing = label_smoothing
        self.cross_entropy: list[Tensor] = []
        self.triplet: list[Tensor] = []

    def reset(self) -> None:
        self.cross_entropy.clear()
        self.triplet.clear()

    def __call__(self, output: tuple[Tensor, Tensor], target: MicroTarget) -> Tensor:
        features, logits = output
        if not torch.is_grad_enabled():
            return logits.new_zeros(())
        cross_entropy = functional.cross_entropy(
            logits, target.labels, label_smoothing=self.label_smoothing
        )
        self.cross_entropy.append(cross_entropy.detach())
        if target.feature_grad is None:
            triplet = batch_hard_triplet_loss(features, target.labels)
            self.triplet.append(triplet.detach())
            return triplet + cross_entropy
        surrogate = (features * target.feature_grad).sum()
        return surrogate + cross_entropy / self.microbatches


@contextmanager
def preserved_buffers(module: nn.Module) -> Iterator[None]:
    """Restore every buffer (BatchNorm running statistics and counters) on exit, so an extra
    training-mode forward leaves the model exactly as it found it."""
    saved = [(buffer, buffer.detach().clone()) for buffer in module.buffers()]
    try:
        yield
    finally:
        with torch.no_grad():
            for buffer, value in saved:
                buffer.copy_(value)
