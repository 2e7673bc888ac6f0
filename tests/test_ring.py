"""Ring segments (dossier 3.4) and the tensor connected-components helpers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as scipy_cc

from labeleff.geometry.ccl import bev_components, connected_components
from labeleff.geometry.ring import ring_segments


def _seg(ring: list[int], col: list[int], rng: list[float], width: int = 100) -> list[int]:
    return ring_segments(
        torch.tensor(ring), torch.tensor(col), torch.tensor(rng, dtype=torch.float32), width
    ).tolist()


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def test_depth_jump_splits_a_ring() -> None:
    # D = 20 m -> tau = 0.096 m; the 10 m -> 20 m jump breaks the ring into two segments.
    assert _seg([0] * 8, list(range(8)), [10.0] * 4 + [20.0] * 4) == [0, 0, 0, 0, 1, 1, 1, 1]


def test_gap_within_window_is_bridged_and_beyond_is_not() -> None:
    # D = 20 m -> K = 25, J = 12: links reach back 11 columns.
    cols = [0, 1, 2, 13, 14, 40, 41]
    assert _seg([0] * 7, cols, [20.0] * 7) == [0, 0, 0, 0, 0, 1, 1]
    # A 12-column gap is one too many.
    assert _seg([0] * 4, [0, 1, 13, 14], [20.0] * 4) == [0, 0, 1, 1]


def test_window_shrinks_for_far_rows() -> None:
    # D = 50 m -> K = clip(10, 12, 50) = 12 -> J = 6: gap 5 links, gap 6 does not.
    assert _seg([0] * 3, [0, 5, 11], [50.0] * 3) == [0, 0, 1]


def test_link_skips_an_occluder_inside_the_window() -> None:
    # A near point between two far ones: the far ones join across it, the near one is alone.
    assert _seg([0] * 5, [0, 1, 2, 3, 4], [20.0, 20.0, 5.0, 20.0, 20.0]) == [0, 0, 1, 0, 0]


def test_unknown_ring_rows_are_separate_and_no_wrap_around() -> None:
    seg = _seg([0, 0, 1, 1, -1], [0, 99, 0, 1, 5], [10.0, 10.0, 10.0, 10.0, 10.0])
    assert seg[4] == -1
    assert len({seg[0], seg[1], seg[2]}) == 3  # no wrap from column 99 to 0; rows never mix
    assert seg[2] == seg[3]
    assert sorted(set(seg[:4])) == [0, 1, 2]  # compact ids


def test_duplicate_cell_joins_only_when_range_is_close() -> None:
    seg = _seg([0, 0, 0, 0], [0, 1, 1, 2], [10.0, 10.0, 10.01, 10.0])
    assert len(set(seg)) == 1
    seg = _seg([0, 0, 0], [0, 1, 1], [10.0, 10.0, 3.0])
    assert seg[1] != seg[2]


def _reference(ring: np.ndarray, col: np.ndarray, rng: np.ndarray) -> np.ndarray:
    """Plain-Python scan of dossier 3.4 (one return per point, unique columns per ring)."""
    n = len(ring)
    parent = list(range(n))
    for r in np.unique(ring):
        idx = np.flatnonzero(ring == r)
        d = rng[idx].max()
        j_max = int(np.clip(500.0 / d, 12, 50) / 2)
        by_col = {int(col[i]): int(i) for i in idx}
        for i in idx:
            for j in range(1, j_max):
                k = by_col.get(int(col[i]) - j)
                if k is not None and abs(rng[i] - rng[k]) < 0.0048 * d:
                    parent[i] = k
                    break
    graph = coo_matrix((np.ones(n), (np.arange(n), parent)), shape=(n, n))
    return scipy_cc(graph, directed=False)[1]


@pytest.mark.parametrize("seed", range(5))
def test_matches_a_plain_scan(seed: int) -> None:
    g = np.random.default_rng(seed)
    cells = g.choice(4 * 300, size=500, replace=False)
    ring, col = cells // 300, cells % 300
    rng = np.where(g.random(500) < 0.5, 10.0, 30.0) + g.normal(0, 0.05, 500)
    got = ring_segments(torch.from_numpy(ring), torch.from_numpy(col), torch.from_numpy(rng), 300)
    assert _same_partition(got.numpy(), _reference(ring, col, rng))


def test_connected_components_of_a_small_graph() -> None:
    src, dst = torch.tensor([0, 1, 4, 6]), torch.tensor([1, 2, 3, 5])
    assert connected_components(7, src, dst).tolist() == [0, 0, 0, 3, 3, 5, 5]


@pytest.mark.parametrize("seed", range(8))
def test_bev_components_match_dense_reference(seed: int) -> None:
    g = np.random.default_rng(seed)
    n = int(g.integers(2, 300))
    xy = g.uniform(0, g.uniform(0.5, 5), (n, 2))
    group = g.integers(0, 3, n)
    radius = np.array([0.6, 0.1, 0.4])[group]
    got = bev_components(torch.from_numpy(xy), torch.from_numpy(group), torch.from_numpy(radius))
    i, j = np.triu_indices(n, 1)
    e = (np.linalg.norm(xy[i] - xy[j], axis=1) < radius[i]) & (group[i] == group[j])
    ref = scipy_cc(coo_matrix((np.ones(e.sum()), (i[e], j[e])), shape=(n, n)), directed=False)[1]
    assert _same_partition(got.numpy(), ref)


def test_bev_components_strict_radius() -> None:
    xy = torch.tensor([[0.0, 0.0], [0.6, 0.0], [1.19, 0.0]], dtype=torch.float64)
    radius = torch.full((3,), 0.6, dtype=torch.float64)
    labels = bev_components(xy, torch.zeros(3, dtype=torch.long), radius)
    assert labels[0] != labels[1] and labels[1] == labels[2]
