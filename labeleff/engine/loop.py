"""A small hook-based training loop (DESIGN.md section 8.4).

The caller supplies ``step_fn(trainer, step) -> dict[str, Tensor]`` (forward pass and losses of
one step; ``step`` counts from 1). The loop sums the losses, back-propagates, clips the gradient
norm, steps the optimizer and scheduler, and calls the hooks around it:

    before_train -> [before_step -> step_fn -> backward -> before_optimizer_step
                     -> optimizer/scheduler step (unless ``trainer.skip_step``) -> after_step] ...
    -> after_train

``trainer.step`` is the number of finished steps; a resumed run continues from it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import Tensor, nn
from torch.optim import Optimizer
from tqdm import tqdm

from labeleff.atomic import atomic_path

StepFn = Callable[["Trainer", int], dict[str, Tensor]]


class Stateful(Protocol):
    """Anything with ``state_dict`` / ``load_state_dict`` (model, optimizer, EMA teacher...)."""

    def state_dict(self) -> Any: ...

    def load_state_dict(self, state: Any) -> Any: ...


class PruneRequested(Exception):  # noqa: N818 -- mirrors optuna.TrialPruned
    """Raised by :class:`PruningHook` when the user callback says the run should stop
    (translate it to ``optuna.TrialPruned`` in the sweep code)."""

    def __init__(self, step: int, value: float) -> None:
        self.step, self.value = step, value
        super().__init__(f"pruned at step {step} (value {value:.6g})")


class Hook:
    """Base hook: override any of the methods; all receive the trainer."""

    def before_train(self, trainer: Trainer) -> None:
        """Once, before the first step (after a resume has set ``trainer.step``)."""

    def before_step(self, trainer: Trainer) -> None:
        """Before ``step_fn``; ``trainer.step`` is the step about to run minus 1."""

    def before_optimizer_step(self, trainer: Trainer) -> None:
        """After backward; may set ``trainer.skip_step = True`` to skip the update."""

    def after_step(self, trainer: Trainer) -> None:
        """After the update; ``trainer.step`` now counts this step, ``trainer.record`` holds
        its scalars (losses, total, grad norm, lr, skipped)."""

    def after_train(self, trainer: Trainer) -> None:
        """Once, after the last step (not on exceptions)."""


class Trainer:
    """Runs ``step_fn`` for ``total_steps`` steps with an optimizer, a schedule and hooks.

    Args:
        model: the trained module (put in train mode at start).
        optimizer: its optimizer.
        step_fn: ``(trainer, step) -> {"loss_name": scalar tensor}``; all entries are summed.
        total_steps: number of steps of the whole run.
        scheduler: lr scheduler stepped once per step (also on skipped steps), or None.
        hooks: called in the given order.
        grad_clip: max L2 norm of the gradients (None: no clipping, norm still measured).
        progress: show a tqdm progress bar.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: Optimizer,
        step_fn: StepFn,
        total_steps: int,
        scheduler: Any | None = None,
        hooks: Sequence[Hook] = (),
        grad_clip: float | None = 10.0,
        progress: bool = True,
    ) -> None:
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.step_fn, self.total_steps = step_fn, total_steps
        self.hooks, self.grad_clip, self.progress = list(hooks), grad_clip, progress
        self.step = 0
        self.losses: dict[str, Tensor] = {}
        self.loss: Tensor = torch.zeros(())
        self.grad_norm = 0.0
        self.skip_step = False
        self.record: dict[str, float] = {}

    def train(self) -> None:
        """Runs the remaining steps ``self.step + 1 .. total_steps`` with the hooks."""
        self.model.train()
        self._call("before_train")
        bar = tqdm(total=self.total_steps, initial=self.step, disable=not self.progress,
                   leave=False, dynamic_ncols=True, desc="train")
        while self.step < self.total_steps:
            self._call("before_step")
            self._run_step(self.step + 1)
            self.step += 1
            self._call("after_step")
            bar.update(1)
            bar.set_postfix(loss=f"{self.record['loss']:.4g}", refresh=False)
        bar.close()
        self._call("after_train")

    def _run_step(self, step: int) -> None:
        """Forward, backward, clip, (maybe) update; fills ``self.record``."""
        self.optimizer.zero_grad(set_to_none=True)
        self.losses = self.step_fn(self, step)
        self.loss = torch.stack([v.float() for v in self.losses.values()]).sum()
        self.skip_step = False
        if self.loss.requires_grad and math.isfinite(float(self.loss.detach())):
            self.loss.backward()
        self.grad_norm = self._clip()
        self._call("before_optimizer_step")
        lr = float(self.optimizer.param_groups[0]["lr"])
        if not self.skip_step:
            self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        self.record = self._scalars(step, lr)

    def _clip(self) -> float:
        """Clips (if configured) and returns the total gradient L2 norm."""
        params = [p for g in self.optimizer.param_groups for p in g["params"] if p.grad is not None]
        if not params:
            return 0.0
        max_norm = self.grad_clip if self.grad_clip is not None else math.inf
        return float(torch.nn.utils.clip_grad_norm_(params, max_norm))

    def _scalars(self, step: int, lr: float) -> dict[str, float]:
        """Per-step scalars for hooks and logs (``lr``: the one this step used)."""
        rec = {"step": float(step), "loss": float(self.loss.detach()), "grad_norm": self.grad_norm,
               "lr": lr, "skipped": float(self.skip_step)}
        rec.update({k: float(v.detach()) for k, v in self.losses.items()})
        return rec

    def _call(self, event: str) -> None:
        for hook in self.hooks:
            getattr(hook, event)(self)


