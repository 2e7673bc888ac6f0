import dataclasses
import math

import numpy as np
import pytest
import torch

from labeleff.data.classes import BACKGROUND
from labeleff.data.frame import Frame
from labeleff.data.io import load_frame_npz, save_frame_npz
from labeleff.data.realism import frustum_precision, points_per_object
from labeleff.data.synthetic import PRESETS, CameraSpec, SceneConfig, generate_frame, load_frames
from labeleff.data.synthetic import generate as gen
from labeleff.data.synthetic.generate import boxes_from_masks, cache_path
from labeleff.data.synthetic.raycast import TorchPrims, intersect_pairs
from labeleff.data.synthetic.scene import BOX, CYLINDER, ELLIPSOID, Primitives
from labeleff.errors import DataError
from labeleff.geometry.boxes import points_in_boxes

TINY = SceneConfig(
    num_beams=16,
    num_columns=360,
    max_range=30.0,
    street_half_length=30.0,
    cameras=(CameraSpec("FRONT", 160, 96, 70.0), CameraSpec("LEFT", 120, 80, 60.0, 60.0)),
    min_visible_pixels=25,
)


@pytest.fixture(scope="module")
def frames() -> list[Frame]:
    return [generate_frame(TINY, 3, i) for i in range(3)]


def _arrays(f: Frame) -> list[np.ndarray]:
    g = f.gt
    out = [f.points, f.ring, f.column, g.boxes3d, g.labels3d, g.point_instance, g.point_semantic]
    out += [c.image for c in f.cameras] + list(g.masks) + list(g.box2d_instance)
    return out + [b.boxes for b in f.weak.boxes2d] + [b.labels for b in f.weak.boxes2d]


def test_generation_is_deterministic(frames):
    again = generate_frame(TINY, 3, 0)
    assert all(
        np.array_equal(a, b) for a, b in zip(_arrays(frames[0]), _arrays(again), strict=True)
    )
    other = generate_frame(TINY, 4, 0)
    assert not np.array_equal(other.points[:100], frames[0].points[:100])


def test_frames_validate_with_contract_dtypes(frames):
    for f in frames:
        f.validate()
        g = f.gt
        assert f.points.dtype == np.float32 and f.points.shape[1] == 4
        assert f.ring.dtype == np.int32 and f.column.dtype == np.int32
        assert (f.num_rings, f.num_columns) == (16, 360)
        assert 0 <= f.ring.min() and f.ring.max() < 16 and 0 <= f.column.min()
        assert f.column.max() < 360
        assert g.boxes3d.dtype == np.float32 and g.labels3d.dtype == np.int64
        assert ((g.point_semantic == BACKGROUND) == (g.point_instance < 0)).all()
        fg = g.point_instance >= 0
        assert (g.point_semantic[fg] == g.labels3d[g.point_instance[fg]]).all()
        assert [m.shape for m in g.masks] == [c.size for c in f.cameras]
        assert all(m.dtype == np.int32 for m in g.masks)


def test_points_lie_in_their_object_box(frames):
    for f in frames:
        inst = torch.as_tensor(f.gt.point_instance)
        inside = points_in_boxes(
            torch.as_tensor(f.points), torch.as_tensor(f.gt.boxes3d), margin=0.06
        )
        fg = torch.nonzero(inst >= 0).squeeze(1)
        assert len(fg) > 100
        assert inside[inst[fg], fg].all()


def test_gt_boxes_are_plausible(frames):
    g = np.concatenate([f.gt.boxes3d for f in frames])
    lab = np.concatenate([f.gt.labels3d for f in frames])
    car, ped = g[lab == 0], g[lab == 1]
    assert ((car[:, 3] >= 3.8) & (car[:, 3] <= 5.2) & (car[:, 5] >= 1.4) & (car[:, 5] <= 1.9)).all()
    assert ((ped[:, 3] <= 0.9) & (ped[:, 4] <= 0.9) & (ped[:, 5] >= 1.5) & (ped[:, 5] <= 1.9)).all()
    # bottoms rest on the road (about -1.8 m) or on the 0.15 m sidewalk
    bottom = g[:, 2] - g[:, 5] / 2 + TINY.lidar_height
    assert np.isclose(bottom, 0.0, atol=1e-4).any() and (np.abs(bottom) < 0.16).all()


def test_boxes2d_are_tight_boxes_of_visible_masks(frames):
    small = 0
    for f in frames:
        for cam, b2d, mask, assoc in zip(
            f.cameras, f.weak.boxes2d, f.gt.masks, f.gt.box2d_instance, strict=True
        ):
            counts = np.bincount(mask.ravel() + 1, minlength=len(f.gt.labels3d) + 1)[1:]
            expected = np.flatnonzero(counts >= TINY.min_visible_pixels)
            small += int(((counts > 0) & (counts < TINY.min_visible_pixels)).sum())
            assert np.array_equal(assoc, expected), cam.name
            assert np.array_equal(b2d.labels, f.gt.labels3d[assoc])
            for box, i in zip(b2d.boxes, assoc, strict=True):
                rows, cols = np.nonzero(mask == i)
                assert box.tolist() == [cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]
    assert small > 0  # the threshold was exercised


