"""3D detection AP (R40) on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from labeleff.errors import DataError
from labeleff.metrics.det3d import FrameBoxes, average_precision_r40, detection_ap, percent_of_full


def _frame(boxes: list[list[float]], labels: list[int], scores: list[float] | None = None):
    b = torch.tensor(boxes, dtype=torch.float32).reshape(-1, 7)
    s = None if scores is None else torch.tensor(scores)
    return FrameBoxes(b, torch.tensor(labels, dtype=torch.long), s)


CAR = [0.0, 0.0, 0.0, 4.0, 2.0, 2.0, 0.3]
PED = [10.0, 0.0, 0.0, 0.8, 0.8, 1.8, 0.0]
CYC = [0.0, 10.0, 0.0, 2.0, 0.6, 1.7, 1.0]


def test_hand_computed_pr_curve() -> None:
    # Ranked TP, FP, TP, TP, FP with 4 GT: interpolated precision 1 up to recall 1/4,
    # 3/4 up to recall 3/4, then nothing: (10 * 1 + 20 * 0.75 + 10 * 0) / 40.
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5])[::-1]
    is_tp = np.array([True, False, True, True, False])[::-1]
    assert average_precision_r40(scores, is_tp, 4) == pytest.approx(25 / 40)
    assert average_precision_r40(np.zeros(0), np.zeros(0, bool), 3) == 0.0
    assert math.isnan(average_precision_r40(scores, is_tp, 0))


def test_perfect_predictions() -> None:
    gt = [_frame([CAR, PED, CYC], [0, 1, 2]), _frame([CAR], [0])]
    pred = [_frame([CAR, PED, CYC], [0, 1, 2], [0.9, 0.8, 0.7]), _frame([CAR], [0], [0.5])]
    result = detection_ap(gt, pred)
    assert set(result) == {
        f"AP_{k}_R40{c}" for k in ("3d", "bev") for c in ("", "/Vehicle", "/Pedestrian", "/Cyclist")
    }
    assert all(v == pytest.approx(1.0) for v in result.values())


def test_duplicates_are_false_positives() -> None:
    gt = [_frame([CAR], [0]), _frame([CAR], [0])]
    pred = [_frame([CAR, CAR], [0, 0], [0.9, 0.8]), _frame([CAR], [0], [0.7])]
    # TP, FP, TP: precision 1 up to recall 1/2, then 2/3.
    want = (20 * 1 + 20 * 2 / 3) / 40
    assert detection_ap(gt, pred)["AP_3d_R40/Vehicle"] == pytest.approx(want)


def test_class_thresholds_and_bev_vs_3d() -> None:
    shifted = [1.0, 0.0, 0.0, 4.0, 2.0, 2.0, 0.0]  # IoU (4 - 1) / (4 + 1) = 0.6 with the box at 0
    base = [0.0, 0.0, 0.0, 4.0, 2.0, 2.0, 0.0]
    gt = [_frame([base, base], [0, 1])]
    pred = [_frame([shifted, shifted], [0, 1], [0.9, 0.9])]
    result = detection_ap(gt, pred)
    assert result["AP_bev_R40/Vehicle"] == 0.0  # 0.6 < 0.7
    assert result["AP_bev_R40/Pedestrian"] == pytest.approx(1.0)  # 0.6 >= 0.5
    lifted = [0.0, 0.0, 1.0, 4.0, 2.0, 2.0, 0.0]  # same BEV box, 3D IoU 1/3
    result = detection_ap([_frame([base], [0])], [_frame([lifted], [0], [0.5])])
    assert result["AP_bev_R40"] == pytest.approx(1.0)
    assert result["AP_3d_R40"] == 0.0


def test_empty_predictions_and_empty_gt() -> None:
    gt = [_frame([CAR, PED], [0, 1])]
    result = detection_ap(gt, [_frame([], [], [])])
    assert result["AP_3d_R40"] == 0.0 and result["AP_bev_R40/Pedestrian"] == 0.0
    assert math.isnan(result["AP_3d_R40/Cyclist"])
    result = detection_ap([_frame([], [])], [_frame([CAR], [0], [0.9])])
    assert all(math.isnan(v) for v in result.values())


def test_wrong_class_is_not_a_match() -> None:
    result = detection_ap([_frame([CAR], [0])], [_frame([CAR], [2], [0.9])])
    assert result["AP_3d_R40/Vehicle"] == 0.0 and math.isnan(result["AP_3d_R40/Cyclist"])
    assert result["AP_3d_R40"] == 0.0


def test_percent_of_full() -> None:
    assert percent_of_full(0.6073, 0.6241) == pytest.approx(97.308, abs=1e-3)
    assert math.isnan(percent_of_full(0.5, 0.0))


def test_bad_inputs_raise() -> None:
    gt = [_frame([CAR], [0])]
    with pytest.raises(DataError, match="scores"):
        detection_ap(gt, gt)
    with pytest.raises(DataError, match="labels"):
        detection_ap([_frame([CAR], [7])], [_frame([CAR], [0], [1.0])])
    with pytest.raises(DataError, match="frames"):
        detection_ap(gt, [])
