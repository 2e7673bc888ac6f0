"""COCO mask AP (2D masks and 3D point masks) on hand-computed cases."""

from __future__ import annotations

import contextlib
import io
import math

import numpy as np
import pytest
import torch
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from labeleff.errors import DataError
from labeleff.metrics.coco_masks import ImageMasks, PointMasks, mask_ap, point_mask_ap

NAN = float("nan")


def _points(ids: list[int], classes: list[int], scores: list[float] | None = None) -> PointMasks:
    return PointMasks(
        np.array(ids), np.array(classes), None if scores is None else np.array(scores)
    )


def _gt_frame(n: int = 100) -> PointMasks:
    """Vehicle on points 0-49, pedestrian on 60-69, cyclist on 80-89, the rest background."""
    ids = np.full(n, -1)
    ids[:50], ids[60:70], ids[80:90] = 0, 1, 2
    return PointMasks(ids, np.array([0, 1, 2]))


def _assert_values(result: dict[str, float], expected: dict[str, float]) -> None:
    for key, want in expected.items():
        got = result[key]
        assert (math.isnan(got) and math.isnan(want)) or got == pytest.approx(want), key


def test_perfect_predictions_score_one() -> None:
    gt = [_gt_frame(), _gt_frame(120)]
    pred = [PointMasks(g.instance_ids, g.classes, np.array([0.9, 0.8, 0.7])) for g in gt]
    result = point_mask_ap(gt, pred)
    assert set(result) == {
        f"{m}{c}"
        for m in ("AP", "AP50", "AP75")
        for c in ("", "/Vehicle", "/Pedestrian", "/Cyclist")
    }
    assert all(v == pytest.approx(1.0) for v in result.values())


def test_single_prediction_at_iou_062() -> None:
    gt = [_points([0] * 50 + [-1] * 50, [0])]
    # 31 of the 50 vehicle points: IoU 0.62 -> matched at thresholds 0.50, 0.55, 0.60 only.
    pred = [_points([0] * 31 + [-1] * 69, [0], [0.5])]
    _assert_values(
        point_mask_ap(gt, pred),
        {
            "AP": 0.3,
            "AP50": 1.0,
            "AP75": 0.0,
            "AP/Vehicle": 0.3,
            "AP/Pedestrian": NAN,
            "AP/Cyclist": NAN,
        },
    )


def test_wrong_class_gives_zero_and_nan_without_gt() -> None:
    gt = [_points([0] * 10 + [-1] * 10, [0])]
    pred = [_points([0] * 10 + [-1] * 10, [1], [0.9])]
    _assert_values(
        point_mask_ap(gt, pred),
        {"AP": 0.0, "AP/Vehicle": 0.0, "AP/Pedestrian": NAN, "AP/Cyclist": NAN},
    )


def test_empty_predictions_and_empty_gt() -> None:
    gt = [_gt_frame()]
    no_pred = [PointMasks(np.full(100, -1), np.zeros(0, int), np.zeros(0))]
    _assert_values(point_mask_ap(gt, no_pred), {"AP": 0.0, "AP50": 0.0, "AP/Cyclist": 0.0})
    empty_gt = [PointMasks(np.full(100, -1), np.zeros(0, int))]
    pred = [PointMasks(gt[0].instance_ids, gt[0].classes, np.ones(3))]
    assert all(math.isnan(v) for v in point_mask_ap(empty_gt, pred).values())
    assert all(math.isnan(v) for v in point_mask_ap([], []).values())


def test_several_frames_hand_computed_pr() -> None:
    gt = [_points([0] * 10 + [-1] * 10, [0]), _points([-1] * 10 + [0] * 10, [0])]
    # Frame 0 found (score 0.9); frame 1 gets one false positive (0.8) and its GT is missed.
    pred = [_points([0] * 10 + [-1] * 10, [0], [0.9]), _points([0] * 10 + [-1] * 10, [0], [0.8])]
    # Recall 0.5 at precision 1: the 51 of 101 COCO recall points up to 0.5 score 1.
    _assert_values(point_mask_ap(gt, pred), {"AP": 51 / 101, "AP50": 51 / 101})
    pred[1] = _points([-1] * 10 + [0] * 10, [0], [0.95])
    pred[0] = _points([0] * 5 + [-1] * 15, [0], [0.99])  # IoU 0.5 with the frame-0 GT
    # At 0.75 the 0.99 prediction is a false positive ranked first: precision 0.5 up to recall 0.5.
    _assert_values(point_mask_ap(gt, pred), {"AP50": 1.0, "AP75": 0.5 * 51 / 101})


