"""Instance inference on hand-made predictions."""

from __future__ import annotations

import numpy as np
import torch

from labeleff.data.classes import BACKGROUND
from labeleff.models.instances3d import bev_components, infer_instances
from labeleff.models.losses3d import encode_votes


def _logits(classes: list[int], p: float = 0.9) -> torch.Tensor:
    """Logits with probability p for the given class (or all 0.1 for BACKGROUND)."""
    out = torch.full((len(classes), 3), float(np.log(0.1 / 0.9)))
    for i, c in enumerate(classes):
        if c < 3:
            out[i, c] = float(np.log(p / (1 - p)))
    return out


def test_votes_merge_points_and_separate_clusters() -> None:
    # two vehicles whose points vote to centres (0, 0) and (5, 0); one background point
    xyz = torch.tensor([[-1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.5, 0.0],
                        [4.0, 0.0, 0.0], [6.0, 0.5, 0.0], [20.0, 20.0, 0.0]])
    centres = torch.tensor([[0.0, 0.0, 0.0], [0.2, 0.1, 0.0], [0.1, 0.3, 0.0],
                            [5.0, 0.0, 0.0], [5.3, 0.0, 0.0], [20.0, 20.0, 0.0]])
    votes = torch.zeros(6, 9)
    votes[:, 0:3] = encode_votes(centres - xyz)
    logits = _logits([0, 0, 0, 0, 0, BACKGROUND])
    logits[2, 0] = float(np.log(0.7 / 0.3))
    inst = infer_instances(xyz, logits, votes)
    ids = inst.instance_ids.tolist()
    assert ids[0] == ids[1] == ids[2] and ids[3] == ids[4] and ids[0] != ids[3] and ids[5] == -1
    assert inst.semantic.tolist() == [0, 0, 0, 0, 0, BACKGROUND]
    assert inst.instance_class.tolist() == [0, 0]
    assert torch.allclose(inst.instance_score[ids[0]], torch.tensor((0.9 + 0.9 + 0.7) / 3))
    assert torch.allclose(inst.centres[:5], centres[:5], atol=1e-5)


def test_classes_cluster_separately_with_their_radius() -> None:
    # two pedestrian points 0.3 m apart (radius 0.1: split); same geometry for cyclists (0.4: merge)
    xyz = torch.tensor([[0.0, 0.0, 0.0], [0.3, 0.0, 0.0], [10.0, 0.0, 0.0], [10.3, 0.0, 0.0]])
    inst = infer_instances(xyz, _logits([1, 1, 2, 2]), torch.zeros(4, 9))
    ids = inst.instance_ids.tolist()
    assert ids[0] != ids[1] and ids[2] == ids[3]
    assert sorted(inst.instance_class.tolist()) == [1, 1, 2]


def test_below_threshold_and_invalid_points_are_background() -> None:
    xyz = torch.zeros(3, 3)
    logits = _logits([0, 0, 0])
    logits[0, 0] = 0.0  # p = 0.5, not above the threshold
    inst = infer_instances(xyz, logits, torch.zeros(3, 9), valid=torch.tensor([True, True, False]))
    assert inst.semantic.tolist() == [BACKGROUND, 0, BACKGROUND]
    assert inst.instance_ids.tolist() == [-1, 0, -1]


def test_bev_components_chain_and_dense_cluster() -> None:
    chain = np.array([[0.0, 0.0], [0.5, 0.0], [1.0, 0.0], [3.0, 0.0]])
    labels = bev_components(chain, 0.6)
    assert labels[0] == labels[1] == labels[2] != labels[3]
    dense = np.random.default_rng(0).normal(scale=0.05, size=(20000, 2))
    assert len(np.unique(bev_components(dense, 0.6))) == 1
