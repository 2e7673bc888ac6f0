"""Ring segments: 1-D depth-continuous runs of points along each LiDAR ring (MWSIS dossier 3.4).

The official ``depth_clustering_segment`` scans each range-image row left to right and links a point
to the nearest earlier point (at most ``J - 1`` columns back) whose range differs by less than a
per-row threshold. Segments are the connected components of those links. This module computes the
same partition for frames with one return per point, vectorized in torch (any device).
"""

from __future__ import annotations

import torch


def resolve_forest(parent: torch.Tensor) -> torch.Tensor:
    """Roots of a forest given by parent pointers, by pointer jumping.

    Args:
        parent: (N,) int64, ``parent[i]`` is the parent of node i (a root points to itself). Every
            chain must end at a root (no cycles other than self-loops).

    Returns:
        (N,) int64 root of every node; ``O(log depth)`` gathers.
    """
    root = parent
    while True:
        nxt = root[root]
        if torch.equal(nxt, root):
            return root
        root = nxt


def _row_parameters(
    ring: torch.Tensor, rng: torch.Tensor, tau_per_metre: float, window: tuple[float, int, int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-point look-back window ``J`` and range threshold ``tau`` from its row's maximum range.

    Args:
        ring: (P,) int64 row of each point (all >= 0).
        rng: (P,) float range of each point (metres).
        tau_per_metre: ``tau = tau_per_metre * D`` with ``D`` the row's maximum range.
        window: ``(numerator, k_min, k_max)``: ``J = int(clip(numerator / D, k_min, k_max) / 2)``.

    Returns:
        J: (P,) int64 window of the point's row; tau: (P,) float threshold (metres).
    """
    num_rows = int(ring.max()) + 1
    d_max = torch.zeros(num_rows, dtype=rng.dtype, device=rng.device)
    d_max = d_max.scatter_reduce(0, ring, rng, reduce="amax").clamp(min=1e-6)
    numerator, k_min, k_max = window
    J = ((numerator / d_max).clamp(k_min, k_max) / 2).floor().long()
    return J[ring], (tau_per_metre * d_max)[ring]


def _nearest_links(
    ring: torch.Tensor, column: torch.Tensor, rng: torch.Tensor, J: torch.Tensor, tau: torch.Tensor
) -> torch.Tensor:
    """Parent of each point sorted by (ring, column): the nearest earlier linkable point, or itself.

    A point at column ``i`` links to the point at the largest column ``i - j``, ``0 <= j <= J - 1``,
    of the same ring whose range differs by less than ``tau`` (``j = 0`` only for duplicated
    columns; one return per point makes that rare). Only the ``max(J) - 1`` preceding sorted points
    are examined, which covers the whole window when columns are unique within a ring.

    Args:
        ring, column, rng, J, tau: (P,) per-point values, sorted by (ring, column).

    Returns:
        (P,) int64 parent index into the sorted order (itself when unlinked).
    """
    p = ring.shape[0]
    idx = torch.arange(p, device=ring.device)
    parent = idx.clone()
    best_gap = torch.full_like(column, torch.iinfo(column.dtype).max)
    for k in range(1, min(int(J.max()), p + 1)):
        prev = idx[k:] - k
        gap = column[k:] - column[prev]
        ok = (ring[k:] == ring[prev]) & (gap <= J[k:] - 1)
        ok &= ((rng[k:] - rng[prev]).abs() < tau[k:]) & (gap < best_gap[k:])
        parent[k:] = torch.where(ok, prev, parent[k:])
        best_gap[k:] = torch.where(ok, gap, best_gap[k:])
    return parent


def ring_segments(
    ring: torch.Tensor,
    column: torch.Tensor,
    rng: torch.Tensor,
    num_columns: int = 0,
    tau_per_metre: float = 0.0048,
    window: tuple[float, int, int] = (500.0, 12, 50),
) -> torch.Tensor:
    """Ring-segment id of every point (dossier 3.4, one return per point, no wrap-around).

    Per row, ``D`` = maximum range, ``tau = 0.0048 * D`` metres and ``J = int(clip(500 / D, 12, 50)
    / 2)``; a point links to the nearest earlier point of its row within ``J - 1`` columns whose
    range differs by less than ``tau``; segments are the unions of links.

    Args:
        ring: (N,) integer row (beam) index, -1 when unknown.
        column: (N,) integer azimuth column index, -1 when unknown.
        rng: (N,) range ``||xyz||`` (metres).
        num_columns: columns per revolution (0 = unknown: ``max(column) + 1``); only used for the
            sort key, since segments never wrap from the last column to column 0.
        tau_per_metre: range threshold per metre of the row's maximum range.
        window: ``(numerator, k_min, k_max)`` of the look-back window rule.

    Returns:
        (N,) int64 segment ids, ``0 .. S-1`` unique within the frame, -1 where ring or column < 0.
    """
    out = torch.full(ring.shape, -1, dtype=torch.long, device=ring.device)
    sel = ((ring >= 0) & (column >= 0)).nonzero().squeeze(1)
    if sel.numel() == 0:
        return out
    r, c, d = ring[sel].long(), column[sel].long(), rng[sel]
    width = max(int(num_columns), int(c.max()) + 1)
    order = torch.argsort(r * width + c, stable=True)
    r, c, d = r[order], c[order], d[order]
    J, tau = _row_parameters(r, d, tau_per_metre, window)
    root = resolve_forest(_nearest_links(r, c, d, J, tau))
    is_root = root == torch.arange(root.shape[0], device=root.device)
    compact = torch.cumsum(is_root.long(), 0) - 1
    out[sel[order]] = compact[root]
    return out
