"""NVAN's training recipe: the one home of the defaults a training run starts from.

STE-NVAN's published settings (Adam 1e-4, weight decay 5e-5, x0.1 every 50 epochs, 200 epochs,
8 identities x 4 tracklets x T=8 frames) with reid-strong-baseline's additions (linear warm-up
over 10 epochs from 1% of the rate; identity cross-entropy with label smoothing 0.1). The
trainer's flags (``training.train.TrainConfig``) and the pipeline engine's configuration
(``training.pipeline.PipelineConfig``/``OptimConfig``) take their defaults from ``NVAN`` so
the same run is described the same way wherever it is configured.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class NVANRecipe:
    lr: float = 1e-4
    weight_decay: float = 5e-5
    warmup_epochs: float = 10.0
    warmup_start: float = 0.01  # factor of lr at step 0, rising linearly to 1
    lr_step_epochs: int = 50
    lr_gamma: float = 0.1
    label_smoothing: float = 0.1
    epochs: int = 200
    ids_per_batch: int = 8
    tracklets_per_id: int = 4
    seq_len: int = 8


NVAN = NVANRecipe()
