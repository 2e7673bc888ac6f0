"""Connected components on tensors (any device): a graph solver and exact BEV radius clustering.

``bev_components`` links two points of the same group when their BEV distance is below the group's
radius ``r``, without ever listing all close pairs (dense objects have thousands of neighbours
within 0.6 m). Points are binned into square cells of side ``r / 3``:

* two points in the same or in 8-adjacent cells are always closer than ``r`` (the farthest
  points of diagonal cells are ``2 * sqrt(2) * r / 3 < r`` apart), so those cells are linked
  outright;
* cells 4 or more apart along an axis are at least ``r`` apart and never linked;
* the remaining cell pairs (offsets up to 3) are linked when some pair of their points is closer
  than ``r``; only pairs whose cells are not already connected and whose point bounding boxes
  neither prove nor exclude a link have their points compared.

The result equals the components of the exact point graph (up to float rounding at cell borders).
"""

from __future__ import annotations

import torch

_SHIFT = 21  # bits per cell coordinate in the packed cell key
_BIAS = 1 << (_SHIFT - 1)


def resolve_forest(parent: torch.Tensor) -> torch.Tensor:
    """Roots of a forest given by parent pointers, by pointer jumping.

    Args:
        parent: (N,) int64, ``parent[i]`` is the parent of node i (a root points to itself). Every
            chain must end at a root (no cycles other than self-loops).

    Returns:
        (N,) int64 root of every node, after ``O(log depth)`` gathers.
    """
    root = parent
    while True:
        nxt = torch.gather(root, 0, root)  # much faster than root[root] on CPU
        if torch.equal(nxt, root):
            return root
        root = nxt


