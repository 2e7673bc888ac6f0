"""Typed experiment configs (dataclasses + OmegaConf), overrides and results-folder naming."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from labeleff.errors import DataError

PRESETS = ("smoke", "cpu", "gpu")


@dataclass
class ExperimentConfig:
    """One experiment: what runs (``kind``), on what (``preset``, ``data``) and with which seed.

    Attributes:
        name: readable row name, e.g. ``"+SPG+RSC"``; the results folder starts with its slug.
        kind: key of a registered experiment function (see ``benchmarks.registry``).
        seed: random seed of the run.
        preset: ``smoke``, ``cpu`` or ``gpu`` (sizes of scenes, models and schedules).
        data: ``"synthetic"`` or ``"kitti:PATH"`` (a KITTI-layout root folder).
        params: kind-specific settings, validated against the kind's own dataclass.
    """

    name: str = MISSING
    kind: str = MISSING
    seed: int = 0
    preset: str = "cpu"
    data: str = "synthetic"
    params: dict[str, Any] = field(default_factory=dict)


def parse_data(data: str) -> tuple[str, Path | None]:
    """Split a data spec into its source and path.

    Args:
        data: ``"synthetic"`` or ``"kitti:PATH"``.

    Returns:
        ``("synthetic", None)`` or ``("kitti", Path(PATH))``.

    Raises:
        DataError: the spec has another form, or the KITTI path is empty.
    """
    if data == "synthetic":
        return "synthetic", None
    source, _, path = data.partition(":")
    if source != "kitti" or not path:
        raise DataError("config.data", f"expected 'synthetic' or 'kitti:PATH', got {data!r}")
    return "kitti", Path(path)


def make_config(base: dict[str, Any], overrides: list[str] | tuple[str, ...] = ()) -> DictConfig:
    """Build a typed config from a base mapping and ``key=value`` dotlist overrides.

    Args:
        base: fields of :class:`ExperimentConfig` (``params`` may be nested).
        overrides: OmegaConf dotlist, e.g. ``["seed=1", "params.spg=true"]``.

    Returns:
        The merged config (structured: unknown top-level keys and bad types are rejected).

    Raises:
        DataError: an override or field is invalid; the message names it.
    """
    try:
        cfg = OmegaConf.merge(OmegaConf.structured(ExperimentConfig), base)
        cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist(list(overrides)))
    except OmegaConfBaseException as error:
        raise DataError("config", f"invalid field or override: {error}") from error
    if cfg.preset not in PRESETS:
        raise DataError("config.preset", f"expected one of {PRESETS}, got {cfg.preset!r}")
    parse_data(cfg.data)
    return cfg


def validate_params(cfg: DictConfig, schema: type | None) -> DictConfig:
    """Merge ``cfg.params`` onto the defaults of the kind's params dataclass ``schema``.

    Args:
        cfg: a config from :func:`make_config`.
        schema: the kind's params dataclass, or None to keep ``params`` as given.

    Returns:
        A new config whose ``params`` hold every field of ``schema`` (defaults filled in).

    Raises:
        DataError: ``params`` has a key that ``schema`` lacks, or a value of the wrong type.
    """
    if schema is None:
        return cfg
    try:
        params = OmegaConf.merge(OmegaConf.structured(schema), cfg.params)
    except OmegaConfBaseException as error:
        raise DataError(f"config.params ({cfg.kind})", str(error).splitlines()[0]) from error
    resolved = OmegaConf.to_container(cfg, resolve=True)
    resolved["params"] = OmegaConf.to_container(params, resolve=True)
    return OmegaConf.merge(OmegaConf.structured(ExperimentConfig), resolved)


def config_hash(cfg: DictConfig) -> str:
    """Short (8 hex digits) SHA-1 of the resolved config as key-sorted YAML."""
    text = OmegaConf.to_yaml(cfg, resolve=True, sort_keys=True)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]


def slugify(text: str) -> str:
    """Lower-case ``text`` and turn every run of other characters than ``[a-z0-9]`` into ``-``."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug or "run"


def run_dir_name(cfg: DictConfig) -> str:
    """Results-folder name of a run: ``<slug(name)>-seed<seed>-<config hash>``."""
    return f"{slugify(cfg.name)}-seed{cfg.seed}-{config_hash(cfg)}"
