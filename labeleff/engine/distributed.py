"""Multi-GPU helpers for torchrun: process-group set-up, DDP wrapping, rank-0-only writing.

``torchrun --nproc_per_node=G train.py`` sets ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``,
``MASTER_ADDR`` and ``MASTER_PORT``; without them everything runs as a single process.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

import torch
import torch.distributed as dist

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in the job.

    Attributes:
        rank: global rank (0 .. world_size-1).
        local_rank: rank on this machine (the GPU index it uses).
        world_size: number of processes in the job.
        device: the device this process computes on.
    """

    rank: int
    local_rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """True on rank 0, the only process that writes results, checkpoints and logs."""
        return self.rank == 0


def init_distributed(backend: str | None = None) -> DistInfo:
    """Join the process group described by torchrun's environment variables.

    Without ``WORLD_SIZE`` (or with ``WORLD_SIZE=1`` and no ``MASTER_ADDR``) no group is created.
    With CUDA each process uses GPU ``LOCAL_RANK``.

    Args:
        backend: ``nccl`` or ``gloo``; default ``nccl`` with CUDA, ``gloo`` without.
    """
    rank = int(os.environ.get("RANK", 0))
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    world_size = int(os.environ.get("WORLD_SIZE", 1))
    cuda = torch.cuda.is_available()
    device = torch.device("cuda", local_rank) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    wanted = world_size > 1 or "MASTER_ADDR" in os.environ
    if wanted and not dist.is_initialized():
        dist.init_process_group(backend or ("nccl" if cuda else "gloo"), rank=rank,
                                world_size=world_size)
    return DistInfo(rank, local_rank, world_size, device)


def wrap_ddp(model: torch.nn.Module, info: DistInfo) -> torch.nn.Module:
    """Move ``model`` to ``info.device``; wrap it in DDP when a process group is running."""
    model = model.to(info.device)
    if not (dist.is_available() and dist.is_initialized()):
        return model
    device_ids = [info.device.index] if info.device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=device_ids)


def rank_zero_only(fn: Callable[P, R]) -> Callable[P, R | None]:
    """Decorator: run ``fn`` on rank 0 only (other ranks get None), e.g. for writing files."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | None:
        rank = dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
        return fn(*args, **kwargs) if rank == 0 else None

    return wrapper


def cleanup_distributed() -> None:
    """Leave the process group (no-op when none is running)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
