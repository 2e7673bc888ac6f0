"""COCO mask AP@[.5:.95] for 2D image masks and 3D point masks, scored by pycocotools' COCOeval.

The official ``COCOeval(iouType='segm')`` runs unchanged: IoU thresholds 0.50:0.05:0.95,
101-point interpolated precision, area range 'all', at most 100 detections per image and class.
3D point masks follow the MWSIS protocol (papers/mwsis.md section 4.2): the evaluated points of a
frame form a 1 x N image, so mask IoU is point-set IoU.

Conventions of the returned dict (values are fractions in [0, 1], not percent):

* ``"AP"``, ``"AP50"``, ``"AP75"``: mean over the classes that have ground truth, of the per-class
  AP@[.5:.95], AP@.5 and AP@.75 (this equals COCOeval's summary numbers).
* ``"AP/<class>"``, ``"AP50/<class>"``, ``"AP75/<class>"`` for every class in
  ``labeleff.data.classes.CLASSES``.
* A class with no ground-truth instance in any image gets NaN and is left out of the means (all
  NaN when there is no ground truth at all). A class with ground truth but no prediction gets 0.
* Instances whose mask is empty (no pixel / no evaluated point) are dropped, on both sides.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from labeleff.data.classes import CLASSES, NUM_CLASSES
from labeleff.errors import DataError

ArrayLike = np.ndarray | torch.Tensor


@dataclass(frozen=True)
class ImageMasks:
    """The instances of one image (ground truth when ``scores`` is None, else predictions).

    Attributes:
        masks: (K, H, W) bool instance masks.
        classes: (K,) int class ids (0 Vehicle, 1 Pedestrian, 2 Cyclist).
        scores: (K,) float confidence per instance; None for ground truth.
    """

    masks: ArrayLike
    classes: ArrayLike
    scores: ArrayLike | None = None


@dataclass(frozen=True)
class PointMasks:
    """The instances of one frame's evaluated points (ground truth when ``scores`` is None).

    Attributes:
        instance_ids: (N,) int instance index of every evaluated point, -1 for none; an index k
            refers to ``classes[k]`` (and ``scores[k]``). Instances cannot overlap.
        classes: (K,) int class id per instance.
        scores: (K,) float confidence per instance; None for ground truth.
    """

    instance_ids: ArrayLike
    classes: ArrayLike
    scores: ArrayLike | None = None


@dataclass(frozen=True)
class _Encoded:
    """One image's instances as COCO RLEs with classes and (for predictions) scores."""

    rles: list[dict]
    classes: np.ndarray
    scores: np.ndarray | None
    height: int
    width: int


def _np(x: ArrayLike) -> np.ndarray:
    """A numpy view of a tensor or array (moved to the CPU)."""
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _encode(masks: np.ndarray, classes: np.ndarray, scores: np.ndarray | None) -> _Encoded:
    """RLE-encode (K, H, W) masks in one call, dropping empty masks."""
    keep = masks.any((1, 2))
    masks, classes = masks[keep], classes[keep]
    scores = None if scores is None else scores[keep]
    height, width = masks.shape[1:]
    fortran = np.asfortranarray(masks.transpose(1, 2, 0), dtype=np.uint8)
    rles = mask_utils.encode(fortran) if masks.shape[0] else []
    return _Encoded(list(rles), classes.astype(np.int64), scores, height, width)


def _check_instances(source: str, classes: np.ndarray, scores: np.ndarray | None, k: int) -> None:
    """Raise DataError unless there are k classes in range (and k scores when given)."""
    if classes.shape != (k,):
        raise DataError(source, f"expected {k} instance classes, got shape {classes.shape}")
    if k and (classes.min() < 0 or classes.max() >= NUM_CLASSES):
        raise DataError(source, f"instance classes must be in [0, {NUM_CLASSES}), got {classes}")
    if scores is not None and scores.shape != (k,):
        raise DataError(source, f"expected {k} scores, got shape {scores.shape}")


