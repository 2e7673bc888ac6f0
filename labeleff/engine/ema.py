"""EMA teacher: a shadow copy of a model's float parameters and float buffers (dossier 3.7).

MWSIS updates the teacher every iteration except the first, before the teacher forward:
``theta_T <- d(t) theta_T + (1 - d(t)) theta_S`` with ``d(t) = min(max_decay, 1 - exp(-t / tau))``
(release: tau = 5000 / per-GPU batch = 2500 iterations, max_decay 0.999, over a 71,088-iteration
run). BatchNorm running statistics are averaged too; integer buffers (``num_batches_tracked``) are
left alone. Like the official code, the teacher forward runs with the teacher swapped into the
student module under ``torch.no_grad()`` but in TRAIN mode (batch statistics), and the running
statistics it updates stay with the teacher when swapped back.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn

# Official ratios: tau / run length = 2500 / 71088, averaging window 1 / (1 - 0.999) = 1000 steps.
_TAU_FRACTION = 2500 / 71088
_WINDOW_FRACTION = 1000 / 71088


class EMATeacher:
    """Shadow weights of ``model``, updated by exponential moving average.

    Build it after moving the model to its device (the shadow is cloned on the model's device).

    Args:
        model: the student; the teacher starts equal to it.
        tau: ramp time constant of the decay, in steps. The default 100 suits runs of a few
            thousand steps; :meth:`for_run` scales tau and max_decay to a run length.
        max_decay: cap of the decay.
    """

    def __init__(self, model: nn.Module, tau: float = 100.0, max_decay: float = 0.999) -> None:
        self.model = model
        self.tau = tau
        self.max_decay = max_decay
        self.shadow: dict[str, Tensor] = {
            name: t.detach().clone() for name, t in self._tracked(model).items()
        }

    @classmethod
    def for_run(cls, model: nn.Module, total_steps: int) -> EMATeacher:
        """A teacher with the release's schedule scaled to a run of ``total_steps``.

        tau = 3.5 % of the run and averaging window 1 / (1 - max_decay) = 1.4 % of it (at
        least 10 steps), the ratios of the released 71,088-iteration schedule.
        """
        window = max(10.0, _WINDOW_FRACTION * total_steps)
        return cls(model, tau=max(1.0, _TAU_FRACTION * total_steps), max_decay=1 - 1 / window)

    def decay(self, step: int) -> float:
        """d(step) = min(max_decay, 1 - exp(-step / tau))."""
        return min(self.max_decay, 1.0 - math.exp(-step / self.tau))

    @torch.no_grad()
    def update(self, step: int) -> float:
        """Moves the shadow towards the student; step 1 is skipped (returns the decay used, 1.0
        when skipped). ``step`` counts from 1."""
        if step <= 1:
            return 1.0
        d = self.decay(step)
        for name, t in self._tracked(self.model).items():
            self.shadow[name].mul_(d).add_(t.detach(), alpha=1.0 - d)
        return d

    @contextmanager
    def swapped(self) -> Iterator[nn.Module]:
        """Context in which the model holds the teacher weights; restored (and teacher-side
        changes such as BN statistics kept in the shadow) on exit, also on exceptions."""
        self._swap()
        try:
            yield self.model
        finally:
            self._swap()

    @torch.no_grad()
    def _swap(self) -> None:
        """Exchanges model tensors and shadow tensors in place."""
        for name, t in self._tracked(self.model).items():
            tmp = t.detach().clone()
            t.detach().copy_(self.shadow[name])
            self.shadow[name].copy_(tmp)

    def state_dict(self) -> dict[str, Any]:
        """Shadow tensors and schedule, for checkpoints."""
        return {"shadow": self.shadow, "tau": self.tau, "max_decay": self.max_decay}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores :meth:`state_dict` output (tensors are copied into the current shadow)."""
        self.tau, self.max_decay = state["tau"], state["max_decay"]
        for name, t in state["shadow"].items():
            self.shadow[name].copy_(t)

    @staticmethod
    def _tracked(model: nn.Module) -> dict[str, Tensor]:
        """Float parameters and float buffers of ``model`` by name."""
        named = [*model.named_parameters(), *model.named_buffers()]
        return {name: t for name, t in named if t.is_floating_point()}
