"""3D focal and vote losses against hand computations."""

from __future__ import annotations

import math

import torch

from labeleff.data.classes import BACKGROUND, IGNORE
from labeleff.models.losses3d import (
    Loss3DConfig,
    decode_votes,
    encode_votes,
    segmentor_losses,
    sigmoid_focal_loss,
    vote_loss,
)


def _focal_by_hand(logits: list[list[float]], labels: list[int], gamma: float, alpha: float,
                   weight: float) -> float:
    terms = []
    for row, label in zip(logits, labels, strict=True):
        for c, x in enumerate(row):
            p = 1 / (1 + math.exp(-x))
            if c == label:
                terms.append(-alpha * (1 - p) ** gamma * math.log(p))
            else:
                terms.append(-(1 - alpha) * p**gamma * math.log(1 - p))
    return weight * sum(terms) / len(terms)


def test_focal_loss_equals_hand_computation() -> None:
    logits = [[2.0, -1.0, 0.5], [-0.3, 1.2, -2.0], [0.1, 0.2, -0.4]]
    labels = [0, 1, BACKGROUND]
    got = sigmoid_focal_loss(torch.tensor(logits), torch.tensor(labels))
    assert math.isclose(float(got), _focal_by_hand(logits, labels, 3.0, 0.8, 100.0), rel_tol=1e-5)
    cfg = Loss3DConfig(focal_gamma=2.0, focal_alpha=0.25, focal_weight=1.0)
    got = sigmoid_focal_loss(torch.tensor(logits), torch.tensor(labels), cfg=cfg)
    assert math.isclose(float(got), _focal_by_hand(logits, labels, 2.0, 0.25, 1.0), rel_tol=1e-5)


def test_ignored_and_invalid_points_contribute_nothing() -> None:
    logits = torch.tensor([[2.0, -1.0, 0.5], [-0.3, 1.2, -2.0], [9.0, -9.0, 9.0]],
                          requires_grad=True)
    labels = torch.tensor([0, 1, IGNORE])
    full = sigmoid_focal_loss(logits, labels)
    assert torch.allclose(full, sigmoid_focal_loss(logits[:2], labels[:2]))
    full.backward()
    assert logits.grad[2].abs().sum() == 0
    masked = sigmoid_focal_loss(logits, torch.tensor([0, 1, 2]), torch.tensor([True, True, False]))
    assert torch.allclose(masked, full)


def test_no_usable_points_give_zero_attached_loss() -> None:
    logits = torch.zeros(2, 3, requires_grad=True)
    loss = sigmoid_focal_loss(logits, torch.tensor([IGNORE, IGNORE]))
    assert float(loss.detach()) == 0.0 and loss.requires_grad


def test_vote_encoding_round_trip() -> None:
    d = torch.tensor([[-4.0, 0.0, 2.25], [0.01, -0.09, 9.0]])
    assert torch.allclose(encode_votes(d), torch.tensor([[-2.0, 0.0, 1.5], [0.1, -0.3, 3.0]]))
    assert torch.allclose(decode_votes(encode_votes(d)), d)


def test_vote_loss_uses_the_label_class_slot_and_mask() -> None:
    votes = torch.zeros(3, 9)
    votes[0, 3:6] = torch.tensor([1.0, 1.0, 1.0])  # class 1 slot of point 0
    votes[1, 0:3] = torch.tensor([5.0, 5.0, 5.0])  # class 0 slot of point 1, masked out
    offsets = torch.tensor([[4.0, -1.0, 0.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
    labels = torch.tensor([1, 0, BACKGROUND])
    mask = torch.tensor([True, False, True])
    # point 0 only: |1-2| + |1-(-1)| + |1-0| = 4 over 3 elements
    assert math.isclose(float(vote_loss(votes, labels, offsets, mask)), 4 / 3, rel_tol=1e-6)


def test_segmentor_losses_keys_and_valid_mask() -> None:
    logits, votes = torch.zeros(2, 3), torch.zeros(2, 9)
    out = segmentor_losses(logits, votes, torch.tensor([True, False]), torch.tensor([0, 1]),
                           torch.ones(2, 3), torch.tensor([True, True]))
    assert set(out) == {"loss_sem", "loss_vote"}
    assert math.isclose(float(out["loss_vote"]), 1.0, rel_tol=1e-6)
    assert math.isclose(float(out["loss_sem"]),
                        _focal_by_hand([[0.0, 0.0, 0.0]], [0], 3.0, 0.8, 100.0), rel_tol=1e-5)
