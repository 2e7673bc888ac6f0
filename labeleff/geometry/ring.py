"""Ring segments: 1-D depth-continuous runs of points along each LiDAR ring (MWSIS dossier 3.4).

The official ``depth_clustering_segment`` scans each range-image row left to right and links a point
to the nearest earlier point (at most ``J - 1`` columns back) whose range differs by less than a
per-row threshold. Segments are the connected components of those links. This module computes the
same partition for frames with one return per point, vectorized in torch (any device): points
are scattered into a dense (rows, columns) range image, each look-back step is one column shift of
that image, and the link forest is resolved by pointer jumping. A point that shares its cell with
another point (quantised columns) joins that cell's segment when their ranges differ by less than
``tau``, else it is a segment of its own.
"""

from __future__ import annotations

import torch

from labeleff.geometry.ccl import resolve_forest


def _row_parameters(
    grid: torch.Tensor, tau_per_metre: float, window: tuple[float, int, int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-row look-back window ``J`` and range threshold ``tau`` from the row's maximum range.

    Args:
        grid: (R, W) range image (metres), NaN where empty.
        tau_per_metre: ``tau = tau_per_metre * D`` with ``D`` the row's maximum range.
        window: ``(numerator, k_min, k_max)``: ``J = int(clip(numerator / D, k_min, k_max) / 2)``.

    Returns:
        J: (R,) int64 window; tau: (R,) float threshold (metres).
    """
    d_max = grid.nan_to_num(-1.0).max(1).values.clamp(min=1e-6)
    numerator, k_min, k_max = window
    J = ((numerator / d_max).clamp(k_min, k_max) / 2).floor().long()
    return J, tau_per_metre * d_max


def _nearest_links(grid: torch.Tensor, J: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
    """Parent of every range-image cell: the nearest linkable earlier cell of its row, or itself.

    A cell at column ``i`` links to the filled cell at the largest column ``i - j``,
    ``1 <= j <= J - 1``, whose range differs by less than the row's ``tau``. Shifts run from the
    widest to the nearest so the nearest link is written last; rows must be sorted by ``J``
    descending so that each shift touches a leading block of rows only.

    Args:
        grid: (R, W) range image, NaN where empty (NaN never links).
        J: (R,) int64 window per row, non-increasing; tau: (R,) threshold per row (metres).

    Returns:
        (R * W,) int64 flat parent index.
    """
    rows, width = grid.shape
    base = torch.arange(rows * width, device=grid.device).reshape(rows, width)
    parent = base.clone()
    tau = tau[:, None]
    for j in range(min(int(J.max()), width) - 1, 0, -1):
        n = int((J > j).sum())
        ok = (grid[:n, j:] - grid[:n, :-j]).abs() < tau[:n]
        parent[:n, j:] = torch.where(ok, base[:n, :-j], parent[:n, j:])
    return parent.reshape(-1)


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
        num_columns: columns per revolution (0 = unknown: ``max(column) + 1``), the width of the
            range image; segments never wrap from the last column to column 0.
        tau_per_metre: range threshold per metre of the row's maximum range.
        window: ``(numerator, k_min, k_max)`` of the look-back window rule.

    Returns:
        (N,) int64 segment ids, ``0 .. S-1`` unique within the frame, -1 where ring or column < 0.
    """
    out = torch.full(ring.shape, -1, dtype=torch.long, device=ring.device)
    sel = ((ring >= 0) & (column >= 0)).nonzero().squeeze(1)
    if sel.numel() == 0:
        return out
    r, c, d = (t.index_select(0, sel) for t in (ring.long(), column.long(), rng))
    width = max(int(num_columns), int(c.max()) + 1)
    grid = torch.full(((int(r.max()) + 1) * width,), torch.nan, dtype=d.dtype, device=d.device)
    grid[r * width + c] = d
    J, tau = _row_parameters(grid.reshape(-1, width), tau_per_metre, window)
    order = torch.argsort(J, descending=True, stable=True)
    position = torch.empty_like(order)
    position[order] = torch.arange(order.shape[0], device=order.device)
    cell = position[r] * width + c
    grid = grid.reshape(-1, width).index_select(0, order)
    root = resolve_forest(_nearest_links(grid, J[order], tau[order]))
    out[sel] = _compact(root.index_select(0, cell))
    flat = grid.reshape(-1).index_select(0, cell)
    return _split_duplicates(out, sel, flat == d, (d - flat).abs() < tau[r])


def _compact(root: torch.Tensor) -> torch.Tensor:
    """(P,) ids ``0 .. S-1`` numbering the distinct values of (P,) cell roots in cell order."""
    used = torch.zeros(int(root.max()) + 1, dtype=torch.long, device=root.device)
    used[root] = 1
    return (torch.cumsum(used, 0) - 1).index_select(0, root)


def _split_duplicates(
    out: torch.Tensor, sel: torch.Tensor, owner: torch.Tensor, close: torch.Tensor
) -> torch.Tensor:
    """Give a singleton segment to each point that shares its range-image cell with the cell's
    point but differs from it in range by ``tau`` or more (only with quantised columns)."""
    alone = sel[~owner & ~close]
    out[alone] = int(out.max()) + 1 + torch.arange(alone.numel(), device=out.device)
    return out
