"""Tiny sizes of the real ``mwsis3d`` experiment for the machinery's tests (about a second a run).

Two training frames, one validation frame, two steps of the ``tiny`` segmentor on the smoke
scenes; tests add real parameters for the behaviour they need (more steps: a slow run;
``params.eval_every``: intermediate reports to a pruner).
"""

from __future__ import annotations

from omegaconf import DictConfig

import benchmarks.experiments  # noqa: F401 -- registers the mwsis3d kind
from benchmarks.config import make_config

TINY = ("params.num_train=2", "params.num_val=1", "params.steps=2", "params.model=tiny")


def tiny_cfg(name: str, *overrides: str, seed: int = 0) -> DictConfig:
    """Config of an ``mwsis3d`` run at the smoke preset and :data:`TINY` sizes, then overrides."""
    return make_config({"name": name, "kind": "mwsis3d", "seed": seed, "preset": "smoke"},
                       [*TINY, *overrides])
