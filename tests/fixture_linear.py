"""Test fixture for the experiment machinery: a small but real experiment and its suite.

It fits a linear model with SGD on generated regression data (about a second) and scores the
binary labels it predicts (target > threshold) before and after training. It stands in for the
real experiment kinds only in the machinery's tests; ``smoke``/``ablations`` run ``mwsis3d``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from benchmarks.context import RunContext  # noqa: E402
from benchmarks.registry import register_experiment  # noqa: E402
from benchmarks.suites import Row, Suite, suite  # noqa: E402


@dataclass
class LinearParams:
    """Settings of the fixture: data size, noise, SGD schedule and an optional per-step delay."""

    n_samples: int = 256
    n_features: int = 8
    noise: float = 0.5
    lr: float = 0.05
    steps: int = 30
    step_delay_s: float = 0.0
    threshold: float = 0.0


def _label_quality(pred: torch.Tensor, truth: torch.Tensor) -> dict[str, float]:
    """Precision, recall and IoU of boolean labels ``pred`` (N,) against ``truth`` (N,)."""
    tp = (pred & truth).sum().item()
    fp = (pred & ~truth).sum().item()
    fn = (~pred & truth).sum().item()
    return {"precision": tp / max(tp + fp, 1), "recall": tp / max(tp + fn, 1),
            "iou": tp / max(tp + fp + fn, 1)}


@register_experiment("linear_fixture", params=LinearParams)
def linear_fixture(cfg: DictConfig, run_dir: Path, ctx: RunContext) -> dict[str, float]:
    """Fit y = Xw + noise; log losses per step, report val R^2 for pruning, score labels."""
    p = cfg.params
    gen = torch.Generator().manual_seed(cfg.seed)
    x = torch.randn(p.n_samples, p.n_features, generator=gen)
    y = x @ torch.randn(p.n_features, generator=gen) + p.noise * torch.randn(p.n_samples,
                                                                             generator=gen)
    half = p.n_samples // 2
    with torch.random.fork_rng():
        torch.manual_seed(cfg.seed)
        model = torch.nn.Linear(p.n_features, 1)
    optim = torch.optim.SGD(model.parameters(), lr=p.lr)
    truth = y[half:] > p.threshold
    quality = {"init": _label_quality(model(x[half:]).squeeze(1).detach() > p.threshold, truth)}
    for step in range(p.steps):
        loss = torch.nn.functional.mse_loss(model(x[:half]).squeeze(1), y[:half])
        optim.zero_grad()
        loss.backward()
        optim.step()
        with torch.no_grad():
            pred = model(x[half:]).squeeze(1)
            mse = torch.nn.functional.mse_loss(pred, y[half:]).item()
        r2 = 1.0 - mse / y[half:].var(unbiased=False).item()
        ctx.log(step, {"loss/train": loss.item(), "loss/val": mse})
        ctx.report(step, r2)
        time.sleep(p.step_delay_s)
    quality["final"] = _label_quality(pred > p.threshold, truth)
    fig, ax = plt.subplots(figsize=(3, 3))
    ax.scatter(y[half:].numpy(), pred.numpy(), s=4)
    fig.savefig(ctx.picture_path("val predictions"))
    plt.close(fig)
    metrics = {"fit/r2": r2, "fit/mse": mse}
    metrics |= {f"pseudo/{stage}/{k}": v for stage, q in quality.items() for k, v in q.items()}
    return metrics


@suite
def fixture() -> Suite:
    """Two learning-rate rows of the fixture experiment (tests only)."""
    rows = (Row("lr 0.02", ("params.lr=0.02",)), Row("lr 0.1", ("params.lr=0.1",)))
    space = {"params.lr": {"type": "float", "low": 1e-3, "high": 0.3, "log": True}}
    return Suite("fixture", "linear_fixture", rows, metric="fit/r2", seeds=2,
                 search_space=space, search_row="lr 0.02")
