"""SPG: spatial pseudo labels for LiDAR points from 2D boxes (MWSIS dossier 3.2, 3.3).

Stages, each a function on tensors:

1. ``resolve_overlaps``: the box a point takes when it falls in several 2D boxes (baseline rule).
2. ``ring_leakage_flags`` (SPG-A): a ring segment that mostly leaves every box is background seen
   through the box; one that partly leaks is ambiguous and ignored.
3. ``largest_bev_components`` (SPG-B): per box, the largest BEV connected component of its
   candidate points is the object; the other in-box points become background.

Flags follow the official column 17: 1 = foreground candidate, 0 = background, -1 = ignore.
"""

from __future__ import annotations

import torch

from labeleff.data.classes import BACKGROUND, IGNORE
from labeleff.geometry.ccl import bev_components

FLAG_CANDIDATE = 1
FLAG_BACKGROUND = 0
FLAG_IGNORE = -1
OVERLAP_RULES = ("smallest", "last")


def box_priority(box_area: torch.Tensor, rule: str = "smallest") -> torch.Tensor:
    """Rank of every global box when a point falls in several boxes (rank 0 wins).

    ``"last"`` is the official rule (the box met last in camera/box order overwrites).
    ``"smallest"`` (our default) lets the box with the smallest pixel area win: a small box inside
    a large one (a pedestrian in front of a bus) is the more specific claim and holds fewer
    background pixels, and the result does not depend on the order in which boxes were annotated.

    Args:
        box_area: (B,) box areas (pixels^2).
        rule: ``"smallest"`` or ``"last"``.

    Returns:
        (B,) int64 rank.
    """
    if rule not in OVERLAP_RULES:
        raise ValueError(f"overlap rule must be one of {OVERLAP_RULES}, got {rule!r}")
    b = box_area.shape[0]
    idx = torch.arange(b, device=box_area.device)
    if rule == "last":
        return b - 1 - idx
    rank = torch.empty_like(idx)
    rank[torch.argsort(box_area, stable=True)] = idx
    return rank


def resolve_overlaps(
    point: torch.Tensor, box: torch.Tensor, rank: torch.Tensor, num_points: int
) -> torch.Tensor:
    """Per point, the best-ranked box among its (point, box) pairs.

    Args:
        point: (P,) int64 point index of each pair.
        box: (P,) int64 global box index of each pair.
        rank: (B,) int64 box rank from ``box_priority`` (a permutation of ``0 .. B-1``).
        num_points: N.

    Returns:
        (N,) int64 global box index, -1 for points in no pair.
    """
    b = rank.shape[0]
    out = torch.full((num_points,), -1, dtype=torch.long, device=point.device)
    if b == 0 or point.numel() == 0:
        return out
    best = torch.full_like(out, b).scatter_reduce(0, point, rank[box], reduce="amin")
    hit = best < b
    out[hit] = torch.argsort(rank)[best[hit]]
    return out


def ring_leakage_flags(
    segment_ids: torch.Tensor,
    in_box: torch.Tensor,
    in_image: torch.Tensor,
    background_prop: float = 0.5,
    ignore_prop: float = 0.05,
) -> torch.Tensor:
    """SPG-A flags from the ring-segment leakage rule (dossier 3.3 A).

    ``prop(s)`` = fraction of the in-image points of segment ``s`` that lie in no box. An in-box
    point of segment ``s`` gets: ignore if ``s = -1``; background if ``prop >= 0.5``; ignore if
    ``0.05 <= prop < 0.5``; candidate otherwise. Points in no box are background; points outside
    every image are ignore (the official pipeline drops them, dossier 2.1), and they do not count
    in ``prop``, as in the official code where only in-image points are kept.

    Args:
        segment_ids: (N,) int64 ring-segment ids, -1 for none.
        in_box: (N,) bool, in at least one 2D box.
        in_image: (N,) bool, projects into at least one camera image.
        background_prop: leakage at or above which the segment is background.
        ignore_prop: leakage at or above which (and below ``background_prop``) it is ignored.

    Returns:
        (N,) int64 flags (1 candidate, 0 background, -1 ignore).
    """
    flags = base_flags(in_box, in_image)
    seg = segment_ids.clamp(min=0)
    counted = (segment_ids >= 0) & in_image
    size = int(seg.max()) + 1 if seg.numel() else 1
    total = torch.bincount(seg[counted], minlength=size)
    outside = torch.bincount(seg[counted & ~in_box], minlength=size)
    prop = (outside.double() / total.clamp(min=1).double())[seg]
    f = torch.full_like(flags, FLAG_CANDIDATE)
    f = torch.where(prop >= ignore_prop, FLAG_IGNORE, f)
    f = torch.where(prop >= background_prop, FLAG_BACKGROUND, f)
    f = torch.where(segment_ids < 0, FLAG_IGNORE, f)
    return torch.where(in_box, f, flags)


