"""Panoptic quality (PQ, SQ, RQ) of point clusters against ground-truth point instances.

Protocol (Kirillov et al., things only):

* Within a frame, a predicted cluster and a ground-truth instance of the same class match when
  their point IoU is > 0.5; such matches are unique because instances do not overlap.
* Per class, summed over all frames: TP = matches, FP = unmatched clusters, FN = unmatched
  instances; ``SQ = sum(IoU of TP) / TP`` (0 when TP = 0), ``RQ = TP / (TP + FP/2 + FN/2)``,
  ``PQ = SQ * RQ``.
* Points with ground-truth id -1 are background, not void: a cluster lying on background is a FP.
* Instances and clusters with no point are dropped. A class with no instance and no cluster
  (TP + FP + FN = 0) gets NaN and is left out of the class means.

Inputs reuse ``labeleff.metrics.coco_masks.PointMasks`` (per-point ids + a class per instance;
scores are ignored). Values are fractions in [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from labeleff.data.classes import CLASSES, NUM_CLASSES
from labeleff.errors import DataError
from labeleff.metrics.coco_masks import PointMasks


def _np(x: np.ndarray | torch.Tensor) -> np.ndarray:
    """A numpy view of a tensor or array (moved to the CPU)."""
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _ids_and_classes(source: str, item: PointMasks, n: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Validated (N,) int64 ids and (K,) int64 classes of one frame."""
    ids = _np(item.instance_ids).astype(np.int64)
    classes = _np(item.classes).reshape(-1).astype(np.int64)
    if ids.ndim != 1 or (n is not None and ids.shape[0] != n):
        raise DataError(source, f"instance_ids must be ({n},), got shape {ids.shape}")
    if ids.size and (ids.min() < -1 or ids.max() >= classes.shape[0]):
        raise DataError(source, f"instance ids must be in [-1, {classes.shape[0]})")
    if classes.size and (classes.min() < 0 or classes.max() >= NUM_CLASSES):
        raise DataError(source, f"classes must be in [0, {NUM_CLASSES}), got {classes}")
    return ids, classes


def _frame_counts(
    gt_ids: np.ndarray, gt_cls: np.ndarray, pred_ids: np.ndarray, pred_cls: np.ndarray
) -> np.ndarray:
    """(4, C) per-class TP, FP, FN and summed TP IoU of one frame."""
    g, p = gt_cls.shape[0], pred_cls.shape[0]
    both = (gt_ids >= 0) & (pred_ids >= 0)
    inter = np.bincount(gt_ids[both] * p + pred_ids[both], minlength=g * p).reshape(g, p)
    gt_area = np.bincount(gt_ids[gt_ids >= 0], minlength=g)
    pred_area = np.bincount(pred_ids[pred_ids >= 0], minlength=p)
    iou = inter / np.maximum(gt_area[:, None] + pred_area[None, :] - inter, 1)
    match = (iou > 0.5) & (gt_cls[:, None] == pred_cls[None, :])
    gt_hit, pred_hit = match.any(1), match.any(0)
    per_class = [
        np.bincount(gt_cls[gt_hit], minlength=NUM_CLASSES),
        np.bincount(pred_cls[(pred_area > 0) & ~pred_hit], minlength=NUM_CLASSES),
        np.bincount(gt_cls[(gt_area > 0) & ~gt_hit], minlength=NUM_CLASSES),
        np.bincount(
            gt_cls[gt_hit], weights=np.where(match, iou, 0.0).sum(1)[gt_hit], minlength=NUM_CLASSES
        ),
    ]
    return np.stack(per_class).astype(np.float64)


def panoptic_quality(gt: Sequence[PointMasks], pred: Sequence[PointMasks]) -> dict[str, float]:
    """PQ, SQ and RQ of point clusters per class and as the mean over classes.

    Args:
        gt: per frame, ground-truth per-point instance ids (N,) (-1 background) and classes (K,).
        pred: per frame (same order, same N points), cluster id per point (-1 unclustered) and
            a class per cluster.

    Returns:
        ``"PQ"``, ``"SQ"``, ``"RQ"`` (means over classes that occur) and ``"PQ/<class>"``,
        ``"SQ/<class>"``, ``"RQ/<class>"`` for every class; fractions (see module doc).

    Raises:
        DataError: on mismatched frame or point counts, ids or classes out of range.
    """
    if len(gt) != len(pred):
        raise DataError(
            "panoptic quality", f"{len(gt)} ground-truth frames but {len(pred)} predicted"
        )
    counts = np.zeros((4, NUM_CLASSES))
    for i, (g, p) in enumerate(zip(gt, pred, strict=True)):
        gt_ids, gt_cls = _ids_and_classes(f"frame {i} (ground truth)", g, None)
        pred_ids, pred_cls = _ids_and_classes(f"frame {i} (prediction)", p, gt_ids.shape[0])
        counts += _frame_counts(gt_ids, gt_cls, pred_ids, pred_cls)
    return _summarise(counts)


def _summarise(counts: np.ndarray) -> dict[str, float]:
    """Per-class and mean PQ, SQ, RQ from (4, C) TP, FP, FN, IoU sums."""
    tp, fp, fn, iou_sum = counts
    present = tp + fp + fn > 0
    rq = np.where(present, tp / np.maximum(tp + fp / 2 + fn / 2, 1e-12), np.nan)
    sq = np.where(present, np.where(tp > 0, iou_sum / np.maximum(tp, 1), 0.0), np.nan)
    out: dict[str, float] = {}
    for key, values in (("PQ", sq * rq), ("SQ", sq), ("RQ", rq)):
        out[key] = float(values[present].mean()) if present.any() else float("nan")
        out.update({f"{key}/{name}": float(v) for name, v in zip(CLASSES, values, strict=True)})
    return out
