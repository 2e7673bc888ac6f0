"""Atomic writes of run files (text, JSON, figures), on top of ``labeleff.atomic``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from labeleff.atomic import atomic_path, atomic_write_text

__all__ = ["atomic_save_figure", "atomic_write_json", "atomic_write_text"]


def atomic_write_json(path: str | Path, data: Any, sort_keys: bool = False) -> None:
    """Write ``data`` as indented JSON atomically."""
    atomic_write_text(Path(path), json.dumps(data, indent=2, sort_keys=sort_keys) + "\n")


def atomic_save_figure(figure: Any, path: str | Path) -> None:
    """Save a matplotlib figure atomically; the format follows the suffix of ``path``."""
    with atomic_path(Path(path)) as tmp:
        figure.savefig(tmp, bbox_inches="tight", dpi=150)
