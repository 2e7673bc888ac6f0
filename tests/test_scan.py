"""Ring and column recovery from the scan order."""

from __future__ import annotations

import numpy as np
import pytest
from kitti_toy import RINGS, toy_points

from labeleff.data.scan import (
    COLUMN_RES_DEG,
    NUM_COLUMNS,
    azimuth_columns,
    recover_rings,
    rings_from_elevation,
    rings_from_scan_order,
)


def test_rings_from_scan_order_both_directions():
    pts, ring = toy_points()
    np.testing.assert_array_equal(rings_from_scan_order(pts), ring)
    rev = np.concatenate([pts[ring == k][::-1] for k in range(RINGS)])  # clockwise scanner
    np.testing.assert_array_equal(rings_from_scan_order(rev), ring)


def test_shuffled_points_fall_back_to_elevation_bins():
    pts, ring = toy_points()
    perm = np.random.default_rng(0).permutation(len(pts))
    assert rings_from_scan_order(pts[perm]) is None
    with pytest.warns(UserWarning, match="elevation binning"):
        got, n = recover_rings(pts[perm], "x.bin")
    # toy rings are 1.5 deg apart: the 0.427-deg bins keep their order
    assert n == int(got.max()) + 1
    assert (np.diff(got[np.argsort(ring[perm], kind="stable")]) >= 0).all()
    np.testing.assert_array_equal(got, rings_from_elevation(pts[perm]))


def test_single_point_and_single_ring():
    pts, ring = toy_points()
    assert rings_from_scan_order(pts[:1]).tolist() == [0]
    np.testing.assert_array_equal(rings_from_scan_order(pts[ring == 2]), 0)


def test_azimuth_columns():
    az = np.radians([-179.99, -0.01, 0.0, 0.05, 0.09, 179.99])
    pts = np.stack([np.cos(az), np.sin(az)], 1)
    col = azimuth_columns(pts)
    expected = np.floor((np.degrees(az) + 180) / COLUMN_RES_DEG).astype(int) % NUM_COLUMNS
    np.testing.assert_array_equal(col, expected)
    assert col.dtype == np.int32 and col[0] == 0 and col[-1] == NUM_COLUMNS - 1
    assert col[2] == col[3] == NUM_COLUMNS // 2 and col[4] == col[3] + 1
