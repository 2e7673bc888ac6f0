"""Vectorized ray casting of a grid of rays against analytic primitives (torch, any device).

Each primitive is tested only against the rays inside a rectangle of the ray grid that bounds its
image (angular extent for the LiDAR, projected corners for a camera), so the cost grows with the
covered area, not with rays x primitives.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from labeleff.data.synthetic.scene import BOX, CYLINDER, ELLIPSOID, Primitives

_EPS = 1e-12
DTYPE = torch.float32  # ray casting precision: ~1 mm at 100 m, twice as fast as float64


@dataclass(frozen=True)
class TorchPrims:
    """The geometric part of ``Primitives`` as ``DTYPE`` tensors on one device (P primitives)."""

    kind: torch.Tensor
    center: torch.Tensor
    half: torch.Tensor
    yaw: torch.Tensor

    @staticmethod
    def from_numpy(p: Primitives, device: torch.device) -> TorchPrims:
        f = lambda a: torch.as_tensor(a, dtype=DTYPE, device=device)  # noqa: E731
        return TorchPrims(torch.as_tensor(p.kind, device=device), f(p.center), f(p.half), f(p.yaw))

    def local_corners(self) -> torch.Tensor:
        """(P, 8, 3) world corners of each primitive's local bounding box."""
        signs = (
            torch.tensor(
                [[i >> 2 & 1, i >> 1 & 1, i & 1] for i in range(8)],
                dtype=DTYPE,
                device=self.center.device,
            )
            * 2
            - 1
        )
        local = signs[None] * self.half[:, None]
        c, s = torch.cos(self.yaw)[:, None], torch.sin(self.yaw)[:, None]
        x = local[..., 0] * c - local[..., 1] * s
        y = local[..., 0] * s + local[..., 1] * c
        return torch.stack([x, y, local[..., 2]], -1) + self.center[:, None]


@dataclass(frozen=True)
class Hits:
    """Nearest hit per ray (R rays).

    Attributes:
        t: (R,) ``DTYPE`` distance along the (unit) ray, ``inf`` where nothing is hit.
        prim: (R,) int64 index of the primitive hit, -1 for none.
        normal: (R, 3) ``DTYPE`` unit surface normal facing the ray origin (zeros where no hit).
    """

    t: torch.Tensor
    prim: torch.Tensor
    normal: torch.Tensor