def connected_components(num_nodes: int, src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
    """Connected components of an undirected graph by min-label hooking and pointer jumping.

    Args:
        num_nodes: N.
        src, dst: (E,) int64 edge end points.

    Returns:
        (N,) int64 label per node: the smallest node index of its component.
    """
    label = torch.arange(num_nodes, device=src.device)
    while src.numel():
        m = torch.minimum(label.index_select(0, src), label.index_select(0, dst))
        new = label.scatter_reduce(0, src, m, reduce="amin")
        new = resolve_forest(new.scatter_reduce(0, dst, m, reduce="amin"))
        if torch.equal(new, label):
            break
        label = new
    return label


def _offsets(near: bool, device: torch.device) -> torch.Tensor:
    """(K, 2) half of the cell offsets (dx, dy): 8-adjacent (``near``) or 2..3 cells away."""
    r = torch.arange(-3, 4, device=device)
    d = torch.cartesian_prod(r, r)
    half = (d[:, 0] > 0) | ((d[:, 0] == 0) & (d[:, 1] > 0))
    adjacent = d.abs().max(1).values <= 1
    return d[half & (adjacent if near else ~adjacent)]


def _neighbour_cells(keys: torch.Tensor, offsets: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """(a, b) index pairs of occupied cells ``b = a + offset`` in sorted packed ``keys``."""
    shift = (offsets[:, 0] << _SHIFT) + offsets[:, 1]
    target = (keys[:, None] + shift[None]).reshape(-1)
    pos = torch.searchsorted(keys, target).clamp(max=keys.numel() - 1)
    found = keys.index_select(0, pos) == target
    a = torch.arange(keys.numel(), device=keys.device).repeat_interleave(offsets.shape[0])
    return a[found], pos[found]


def _cell_boxes(xy: torch.Tensor, cell: torch.Tensor, num_cells: int) -> torch.Tensor:
    """(C, 4) ``xmin, ymin, xmax, ymax`` of the points of every cell."""
    lo = torch.full((num_cells, 2), torch.inf, dtype=xy.dtype, device=xy.device)
    hi = torch.full((num_cells, 2), -torch.inf, dtype=xy.dtype, device=xy.device)
    idx = cell[:, None].expand(-1, 2)
    lo = lo.scatter_reduce(0, idx, xy, reduce="amin")
    return torch.cat([lo, hi.scatter_reduce(0, idx, xy, reduce="amax")], 1)


def _box_gaps(boxes: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Squared smallest and largest distances between the point boxes of cells a and b."""
    ba, bb = boxes.index_select(0, a), boxes.index_select(0, b)
    gap = torch.maximum(ba[:, :2] - bb[:, 2:], bb[:, :2] - ba[:, 2:]).clamp(min=0)
    span = torch.maximum(ba[:, 2:] - bb[:, :2], bb[:, 2:] - ba[:, :2])
    return (gap**2).sum(1), (span**2).sum(1)


def _any_close_pair(
    xy: torch.Tensor, cell: torch.Tensor, a: torch.Tensor, b: torch.Tensor, r2: torch.Tensor
) -> torch.Tensor:
    """(K,) bool: a point of cell a[k] and a point of cell b[k] are closer than sqrt(r2[k])."""
    order = torch.argsort(cell)
    count = torch.bincount(cell, minlength=int(cell.max()) + 1)
    start = torch.cumsum(count, 0) - count
    na, nb = count.index_select(0, a), count.index_select(0, b)
    pair = torch.repeat_interleave(torch.arange(a.numel(), device=a.device), na * nb)
    k = torch.arange(pair.numel(), device=a.device) - (torch.cumsum(na * nb, 0) - na * nb)[pair]
    nb_p = nb.index_select(0, pair)
    ia = order.index_select(0, start.index_select(0, a)[pair] + k // nb_p)
    ib = order.index_select(0, start.index_select(0, b)[pair] + k % nb_p)
    d2 = ((xy.index_select(0, ia) - xy.index_select(0, ib)) ** 2).sum(1)
    hit = torch.zeros(a.numel(), dtype=torch.bool, device=a.device)
    hit[pair[d2 < r2.index_select(0, pair)]] = True
    return hit


def bev_components(xy: torch.Tensor, group: torch.Tensor, radius: torch.Tensor) -> torch.Tensor:
    """Components of ``||xy_i - xy_j|| < radius`` within each group (see the module docstring).

    Args:
        xy: (P, 2) BEV coordinates (metres); computed in float64.
        group: (P,) int64 group id (>= 0, < 2^21); points of different groups never link.
        radius: (P,) linking distance (metres), constant within a group, > 0.

    Returns:
        (P,) int64 component label (equal labels = same component; unique across groups).
    """
    if xy.shape[0] == 0:
        return torch.zeros(0, dtype=torch.long, device=xy.device)
    xy, radius = xy.double(), radius.double()
    c = torch.floor(xy / (radius[:, None] / 3)).long() + _BIAS
    keys, cell = torch.unique(
        (group << (2 * _SHIFT)) + (c[:, 0] << _SHIFT) + c[:, 1], return_inverse=True
    )
    cell_r2 = torch.zeros(keys.numel(), dtype=xy.dtype, device=xy.device)
    cell_r2 = cell_r2.scatter(0, cell, radius**2)
    src, dst = _neighbour_cells(keys, _offsets(True, xy.device))
    comp = connected_components(keys.numel(), src, dst)
    a, b = _neighbour_cells(keys, _offsets(False, xy.device))
    keep = comp.index_select(0, a) != comp.index_select(0, b)
    a, b = a[keep], b[keep]
    near2, far2 = _box_gaps(_cell_boxes(xy, cell, keys.numel()), a, b)
    r2 = cell_r2.index_select(0, a)
    sure, maybe = far2 < r2, (near2 < r2) & (far2 >= r2)
    tested = _any_close_pair(xy, cell, a[maybe], b[maybe], r2[maybe])
    src = torch.cat([src, a[sure], a[maybe][tested]])
    dst = torch.cat([dst, b[sure], b[maybe][tested]])
    return connected_components(keys.numel(), src, dst).index_select(0, cell)
