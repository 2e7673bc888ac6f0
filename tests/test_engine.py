"""EMA teacher, training loop hooks, checkpoint resume and the one-cycle schedule."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from labeleff.engine.ema import EMATeacher
from labeleff.engine.loop import (
    CheckpointHook,
    EMAHook,
    LogHook,
    NaNGuard,
    PruneRequested,
    PruningHook,
    Trainer,
)
from labeleff.engine.optim import build_adamw, one_cycle_factor, one_cycle_schedule


def _one_param(value: float) -> nn.Linear:
    model = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(value)
    return model


def test_ema_update_math() -> None:
    model = _one_param(1.0)
    teacher = EMATeacher(model, tau=10.0, max_decay=0.9)
    with torch.no_grad():
        model.weight.fill_(3.0)
    assert teacher.update(1) == 1.0 and float(teacher.shadow["weight"]) == 1.0  # step 1 skipped
    d = teacher.update(2)
    assert math.isclose(d, 1 - math.exp(-0.2))
    assert math.isclose(float(teacher.shadow["weight"]), d * 1.0 + (1 - d) * 3.0, rel_tol=1e-6)
    assert teacher.decay(1000) == 0.9


def test_ema_tracks_float_buffers_and_swap_restores() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    teacher = EMATeacher(model)
    assert "1.running_mean" in teacher.shadow and "1.num_batches_tracked" not in teacher.shadow
    with torch.no_grad():
        model[0].weight.add_(1.0)
    student = model[0].weight.detach().clone()
    with teacher.swapped() as m, torch.no_grad():
        assert torch.allclose(m[0].weight, student - 1.0)
        m(torch.randn(8, 2) + 5.0)  # train-mode teacher forward updates the teacher's BN stats
    assert torch.equal(model[0].weight, student)
    assert torch.equal(model[1].running_mean, torch.zeros(2))
    assert teacher.shadow["1.running_mean"].abs().sum() > 0


def test_ema_for_run_scales_with_length() -> None:
    teacher = EMATeacher.for_run(_one_param(0.0), total_steps=71088)
    assert math.isclose(teacher.tau, 2500.0) and math.isclose(teacher.max_decay, 0.999)


def _quadratic_step(model: nn.Linear, nan_at: set[int] = frozenset()) -> object:
    """Loss (w - target(step))^2 with a step-dependent random target; NaN at chosen steps."""

    def step_fn(trainer: Trainer, step: int) -> dict[str, Tensor]:
        target = torch.randn(1, generator=torch.Generator().manual_seed(step))
        loss = (model.weight - target).square().sum()
        return {"loss_a": loss * float("nan") if step in nan_at else loss}

    return step_fn


def test_nan_guard_skips_and_then_raises() -> None:
    model = _one_param(0.0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    weights: list[float] = []

    class Record(LogHook):
        def after_step(self, trainer: Trainer) -> None:
            weights.append(float(model.weight.detach()))

    guard = NaNGuard(max_consecutive=2)
    Trainer(model, opt, _quadratic_step(model, {2}), 4, hooks=[guard, Record()],
            progress=False).train()
    assert guard.skipped_steps == [2] and weights[1] == weights[0] != weights[2]
    with pytest.raises(FloatingPointError, match="2 non-finite steps"):
        Trainer(model, opt, _quadratic_step(model, {2, 3}), 4, hooks=[NaNGuard(2)],
                progress=False).train()


def _trainer(tmp: Path, total: int, hooks: list, crash_at: int | None = None) -> tuple:
    torch.manual_seed(0)
    model = _one_param(0.5)
    opt = build_adamw(model, lr=0.1)
    teacher = EMATeacher(model, tau=2.0)
    base = _quadratic_step(model)

    def step_fn(trainer: Trainer, step: int) -> dict[str, Tensor]:
        if step == crash_at:
            raise KeyboardInterrupt
        return base(trainer, step)

    ckpt = CheckpointHook(tmp / "ckpt.pt", every=2, extra={"ema": teacher})
    trainer = Trainer(model, opt, step_fn, total, one_cycle_schedule(opt, total),
                      hooks=[EMAHook(teacher), ckpt, *hooks], progress=False)
    return trainer, model, teacher


def test_checkpoint_resume_matches_uninterrupted_run(tmp_path: Path) -> None:
    full, model_full, teacher_full = _trainer(tmp_path / "a", 6, [])
    full.train()
    crashed, _, _ = _trainer(tmp_path / "b", 6, [], crash_at=5)
    with pytest.raises(KeyboardInterrupt):
        crashed.train()
    assert torch.load(tmp_path / "b" / "ckpt.pt", weights_only=False)["step"] == 4
    resumed, model_res, teacher_res = _trainer(tmp_path / "b", 6, [])
    log = LogHook()
    resumed.hooks.append(log)
    resumed.train()
    assert [r["step"] for r in log.history] == [5.0, 6.0] and resumed.step == 6
    assert torch.allclose(model_res.weight, model_full.weight)
    assert torch.allclose(teacher_res.shadow["weight"], teacher_full.shadow["weight"])
    assert not list((tmp_path / "b").glob("*.tmp"))


def test_log_and_pruning_hooks() -> None:
    model = _one_param(0.0)
    opt = build_adamw(model, lr=1e-3)
    seen: list[dict[str, float]] = []
    log = LogHook(every=2, callback=seen.append)
    prune = PruningHook(lambda step, value: step >= 3)
    trainer = Trainer(model, opt, _quadratic_step(model), 10, one_cycle_schedule(opt, 10),
                      hooks=[log, prune], progress=False)
    with pytest.raises(PruneRequested) as info:
        trainer.train()
    assert info.value.step == 3 and trainer.step == 3
    assert [r["step"] for r in log.history] == [2.0] and seen == log.history
    assert {"loss", "loss_a", "grad_norm", "lr", "skipped"} <= set(seen[0])


def test_gradient_is_clipped() -> None:
    model = _one_param(100.0)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    trainer = Trainer(model, opt, _quadratic_step(model), 1, progress=False)
    trainer.train()
    moved = 100.0 - float(model.weight.detach())
    assert trainer.grad_norm > 10 and math.isclose(moved, 10.0, rel_tol=1e-4)


def test_one_cycle_factor() -> None:
    f = one_cycle_factor(100)
    assert math.isclose(f(0), 1e-2) and math.isclose(f(10), 1.0)
    assert math.isclose(f(100), 1e-5) and f(5) < 1.0 and 1e-5 < f(55) < 1.0
    assert math.isclose(f(5), 1e-2 + (1 - 1e-2) * 0.5)