def rect_pairs(
    r0: torch.Tensor, r1: torch.Tensor, c0: torch.Tensor, c1: torch.Tensor, width: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Enumerate (ray, primitive) pairs from per-primitive rectangles of a row-major ray grid.

    Args:
        r0, r1: (P,) int64 first and one-past-last row.
        c0, c1: (P,) int64 first and one-past-last column; may lie outside [0, width) (wrapped).
        width: columns of the ray grid.

    Returns:
        ray: (Q,) int64 flat ray index ``row * width + column % width``.
        prim: (Q,) int64 primitive index.
    """
    nr, nc = (r1 - r0).clamp(min=0), (c1 - c0).clamp(min=0, max=width)
    counts = nr * nc
    prim = torch.repeat_interleave(torch.arange(len(counts), device=counts.device), counts)
    start = torch.cumsum(counts, 0) - counts
    local = torch.arange(len(prim), device=counts.device) - start[prim]
    ncp = nc[prim].clamp(min=1)
    row, col = r0[prim] + local // ncp, (c0[prim] + local % ncp) % width
    return row * width + col, prim


def _to_local(p: TorchPrims, origin: torch.Tensor, dirs: torch.Tensor, pid: torch.Tensor):
    c, s = torch.cos(p.yaw[pid]), torch.sin(p.yaw[pid])
    o = origin[None] - p.center[pid]
    rot = lambda v: torch.stack([c * v[:, 0] + s * v[:, 1], -s * v[:, 0] + c * v[:, 1], v[:, 2]], 1)  # noqa: E731
    return rot(o), rot(dirs), c, s


def _safe(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x.abs() < _EPS, torch.full_like(x, _EPS), x)


def _box(o: torch.Tensor, d: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Slab test; returns entry distance (inf on miss) and local normal, all (Q,)/(Q, 3)."""
    t1, t2 = (-h - o) / _safe(d), (h - o) / _safe(d)
    tnear, axis = torch.minimum(t1, t2).max(1)
    tfar = torch.maximum(t1, t2).amin(1)
    hit = (tnear <= tfar) & (tnear > 0)
    n = torch.zeros_like(o)
    n.scatter_(1, axis[:, None], -torch.sign(d.gather(1, axis[:, None])))
    return torch.where(hit, tnear, torch.inf), n


def _ellipsoid(o: torch.Tensor, d: torch.Tensor, h: torch.Tensor):
    """Quadric test on the unit sphere after scaling; see ``_box``."""
    os_, ds = o / h, d / h
    a, b, c = (ds * ds).sum(1), (os_ * ds).sum(1), (os_ * os_).sum(1) - 1
    disc = b * b - a * c
    t = (-b - disc.clamp(min=0).sqrt()) / a
    hit = (disc >= 0) & (t > 0)
    return torch.where(hit, t, torch.inf), (o + t[:, None] * d) / (h * h)


def _cylinder(o: torch.Tensor, d: torch.Tensor, h: torch.Tensor):
    """Vertical elliptic cylinder with caps: side quadric intersected with the z slab."""
    os_, ds = o[:, :2] / h[:, :2], d[:, :2] / h[:, :2]
    a = (ds * ds).sum(1).clamp(min=_EPS)
    b, c = (os_ * ds).sum(1), (os_ * os_).sum(1) - 1
    disc = b * b - a * c
    sq = disc.clamp(min=0).sqrt()
    ts0, ts1 = (-b - sq) / a, (-b + sq) / a
    tz1, tz2 = (-h[:, 2] - o[:, 2]) / _safe(d[:, 2]), (h[:, 2] - o[:, 2]) / _safe(d[:, 2])
    tz0, tzf = torch.minimum(tz1, tz2), torch.maximum(tz1, tz2)
    tn, tf = torch.maximum(ts0, tz0), torch.minimum(ts1, tzf)
    hit = (disc >= 0) & (tn <= tf) & (tn > 0)
    p = o + tn[:, None] * d
    side = torch.stack([p[:, 0] / h[:, 0] ** 2, p[:, 1] / h[:, 1] ** 2, torch.zeros_like(tn)], 1)
    cap = torch.zeros_like(side)
    cap[:, 2] = -torch.sign(d[:, 2])
    return torch.where(hit, tn, torch.inf), torch.where((ts0 >= tz0)[:, None], side, cap)


_TESTS = {BOX: _box, ELLIPSOID: _ellipsoid, CYLINDER: _cylinder}


def intersect_pairs(
    p: TorchPrims, origin: torch.Tensor, dirs: torch.Tensor, pid: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Intersect rays with primitives pairwise.

    Args:
        p: the primitives.
        origin: (3,) common ray origin.
        dirs: (Q, 3) unit ray directions.
        pid: (Q,) primitive index per ray.

    Returns:
        t: (Q,) entry distance, ``inf`` for a miss; normal: (Q, 3) world normal (not normalised).
    """
    o, d, c, s = _to_local(p, origin, dirs, pid)
    h = p.half[pid]
    kind = p.kind[pid]
    t = torch.full_like(c, torch.inf)
    n = torch.zeros_like(o)
    for k, test in _TESTS.items():
        sel = torch.nonzero(kind == k).squeeze(1)
        if len(sel):
            t[sel], n[sel] = test(o[sel], d[sel], h[sel])
    world = torch.stack([c * n[:, 0] - s * n[:, 1], s * n[:, 0] + c * n[:, 1], n[:, 2]], 1)
    return t, world


def nearest_hits(
    p: TorchPrims, origin: torch.Tensor, dirs: torch.Tensor, ray: torch.Tensor, pid: torch.Tensor
) -> Hits:
    """First hit per ray among candidate (ray, primitive) pairs.

    Args:
        p: the primitives.
        origin: (3,) common ray origin.
        dirs: (R, 3) unit directions of all rays.
        ray: (Q,) int64 ray index per candidate pair.
        pid: (Q,) int64 primitive index per candidate pair.

    Returns:
        The nearest hit of every ray; ties go to the higher pair index.
    """
    t, n = intersect_pairs(p, origin, dirs[ray], pid)
    R = dirs.shape[0]
    tmin = torch.full((R,), torch.inf, dtype=t.dtype, device=t.device)
    tmin.scatter_reduce_(0, ray, t, "amin")
    win = torch.nonzero((t == tmin[ray]) & torch.isfinite(t)).squeeze(1)
    best = torch.full((R,), -1, dtype=torch.long, device=t.device)
    best.scatter_reduce_(0, ray[win], win, "amax")
    hit = best >= 0
    prim = torch.where(hit, pid[best.clamp(min=0)], -1)
    normal = torch.where(hit[:, None], n[best.clamp(min=0)], 0.0)
    normal = normal / normal.norm(dim=1, keepdim=True).clamp(min=_EPS)
    normal = normal * -torch.sign((normal * dirs).sum(1, keepdim=True) + _EPS)
    return Hits(tmin, prim, normal)
