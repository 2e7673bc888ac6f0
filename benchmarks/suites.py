"""Suites: named lists of rows; a row is a name plus config overrides, never a copied file.

A suite is declared by a function decorated with :func:`suite` that returns a :class:`Suite`.
``expand_suite`` turns it into one config per (row, seed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig

from benchmarks.config import make_config
from labeleff.errors import DataError


@dataclass(frozen=True)
class Row:
    """One table row: its display name and its dotlist overrides (e.g. ``params.spg=true``)."""

    name: str
    overrides: tuple[str, ...] = ()


@dataclass(frozen=True)
class Suite:
    """A named benchmark: rows of one experiment kind, run over seeds.

    Attributes:
        name: suite name (``--suite``); also the results sub-folder and the W&B group.
        kind: experiment kind every row runs.
        rows: the rows, in table order.
        metric: primary metric key (the sweep objective and the ablation bar plot).
        direction: ``maximize`` or ``minimize`` for ``metric``.
        preset: preset forced by the suite (None: the CLI's ``--preset``).
        seeds: number of seeds forced by the suite (None: the CLI's ``--seeds``).
        search_space: TPE search space, dotted config key -> spec, where a spec is
            ``{"type": "float"|"int", "low": a, "high": b, "log": bool}`` or
            ``{"type": "categorical", "choices": [...]}``.
        search_row: row whose config the TPE search starts from.
    """

    name: str
    kind: str
    rows: tuple[Row, ...]
    metric: str
    direction: str = "maximize"
    preset: str | None = None
    seeds: int | None = None
    search_space: dict[str, dict[str, Any]] = field(default_factory=dict)
    search_row: str | None = None


@dataclass(frozen=True)
class Job:
    """One run of a suite: row name, seed and resolved config."""

    row: str
    seed: int
    cfg: DictConfig


SUITES: dict[str, Callable[[], Suite]] = {}


def suite(fn: Callable[[], Suite]) -> Callable[[], Suite]:
    """Register a suite factory under its function name."""
    SUITES[fn.__name__] = fn
    return fn


def get_suite(name: str) -> Suite:
    """The suite registered as ``name``; raises KeyError naming the known suites."""
    if name not in SUITES:
        raise KeyError(f"unknown suite {name!r}; known: {', '.join(sorted(SUITES))}")
    return SUITES[name]()


def select_rows(spec: Suite, names: tuple[str, ...]) -> tuple[Row, ...]:
    """The suite's rows named in ``names`` (suite order); all rows when ``names`` is empty.

    Raises:
        DataError: a name is not a row of the suite (the message lists the rows).
    """
    known = [row.name for row in spec.rows]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise DataError("--rows", f"suite {spec.name!r} has no row(s) {unknown}; rows: {known}")
    return tuple(row for row in spec.rows if not names or row.name in names)


def expand_suite(
    spec: Suite, *, preset: str, data: str, seeds: int, overrides: tuple[str, ...] = (),
    rows: tuple[str, ...] = (),
) -> list[Job]:
    """One job per (row, seed), the suite's forced preset/seeds taking precedence.

    Args:
        spec: the suite.
        preset: preset used when the suite forces none.
        data: ``synthetic`` or ``kitti:PATH``.
        seeds: seeds ``0..seeds-1`` when the suite forces no count.
        overrides: user dotlist overrides, applied after each row's own overrides.
        rows: names of the rows to run (empty: every row); see :func:`select_rows`.
    """
    preset = spec.preset or preset
    n_seeds = spec.seeds or seeds
    jobs = []
    for seed in range(n_seeds):  # seed-major: a complete table for seed 0 comes first
        for row in select_rows(spec, rows):
            base = {"name": row.name, "kind": spec.kind, "seed": seed, "preset": preset,
                    "data": data}
            jobs.append(Job(row.name, seed, make_config(base, row.overrides + overrides)))
    return jobs


def _mwsis3d_rows() -> tuple[Row, ...]:
    """The MWSIS 3D module ablation: full supervision, box-only baseline, then +SPG, +RSC, +PVC."""
    off = ("params.spg=false", "params.rsc=false", "params.pvc=false", "params.ema=false")
    return (
        Row("fully supervised", ("params.supervision=gt", *off)),
        Row("baseline", ("params.supervision=pseudo", *off)),
        Row("+SPG", ("params.supervision=pseudo", *off, "params.spg=true")),
        Row("+SPG+RSC", ("params.supervision=pseudo", *off, "params.spg=true", "params.rsc=true")),
        Row("+SPG+RSC+PVC (EMA)", ("params.supervision=pseudo", "params.spg=true",
                                   "params.rsc=true", "params.pvc=true", "params.ema=true")),
    )


# TPE ranges around the release's settings (fields of labeleff.mwsis.train3d.MWSIS3DParams).
MWSIS3D_SEARCH_SPACE: dict[str, dict[str, Any]] = {
    "params.rsc_ratio": {"type": "float", "low": 0.5, "high": 0.9},
    "params.ring_background_prop": {"type": "float", "low": 0.3, "high": 0.7},
    "params.ring_ignore_prop": {"type": "float", "low": 0.01, "high": 0.2, "log": True},
    "params.pvc_high": {"type": "float", "low": 0.55, "high": 0.8},
    "params.pvc_start": {"type": "float", "low": 0.3, "high": 0.7},
}


@suite
def ablations() -> Suite:
    """MWSIS 3D ablation (DESIGN.md section 7), metric: 3D point mask AP@[.5:.95], mean."""
    return Suite("ablations", "mwsis3d", _mwsis3d_rows(), metric="ap3d/mean",
                 search_space=MWSIS3D_SEARCH_SPACE, search_row="+SPG+RSC+PVC (EMA)")


@suite
def smoke() -> Suite:
    """The ablation rows at the smoke preset with one seed (seconds per run; CI)."""
    return Suite("smoke", "mwsis3d", _mwsis3d_rows(), metric="ap3d/mean", preset="smoke",
                 seeds=1, search_space=MWSIS3D_SEARCH_SPACE, search_row="+SPG+RSC+PVC (EMA)")
