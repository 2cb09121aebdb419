"""What the pipeline is: stages, micro-batches, schedule, optimiser; one typed configuration."""

import itertools
from dataclasses import dataclass, field
from typing import Literal

from training.model import NVAN
from training.pipeline.errors import PipelineError
from training.pipeline.optim import OptimConfig
from training.pipeline.precision import AMP_CHOICES, AmpName

ScheduleName = Literal["gpipe", "1f1b"]
SCHEDULES: tuple[ScheduleName, ...] = ("gpipe", "1f1b")


@dataclass(frozen=True)
class PipelineConfig:
    """K stages x M micro-batches per step; world size / K data-parallel replicas of it.

    Schedules: "gpipe" runs every forward, then every backward, so each stage holds the
    activations of all M micro-batches; "1f1b" interleaves them once the pipeline is full and
    holds at most K - stage_index (it needs M >= K). Same bubble, (K-1)/(M+K-1); 1f1b's largest
    stage peaks well below gpipe's (benchmarks/pipeline.py measures both).

    ``boundaries`` fixes the split by hand as unit indices (0, b1, ..., n_units), e.g. to resume
    a checkpoint on the split it was saved with; None (the default) profiles every unit on the
    target device and picks the contiguous split that minimises the slowest stage.
    """

    stages: int = 1
    microbatches: int = 1
    schedule: ScheduleName = "gpipe"
    boundaries: tuple[int, ...] | None = None
    profile_repeats: int = 3
    label_smoothing: float = NVAN.label_smoothing  # of the identity cross-entropy
    optim: OptimConfig = field(default_factory=OptimConfig)
    amp: AmpName | None = None  # autocast dtype of each stage's forward (``precision``)
    channels_last: bool = False  # NHWC convolution weights (CUDA)
    compile: bool = False  # torch.compile each stage

    def __post_init__(self) -> None:
        checks = [
            (self.stages >= 1, f"stages must be >= 1, got {self.stages}"),
            (self.microbatches >= 1, f"microbatches must be >= 1, got {self.microbatches}"),
            (
                self.schedule in SCHEDULES,
                f"schedule must be one of {SCHEDULES}, got {self.schedule!r}",
            ),
            (
                0.0 <= self.label_smoothing < 1.0,
                f"label_smoothing must be in [0, 1), got {self.label_smoothing}",
            ),
            (
                self.amp is None or self.amp in AMP_CHOICES,
                f"amp must be one of {AMP_CHOICES} or None, got {self.amp!r}",
            ),
            (
                self.profile_repeats >= 1,
                f"profile_repeats must be >= 1, got {self.profile_repeats}",
            ),
            (
                self.schedule != "1f1b" or self.microbatches >= self.stages,
                f"1f1b needs at least as many micro-batches as stages, got {self.microbatches} "
                f"for {self.stages} stages (use gpipe, or more micro-batches)",
            ),
        ]
        if self.boundaries is not None:
            b = self.boundaries
            checks.append(
                (
                    len(b) == self.stages + 1
                    and b[0] == 0
                    and all(x < y for x, y in itertools.pairwise(b)),
                    f"boundaries must be {self.stages + 1} increasing unit indices starting at 0 "
                    f"(one stage per interval), got {b}",
                )
            )
        errors = [message for ok, message in checks if not ok]
        if errors:
            raise PipelineError("invalid PipelineConfig: " + "; ".join(errors))
