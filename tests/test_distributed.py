"""Distributed helpers, single process: plain run and a one-process gloo group."""

from __future__ import annotations

import socket

import pytest
import torch

from labeleff.engine.distributed import (
    cleanup_distributed,
    init_distributed,
    rank_zero_only,
    wrap_ddp,
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_without_torchrun_env_is_single_process(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    info = init_distributed()
    assert (info.rank, info.world_size, info.is_main) == (0, 1, True)
    model = wrap_ddp(torch.nn.Linear(2, 1), info)
    assert isinstance(model, torch.nn.Linear)


def test_one_process_group_wraps_ddp_and_rank_zero_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": str(_free_port())}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    info = init_distributed(backend="gloo")
    try:
        model = wrap_ddp(torch.nn.Linear(2, 1), info)
        assert isinstance(model, torch.nn.parallel.DistributedDataParallel)
        loss = model(torch.ones(4, 2)).sum()
        loss.backward()
        assert model.module.weight.grad is not None
        assert rank_zero_only(lambda: "written")() == "written"
    finally:
        cleanup_distributed()
