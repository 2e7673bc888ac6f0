"""Experiment registry: ``@register_experiment(kind)`` maps a kind name to its function."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from omegaconf import DictConfig

if TYPE_CHECKING:
    from benchmarks.context import RunContext

ExperimentFn = Callable[[DictConfig, Path, "RunContext"], dict[str, float]]
PLUGIN_ENV = "LABELEFF_EXPERIMENTS"


class ExperimentNotAvailableError(LookupError):
    """The config names an experiment kind that no imported module registered."""


@dataclass(frozen=True)
class ExperimentSpec:
    """A registered experiment kind.

    Attributes:
        kind: registry key (``ExperimentConfig.kind``).
        fn: ``fn(cfg, run_dir, ctx) -> {metric key: value}``.
        params: dataclass that ``cfg.params`` is validated against (None: unchecked).
        module: module that registered it (imported again in sweep worker processes).
    """

    kind: str
    fn: ExperimentFn
    params: type | None
    module: str


_REGISTRY: dict[str, ExperimentSpec] = {}


def register_experiment(
    kind: str, params: type | None = None
) -> Callable[[ExperimentFn], ExperimentFn]:
    """Decorator registering ``fn(cfg, run_dir, ctx) -> dict[str, float]`` under ``kind``.

    Args:
        kind: registry key; registering a second function under the same key is an error.
        params: dataclass whose fields (with defaults) ``cfg.params`` must fit.
    """

    def decorate(fn: ExperimentFn) -> ExperimentFn:
        known = _REGISTRY.get(kind)
        if known is not None and (known.module, known.fn.__qualname__) != (
            fn.__module__,
            fn.__qualname__,
        ):
            raise ValueError(f"experiment kind {kind!r} is already registered by {known.module}")
        _REGISTRY[kind] = ExperimentSpec(kind, fn, params, fn.__module__)
        return fn

    return decorate


def get_experiment(kind: str) -> ExperimentSpec:
    """The spec registered under ``kind``; raises :class:`ExperimentNotAvailableError` otherwise."""
    if kind not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise ExperimentNotAvailableError(
            f"experiment kind {kind!r} is not available (registered kinds: {known}). Register "
            f"it with @register_experiment({kind!r}) in a module imported by "
            f"benchmarks/experiments/__init__.py or named in ${PLUGIN_ENV}."
        )
    return _REGISTRY[kind]


def available_kinds() -> list[str]:
    """Sorted names of the registered experiment kinds."""
    return sorted(_REGISTRY)


def load_plugins(modules: Iterable[str] = ()) -> None:
    """Import the modules that register experiment kinds.

    Imports ``benchmarks.experiments``, then every module named in ``modules`` and in the
    comma-separated environment variable ``LABELEFF_EXPERIMENTS``.
    """
    names = ["benchmarks.experiments", *modules]
    names += [name.strip() for name in os.environ.get(PLUGIN_ENV, "").split(",") if name.strip()]
    for name in names:
        importlib.import_module(name)
