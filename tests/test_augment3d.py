"""Global 3D augmentation: reproducible, consistent for points and vote vectors."""

from __future__ import annotations

import math

import torch

from labeleff.models.augment3d import augment_points, random_transform


def test_seeded_and_consistent_with_vectors() -> None:
    pts = torch.tensor([[1.0, 2.0, 0.5, 0.7], [-3.0, 0.5, -1.0, 0.2]])
    vec = torch.tensor([[0.5, -1.0, 0.1], [1.0, 1.0, 0.0]])
    a = augment_points(pts, torch.Generator().manual_seed(3), vec)
    b = augment_points(pts, torch.Generator().manual_seed(3), vec)
    assert torch.equal(a[0], b[0]) and torch.equal(a[2], b[2])
    out_pts, out_vec, M = a
    assert torch.equal(out_pts[:, 3], pts[:, 3])  # intensity untouched
    # the voted centre moves with the points: T(p) + T(v) == T(p + v)
    centre = (pts[:, :3] + vec) @ M.T
    assert torch.allclose(out_pts[:, :3] + out_vec, centre, atol=1e-6)


def test_transform_ranges_and_flips() -> None:
    g = torch.Generator().manual_seed(0)
    dets, scales = [], []
    for _ in range(200):
        M = random_transform(g).double()
        gram = M.T @ M
        scale = math.sqrt(float(gram[0, 0]))
        assert torch.allclose(gram, torch.eye(3, dtype=torch.float64) * scale**2, atol=1e-5)
        assert M[2, 2] > 0 and abs(float(M[2, 2]) - scale) < 1e-6  # z only scaled
        yaw = math.atan2(abs(float(M[1, 0])), abs(float(M[0, 0])))
        assert yaw <= math.pi / 4 + 1e-6
        dets.append(float(torch.det(M)))
        scales.append(scale)
    assert 0.95 - 1e-6 <= min(scales) and max(scales) <= 1.05 + 1e-6
    assert min(dets) < 0 < max(dets)  # single flips (reflections) and none/both occur
