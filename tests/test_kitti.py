"""KITTI reader/writer: the real frame 000008, round trips, and bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from kitti_toy import BOXES3D, RINGS, toy_frame

from labeleff.data.kitti import (
    camera_boxes_to_lidar,
    lidar_boxes_to_camera,
    read_calib,
    read_kitti_frame,
    write_kitti_frame,
)
from labeleff.data.scan import azimuth_columns, elevation_deg
from labeleff.errors import DataError
from labeleff.geometry.projection import project_points

FID = "000008"


@pytest.fixture(scope="module")
def real(kitti_root: Path):
    return read_kitti_frame(kitti_root, FID)


# ----------------------------------------------------------------------------- the real frame


def test_real_frame_contents(real):
    assert real.num_points == 17238 and real.points.shape == (17238, 4)
    assert real.cameras[0].name == "image_2" and real.cameras[0].size == (375, 1242)
    assert len(real.gt.boxes3d) == 6 and (real.gt.labels3d == 0).all()
    assert len(real.weak.boxes2d[0]) == 6  # the 4 DontCare lines are skipped
    np.testing.assert_array_equal(real.gt.box2d_instance[0], np.arange(6))
    assert real.gt.masks == ()


def test_real_calibration_reproduces_p2(real, kitti_root: Path):
    c = read_calib(kitti_root / "training" / "calib" / f"{FID}.txt")
    R0, Tr = np.eye(4), np.eye(4)
    R0[:3, :3], Tr[:3] = c["R0_rect"], c["Tr_velo_to_cam"]
    cam = real.cameras[0]
    np.testing.assert_allclose(cam.K @ cam.T_cam_lidar[:3], c["P2"] @ R0 @ Tr, atol=1e-9)
    R = cam.T_cam_lidar[:3, :3]
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-6)


def _project(frame):
    cam = frame.cameras[0]
    uv, _, valid = project_points(
        torch.from_numpy(frame.points), torch.from_numpy(cam.K), torch.from_numpy(cam.T_cam_lidar),
        cam.size,
    )  # fmt: skip
    return uv.numpy(), valid.numpy()


def test_real_points_project_into_image(real):
    _, valid = _project(real)
    assert valid.mean() > 0.98  # the file is cropped to the camera's field of view


def test_real_in_box_points_project_into_their_2d_box(real):
    uv, _ = _project(real)
    boxes = real.weak.boxes2d[0].boxes
    for j, i in enumerate(real.gt.box2d_instance[0]):
        u, v = uv[real.gt.point_instance == i].T
        x1, y1, x2, y2 = boxes[j] + np.array([-5, -5, 5, 5])
        assert len(u) >= 50
        assert ((u >= x1) & (u <= x2) & (v >= y1) & (v <= y2)).mean() > 0.95


def test_real_boxes_in_lidar_frame(real):
    g = real.gt
    dist = np.hypot(g.boxes3d[:, 0], g.boxes3d[:, 1])
    counts = np.bincount(g.point_instance[g.point_instance >= 0], minlength=6)
    # KITTI yaw convention: yaw_lidar = -rotation_y - pi/2 (level camera, up to calibration tilt)
    ry = np.array([-1.29, 1.90, -1.31, -1.25, 1.95, -1.25])
    dyaw = np.angle(np.exp(1j * (g.boxes3d[:, 6] - (-ry - np.pi / 2))))
    assert np.abs(dyaw).max() < 0.01
    assert (counts >= 40).all()
    untruncated = np.array([1, 3, 4, 5])  # label truncation 0; order by distance 8, 15, 22, 34 m
    order = untruncated[np.argsort(dist[untruncated])]
    assert (np.diff(counts[order]) < 0).all()
    assert 7.5 < dist[1] < 9 and 1400 <= counts[1] <= 2000


def test_real_box_bottoms_on_ground(real):
    g, p = real.gt, real.points
    for b in g.boxes3d:
        near = np.hypot(p[:, 0] - b[0], p[:, 1] - b[1]) < max(b[3], b[4]) / 2 + 1.5
        ground = np.percentile(p[near & (g.point_instance < 0), 2], 5)
        assert abs((b[2] - b[5] / 2) - ground) < 0.25


def test_real_ring_recovery(real):
    assert 44 <= real.num_rings <= 64  # the camera-FOV crop keeps the upper ~47 of 64 beams
    mean_el = np.bincount(real.ring, elevation_deg(real.points)) / np.bincount(real.ring)
    steps = np.diff(mean_el)
    assert (steps < -0.1).all() and (steps > -0.7).all()  # HDL-64E spacing 1/3-1/2 deg
    assert real.num_columns == 4500 and real.column.min() >= 0 and real.column.max() < 4500
    key = real.ring.astype(np.int64) * 4500 + real.column
    assert len(np.unique(key)) > 0.99 * real.num_points


def test_real_frame_round_trip(real, tmp_path: Path):
    write_kitti_frame(real, tmp_path)
    back = read_kitti_frame(tmp_path, FID)
    np.testing.assert_array_equal(back.points, real.points)
    np.testing.assert_array_equal(back.cameras[0].image, real.cameras[0].image)
    np.testing.assert_allclose(back.cameras[0].T_cam_lidar, real.cameras[0].T_cam_lidar, atol=1e-9)
    np.testing.assert_allclose(back.gt.boxes3d, real.gt.boxes3d, atol=1e-5)
    np.testing.assert_array_equal(back.gt.point_instance, real.gt.point_instance)


# ----------------------------------------------------------------------------- round trips


def test_box_conversion_inverse_for_tilted_camera():
    T = np.eye(4)
    a, b = 0.2, -0.1
    Rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    Rz = np.array([[np.cos(b), -np.sin(b), 0], [np.sin(b), np.cos(b), 0], [0, 0, 1]])
    T[:3, :3] = Rx @ np.array([[0, -1, 0], [0, 0, -1], [1, 0, 0]]) @ Rz
    T[:3, 3] = [0.1, -0.2, 0.3]
    hwl, xyz, ry = lidar_boxes_to_camera(BOXES3D, T)
    np.testing.assert_allclose(camera_boxes_to_lidar(hwl, xyz, ry, T), BOXES3D, atol=1e-5)


def _assert_same(a, b):
    np.testing.assert_array_equal(a.points, b.points)
    np.testing.assert_array_equal(a.ring, b.ring)
    np.testing.assert_array_equal(a.column, b.column)
    assert (a.num_rings, a.num_columns) == (b.num_rings, b.num_columns)
    assert [c.name for c in a.cameras] == [c.name for c in b.cameras]
    for ca, cb, ba, bb in zip(a.cameras, b.cameras, a.weak.boxes2d, b.weak.boxes2d, strict=True):
        np.testing.assert_array_equal(ca.image, cb.image)
        np.testing.assert_allclose(ca.K, cb.K, rtol=1e-11)
        np.testing.assert_allclose(ca.T_cam_lidar, cb.T_cam_lidar, atol=1e-11)
        np.testing.assert_allclose(ba.boxes, bb.boxes, rtol=1e-7)
        np.testing.assert_array_equal(ba.labels, bb.labels)
    np.testing.assert_array_equal(a.weak.boxes3d, b.weak.boxes3d)
    for x, y in zip(a.weak.cluster_point_ids, b.weak.cluster_point_ids, strict=True):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a.weak.cluster_labels, b.weak.cluster_labels)


def test_toy_frame_round_trips_exactly(tmp_path: Path):
    frame = toy_frame()
    write_kitti_frame(frame, tmp_path)
    back = read_kitti_frame(tmp_path, "toy01")
    _assert_same(frame, back)
    g, h = frame.gt, back.gt
    np.testing.assert_allclose(h.boxes3d, g.boxes3d, atol=2e-6)
    np.testing.assert_array_equal(h.labels3d, g.labels3d)
    for name in ("point_instance", "point_semantic"):
        np.testing.assert_array_equal(getattr(h, name), getattr(g, name))
    for x, y in zip(g.masks + g.box2d_instance, h.masks + h.box2d_instance, strict=True):
        np.testing.assert_array_equal(x, y)


def test_toy_frame_without_gt_round_trips(tmp_path: Path):
    write_kitti_frame(toy_frame(with_gt=False), tmp_path)
    back = read_kitti_frame(tmp_path, "toy01")
    assert back.gt is None and len(back.weak.boxes2d[0]) == 3


def test_training_view_cannot_be_written(tmp_path: Path):
    from labeleff.errors import GroundTruthAccessError

    with pytest.raises(GroundTruthAccessError):
        write_kitti_frame(toy_frame().training_view(), tmp_path)


@pytest.fixture()
def plain(tmp_path: Path) -> Path:
    """The toy frame written, then its sidecar removed: a plain KITTI folder."""
    write_kitti_frame(toy_frame(), tmp_path)
    shutil.rmtree(tmp_path / "training" / "labeleff")
    return tmp_path / "training"


def test_plain_folder_without_sidecar(plain: Path):
    frame, back = toy_frame(), read_kitti_frame(plain.parent, "toy01")
    np.testing.assert_array_equal(back.points, frame.points[:, :4])
    assert [c.name for c in back.cameras] == ["image_2"] and back.num_rings == RINGS
    np.testing.assert_array_equal(back.ring, frame.ring)  # recovered from the scan order
    np.testing.assert_array_equal(back.column, azimuth_columns(frame.points))
    np.testing.assert_allclose(back.gt.boxes3d, frame.gt.boxes3d, atol=2e-6)
    np.testing.assert_array_equal(back.gt.point_instance, frame.gt.point_instance)
    # 2D box 0 shares box 1's line; box 1 (of 3D box 0) would break the order: own line
    np.testing.assert_array_equal(back.gt.box2d_instance[0], [1, -1, -1])


# ----------------------------------------------------------------------------- bad input


def test_point_file_not_multiple_of_16(plain: Path):
    path = plain / "velodyne" / "toy01.bin"
    path.write_bytes(path.read_bytes()[:-4])
    with pytest.raises(DataError, match=r"toy01\.bin: size .* not a multiple of 16"):
        read_kitti_frame(plain.parent, "toy01")


def test_empty_point_file(plain: Path):
    (plain / "velodyne" / "toy01.bin").write_bytes(b"")
    with pytest.raises(DataError, match=r"toy01\.bin: empty frame"):
        read_kitti_frame(plain.parent, "toy01")


def test_nan_points_are_dropped_with_warning(plain: Path):
    path = plain / "velodyne" / "toy01.bin"
    pts = np.fromfile(path, np.float32).reshape(-1, 4)
    pts[[3, 50], 1] = np.nan
    pts.tofile(path)
    with pytest.warns(UserWarning, match="dropped 2 points with NaN"):
        frame = read_kitti_frame(plain.parent, "toy01")
    assert frame.num_points == len(pts) - 2 and np.isfinite(frame.points).all()


def test_nan_points_with_sidecar_is_an_error(tmp_path: Path):
    write_kitti_frame(toy_frame(), tmp_path)
    path = tmp_path / "training" / "velodyne" / "toy01.bin"
    pts = np.fromfile(path, np.float32).reshape(-1, 4)
    pts[0, 0] = np.nan
    pts.tofile(path)
    with pytest.warns(UserWarning), pytest.raises(DataError, match=r"toy01\.npz: sidecar holds"):
        read_kitti_frame(tmp_path, "toy01")


def test_missing_calibration_keys(plain: Path):
    path = plain / "calib" / "toy01.txt"
    lines = [x for x in path.read_text().splitlines() if not x.startswith(("R0_rect", "P2"))]
    path.write_text("\n".join(lines))
    with pytest.raises(
        DataError, match=r"toy01\.txt: missing calibration keys \['P2', 'R0_rect'\]"
    ):
        read_kitti_frame(plain.parent, "toy01")


def test_bad_calibration_values(plain: Path):
    path = plain / "calib" / "toy01.txt"
    path.write_text(path.read_text().replace("R0_rect: 1.0", "R0_rect: one"))
    with pytest.raises(DataError, match="R0_rect has a non-numeric value"):
        read_kitti_frame(plain.parent, "toy01")


def test_unknown_class_name(plain: Path):
    path = plain / "label_2" / "toy01.txt"
    n = len(path.read_text().splitlines())
    path.write_text(path.read_text() + "Spaceship 0 0 0 1 1 5 5 1 1 1 0 0 5 0\n")
    with pytest.raises(
        DataError, match=rf"toy01\.txt: line {n + 1}: unknown class name 'Spaceship'"
    ):
        read_kitti_frame(plain.parent, "toy01")


def test_short_label_line(plain: Path):
    (plain / "label_2" / "toy01.txt").write_text("Car 0 0 0 1 1 5 5\n")
    with pytest.raises(DataError, match="line 1: expected 15 fields, got 8"):
        read_kitti_frame(plain.parent, "toy01")


def test_boxes_outside_image_are_clipped_or_dropped(plain: Path):
    (plain / "label_2" / "toy01.txt").write_text(
        "Car 0 0 0 -20 10 50 90 1.5 1.8 4 0 1 8 0\n"  # partly outside: clipped
        "Pedestrian 0 0 0 200 10 260 30 1.7 0.7 0.8 1 1 9 0\n"  # fully outside: dropped
        "DontCare -1 -1 -10 1 1 3 3 -1 -1 -1 -1000 -1000 -1000 -10\n"
    )
    with pytest.warns(UserWarning, match=r"toy01\.txt: dropped 2D boxes on lines \[2\]"):
        frame = read_kitti_frame(plain.parent, "toy01")
    np.testing.assert_array_equal(frame.weak.boxes2d[0].boxes, [[0, 10, 50, 80]])
    assert len(frame.gt.boxes3d) == 2  # the dropped 2D box's 3D box is kept
    np.testing.assert_array_equal(frame.gt.box2d_instance[0], [0])


@pytest.mark.parametrize("folder", ["velodyne", "image_2", "calib", "label_2"])
def test_missing_file(plain: Path, folder: str):
    path = next((plain / folder).iterdir())
    path.unlink()
    with pytest.raises(DataError, match=rf"{folder}/toy01\.\w+: file not found"):
        read_kitti_frame(plain.parent, "toy01")


def test_testing_split_without_labels(plain: Path):
    shutil.rmtree(plain / "label_2")
    plain.rename(plain.parent / "testing")
    frame = read_kitti_frame(plain.parent, "toy01", split="testing")
    assert frame.gt is None and len(frame.weak.boxes2d[0]) == 0


@pytest.mark.parametrize("cut", [0, 100])
def test_corrupt_png(plain: Path, cut: int):
    path = plain / "image_2" / "toy01.png"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if cut else b"not a png at all")
    with pytest.raises(DataError, match=r"toy01\.png: not a readable image"):
        read_kitti_frame(plain.parent, "toy01")


def test_corrupt_sidecar(tmp_path: Path):
    write_kitti_frame(toy_frame(), tmp_path)
    (tmp_path / "training" / "labeleff" / "toy01.npz").write_bytes(b"garbage")
    with pytest.raises(DataError, match=r"toy01\.npz: unreadable sidecar"):
        read_kitti_frame(tmp_path, "toy01")
