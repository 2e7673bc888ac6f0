"""Rotated IoU of 3D boxes ``(x, y, z_center, l, w, h, yaw)`` in bird's-eye view and in 3D (torch).

The intersection of two convex quadrilaterals is the convex hull of three candidate point sets:
the corners of each box inside the other and the crossings of their edges (at most 4 + 4 + 16
points). Valid candidates are sorted by angle around their centroid and the area follows from the
shoelace formula; every step is batched over pairs, with no Python loop over boxes. Only pairs
whose BEV circumcircles meet are computed. Geometry is done in float64 in a frame centred on each
pair, then returned in the input dtype.
"""

from __future__ import annotations

import torch

from labeleff.geometry.boxes import bev_corners

# Pairs processed at once, bounding peak memory (~0.3 kB per pair) for large N x M inputs.
_CHUNK_PAIRS = 1 << 16
_NO_MM = "donot_use_mm_for_euclid_dist"  # exact distances for the circumcircle pre-filter
# Below this, an edge length (m) or an edge cross product (m^2) counts as zero (parallel edges).
_EPS = 1e-9
# A corner this close (m) outside the other box, or an edge parameter this far outside [0, 1],
# still counts as on the boundary (touching and identical boxes).
_ON_EDGE = 1e-7
_T_TOL = 1e-9