def base_flags(in_box: torch.Tensor, in_image: torch.Tensor) -> torch.Tensor:
    """(N,) int64 flags without any filter: 1 in a box, 0 in an image only, -1 in no image."""
    flags = torch.where(in_image, FLAG_BACKGROUND, FLAG_IGNORE)
    return torch.where(in_box, FLAG_CANDIDATE, flags)


def largest_bev_components(
    xy: torch.Tensor, group: torch.Tensor, radius: torch.Tensor
) -> torch.Tensor:
    """Per group (box), the largest BEV connected component of its points (dossier 3.3 B).

    Points ``i, j`` of one group are linked when ``||xy_i - xy_j|| < radius`` (the official strict
    test). All boxes are solved in one batched call of the exact grid-based
    ``labeleff.geometry.ccl.bev_components`` (no dense N x N matrix, no CPU round trip). Ties
    between equal-size components go to the component containing the lowest pair index.

    Args:
        xy: (P, 2) BEV coordinates (metres) of the (point, box) pairs.
        group: (P,) int64 box index of each pair.
        radius: (P,) linking distance of each pair's box (metres, constant within a group).

    Returns:
        (P,) bool, the pair belongs to its group's largest component.
    """
    if xy.shape[0] == 0:
        return torch.zeros(0, dtype=torch.bool, device=xy.device)
    return _largest_per_group(bev_components(xy, group, radius), group)


def _largest_per_group(comp: torch.Tensor, group: torch.Tensor) -> torch.Tensor:
    """(P,) bool: member of the largest component of its group (ties: lowest first member)."""
    p = comp.shape[0]
    size = torch.bincount(comp)
    first = torch.full_like(size, p).scatter_reduce(
        0, comp, torch.arange(p, device=comp.device), reduce="amin"
    )
    key = size[comp] * (p + 1) + (p - first[comp])
    best = torch.zeros(int(group.max()) + 1, dtype=key.dtype, device=key.device)
    best = best.scatter_reduce(0, group, key, reduce="amax")
    return key == best[group]


def spg_keep_pairs(
    xyz: torch.Tensor,
    point: torch.Tensor,
    box: torch.Tensor,
    box_labels: torch.Tensor,
    flags: torch.Tensor,
    ccl_radius: tuple[float, ...],
    angular_step: float = 0.0,
) -> torch.Tensor:
    """SPG-B over all boxes at once: which (point, box) pairs survive.

    Candidates of a box are its points with flag 1; the kept pairs are those in the box's largest
    BEV component. The linking radius of a box is ``max(ccl_radius[class], angular_step * d)``
    with ``d`` the mean range of its candidates: with ``angular_step = k * 2 pi / columns`` it
    never falls below ``k`` azimuth point spacings, so a sparser LiDAR than the release's (Waymo,
    2650 columns, where 0.1 m is above the spacing up to ~40 m) does not shred distant objects.
    ``angular_step = 0`` is the release's fixed class radius.

    Args:
        xyz: (N, >=3) points (metres).
        point, box: (P,) int64 pairs from ``frustum_hits``.
        box_labels: (B,) int64 class of each global box.
        flags: (N,) int64 flags (after SPG-A, or ``base_flags``).
        ccl_radius: linking distance per class (metres).
        angular_step: radians; the radius floor per metre of range (0: off).

    Returns:
        (P,) bool.
    """
    cand = (flags[point] == FLAG_CANDIDATE).nonzero().squeeze(1)
    keep = torch.zeros(point.shape[0], dtype=torch.bool, device=point.device)
    radius = torch.tensor(ccl_radius, dtype=torch.float64, device=xyz.device)
    r = radius[box_labels[box[cand]]]
    if angular_step > 0 and cand.numel():
        rng = xyz[point[cand], :2].double().norm(dim=1)
        nb = int(box.max()) + 1
        total = torch.zeros(nb, dtype=torch.float64, device=xyz.device).index_add_(
            0, box[cand], rng)
        count = torch.bincount(box[cand], minlength=nb).clamp(min=1)
        r = torch.maximum(r, angular_step * (total / count)[box[cand]])
    keep[cand[largest_bev_components(xyz[point[cand], :2], box[cand], r)]] = True
    return keep


def drop_unclustered(flags: torch.Tensor, point: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Candidates (flag 1) in no kept pair become background; ignore stays ignore. (N,) int64."""
    kept = torch.zeros(flags.shape[0], dtype=torch.bool, device=flags.device)
    kept[point[keep]] = True
    return torch.where((flags == FLAG_CANDIDATE) & ~kept, FLAG_BACKGROUND, flags)


def labels_from_boxes(
    flags: torch.Tensor, box_index: torch.Tensor, box_labels: torch.Tensor
) -> torch.Tensor:
    """(N,) int64 labels: the assigned box's class, ``BACKGROUND`` without one, ``IGNORE`` on -1."""
    labels = torch.full_like(flags, BACKGROUND)
    hit = box_index >= 0
    labels[hit] = box_labels[box_index[hit]]
    return torch.where(flags == FLAG_IGNORE, IGNORE, labels)
