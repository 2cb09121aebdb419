"""NVAN's training recipe (STE-NVAN's published settings) and the optimiser it implies."""

from dataclasses import dataclass

from torch import nn
from torch.optim import Adam
from torch.optim.lr_scheduler import StepLR


@dataclass(frozen=True)
class NVANRecipe:
    """Adam 1e-4, weight decay 5e-5, x0.1 every 50 epochs, 200 epochs, 8 ids x 4 tracklets x T=8."""

    lr: float = 1e-4
    weight_decay: float = 5e-5
    lr_step_epochs: int = 50
    lr_gamma: float = 0.1
    epochs: int = 200
    ids_per_batch: int = 8
    tracklets_per_id: int = 4
    seq_len: int = 8


def build_optimizer(model: nn.Module, recipe: NVANRecipe) -> tuple[Adam, StepLR]:
    """Adam over the trainable parameters (the frozen neck bias stays out) and its epoch StepLR."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = Adam(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    return optimizer, StepLR(optimizer, step_size=recipe.lr_step_epochs, gamma=recipe.lr_gamma)
