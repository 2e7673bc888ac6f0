"""Metric keys -> exact header text, display scale and direction.

Key convention: ``<family>/<item>`` or ``<family>/<stage>/<measure>``, values as fractions for
AP, precision, recall, IoU and PQ (0..1; shown x100 in %), e.g. ``ap3d/mean``,
``ap3d/Vehicle``, ``ap2d/Pedestrian``, ``det3d/Cyclist``, ``bev/Vehicle``,
``pseudo/precision``, ``pq/mean``, ``rel/full`` (ratio to full supervision).
Unknown families are shown with their raw key.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    """A metric family: header text, unit, display scale and whether higher is better."""

    title: str
    unit: str = "%"
    scale: float = 100.0
    higher_is_better: bool = True


FAMILIES: dict[str, Family] = {
    "ap3d": Family("3D point mask AP@[.5:.95] (COCO protocol, points as 1xN image)"),
    "ap2d": Family("2D mask AP@[.5:.95] (COCO)"),
    "det3d": Family("3D detection AP, R40 (IoU Veh .7, Ped/Cyc .5)"),
    "bev": Family("BEV detection AP, R40 (IoU Veh .7, Ped/Cyc .5)"),
    "miou3d": Family("3D semantic IoU per point"),
    "pseudo": Family("Pseudo-label quality per point vs. ground truth"),
    "pq": Family("Panoptic quality of cluster labels"),
    "rel": Family("Share of full supervision"),
    "loss": Family("Loss", unit="", scale=1.0, higher_is_better=False),
    "time": Family("Wall time", unit="s", scale=1.0, higher_is_better=False),
}
LOWER_IS_BETTER_WORDS = ("loss", "mse", "error", "time")


@dataclass(frozen=True)
class MetricInfo:
    """How one metric key is displayed.

    Attributes:
        key: the metric key, e.g. ``ap3d/Vehicle``.
        family: its family prefix (``ap3d``).
        group_title: the family header with unit, e.g. ``3D point mask AP@[.5:.95] (...) (%)``.
        item: the column label inside the family, e.g. ``Vehicle``, ``AP50`` (for
            ``ap3d/AP50/mean``) or ``spg Vehicle precision``.
        scale: factor from stored value to displayed value.
        higher_is_better: direction used to mark the best value.
    """

    key: str
    family: str
    group_title: str
    item: str
    scale: float
    higher_is_better: bool

    @property
    def header(self) -> str:
        """Full one-line header: ``<group title>: <item>``."""
        return f"{self.group_title}: {self.item}"


def describe(key: str) -> MetricInfo:
    """Display information for ``key`` (unknown families keep the raw key, scale 1).

    The item is the key after the family, ``/`` shown as spaces and a trailing ``/mean`` of a
    sub-metric dropped (``ap3d/AP50/mean`` -> ``AP50``; ``ap3d/mean`` stays ``mean``).
    """
    family, _, item = key.partition("/")
    item = item.removesuffix("/mean").replace("/", " ")
    known = FAMILIES.get(family)
    if known is None:
        lower = any(word in key.lower() for word in LOWER_IS_BETTER_WORDS)
        return MetricInfo(key, family, family, item or key, 1.0, not lower)
    title = f"{known.title} ({known.unit})" if known.unit else known.title
    return MetricInfo(key, family, title, item, known.scale, known.higher_is_better)


def is_summary_key(key: str) -> bool:
    """True for a family's headline keys: ``<family>/<item>`` and ``<family>/<sub>/mean``.

    E.g. ``ap3d/mean``, ``ap3d/Vehicle`` and ``ap3d/AP50/mean``, but not ``ap3d/AP50/Vehicle``.
    """
    parts = key.split("/")
    return len(parts) == 2 or (len(parts) == 3 and parts[2] == "mean")


def family_order(family: str) -> int:
    """Sort rank of a family: catalog order first, unknown families after."""
    names = list(FAMILIES)
    return names.index(family) if family in names else len(names)


ITEM_ORDER = ("mean", "precision", "recall", "iou", "Vehicle", "Pedestrian", "Cyclist")


def metric_order(keys: list[str]) -> list[str]:
    """Sort metric keys: by family (catalog order), then by the parts before the first ``mean``
    or class name (none first), then ``mean`` and the classes in that order, then by name.

    E.g. ``ap3d/mean, ap3d/Vehicle, ..., ap3d/AP50/mean, ap3d/AP50/Vehicle, ...``.
    """

    def rank(key: str) -> tuple[int, tuple[str, ...], int, str]:
        family, *parts = key.split("/")
        at = next((i for i, part in enumerate(parts) if part in ITEM_ORDER), len(parts))
        known = ITEM_ORDER.index(parts[at]) if at < len(parts) else len(ITEM_ORDER)
        return family_order(family), tuple(parts[:at]), known, key

    return sorted(keys, key=rank)
