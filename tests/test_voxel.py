"""Dynamic voxelization and scatter reductions against hand computations."""

from __future__ import annotations

import pytest
import torch

from labeleff.errors import DataError
from labeleff.geometry.voxel import scatter_max, scatter_mean, voxelize

RANGE = (0.0, 0.0, 0.0, 4.0, 2.0, 1.0)  # grid X=4, Y=2, Z=1 at 1 m voxels
SIZE = (1.0, 1.0, 1.0)


def test_voxelize_by_hand() -> None:
    xyz = torch.tensor([[0.5, 0.5, 0.5], [0.9, 0.1, 0.2], [3.5, 1.5, 0.5], [4.0, 0.5, 0.5],
                        [-0.1, 0.5, 0.5], [2.2, 1.2, 0.9]])
    vox = voxelize(xyz, SIZE, RANGE)
    assert vox.spatial_shape == (1, 2, 4)
    assert vox.in_range.tolist() == [True, True, True, False, False, True]
    # sorted by (batch, z, y, x): (0,0,0), (0,1,2), (0,1,3)
    assert vox.coords.tolist() == [[0, 0, 0], [0, 1, 2], [0, 1, 3]]
    assert vox.point2voxel.tolist() == [0, 0, 2, -1, -1, 1]
    assert torch.allclose(vox.centres(), torch.tensor([[0.5, 0.5, 0.5], [2.5, 1.5, 0.5],
                                                       [3.5, 1.5, 0.5]]))
    assert vox.coords.dtype == torch.int32 and vox.point2voxel.dtype == torch.int64


def test_voxelize_batches_do_not_share_voxels() -> None:
    xyz = torch.tensor([[0.5, 0.5, 0.5], [0.6, 0.5, 0.5], [0.5, 0.5, 0.5]])
    vox = voxelize(xyz, SIZE, RANGE, batch_idx=torch.tensor([0, 0, 1]))
    assert vox.point2voxel.tolist() == [0, 0, 1]
    assert vox.indices.tolist() == [[0, 0, 0, 0], [1, 0, 0, 0]]


def test_voxelize_rejects_bad_input() -> None:
    with pytest.raises(DataError):
        voxelize(torch.zeros(3, 2), SIZE, RANGE)
    with pytest.raises(DataError):
        voxelize(torch.zeros(3, 3), SIZE, (0.0, 0.0, 0.0, -1.0, 1.0, 1.0))


def test_scatter_mean_and_max() -> None:
    values = torch.tensor([[1.0, -2.0], [3.0, -4.0], [10.0, 10.0], [5.0, 6.0]])
    p2v = torch.tensor([0, 0, -1, 2])
    assert scatter_mean(values, p2v, 3).tolist() == [[2.0, -3.0], [0.0, 0.0], [5.0, 6.0]]
    assert scatter_max(values, p2v, 3).tolist() == [[3.0, -2.0], [0.0, 0.0], [5.0, 6.0]]


def test_scatter_max_gradient_goes_to_the_max() -> None:
    values = torch.tensor([[1.0], [3.0], [2.0]], requires_grad=True)
    scatter_max(values, torch.tensor([0, 0, 0]), 1).sum().backward()
    assert values.grad.flatten().tolist() == [0.0, 1.0, 0.0]
