import numpy as np
import pytest

from labeleff.data import Boxes2D, Camera, Frame, GroundTruth, WeakLabels
from labeleff.errors import DataError, GroundTruthAccessError


def _frame(points: np.ndarray | None = None, box: tuple[float, ...] = (1, 1, 5, 5)) -> Frame:
    pts = np.ones((3, 4), np.float32) if points is None else points
    n = len(pts)
    cam = Camera("c", np.zeros((8, 10, 3), np.uint8), np.eye(3), np.eye(4))
    weak = WeakLabels((Boxes2D(np.array([box], np.float32), np.array([0])),))
    gt = GroundTruth(np.zeros((1, 7), np.float32), np.array([0]), np.zeros(n, np.int64),
                     np.zeros(n, np.int64))
    return Frame("f0", pts, np.zeros(n, np.int32), np.zeros(n, np.int32), (cam,), weak, gt)


def test_training_view_hides_ground_truth():
    f = _frame()
    assert f.gt is not None
    view = f.training_view()
    with pytest.raises(GroundTruthAccessError, match="f0"):
        _ = view.gt
    assert view.points is f.points and view.weak is f.weak


@pytest.mark.parametrize(
    ("points", "box", "message"),
    [
        (np.full((3, 4), np.nan, np.float32), (1, 1, 5, 5), "NaN"),
        (np.zeros((0, 4), np.float32), (1, 1, 5, 5), "empty frame"),
        (None, (1, 1, 50, 5), "outside"),
    ],
)
def test_validate_names_frame_and_problem(points, box, message):
    with pytest.raises(DataError, match=f"frame f0.*{message}"):
        _frame(points, box).validate()
