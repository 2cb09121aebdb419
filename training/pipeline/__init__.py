"""Pipeline-parallel training of the NVAN network with torch.distributed.pipelining.

``PipelineEngine`` is what a training script drives (one per torchrun rank); the modules
below it are the profiler and partitioner (``balance``), static-shape stages (``stages``),
the exact full-batch triplet (``exact_triplet``), the PP x DP layout (``mesh``), the
optimiser (``optim``) and mixed precision, memory format and compilation (``precision``).
"""

from training.pipeline.balance import (
    StagePlan,
    UnitCost,
    balanced_boundaries,
    plan_stages,
    profile_units,
)
from training.pipeline.config import SCHEDULES, PipelineConfig, ScheduleName
from training.pipeline.engine import PipelineEngine, StepStats
from training.pipeline.errors import PipelineError
from training.pipeline.exact_triplet import triplet_and_feature_grad
from training.pipeline.mesh import ParallelLayout, build_layout
from training.pipeline.optim import OptimConfig, build_optimizer
from training.pipeline.precision import AMP_CHOICES, AmpName, precision_problem
from training.pipeline.stages import merge_stage_states

__all__ = [
    "AMP_CHOICES",
    "SCHEDULES",
    "AmpName",
    "OptimConfig",
    "ParallelLayout",
    "PipelineConfig",
    "PipelineEngine",
    "PipelineError",
    "ScheduleName",
    "StagePlan",
    "StepStats",
    "UnitCost",
    "balanced_boundaries",
    "build_layout",
    "build_optimizer",
    "merge_stage_states",
    "plan_stages",
    "precision_problem",
    "profile_units",
    "triplet_and_feature_grad",
]
