"""Pseudo-label quality: per-point precision, recall and IoU against ground-truth semantics."""

from __future__ import annotations

import torch

from labeleff.data.classes import BACKGROUND, CLASSES, IGNORE


def _scores(pred_pos: torch.Tensor, gt_pos: torch.Tensor) -> dict[str, float]:
    """precision, recall, IoU of two (N,) bool masks; NaN when a denominator is 0."""
    tp = float((pred_pos & gt_pos).sum())
    p, g, u = float(pred_pos.sum()), float(gt_pos.sum()), float((pred_pos | gt_pos).sum())
    nan = float("nan")
    return {
        "precision": tp / p if p else nan,
        "recall": tp / g if g else nan,
        "iou": tp / u if u else nan,
    }


def pseudo_label_quality(pred: torch.Tensor, gt: torch.Tensor) -> dict[str, float]:
    """Per-point quality of pseudo labels.

    For each class ``c`` (the foreground classes and ``Background``), ``P = {pred == c}``,
    ``G = {gt == c}``: precision ``|P & G| / |P|``, recall ``|P & G| / |G|``, IoU
    ``|P & G| / |P | G|``. ``Foreground`` does the same with ``pred, gt in {0 .. NUM_CLASSES-1}``
    (class-agnostic). An ``IGNORE`` prediction predicts no class (not even background): it never
    counts in a precision and counts as a miss in recall and IoU. Points whose ground truth is
    ``IGNORE`` are left out entirely. ``ignore_fraction`` is the share of the remaining points
    predicted ``IGNORE``. A metric with an empty denominator is NaN.

    Args:
        pred: (N,) int64 pseudo labels (classes, ``BACKGROUND`` or ``IGNORE``).
        gt: (N,) int64 ground-truth classes (``BACKGROUND`` for none).

    Returns:
        dict with keys ``"<Name>/precision"``, ``"<Name>/recall"``, ``"<Name>/iou"`` for names
        ``Vehicle, Pedestrian, Cyclist, Background, Foreground`` and ``"ignore_fraction"``.
    """
    if pred.shape != gt.shape:
        raise ValueError(f"pred {tuple(pred.shape)} and gt {tuple(gt.shape)} differ")
    keep = gt != IGNORE
    pred, gt = pred[keep], gt[keep]
    out: dict[str, float] = {}
    names = (*CLASSES, "Background")
    for c, name in zip((*range(len(CLASSES)), BACKGROUND), names, strict=True):
        out.update({f"{name}/{k}": v for k, v in _scores(pred == c, gt == c).items()})
    fg_pred = (pred >= 0) & (pred < BACKGROUND)
    fg_gt = (gt >= 0) & (gt < BACKGROUND)
    out.update({f"Foreground/{k}": v for k, v in _scores(fg_pred, fg_gt).items()})
    out["ignore_fraction"] = float((pred == IGNORE).float().mean()) if pred.numel() else 0.0
    return out
