"""Losses of the 3D segmentor (dossier section 3.2): sigmoid focal loss and vote L1.

Labels follow ``labeleff.data.classes``: 0..K-1 foreground classes, ``BACKGROUND`` (= K) is an
all-zero one-hot target, ``IGNORE`` (-1) points contribute nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from labeleff.data.classes import IGNORE
from labeleff.errors import DataError


@dataclass(frozen=True)
class Loss3DConfig:
    """Weights of the 3D losses (MWSIS release values).

    Attributes:
        focal_gamma: focusing exponent.
        focal_alpha: weight of positive targets (1 - alpha for negatives).
        focal_weight: multiplier of the focal loss (MWSIS 100, FSD 1).
        vote_weight: multiplier of the vote L1 loss.
    """

    focal_gamma: float = 3.0
    focal_alpha: float = 0.8
    focal_weight: float = 100.0
    vote_weight: float = 1.0


def encode_votes(offsets: Tensor) -> Tensor:
    """Sign-sqrt encoding ``t = sign(d) * sqrt(|d|)`` of centre offsets (any shape, metres)."""
    return torch.sign(offsets) * torch.sqrt(offsets.abs())


def decode_votes(encoded: Tensor) -> Tensor:
    """Inverse of :func:`encode_votes`: ``d = v * |v|`` (metres)."""
    return encoded * encoded.abs()


def one_hot_targets(labels: Tensor, num_classes: int) -> Tensor:
    """(N, K) float one-hot targets; labels >= K (background) give all-zero rows.

    Args:
        labels: (N,) int64 labels in 0..K (no IGNORE).
        num_classes: K.
    """
    return F.one_hot(labels.long(), num_classes + 1)[:, :num_classes].float()


def sigmoid_focal_loss(
    logits: Tensor,
    labels: Tensor,
    valid: Tensor | None = None,
    cfg: Loss3DConfig = Loss3DConfig(),
) -> Tensor:
    """Weighted sigmoid focal loss, mean over (valid points x classes) like mmdet's FocalLoss.

    ``loss = -w_t (1 - p_t)^gamma log(p_t)`` with ``w_t = alpha`` for positive targets and
    ``1 - alpha`` for negatives, times ``cfg.focal_weight``.

    Args:
        logits: (N, K) sigmoid logits.
        labels: (N,) int labels in {IGNORE, 0..K-1, BACKGROUND}.
        valid: (N,) bool extra mask of points that may contribute (e.g. the model's in-range
            mask); None keeps all.
        cfg: gamma, alpha and weight.

    Returns:
        Scalar loss; 0 (still attached to ``logits``) when no point is usable.
    """
    keep = _usable(labels, valid, logits.shape[0])
    x = logits[keep]
    if x.numel() == 0:
        return logits.sum() * 0.0
    t = one_hot_targets(labels[keep], logits.shape[1])
    p = torch.sigmoid(x)
    p_t = p * t + (1 - p) * (1 - t)
    w_t = cfg.focal_alpha * t + (1 - cfg.focal_alpha) * (1 - t)
    ce = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    return cfg.focal_weight * (w_t * (1 - p_t).pow(cfg.focal_gamma) * ce).mean()


def vote_loss(
    votes: Tensor,
    labels: Tensor,
    offsets: Tensor,
    vote_mask: Tensor,
    cfg: Loss3DConfig = Loss3DConfig(),
) -> Tensor:
    """L1 between the vote of each point's label class and its sign-sqrt encoded centre offset.

    Mean over (selected points x 3). Points count only where ``vote_mask`` is True and the label
    is a foreground class.

    Args:
        votes: (N, 3K) predicted encoded offsets, class c at ``[3c:3c+3]``.
        labels: (N,) int labels in {IGNORE, 0..K-1, BACKGROUND}.
        offsets: (N, 3) raw target offsets (instance centre - point), metres (NOT encoded).
        vote_mask: (N,) bool, points that have a vote target.
        cfg: ``vote_weight``.

    Returns:
        Scalar loss; 0 (still attached to ``votes``) when no point is selected.
    """
    k = votes.shape[1] // 3
    if offsets.shape != (votes.shape[0], 3) or votes.shape[1] != 3 * k:
        raise DataError("vote_loss", f"votes {tuple(votes.shape)} / offsets "
                                     f"{tuple(offsets.shape)} do not match (N, 3K) / (N, 3)")
    sel = vote_mask.bool() & (labels >= 0) & (labels < k)
    if not bool(sel.any()):
        return votes.sum() * 0.0
    rows = sel.nonzero(as_tuple=True)[0]
    pred = votes.reshape(-1, k, 3)[rows, labels[rows].long()]
    return cfg.vote_weight * F.l1_loss(pred, encode_votes(offsets[rows].to(pred.dtype)))


def segmentor_losses(
    logits: Tensor,
    votes: Tensor,
    valid: Tensor,
    labels: Tensor,
    offsets: Tensor,
    vote_mask: Tensor,
    cfg: Loss3DConfig = Loss3DConfig(),
) -> dict[str, Tensor]:
    """Both 3D losses as a dict ``{"loss_sem": ..., "loss_vote": ...}`` for the training loop.

    Args: as :func:`sigmoid_focal_loss` and :func:`vote_loss`; ``valid`` (N,) bool in-range
    mask from the model masks both losses.
    """
    return {
        "loss_sem": sigmoid_focal_loss(logits, labels, valid, cfg),
        "loss_vote": vote_loss(votes, labels, offsets, vote_mask & valid, cfg),
    }


def _usable(labels: Tensor, valid: Tensor | None, n: int) -> Tensor:
    """(N,) bool: label is not IGNORE and (if given) valid is True."""
    if labels.shape != (n,):
        raise DataError("sigmoid_focal_loss", f"labels {tuple(labels.shape)} != ({n},)")
    keep = labels != IGNORE
    return keep & valid.bool() if valid is not None else keep