def _encode_image(source: str, item: ImageMasks, shape: tuple[int, int] | None) -> _Encoded:
    """Validate and encode one ImageMasks; ``shape`` is the ground truth's (H, W) if known."""
    masks = _np(item.masks).astype(bool)
    if masks.ndim != 3 or (shape is not None and masks.shape[1:] != shape):
        raise DataError(source, f"masks must be (K, H, W) with (H, W) = {shape}, got {masks.shape}")
    classes = _np(item.classes).reshape(-1)
    scores = None if item.scores is None else _np(item.scores).reshape(-1).astype(np.float64)
    _check_instances(source, classes, scores, masks.shape[0])
    return _encode(masks, classes, scores)


def _encode_points(source: str, item: PointMasks, num_points: int | None) -> _Encoded:
    """Validate and encode one PointMasks as a 1 x N image of K instance masks."""
    ids = _np(item.instance_ids).astype(np.int64)
    classes = _np(item.classes).reshape(-1)
    scores = None if item.scores is None else _np(item.scores).reshape(-1).astype(np.float64)
    if ids.ndim != 1 or (num_points is not None and ids.shape[0] != num_points):
        raise DataError(source, f"instance_ids must be ({num_points},), got shape {ids.shape}")
    _check_instances(source, classes, scores, classes.shape[0])
    if ids.size and (ids.min() < -1 or ids.max() >= classes.shape[0]):
        raise DataError(source, f"instance ids must be in [-1, {classes.shape[0]}), got {ids}")
    masks = ids[None, None, :] == np.arange(classes.shape[0])[:, None, None]
    return _encode(masks, classes, scores)


def _areas(rles: list[dict]) -> np.ndarray:
    """Mask areas; pycocotools 2.0.11's ``area`` overflows on 256 or more RLEs in one call, so it
    is called on chunks of 255."""
    chunks = [mask_utils.area(rles[i : i + 255]) for i in range(0, len(rles), 255)]
    return np.concatenate(chunks) if chunks else np.zeros(0)


def _annotations(images: Sequence[_Encoded], with_scores: bool) -> list[dict]:
    """COCO annotation dicts (ids from 1, category = class + 1) for all instances."""
    anns = []
    for image_id, image in enumerate(images, start=1):
        areas, boxes = _areas(image.rles), mask_utils.toBbox(image.rles)
        for j, rle in enumerate(image.rles):
            ann = {
                "id": len(anns) + 1,
                "image_id": image_id,
                "segmentation": rle,
                "category_id": int(image.classes[j]) + 1,
                "area": float(areas[j]),
                "bbox": boxes[j].tolist(),
                "iscrowd": 0,
            }
            if with_scores:
                ann["score"] = float(image.scores[j])
            anns.append(ann)
    return anns


def _coco(images: Sequence[_Encoded], with_scores: bool) -> COCO:
    """An in-memory COCO dataset over the images, with all classes as categories."""
    coco = COCO()
    coco.dataset = {
        "images": [
            {"id": i, "height": im.height, "width": im.width}
            for i, im in enumerate(images, start=1)
        ],
        "categories": [{"id": c + 1, "name": name} for c, name in enumerate(CLASSES)],
        "annotations": _annotations(images, with_scores),
    }
    coco.createIndex()
    return coco


def _per_class(precision: np.ndarray) -> np.ndarray:
    """(K,) mean of the valid (> -1) entries of each class's (T, R, K) precision; NaN if none."""
    valid = precision > -1
    total = np.where(valid, precision, 0.0).sum((0, 1))
    count = valid.sum((0, 1))
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _summarise(precision: np.ndarray, iou_thresholds: np.ndarray) -> dict[str, float]:
    """Per-class and mean AP, AP50, AP75 from COCOeval's (T, R, K, A, M) precision."""
    table = precision[:, :, :, 0, -1]  # area 'all', maxDets 100
    out: dict[str, float] = {}
    for key, rows in (
        ("AP", slice(None)),
        ("AP50", np.isclose(iou_thresholds, 0.5)),
        ("AP75", np.isclose(iou_thresholds, 0.75)),
    ):
        per_class = _per_class(table[rows])
        known = per_class[np.isfinite(per_class)]
        out[key] = float(known.mean()) if known.size else float("nan")
        out.update({f"{key}/{name}": float(v) for name, v in zip(CLASSES, per_class, strict=True)})
    return out