def _cross(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """z component of the cross product of (..., 2) vectors."""
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


def _inside(points: torch.Tensor, poly: torch.Tensor) -> torch.Tensor:
    """(P, K) bool: points (P, K, 2) inside or on counter-clockwise quads (P, 4, 2)."""
    edges = poly.roll(-1, dims=1) - poly
    length = edges.norm(dim=-1).clamp_min(_EPS)
    rel = points[:, :, None, :] - poly[:, None, :, :]
    dist = _cross(edges[:, None], rel) / length[:, None]
    return (dist >= -_ON_EDGE).all(-1)


def _edge_crossings(p: torch.Tensor, q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Crossings of every edge of quads p with every edge of quads q.

    Args:
        p: (P, 4, 2) quads. q: (P, 4, 2) quads.

    Returns:
        (P, 16, 2) crossing points and (P, 16) bool validity (parallel or missing edges invalid).
    """
    r = (p.roll(-1, dims=1) - p)[:, :, None, :]
    s = (q.roll(-1, dims=1) - q)[:, None, :, :]
    d = q[:, None, :, :] - p[:, :, None, :]
    denom = _cross(r, s)
    ok = denom.abs() > _EPS
    safe = torch.where(ok, denom, torch.ones_like(denom))
    t, u = _cross(d, s) / safe, _cross(d, r) / safe
    ok = ok & (t >= -_T_TOL) & (t <= 1 + _T_TOL) & (u >= -_T_TOL) & (u <= 1 + _T_TOL)
    points = p[:, :, None, :] + t[..., None] * r
    return points.reshape(-1, 16, 2), ok.reshape(-1, 16)


def _convex_area(points: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """(P,) area of the convex polygon whose vertices are the valid points (P, K, 2)."""
    weight = valid.to(points.dtype)
    count = weight.sum(1, keepdim=True).clamp_min(1.0)
    centre = (points * weight[..., None]).sum(1) / count
    rel = points - centre[:, None, :]
    angle = torch.atan2(rel[..., 1], rel[..., 0]).masked_fill(~valid, 10.0)
    order = angle.argsort(dim=1)
    rel = rel.gather(1, order[..., None].expand_as(rel))
    first = rel[:, :1, :].expand_as(rel)
    rel = torch.where(valid.gather(1, order)[..., None], rel, first)
    return 0.5 * _cross(rel, rel.roll(-1, dims=1)).sum(1).abs()


def _bev_intersection_aligned(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(P,) float64 BEV intersection area (m^2) of row-matched boxes a, b (P, 7)."""
    origin = (a[:, :2] + b[:, :2]) / 2
    ca = bev_corners(a.double()) - origin[:, None, :].double()
    cb = bev_corners(b.double()) - origin[:, None, :].double()
    crossings, crossing_ok = _edge_crossings(ca, cb)
    points = torch.cat([ca, cb, crossings], 1)
    valid = torch.cat([_inside(ca, cb), _inside(cb, ca), crossing_ok], 1)
    return _convex_area(points, valid)


def _check(a: torch.Tensor, b: torch.Tensor, aligned: bool) -> None:
    """Raise ValueError unless a and b are (N, 7) boxes (with equal N when aligned)."""
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != 7 or b.shape[1] != 7:
        raise ValueError(f"boxes must be (N, 7) and (M, 7), got {tuple(a.shape)}, {tuple(b.shape)}")
    if aligned and a.shape[0] != b.shape[0]:
        raise ValueError(f"aligned IoU needs equal row counts, got {a.shape[0]} and {b.shape[0]}")


def _iou_aligned(a: torch.Tensor, b: torch.Tensor, three_d: bool) -> torch.Tensor:
    """(P,) BEV or 3D IoU of row-matched boxes; 0 where the union is empty."""
    area_a = (a[:, 3] * a[:, 4]).double()
    area_b = (b[:, 3] * b[:, 4]).double()
    # The bound also zeroes degenerate (zero-area) boxes, whose inside test is meaningless.
    inter = torch.minimum(_bev_intersection_aligned(a, b), torch.minimum(area_a, area_b))
    if three_d:
        top = torch.minimum(a[:, 2] + a[:, 5] / 2, b[:, 2] + b[:, 5] / 2)
        bottom = torch.maximum(a[:, 2] - a[:, 5] / 2, b[:, 2] - b[:, 5] / 2)
        inter = inter * (top - bottom).clamp_min(0).double()
        area_a, area_b = area_a * a[:, 5].double(), area_b * b[:, 5].double()
    union = area_a + area_b - inter
    iou = torch.where(union > 0, inter / union.clamp_min(1e-12), torch.zeros_like(union))
    return iou.clamp(0.0, 1.0).to(a.dtype)


def _iou_pairwise(a: torch.Tensor, b: torch.Tensor, three_d: bool) -> torch.Tensor:
    """(N, M) IoU of all pairs; only pairs whose BEV circumcircles meet are computed, in chunks."""
    _check(a, b, aligned=False)
    out = torch.zeros(a.shape[0], b.shape[0], dtype=a.dtype, device=a.device)
    if out.numel() == 0:
        return out
    radius_a, radius_b = a[:, 3:5].norm(dim=1) / 2, b[:, 3:5].norm(dim=1) / 2
    dist = torch.cdist(a[None, :, :2], b[None, :, :2].to(a), compute_mode=_NO_MM)[0]
    near_a, near_b = (dist <= radius_a[:, None] + radius_b[None, :] + 1e-3).nonzero(as_tuple=True)
    for start in range(0, near_a.numel(), _CHUNK_PAIRS):
        ia, ib = near_a[start : start + _CHUNK_PAIRS], near_b[start : start + _CHUNK_PAIRS]
        out[ia, ib] = _iou_aligned(a[ia], b[ib].to(a), three_d)
    return out


def bev_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Rotated bird's-eye-view IoU of all pairs of boxes.

    Args:
        a: (N, 7) boxes ``x, y, z_center, l, w, h, yaw`` (metres, radians).
        b: (M, 7) boxes.

    Returns:
        (N, M) IoU in [0, 1], dtype and device of ``a``; 0 for pairs whose union has no area.
    """
    return _iou_pairwise(a, b, three_d=False)


def iou_3d(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """3D IoU of all pairs of yaw-rotated boxes (BEV intersection x z overlap / union volume).

    Args:
        a: (N, 7) boxes ``x, y, z_center, l, w, h, yaw`` (metres, radians).
        b: (M, 7) boxes.

    Returns:
        (N, M) IoU in [0, 1], dtype and device of ``a``; 0 for pairs whose union has no volume.
    """
    return _iou_pairwise(a, b, three_d=True)


def bev_iou_aligned(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """BEV IoU of row-matched boxes: (N, 7), (N, 7) -> (N,)."""
    _check(a, b, aligned=True)
    return _iou_aligned(a, b, three_d=False)


def iou_3d_aligned(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """3D IoU of row-matched boxes: (N, 7), (N, 7) -> (N,)."""
    _check(a, b, aligned=True)
    return _iou_aligned(a, b, three_d=True)
