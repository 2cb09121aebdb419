"""Adam with linear warm-up and step decay, one optimiser per pipeline stage.

Each stage steps its own parameters, so the optimiser needs no communication; every stage
builds the same schedule and steps it once per training step, which keeps their learning
rates identical. Defaults: NVAN's recipe (``training.model.NVAN``).
"""

import math
from dataclasses import dataclass

from torch import nn
from torch.optim import Adam
from torch.optim.lr_scheduler import LambdaLR

from training.model import NVAN
from training.pipeline.errors import PipelineError


@dataclass(frozen=True)
class OptimConfig:
    """The learning-rate schedule in epochs; ``steps_per_epoch`` converts it to steps."""

    lr: float = NVAN.lr
    weight_decay: float = NVAN.weight_decay
    warmup_epochs: float = NVAN.warmup_epochs
    warmup_start: float = NVAN.warmup_start  # factor of lr at step 0, rising linearly to 1
    decay_epochs: int = NVAN.lr_step_epochs
    gamma: float = NVAN.lr_gamma
    steps_per_epoch: int = 1

    def __post_init__(self) -> None:
        checks = [
            (self.lr > 0, f"lr must be > 0, got {self.lr}"),
            (self.weight_decay >= 0, f"weight_decay must be >= 0, got {self.weight_decay}"),
            (self.warmup_epochs >= 0, f"warmup_epochs must be >= 0, got {self.warmup_epochs}"),
            (
                0 < self.warmup_start <= 1,
                f"warmup_start must be in (0, 1], got {self.warmup_start}",
            ),
            (self.decay_epochs >= 1, f"decay_epochs must be >= 1, got {self.decay_epochs}"),
            (0 < self.gamma <= 1, f"gamma must be in (0, 1], got {self.gamma}"),
            (
                self.steps_per_epoch >= 1,
                f"steps_per_epoch must be >= 1, got {self.steps_per_epoch}",
            ),
        ]
        errors = [message for ok, message in checks if not ok]
        if errors:
            raise PipelineError("invalid OptimConfig: " + "; ".join(errors))

    def lr_factor(self, step: int) -> float:
        """The multiple of ``lr`` used at optimiser step ``step`` (0-based)."""
        epoch = step / self.steps_per_epoch
        warmup = 1.0
        if epoch < self.warmup_epochs:
            warmup = self.warmup_start + (1 - self.warmup_start) * epoch / self.warmup_epochs
        return warmup * self.gamma ** math.floor(epoch / self.decay_epochs)


def build_optimizer(module: nn.Module, config: OptimConfig) -> tuple[Adam, LambdaLR]:
    """Adam over ``module``'s trainable parameters and its per-step schedule."""
    params = [p for p in module.parameters() if p.requires_grad]
    optimizer = Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    # A lambda, not the bound method: LambdaLR then keeps the schedule out of its state_dict,
    # which holds only the step count; the schedule itself comes from the configuration.
    return optimizer, LambdaLR(optimizer, lambda step: config.lr_factor(step))