def _coco_segm_ap(gt: Sequence[_Encoded], pred: Sequence[_Encoded]) -> dict[str, float]:
    """Run COCOeval (segm) on encoded images; the core of both front ends (see module doc)."""
    with contextlib.redirect_stdout(io.StringIO()):
        gt_coco, dt_coco = _coco(gt, with_scores=False), _coco(pred, with_scores=True)
        evaluator = COCOeval(gt_coco, dt_coco, iouType="segm")
    precision = -np.ones((len(evaluator.params.iouThrs), 1, NUM_CLASSES, 1, 1))
    if gt:
        with contextlib.redirect_stdout(io.StringIO()):
            evaluator.evaluate()
            evaluator.accumulate()
        precision = evaluator.eval["precision"]
    return _summarise(precision, evaluator.params.iouThrs)


def _check_lengths(gt: Sequence, pred: Sequence) -> None:
    """Raise DataError unless there is one prediction entry per ground-truth entry."""
    if len(gt) != len(pred):
        raise DataError("mask AP", f"{len(gt)} ground-truth entries but {len(pred)} predictions")


def mask_ap(gt: Sequence[ImageMasks], pred: Sequence[ImageMasks]) -> dict[str, float]:
    """COCO mask AP@[.5:.95] of 2D instance masks over a set of images.

    Args:
        gt: per image, ground-truth masks (K, H, W) and classes (scores None).
        pred: per image (same order), predicted masks (P, H, W), classes and scores.

    Returns:
        ``AP``, ``AP50``, ``AP75`` and their ``/<class>`` entries (fractions; see module doc).

    Raises:
        DataError: on mismatched image counts or shapes, missing scores, classes out of range.
    """
    _check_lengths(gt, pred)
    gt_enc = [_encode_image(f"image {i} (ground truth)", g, None) for i, g in enumerate(gt)]
    pred_enc = []
    for i, (g, p) in enumerate(zip(gt_enc, pred, strict=True)):
        if p.scores is None:
            raise DataError(f"image {i} (prediction)", "predictions need scores")
        pred_enc.append(_encode_image(f"image {i} (prediction)", p, (g.height, g.width)))
    return _coco_segm_ap(gt_enc, pred_enc)


def point_mask_ap(gt: Sequence[PointMasks], pred: Sequence[PointMasks]) -> dict[str, float]:
    """COCO mask AP@[.5:.95] of 3D point instances, each frame's points as a 1 x N image.

    Args:
        gt: per frame, ground-truth per-point instance ids (N,) and classes (scores None).
        pred: per frame (same order, same N evaluated points), predicted per-point instance ids,
            classes and scores.

    Returns:
        ``AP``, ``AP50``, ``AP75`` and their ``/<class>`` entries (fractions; see module doc).

    Raises:
        DataError: on mismatched frame or point counts, missing scores, ids or classes out of range.
    """
    _check_lengths(gt, pred)
    gt_enc, pred_enc = [], []
    for i, (g, p) in enumerate(zip(gt, pred, strict=True)):
        gt_enc.append(_encode_points(f"frame {i} (ground truth)", g, None))
        if p.scores is None:
            raise DataError(f"frame {i} (prediction)", "predictions need scores")
        pred_enc.append(_encode_points(f"frame {i} (prediction)", p, gt_enc[-1].width))
    return _coco_segm_ap(gt_enc, pred_enc)