def test_empty_instances_are_dropped() -> None:
    gt = [_points([0] * 10 + [-1] * 10, [0, 1])]  # pedestrian 1 has no point
    pred = [_points([0] * 10 + [-1] * 10, [0, 2], [0.9, 0.8])]  # cyclist 1 has no point
    _assert_values(point_mask_ap(gt, pred), {"AP": 1.0, "AP/Pedestrian": NAN, "AP/Cyclist": NAN})


def test_2d_masks_with_torch_inputs() -> None:
    gt_masks = torch.zeros(2, 8, 10, dtype=torch.bool)
    gt_masks[0, :4, :5] = True  # 20 px
    gt_masks[1, 5:, 5:] = True  # 15 px
    pred_masks = gt_masks.clone()
    pred_masks[1, 7, :] = True  # adds 5 px: IoU 15 / 20 = 0.75
    gt = [ImageMasks(gt_masks, torch.tensor([0, 2]))]
    pred = [ImageMasks(pred_masks, torch.tensor([0, 2]), torch.tensor([0.9, 0.6]))]
    # Cyclist matched at 0.50 ... 0.75 (6 of 10 thresholds).
    _assert_values(
        mask_ap(gt, pred),
        {
            "AP/Vehicle": 1.0,
            "AP/Cyclist": 0.6,
            "AP": 0.8,
            "AP75": 1.0,
            "AP/Pedestrian": NAN,
        },
    )


def test_bad_inputs_raise() -> None:
    gt = [_gt_frame()]
    with pytest.raises(DataError, match="need scores"):
        point_mask_ap(gt, gt)
    with pytest.raises(DataError, match="instance_ids"):
        point_mask_ap(gt, [_points([0] * 5, [0], [1.0])])
    with pytest.raises(DataError, match="classes"):
        point_mask_ap([_points([0] * 100, [5])], [_points([0] * 100, [0], [1.0])])
    with pytest.raises(DataError, match="ground-truth entries"):
        point_mask_ap(gt, [])
    with pytest.raises(DataError, match="masks"):
        mask_ap(
            [ImageMasks(np.zeros((1, 4, 4), bool), np.array([0]))],
            [ImageMasks(np.zeros((1, 4, 5), bool), np.array([0]), np.array([1.0]))],
        )


def test_means_equal_cocoeval_summary() -> None:
    """The class means equal the official COCOeval.summarize() numbers on random frames."""
    rng = np.random.default_rng(0)
    gt, pred, gt_anns, dt_anns = [], [], [], []
    for frame in range(4):
        ids = rng.integers(-1, 6, 200)
        noisy = np.where(rng.random(200) < 0.3, rng.integers(-1, 6, 200), ids)
        classes, scores = rng.integers(0, 3, 6), rng.random(6)
        gt.append(PointMasks(ids, classes))
        pred.append(PointMasks(noisy, classes, scores))
        for k in range(6):
            for anns, source in ((gt_anns, ids), (dt_anns, noisy)):
                rle = mask_utils.encode(np.asfortranarray((source == k)[None, :, None], np.uint8))[
                    0
                ]
                ann = {
                    "id": len(anns) + 1,
                    "image_id": frame + 1,
                    "category_id": int(classes[k]) + 1,
                    "segmentation": rle,
                    "area": float(mask_utils.area(rle)),
                    "iscrowd": 0,
                    "score": float(scores[k]),
                }
                anns.append(ann)
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = {
            "images": [{"id": i + 1, "height": 1, "width": 200} for i in range(4)],
            "annotations": gt_anns,
            "categories": [{"id": c} for c in (1, 2, 3)],
        }
        coco_gt.createIndex()
        evaluator = COCOeval(coco_gt, coco_gt.loadRes(dt_anns), iouType="segm")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    result = point_mask_ap(gt, pred)
    assert 0.05 < result["AP"] < 0.95
    assert [result["AP"], result["AP50"], result["AP75"]] == pytest.approx(evaluator.stats[:3])


def test_many_predicted_instances_in_one_frame() -> None:
    """300 one-point predictions (an over-segmenting model) next to one 10-point GT instance:
    pycocotools' ``area`` overflows past 255 masks per call; the metric must not."""
    gt_ids = np.full(400, -1)
    gt_ids[:10] = 0
    pred_ids = np.concatenate([np.arange(300), np.full(100, -1)])
    scores = np.linspace(0.1, 0.9, 300)
    ap = point_mask_ap([PointMasks(gt_ids, np.array([0]))],
                       [PointMasks(pred_ids, np.zeros(300, np.int64), scores)])
    assert ap["AP/Vehicle"] == 0.0
