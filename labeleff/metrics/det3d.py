"""3D object detection AP at 40 recall points (R40) with rotated BEV and 3D IoU.

Protocol (KITTI-style R40, without KITTI's difficulty levels, don't-care regions or minimum box
heights: every ground-truth box of a class counts):

* Per frame and class, predictions are taken by descending score; each one is matched to the
  still-unmatched ground-truth box of its class with the highest IoU, if that IoU is at least the
  class threshold (``DET_IOU_THRESHOLD``: Vehicle 0.7, Pedestrian 0.5, Cyclist 0.5). Unmatched
  predictions, duplicates of an already matched box included, are false positives.
* Over all frames, predictions of a class are ranked by score; precision is interpolated as the
  best precision at any recall >= r, and AP is its mean over r in {1/40, 2/40, ..., 1}
  (recall 0 excluded).

Values are fractions in [0, 1] (1.0 = perfect), not percent. A class without any ground-truth
box gets NaN and is left out of the class mean; a class with ground truth and no prediction gets 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from labeleff.data.classes import CLASSES, DET_IOU_THRESHOLD, NUM_CLASSES
from labeleff.errors import DataError
from labeleff.geometry.iou import bev_iou, iou_3d

NUM_RECALL_POINTS = 40


@dataclass(frozen=True)
class FrameBoxes:
    """The boxes of one frame (ground truth when ``scores`` is None, else predictions).

    Attributes:
        boxes: (K, 7) ``x, y, z_center, l, w, h, yaw`` (metres, radians).
        labels: (K,) int class ids (0 Vehicle, 1 Pedestrian, 2 Cyclist).
        scores: (K,) float confidences; None for ground truth.
    """

    boxes: torch.Tensor
    labels: torch.Tensor
    scores: torch.Tensor | None = None


def average_precision_r40(scores: np.ndarray, is_tp: np.ndarray, num_gt: int) -> float:
    """AP over 40 recall points from ranked detections.

    Args:
        scores: (P,) detection scores over all frames.
        is_tp: (P,) bool, whether each detection matched a ground-truth box.
        num_gt: number of ground-truth boxes.

    Returns:
        AP in [0, 1]; NaN when ``num_gt`` is 0, 0 when there is no detection.
    """
    if num_gt == 0:
        return float("nan")
    if len(scores) == 0:
        return 0.0
    tp = np.asarray(is_tp, dtype=bool)[np.argsort(-np.asarray(scores), kind="stable")]
    hits = np.cumsum(tp)
    recall = hits / num_gt
    precision = hits / np.arange(1, tp.size + 1)
    best_after = np.maximum.accumulate(precision[::-1])[::-1]
    targets = np.arange(1, NUM_RECALL_POINTS + 1) / NUM_RECALL_POINTS
    first = np.searchsorted(recall, targets - 1e-12, side="left")
    values = np.where(first < tp.size, best_after[np.minimum(first, tp.size - 1)], 0.0)
    return float(values.mean())


def _greedy_match(iou: torch.Tensor, scores: torch.Tensor, threshold: float) -> np.ndarray:
    """(P,) bool true positives: predictions by descending score take their best free GT.

    Args:
        iou: (P, G) IoU of predictions with ground-truth boxes of one class in one frame.
        scores: (P,) prediction scores.
        threshold: minimum IoU of a match.
    """
    iou = iou.detach().cpu().double().numpy()
    free = np.ones(iou.shape[1], dtype=bool)
    is_tp = np.zeros(iou.shape[0], dtype=bool)
    for i in np.argsort(-scores.detach().cpu().numpy(), kind="stable"):
        candidates = np.where(free & (iou[i] >= threshold), iou[i], -1.0)
        if candidates.size and candidates.max() >= 0:
            free[candidates.argmax()] = False
            is_tp[i] = True
    return is_tp


def _check_frame(source: str, item: FrameBoxes, is_pred: bool) -> None:
    """Raise DataError unless the frame's boxes, labels and scores are consistent."""
    k = item.boxes.shape[0]
    if item.boxes.ndim != 2 or item.boxes.shape[1] != 7:
        raise DataError(source, f"boxes must be (K, 7), got {tuple(item.boxes.shape)}")
    if item.labels.shape != (k,):
        raise DataError(source, f"expected {k} labels, got shape {tuple(item.labels.shape)}")
    if k and (item.labels.min() < 0 or item.labels.max() >= NUM_CLASSES):
        raise DataError(source, f"labels must be in [0, {NUM_CLASSES})")
    if is_pred and (item.scores is None or item.scores.shape != (k,)):
        raise DataError(source, f"predictions need ({k},) scores")


IouFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _class_ap(
    gt: Sequence[FrameBoxes], pred: Sequence[FrameBoxes], cls: int, iou_fn: IouFn, threshold: float
) -> float:
    """R40 AP of one class over all frames."""
    scores, is_tp, num_gt = [], [], 0
    for g, p in zip(gt, pred, strict=True):
        gt_boxes = g.boxes[g.labels == cls]
        keep = p.labels == cls
        pred_boxes, pred_scores = p.boxes[keep], p.scores[keep]
        num_gt += gt_boxes.shape[0]
        iou = iou_fn(pred_boxes, gt_boxes.to(pred_boxes))
        is_tp.append(_greedy_match(iou, pred_scores, threshold))
        scores.append(pred_scores.detach().cpu().double().numpy())
    return average_precision_r40(
        np.concatenate(scores or [np.zeros(0)]),
        np.concatenate(is_tp or [np.zeros(0, bool)]),
        num_gt,
    )


def detection_ap(
    gt: Sequence[FrameBoxes],
    pred: Sequence[FrameBoxes],
    iou_thresholds: Sequence[float] = DET_IOU_THRESHOLD,
) -> dict[str, float]:
    """BEV and 3D detection AP (R40) per class and mean over classes with ground truth.

    Args:
        gt: per frame, ground-truth boxes and labels (scores None).
        pred: per frame (same order), predicted boxes, labels and scores.
        iou_thresholds: IoU threshold per class id.

    Returns:
        ``"AP_3d_R40"``, ``"AP_bev_R40"`` (class means) and ``"AP_3d_R40/<class>"``,
        ``"AP_bev_R40/<class>"`` for every class; fractions in [0, 1] (see module doc).

    Raises:
        DataError: on mismatched frame counts, bad shapes, labels out of range, missing scores.
    """
    if len(gt) != len(pred):
        raise DataError("detection AP", f"{len(gt)} ground-truth frames but {len(pred)} predicted")
    for i, (g, p) in enumerate(zip(gt, pred, strict=True)):
        _check_frame(f"frame {i} (ground truth)", g, is_pred=False)
        _check_frame(f"frame {i} (prediction)", p, is_pred=True)
    out: dict[str, float] = {}
    for name, iou_fn in (("AP_3d_R40", iou_3d), ("AP_bev_R40", bev_iou)):
        per_class = [_class_ap(gt, pred, c, iou_fn, iou_thresholds[c]) for c in range(NUM_CLASSES)]
        known = [v for v in per_class if not np.isnan(v)]
        out[name] = float(np.mean(known)) if known else float("nan")
        out.update({f"{name}/{cls}": v for cls, v in zip(CLASSES, per_class, strict=True)})
    return out


def percent_of_full(value: float, full: float) -> float:
    """A label-efficient result as a percentage of the fully supervised one (MixSup style).

    Args:
        value: metric of the label-efficient run.
        full: the same metric under full supervision.

    Returns:
        ``100 * value / full``; NaN when ``full`` is 0 or NaN.
    """
    if not full or np.isnan(full):
        return float("nan")
    return 100.0 * value / full
