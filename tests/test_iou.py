"""Rotated BEV / 3D IoU against shapely polygons and hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
import torch

from labeleff.geometry.boxes import bev_corners
from labeleff.geometry.iou import bev_iou, bev_iou_aligned, iou_3d, iou_3d_aligned


def _box(x: float, y: float, length: float, w: float, yaw: float, z: float = 0.0, h: float = 1.0):
    return [x, y, z, length, w, h, yaw]


def _random_boxes(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * 6 - 3
    z = torch.rand(n, 1, generator=g) * 2 - 1
    size = torch.rand(n, 3, generator=g) * 4 + 0.2
    yaw = torch.rand(n, 1, generator=g) * 2 * math.pi - math.pi
    return torch.cat([xy, z, size, yaw], 1).double()


def _shapely_iou(a: torch.Tensor, b: torch.Tensor, three_d: bool) -> np.ndarray:
    pa = [shapely.Polygon(c) for c in bev_corners(a).numpy()]
    pb = [shapely.Polygon(c) for c in bev_corners(b).numpy()]
    out = np.zeros((len(pa), len(pb)))
    for i, p in enumerate(pa):
        for j, q in enumerate(pb):
            inter = p.intersection(q).area
            va, vb = p.area, q.area
            if three_d:
                (za, ha), (zb, hb) = a[i, [2, 5]].tolist(), b[j, [2, 5]].tolist()
                dz = min(za + ha / 2, zb + hb / 2) - max(za - ha / 2, zb - hb / 2)
                inter, va, vb = inter * max(dz, 0.0), va * ha, vb * hb
            out[i, j] = inter / (va + vb - inter)
    return out


@pytest.mark.parametrize("three_d", [False, True])
def test_random_pairs_match_shapely(three_d: bool) -> None:
    a, b = _random_boxes(20, 0), _random_boxes(20, 1)  # 400 pairs
    fn = iou_3d if three_d else bev_iou
    got = fn(a, b).numpy()
    want = _shapely_iou(a, b, three_d)
    assert (want > 0).mean() > 0.3  # the sample does exercise overlaps
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_float32_far_from_origin_matches_shapely() -> None:
    a, b = _random_boxes(15, 2), _random_boxes(15, 3)
    a[:, 0] += 70.0
    b[:, 0] += 70.0
    got = bev_iou(a.float(), b.float()).double().numpy()
    np.testing.assert_allclose(got, _shapely_iou(a, b, False), atol=1e-4)
    assert bev_iou(a.float(), b.float()).dtype == torch.float32


def test_hand_cases() -> None:
    boxes = torch.tensor(
        [
            _box(0, 0, 2, 2, 0),  # reference square, area 4
            _box(0, 0, 2, 2, 0),  # identical -> 1
            _box(1, 0, 2, 2, 0),  # half overlap: inter 2, union 6 -> 1/3
            _box(2, 0, 2, 2, 0),  # touching edge -> 0
            _box(5, 5, 2, 2, 0.3),  # disjoint -> 0
            _box(0, 0, 1, 1, 0.7),  # contained: 1 / 4
            _box(0, 0, 2, 2, math.pi / 2),  # same square rotated 90 deg -> 1
            _box(0, 0, 2, 2, math.pi / 4),  # diamond: inter = 8 (sqrt 2 - 1), union 8 - inter
        ],
        dtype=torch.float64,
    )
    got = bev_iou(boxes[:1], boxes)[0]
    inter = 8 * (math.sqrt(2) - 1)
    want = torch.tensor([1, 1, 1 / 3, 0, 0, 0.25, 1, inter / (8 - inter)], dtype=torch.float64)
    torch.testing.assert_close(got, want, atol=1e-9, rtol=0)


def test_3d_z_overlap() -> None:
    a = torch.tensor([_box(0, 0, 2, 2, 0, z=0.0, h=2.0)])
    b = torch.tensor(
        [
            _box(0, 0, 2, 2, 0, z=1.0, h=2.0),  # half the height: 4 / 12
            _box(0, 0, 2, 2, 0, z=2.0, h=2.0),  # touching in z -> 0
            _box(1, 0, 2, 2, 0, z=0.5, h=1.0),
        ]
    )  # inter 2 * 1, union 8 + 4 - 2 -> 0.2
    torch.testing.assert_close(iou_3d(a, b)[0], torch.tensor([1 / 3, 0.0, 0.2]))


def test_zero_size_and_empty() -> None:
    ref = torch.tensor([_box(0, 0, 2, 2, 0)])
    degenerate = torch.tensor([_box(0, 0, 0, 0, 0), _box(0, 0, 0, 1, 0.2), _box(0, 0, 0, 0, 0)])
    assert torch.all(bev_iou(ref, degenerate) == 0)
    assert torch.all(bev_iou(degenerate, degenerate) == 0)
    assert bev_iou(torch.zeros(0, 7), ref).shape == (0, 1)
    assert iou_3d(ref, torch.zeros(0, 7)).shape == (1, 0)
    assert bev_iou_aligned(torch.zeros(0, 7), torch.zeros(0, 7)).shape == (0,)


def test_aligned_equals_diagonal_and_chunking(monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = _random_boxes(30, 4), _random_boxes(30, 5)
    torch.testing.assert_close(bev_iou_aligned(a, b), bev_iou(a, b).diagonal())
    torch.testing.assert_close(iou_3d_aligned(a, b), iou_3d(a, b).diagonal())
    full = bev_iou(a, b)
    monkeypatch.setattr("labeleff.geometry.iou._CHUNK_PAIRS", 7)
    torch.testing.assert_close(bev_iou(a, b), full)


def test_symmetric_and_bad_shape() -> None:
    a, b = _random_boxes(10, 6), _random_boxes(12, 7)
    torch.testing.assert_close(bev_iou(a, b), bev_iou(b, a).T)
    with pytest.raises(ValueError, match="7"):
        bev_iou(torch.zeros(3, 6), a)
    with pytest.raises(ValueError, match="equal row counts"):
        bev_iou_aligned(a, b)


@pytest.mark.gpu
def test_cuda_matches_cpu() -> None:
    a, b = _random_boxes(40, 8), _random_boxes(40, 9)
    torch.testing.assert_close(bev_iou(a.cuda(), b.cuda()).cpu(), bev_iou(a, b))


def test_near_degenerate_pairs_match_shapely() -> None:
    a = _random_boxes(60, 10)
    flipped = a.clone()
    flipped[:, 6] += math.pi  # the same rectangle
    torch.testing.assert_close(bev_iou_aligned(a, flipped), torch.ones(60, dtype=torch.float64))
    nudged = a.clone()
    nudged[:, 6] += 1e-4  # almost collinear edges
    nudged[:, 0] += a[:, 3]  # shifted by one length: (nearly) touching ends
    want = _shapely_iou(a, nudged, False).diagonal()
    np.testing.assert_allclose(bev_iou_aligned(a, nudged).numpy(), want, atol=1e-6)
