"""Optimizer and learning-rate schedule of the 3D branch (dossier section 4.4).

AdamW (peak lr 1e-3, weight decay 0.05) with mmcv's one-cycle ``CyclicLrUpdaterHook`` as released
(``target_ratio=(100, 1e-3)``, ``step_ratio_up=0.1``, cosine annealing): from base lr 1e-5 the lr
rises to 1e-3 over the first 10 % of steps, then falls to 1e-8. Relative to the PEAK lr that is a
start ratio of 1e-2 and an end ratio of 1e-5.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from torch import nn
from torch.optim import AdamW, Optimizer
from torch.optim.lr_scheduler import LambdaLR


def build_adamw(
    model: nn.Module,
    lr: float = 1e-3,
    weight_decay: float = 0.05,
    betas: tuple[float, float] = (0.9, 0.999),
) -> AdamW:
    """AdamW over all trainable parameters of ``model``; ``lr`` is the PEAK learning rate."""
    params = [p for p in model.parameters() if p.requires_grad]
    return AdamW(params, lr=lr, betas=betas, weight_decay=weight_decay)


def one_cycle_factor(
    total_steps: int,
    up_fraction: float = 0.1,
    start_ratio: float = 1e-2,
    end_ratio: float = 1e-5,
) -> Callable[[int], float]:
    """Multiplier of the peak lr after ``i`` scheduler steps: cosine up from ``start_ratio`` to 1
    over ``up_fraction`` of the run, then cosine down to ``end_ratio`` at ``total_steps``."""
    up = max(1, round(total_steps * up_fraction))
    down = max(1, total_steps - up)

    def factor(i: int) -> float:
        if i < up:
            lo, hi, frac = start_ratio, 1.0, i / up
        else:
            lo, hi, frac = 1.0, end_ratio, min(1.0, (i - up) / down)
        return hi + (lo - hi) * 0.5 * (1.0 + math.cos(math.pi * frac))

    return factor


def one_cycle_schedule(optimizer: Optimizer, total_steps: int, **kwargs: float) -> LambdaLR:
    """LambdaLR applying :func:`one_cycle_factor` (kwargs forwarded); step it once per step."""
    return LambdaLR(optimizer, one_cycle_factor(total_steps, **kwargs))
