"""Panoptic quality of point clusters on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from labeleff.errors import DataError
from labeleff.metrics.coco_masks import PointMasks
from labeleff.metrics.panoptic import panoptic_quality


def _ids(n: int, spans: list[tuple[int, int, int]]) -> np.ndarray:
    """(n,) ids, -1 outside the (start, stop, id) spans."""
    ids = np.full(n, -1)
    for start, stop, k in spans:
        ids[start:stop] = k
    return ids


def _frame0() -> tuple[PointMasks, PointMasks]:
    gt = PointMasks(_ids(20, [(0, 10, 0), (10, 14, 1)]), np.array([0, 1]))
    # Vehicle cluster: 8 of the 10 car points + 2 background -> IoU 8/12 (TP).
    # Pedestrian cluster: 2 of 4 points -> IoU 0.5, not > 0.5 (FP, and the GT is a FN).
    # Cyclist cluster on background only (FP).
    ids = _ids(20, [(0, 8, 0), (14, 16, 0), (10, 12, 1), (16, 20, 2)])
    return gt, PointMasks(ids, np.array([0, 1, 2]))


def _frame1() -> tuple[PointMasks, PointMasks]:
    gt = PointMasks(_ids(10, [(0, 5, 0), (5, 9, 1)]), np.array([0, 1]))  # car 0-4, ped 5-8
    pred = PointMasks(_ids(10, [(0, 5, 0), (5, 8, 1)]), torch.tensor([0, 1]))  # car 1.0, ped 0.75
    return gt, pred


def test_single_frame_hand_computed() -> None:
    gt, pred = _frame0()
    result = panoptic_quality([gt], [pred])
    assert result["SQ/Vehicle"] == pytest.approx(2 / 3) and result["RQ/Vehicle"] == 1.0
    assert result["PQ/Pedestrian"] == 0.0 and result["SQ/Pedestrian"] == 0.0
    assert result["PQ/Cyclist"] == 0.0 and result["RQ/Cyclist"] == 0.0
    assert result["PQ"] == pytest.approx(2 / 9) and result["RQ"] == pytest.approx(1 / 3)


def test_counts_accumulate_over_frames() -> None:
    pairs = [_frame0(), _frame1()]
    result = panoptic_quality([g for g, _ in pairs], [p for _, p in pairs])
    assert result["SQ/Vehicle"] == pytest.approx((2 / 3 + 1) / 2)
    assert result["RQ/Pedestrian"] == pytest.approx(0.5)  # TP 1, FP 1, FN 1
    assert result["PQ/Pedestrian"] == pytest.approx(0.375)
    assert set(result) == {
        f"{m}{c}" for m in ("PQ", "SQ", "RQ") for c in ("", "/Vehicle", "/Pedestrian", "/Cyclist")
    }


def test_wrong_class_and_empty_cases() -> None:
    gt = PointMasks(_ids(6, [(0, 6, 0)]), np.array([0]))
    wrong = PointMasks(_ids(6, [(0, 6, 0)]), np.array([1]))
    result = panoptic_quality([gt], [wrong])
    assert result["PQ/Vehicle"] == 0.0 and result["PQ/Pedestrian"] == 0.0
    assert math.isnan(result["PQ/Cyclist"]) and result["PQ"] == 0.0
    nothing = PointMasks(np.full(6, -1), np.zeros(0, int))
    result = panoptic_quality([gt], [nothing])
    assert result["RQ/Vehicle"] == 0.0 and math.isnan(result["RQ/Pedestrian"])
    assert all(math.isnan(v) for v in panoptic_quality([nothing], [nothing]).values())
    assert all(math.isnan(v) for v in panoptic_quality([], []).values())
    perfect = panoptic_quality([gt], [gt])
    assert perfect["PQ"] == 1.0 and perfect["SQ"] == 1.0


def test_bad_inputs_raise() -> None:
    gt = PointMasks(_ids(6, [(0, 6, 0)]), np.array([0]))
    with pytest.raises(DataError, match="instance_ids"):
        panoptic_quality([gt], [PointMasks(np.zeros(5, int), np.array([0]))])
    with pytest.raises(DataError, match="instance ids"):
        panoptic_quality([gt], [PointMasks(np.full(6, 3), np.array([0]))])
    with pytest.raises(DataError, match="frames"):
        panoptic_quality([gt], [])