class NaNGuard(Hook):
    """Skips the update when the loss or the gradient norm is not finite; raises after
    ``max_consecutive`` such steps in a row.

    Args:
        max_consecutive: consecutive non-finite steps tolerated.
    """

    def __init__(self, max_consecutive: int = 5) -> None:
        self.max_consecutive = max_consecutive
        self.consecutive = 0
        self.skipped_steps: list[int] = []

    def before_optimizer_step(self, trainer: Trainer) -> None:
        if math.isfinite(float(trainer.loss.detach())) and math.isfinite(trainer.grad_norm):
            self.consecutive = 0
            return
        trainer.skip_step = True
        self.consecutive += 1
        self.skipped_steps.append(trainer.step + 1)
        if self.consecutive >= self.max_consecutive:
            bad = {k: float(v.detach()) for k, v in trainer.losses.items()}
            raise FloatingPointError(
                f"{self.consecutive} non-finite steps in a row (last step {trainer.step + 1}: "
                f"losses {bad}, grad norm {trainer.grad_norm}); lower the lr or check the data")


class EMAHook(Hook):
    """Updates an EMA teacher before each step (``teacher.update(step)``, skipped at step 1).

    Args:
        teacher: an ``EMATeacher`` (or anything with ``update(step)``).
    """

    def __init__(self, teacher: Any) -> None:
        self.teacher = teacher
        self.last_decay = 1.0

    def before_step(self, trainer: Trainer) -> None:
        self.last_decay = self.teacher.update(trainer.step + 1)


class LogHook(Hook):
    """Collects ``trainer.record`` every ``every`` steps into ``history`` and calls ``callback``
    with it (e.g. ``wandb.log``).

    Args:
        every: logging period in steps (the last step is always logged).
        callback: called with each record dict, or None.
    """

    def __init__(
        self, every: int = 1, callback: Callable[[dict[str, float]], Any] | None = None
    ) -> None:
        self.every, self.callback = every, callback
        self.history: list[dict[str, float]] = []

    def after_step(self, trainer: Trainer) -> None:
        if trainer.step % self.every and trainer.step != trainer.total_steps:
            return
        self.history.append(dict(trainer.record))
        if self.callback is not None:
            self.callback(dict(trainer.record))


class PruningHook(Hook):
    """Asks ``report(step, value) -> should_prune`` every ``every`` steps; raises
    :class:`PruneRequested` when it answers True.

    Args:
        report: user callback (e.g. ``trial.report`` + ``trial.should_prune``).
        value: computes the monitored value from the trainer (default: the step's total loss).
        every: period in steps.
    """

    def __init__(
        self,
        report: Callable[[int, float], bool],
        value: Callable[[Trainer], float] | None = None,
        every: int = 1,
    ) -> None:
        self.report, self.every = report, every
        self.value = value if value is not None else (lambda t: t.record["loss"])

    def after_step(self, trainer: Trainer) -> None:
        if trainer.step % self.every:
            return
        value = float(self.value(trainer))
        if self.report(trainer.step, value):
            raise PruneRequested(trainer.step, value)


class CheckpointHook(Hook):
    """Saves model, optimizer, scheduler, step, RNG state and extra state objects atomically
    every ``every`` steps and at the end; resumes from ``path`` when it exists.

    Args:
        path: checkpoint file (written through a temporary file + ``os.replace``).
        every: period in steps (0: only at the end).
        extra: further stateful objects to save, e.g. ``{"ema": teacher}``.
        resume: load ``path`` in ``before_train`` if it exists.
    """

    def __init__(
        self,
        path: str | Path,
        every: int = 0,
        extra: Mapping[str, Stateful] | None = None,
        resume: bool = True,
    ) -> None:
        self.path, self.every = Path(path), every
        self.extra, self.resume = dict(extra or {}), resume

    def before_train(self, trainer: Trainer) -> None:
        if self.resume and self.path.exists():
            load_checkpoint(self.path, trainer, self.extra)

    def after_step(self, trainer: Trainer) -> None:
        if self.every and trainer.step % self.every == 0 and trainer.step != trainer.total_steps:
            save_checkpoint(self.path, trainer, self.extra)

    def after_train(self, trainer: Trainer) -> None:
        save_checkpoint(self.path, trainer, self.extra)


def save_checkpoint(path: str | Path, trainer: Trainer, extra: Mapping[str, Stateful]) -> None:
    """Atomically writes the trainer's state and ``extra`` objects' states to ``path``."""
    state = {
        "step": trainer.step,
        "model": trainer.model.state_dict(),
        "optimizer": trainer.optimizer.state_dict(),
        "scheduler": trainer.scheduler.state_dict() if trainer.scheduler is not None else None,
        "rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        "extra": {k: v.state_dict() for k, v in extra.items()},
    }
    with atomic_path(Path(path)) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | Path, trainer: Trainer, extra: Mapping[str, Stateful]) -> None:
    """Restores what :func:`save_checkpoint` wrote into ``trainer`` and ``extra``."""
    state = torch.load(path, map_location="cpu", weights_only=False)
    trainer.model.load_state_dict(state["model"])
    trainer.optimizer.load_state_dict(state["optimizer"])
    if trainer.scheduler is not None and state["scheduler"] is not None:
        trainer.scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng"])
    if state.get("cuda_rng") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    for name, obj in extra.items():
        obj.load_state_dict(state["extra"][name])
    trainer.step = int(state["step"])
