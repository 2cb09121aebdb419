"""Process groups of a K-stage pipeline replicated D times (PP x DP) over torchrun's ranks.

The world is a ("pp", "dp") device mesh of shape (K, world / K): ranks that share a stage form
a data-parallel group (DDP averages their gradients), ranks that form one replica of the
pipeline form a pipeline group (activations and gradients flow between them). gloo serves the
CPU, nccl CUDA devices. A single process with K = 1 needs no process group at all.
"""

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.distributed.device_mesh import init_device_mesh

from training.pipeline.errors import PipelineError


@dataclass(frozen=True)
class ParallelLayout:
    """Where this rank sits: its stage (pp) and its replica (dp), with their groups."""

    rank: int
    pp_rank: int
    pp_size: int
    dp_rank: int
    dp_size: int
    pp_group: dist.ProcessGroup | None  # None in a single process
    dp_group: dist.ProcessGroup | None

    @property
    def distributed(self) -> bool:
        return self.pp_group is not None


def backend_for(device: torch.device) -> str:
    return "nccl" if device.type == "cuda" else "gloo"


def _attempt_store() -> dist.Store:
    """torchrun's store, with a key prefix per restart attempt.

    After ``torchrun --max-restarts`` restarts the workers, they rendezvous through the agent's
    store again; with torch 2.15 gloo then read the previous attempt's addresses and dialled
    dead ports until it timed out (observed). A prefix per attempt keeps attempts apart.
    """
    attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
    server = dist.TCPStore(os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]),
                           int(os.environ["WORLD_SIZE"]),
                           is_master=os.environ.get("TORCHELASTIC_USE_AGENT_STORE") != "True"
                           and os.environ.get("RANK") == "0")
    return dist.PrefixStore(f"reid/attempt-{attempt}/", server)


def build_layout(stages: int, device: torch.device) -> ParallelLayout:
    """This rank's place in the PP x DP mesh, joining torchrun's process group if needed."""
    launched = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if device.type == "cuda":
        torch.cuda.set_device(device)  # nccl's object collectives use the current device
    if not dist.is_initialized():
        if stages == 1 and not launched:
            return ParallelLayout(0, 0, 1, 0, 1, None, None)
        if "MASTER_ADDR" not in os.environ:
            raise PipelineError(
                f"{stages} pipeline stages need one process per stage: launch with "
                f"`python -m training.launch --nproc-per-node {stages} ...` (torchrun's flags; or "
                "init torch.distributed first)"
            )
        dist.init_process_group(backend_for(device), store=_attempt_store(),
                                rank=int(os.environ["RANK"]),
                                world_size=int(os.environ["WORLD_SIZE"]))
    world = dist.get_world_size()
    if world % stages:
        raise PipelineError(
            f"world size {world} is not a multiple of the {stages} pipeline stages; "
            f"run stages x replicas processes (e.g. --nproc-per-node {stages})"
        )
    mesh = init_device_mesh(device.type, (stages, world // stages), mesh_dim_names=("pp", "dp"))
    return ParallelLayout(
        rank=dist.get_rank(),
        pp_rank=mesh.get_local_rank("pp"),
        pp_size=stages,
        dp_rank=mesh.get_local_rank("dp"),
        dp_size=world // stages,
        pp_group=mesh.get_group("pp"),
        dp_group=mesh.get_group("dp"),
    )