def test_boxes_from_masks_hand_example():
    mask = -np.ones((6, 8), np.int32)
    mask[1:3, 2:5] = 0  # 6 pixels
    mask[4, 7] = 1  # 1 pixel
    ((boxes, ids),) = boxes_from_masks([mask], 3, min_pixels=2)
    assert ids.tolist() == [0]
    assert boxes.boxes.tolist() == [[2.0, 1.0, 5.0, 3.0]]


def test_ray_primitive_intersections_match_hand_values():
    prims = Primitives(
        np.array([BOX, ELLIPSOID, CYLINDER]),
        np.array([[10.0, 0, 0], [10.0, 0, 0], [10.0, 0, 0]]),
        np.array([[1.0, 2, 3], [2.0, 1, 1], [0.5, 0.5, 1]]),
        np.array([math.pi / 2, 0.0, 0.3]),
        np.zeros((3, 3)),
        np.zeros((3, 2)),
        np.zeros((3, 4)),
        -np.ones(3, np.int64),
    )
    p = TorchPrims.from_numpy(prims, torch.device("cpu"))
    d = torch.tensor([[1.0, 0, 0]] * 3 + [[0.0, 0, 1]])
    t, n = intersect_pairs(p, torch.zeros(3), d.to(p.center), torch.tensor([0, 1, 2, 0]))
    # box rotated 90 deg: its width (2 m half) now lies along x -> entry at 8; ellipsoid at 8;
    # cylinder of radius 0.5 -> 9.5; the vertical ray misses the box.
    assert torch.allclose(t[:3], torch.tensor([8.0, 8.0, 9.5]), atol=1e-4)
    assert math.isinf(t[3])
    assert torch.allclose(
        n[:3] / n[:3].norm(dim=1, keepdim=True), torch.tensor([[-1.0, 0, 0]] * 3), atol=1e-4
    )


def test_presets_and_config_key():
    assert set(PRESETS) == {"smoke", "cpu", "gpu"}
    assert PRESETS["gpu"].num_beams == 64 and PRESETS["gpu"].num_columns == 2650
    assert len(PRESETS["gpu"].cameras) == 5 and len(PRESETS["cpu"].cameras) == 1
    assert PRESETS["cpu"].key() == SceneConfig().key() != PRESETS["smoke"].key()
    assert len(PRESETS["cpu"].key()) == 12
    assert dataclasses.replace(TINY, dropout=0.1).key() != TINY.key()


def test_cache_round_trip_and_corrupt_file_regenerated(tmp_path, monkeypatch, frames):
    first = load_frames(TINY, 3, [0], tmp_path)[0]
    path = cache_path(tmp_path, TINY, 3, 0)
    assert path.exists() and not list(path.parent.glob("*.tmp"))
    assert all(
        np.array_equal(a, b) for a, b in zip(_arrays(first), _arrays(frames[0]), strict=True)
    )

    def fail(*args, **kwargs):
        raise AssertionError("should have been read from the cache")

    monkeypatch.setattr(gen, "generate_frame", fail)
    cached = load_frames(TINY, 3, [0], tmp_path)[0]
    assert all(np.array_equal(a, b) for a, b in zip(_arrays(cached), _arrays(first), strict=True))
    monkeypatch.undo()
    path.write_bytes(path.read_bytes()[:500])
    with pytest.warns(UserWarning, match="corrupt"):
        regenerated = load_frames(TINY, 3, [0], tmp_path)[0]
    assert np.array_equal(regenerated.points, first.points)
    assert load_frame_npz(path).frame_id == first.frame_id


def test_npz_round_trip_every_field(tmp_path, frames):
    f = frames[1]
    weak = dataclasses.replace(
        f.weak,
        boxes3d=f.gt.boxes3d[:2],
        labels3d=f.gt.labels3d[:2],
        cluster_point_ids=(np.array([0, 5]), np.array([7])),
        cluster_labels=np.array([1, 2]),
    )
    for original in (dataclasses.replace(f, weak=weak), f.training_view()):
        save_frame_npz(original, tmp_path / "f.npz")
        back = load_frame_npz(tmp_path / "f.npz")
        assert back._gt_hidden == original._gt_hidden
        _assert_same(back, original)


def _assert_same(a: object, b: object) -> None:
    """Recursive exact equality of frames, their dataclasses, tuples and arrays (dtype included)."""
    if dataclasses.is_dataclass(a):
        for fa in dataclasses.fields(a):
            _assert_same(getattr(a, fa.name), getattr(b, fa.name))
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    elif isinstance(a, tuple):
        assert len(a) == len(b)
        for u, v in zip(a, b, strict=True):
            _assert_same(u, v)
    else:
        assert a == b


def test_truncated_npz_raises_data_error_naming_file(tmp_path, frames):
    path = tmp_path / "frame.npz"
    save_frame_npz(frames[0], path)
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(DataError, match="frame.npz"):
        load_frame_npz(path)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="junk.npz"):
        load_frame_npz(tmp_path / "junk.npz")


def test_realism_measures(frames):
    for f in frames:
        fp = frustum_precision(f)
        rows = fp["per_object"]
        assert len(rows) == sum(len(b) for b in f.weak.boxes2d)
        assert all(0 <= r["on_object"] <= r["in_frustum"] for r in rows)
        ppo = points_per_object(f)
        assert len(ppo) == len(f.gt.labels3d)
        assert sum(n for _, _, n in ppo) == int((f.gt.point_instance >= 0).sum())
