"""MWSIS 3D pseudo labels: frustum baseline, SPG (ring filter + BEV CCL), RSC, PVC, vote targets.

The hand-built scene: one 100 x 100 camera looking along LiDAR +x (f = 100 px, centre 50, 50).
A point at azimuth ``a`` (rad, +y left) and height ``z`` at BEV range ``r`` projects to
``u = 50 - 100 tan(a)``, ``v = 50 - 100 z / (r cos a)``. Column ``c`` has azimuth
``a = 0.005 (50 - c)``, so the 2D box ``u in [44.5, 55.5)`` holds exactly columns 40..60.

Rows (ring index, 100 columns each unless said):
  0, 1: a car at r = 10 m over columns 40..60 (z = 0 and -0.5), a wall at r = 30 m elsewhere;
  2: ground at r = 6 m, z = -1.5 over all columns (v = 75, inside the box for columns 40..60);
  3: as row 0 but a pole at r = 5 m (z = -0.2) occludes columns 49..51;
  4: a car-range run at r = 10 m over columns 38..60 (2 of its 23 points leak out of the box),
     a wall elsewhere;
  plus one point behind the camera (no image, ring -1).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from labeleff.data.classes import BACKGROUND, CCL_RADIUS, IGNORE
from labeleff.data.frame import Boxes2D, Camera, Frame, GroundTruth, WeakLabels
from labeleff.errors import DataError, GroundTruthAccessError
from labeleff.geometry.projection import project_points
from labeleff.metrics.pseudo import pseudo_label_quality
from labeleff.mwsis.frustum import frustum_hits, points_in_boxes2d, project_cameras
from labeleff.mwsis.pseudo3d import PseudoLabelConfig, pseudo_labels, vote_targets
from labeleff.mwsis.pvc import PVCHistory, apply_pvc
from labeleff.mwsis.rsc import rsc_correct
from labeleff.mwsis.spg import box_priority, resolve_overlaps, spg_keep_pairs

CAR, PED = 0, 1
K = np.array([[100.0, 0, 50], [0, 100.0, 50], [0, 0, 1]])
T = np.eye(4)
T[:3, :3] = [[0, -1, 0], [0, 0, -1], [1, 0, 0]]  # LiDAR (x fwd, y left, z up) -> camera
CAR_BOX = [44.5, 30.0, 55.5, 80.0]


def _row(ring: int, cols: range, r: float, z: float) -> list[tuple[int, int, float, float]]:
    return [(ring, c, r, z) for c in cols]


def _scene() -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    rows = []
    for ring, z in ((0, 0.0), (1, -0.5)):
        rows += _row(ring, range(40), 30, z) + _row(ring, range(40, 61), 10, z)
        rows += _row(ring, range(61, 100), 30, z)
    rows += _row(2, range(100), 6, -1.5)
    rows += _row(3, range(40), 30, -0.2) + _row(3, range(40, 49), 10, -0.2)
    rows += _row(3, range(49, 52), 5, -0.2) + _row(3, range(52, 61), 10, -0.2)
    rows += _row(3, range(61, 100), 30, -0.2)
    rows += _row(4, range(38), 30, 0.2) + _row(4, range(38, 61), 10, 0.2)
    rows += _row(4, range(61, 100), 30, 0.2)
    ring, col, r, z = (np.array(v) for v in zip(*rows, strict=True))
    a = 0.005 * (50 - col)
    xyz = np.stack([r * np.cos(a), r * np.sin(a), z], 1)
    xyz = np.concatenate([xyz, [[-5.0, 0.0, 0.0]]])
    ring, col = np.append(ring, -1), np.append(col, -1)
    parts = {
        "car": (ring <= 3) & (r_eq(xyz, 10)) & (ring >= 0),
        "ground": ring == 2,
        "pole": (ring == 3) & r_eq(xyz, 5),
        "leak_in": (ring == 4) & r_eq(xyz, 10) & (col >= 40),
        "leak_out": (ring == 4) & r_eq(xyz, 10) & (col < 40),
        "wall": r_eq(xyz, 30),
        "behind": ring == -1,
    }
    return xyz, ring, col, parts


def r_eq(xyz: np.ndarray, r: float) -> np.ndarray:
    return np.abs(np.hypot(xyz[:, 0], xyz[:, 1]) - r) < 1e-6


def _frame(boxes: list[list[float]], labels: list[int], gt: GroundTruth | None = None) -> Frame:
    xyz, ring, col, _ = _scene()
    points = np.concatenate([xyz, np.zeros((len(xyz), 1))], 1).astype(np.float32)
    cam = Camera("cam", np.zeros((100, 100, 3), np.uint8), K, T)
    b2d = Boxes2D(np.array(boxes, np.float32).reshape(-1, 4), np.array(labels, np.int64))
    weak = WeakLabels((b2d,))
    return Frame(
        "hand",
        points,
        ring.astype(np.int32),
        col.astype(np.int32),
        (cam,),
        weak,
        gt,
        num_rings=5,
        num_columns=100,
    ).validate()


def _labels(cfg: PseudoLabelConfig, boxes=(CAR_BOX,), labels=(CAR,)) -> np.ndarray:
    return pseudo_labels(_frame(list(boxes), list(labels)).training_view(), cfg).labels.numpy()


def test_scene_geometry_is_as_documented() -> None:
    xyz, _, col, parts = _scene()
    hits = frustum_hits(
        torch.from_numpy(xyz).float(),
        _frame([CAR_BOX], [CAR]).cameras,
        (Boxes2D(np.array([CAR_BOX], np.float32), np.array([CAR])),),
    )
    in_box = hits.in_box().numpy()
    assert (in_box == ((col >= 40) & (col <= 60))).all()
    assert not hits.in_image[parts["behind"]].any() and hits.in_image[~parts["behind"]].all()


def test_baseline_labels_every_frustum_point() -> None:
    _, _, col, parts = _scene()
    lab = _labels(PseudoLabelConfig(spg=False, ring_filter=False))
    in_box = (col >= 40) & (col <= 60)
    assert (lab[in_box] == CAR).all()
    assert (lab[~in_box & ~parts["behind"]] == BACKGROUND).all()
    assert lab[parts["behind"]].tolist() == [IGNORE]


def test_ring_filter_drops_ground_and_ignores_leaking_segment() -> None:
    _, _, col, parts = _scene()
    lab = _labels(PseudoLabelConfig(spg=False, ring_filter=True))
    assert (lab[parts["car"]] == CAR).all()
    assert (lab[parts["ground"]] == BACKGROUND).all()  # 79 of 100 ground points leave the box
    assert (lab[parts["leak_in"]] == IGNORE).all()  # 2 / 23 = 0.087 in [0.05, 0.5)
    assert (lab[parts["leak_out"]] == BACKGROUND).all()
    assert (lab[parts["pole"]] == CAR).all()  # fully inside the box: the ring filter keeps it


def test_spg_keeps_the_object_and_drops_the_occluder() -> None:
    _, _, _, parts = _scene()
    lab = _labels(PseudoLabelConfig(spg=True, ring_filter=True))
    assert (lab[parts["car"]] == CAR).all()
    assert (lab[parts["pole"]] == BACKGROUND).all()
    assert (lab[parts["ground"]] == BACKGROUND).all()
    assert (lab[parts["leak_in"]] == IGNORE).all()
    assert lab[parts["behind"]].tolist() == [IGNORE]
    lab_ccl_only = _labels(PseudoLabelConfig(spg=True, ring_filter=False))
    car_or_leak = parts["car"] | parts["leak_in"]  # one BEV cluster at r = 10 m
    assert (lab_ccl_only[car_or_leak] == CAR).all()
    assert (lab_ccl_only[parts["pole"] | parts["ground"]] == BACKGROUND).all()


def test_vote_targets_point_to_the_mean_of_the_assigned_points() -> None:
    out = pseudo_labels(_frame([CAR_BOX], [CAR]).training_view(), PseudoLabelConfig())
    xyz = torch.from_numpy(_scene()[0]).float()
    assigned = out.box_index == 0
    assert torch.equal(out.vote_mask, assigned)
    centre = xyz[assigned].mean(0)
    assert torch.allclose(out.vote_targets[assigned], centre - xyz[assigned], atol=1e-5)
    assert (out.vote_targets[~assigned] == 0).all()


def test_vote_targets_by_hand() -> None:
    xyz = torch.tensor([[0.0, 0, 0], [2, 0, 0], [5, 5, 5], [1, 1, 1]])
    targets, mask = vote_targets(xyz, torch.tensor([1, 1, -1, 0]))
    assert mask.tolist() == [True, True, False, True]
    assert targets.tolist() == [[1, 0, 0], [-1, 0, 0], [0, 0, 0], [0, 0, 0]]


def test_overlap_rule_smallest_and_last() -> None:
    _, _, col, _ = _scene()
    ped_box = [49.2, 30.0, 50.8, 80.0]  # columns 49..51 only
    in_ped = (col >= 49) & (col <= 51)
    base = PseudoLabelConfig(spg=False, ring_filter=False)
    lab = _labels(base, boxes=(ped_box, CAR_BOX), labels=(PED, CAR))
    assert (lab[in_ped] == PED).all()
    last = PseudoLabelConfig(spg=False, ring_filter=False, overlap="last")
    assert (_labels(last, boxes=(ped_box, CAR_BOX), labels=(PED, CAR))[in_ped] == CAR).all()
    assert (_labels(last, boxes=(CAR_BOX, ped_box), labels=(CAR, PED))[in_ped] == PED).all()


def test_resolve_overlaps_by_hand() -> None:
    rank = box_priority(torch.tensor([50.0, 10.0, 30.0]))
    assert rank.tolist() == [2, 0, 1]
    out = resolve_overlaps(torch.tensor([0, 0, 1, 1, 2]), torch.tensor([0, 2, 2, 1, 0]), rank, 4)
    assert out.tolist() == [2, 1, 0, -1]
    assert box_priority(torch.tensor([50.0, 10.0, 30.0]), "last").tolist() == [2, 1, 0]
    with pytest.raises(ValueError, match="overlap rule"):
        box_priority(torch.zeros(1), "first")


def test_points_in_boxes2d_half_open() -> None:
    uv = torch.tensor([[10.0, 10.0], [20.0, 10.0], [15.0, 20.0], [15.0, 15.0]])
    valid = torch.tensor([True, True, True, False])
    inside = points_in_boxes2d(uv, valid, torch.tensor([[10.0, 10.0, 20.0, 20.0]]))
    assert inside.tolist() == [[True, False, False, False]]


def test_project_cameras_matches_project_points() -> None:
    g = torch.Generator().manual_seed(0)
    xyz = torch.rand(2000, 3, generator=g) * torch.tensor([40.0, 40.0, 4.0]) - torch.tensor(
        [5.0, 20.0, 2.0]
    )
    cam = _frame([CAR_BOX], [CAR]).cameras[0]
    uv, valid = project_cameras(xyz, (cam, cam))
    ref_uv, _, ref_valid = project_points(xyz, torch.tensor(K), torch.tensor(T), (100, 100))
    assert torch.allclose(uv[1].T[ref_valid], ref_uv[ref_valid], atol=1e-3)
    assert (valid[0] != ref_valid).sum() <= 2  # only float rounding at image borders


def test_rsc_flips_mostly_background_segment_and_fills_a_car_segment() -> None:
    seg = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, -1, 1])
    pred = torch.tensor([3, 3, 3, 0, 0, 0, 0, 0, 3, 1, 3, 0, IGNORE])
    out = rsc_correct(pred, seg)
    # seg 0: n_bg 3 > n_car 1 -> all bg; seg 1: car 4 of 5 counted >= 0.7 -> all car (ignore
    # kept); seg 2: pedestrians are skipped; seg -1: untouched.
    assert out.tolist() == [3, 3, 3, 3, 0, 0, 0, 0, 0, 1, 3, 0, IGNORE]
    ped_seg, peds = torch.zeros(4, dtype=torch.long), torch.tensor([1, 1, 1, 3])
    assert rsc_correct(peds, ped_seg).tolist() == [1, 1, 1, 3]
    assert rsc_correct(peds, ped_seg, skip_classes=()).tolist() == [1, 1, 1, 1]


def test_rsc_below_ratio_keeps_labels() -> None:
    seg = torch.zeros(10, dtype=torch.long)
    pred = torch.tensor([0] * 6 + [2] * 3 + [3])
    assert rsc_correct(pred, seg).tolist() == pred.tolist()  # 6/10 < 0.7, bg 1 < 6 and 1 < 3


def test_pipeline_with_rsc_keeps_ignore() -> None:
    _, _, _, parts = _scene()
    lab = _labels(PseudoLabelConfig(spg=True, ring_filter=True, rsc=True))
    assert (lab[parts["leak_in"] | parts["behind"]] == IGNORE).all()
    assert (lab[parts["car"]] == CAR).all()


def _probs(*rows: list[float]) -> torch.Tensor:
    return torch.tensor(rows)


def test_pvc_unanimous_history_replaces_label() -> None:
    hist = PVCHistory(history=4)
    for _ in range(4):
        hist.update("f", _probs([0.9, 0.1, 0.0], [0.1, 0.2, 0.1], [0.9, 0.0, 0.0]))
    votes = hist.vote("f")
    assert votes.tolist() == [CAR, BACKGROUND, CAR]
    labels, mask = apply_pvc(
        torch.tensor([BACKGROUND, CAR, IGNORE]), votes, torch.tensor([False, True, False])
    )
    assert labels.tolist() == [CAR, BACKGROUND, CAR]  # the ignored point is re-enabled
    assert mask.tolist() == [False, False, False]  # background vote drops the vote target


def test_pvc_disagreeing_or_unsure_history_keeps_label() -> None:
    hist = PVCHistory(history=4)
    for p in ([0.9, 0.1, 0.0], [0.9, 0.1, 0.0], [0.1, 0.9, 0.0], [0.9, 0.1, 0.0]):
        hist.update("f", _probs(p, [0.5, 0.0, 0.0], [0.9, 0.0, 0.0]))
    votes = hist.vote("f")
    assert votes.tolist() == [IGNORE, IGNORE, CAR]
    labels, mask = apply_pvc(torch.tensor([2, 2, 2]), votes, torch.tensor([True, True, True]))
    assert labels.tolist() == [2, 2, CAR] and mask.all()


def test_pvc_needs_a_full_history_and_respects_eligibility() -> None:
    hist = PVCHistory(history=4)
    for _ in range(3):
        hist.update("f", _probs([0.9, 0.1, 0.0]))
    assert hist.vote("f").tolist() == [IGNORE]
    hist.update("f", _probs([0.9, 0.1, 0.0]))
    assert hist.vote("f").tolist() == [CAR]
    labels, _ = apply_pvc(
        torch.tensor([IGNORE]), hist.vote("f"), torch.tensor([False]), torch.tensor([False])
    )
    assert labels.tolist() == [IGNORE]


def test_pvc_newest_first_on_disk(tmp_path) -> None:
    hist = PVCHistory(history=2, directory=tmp_path)
    hist.update("f", _probs([0.1, 0.2, 0.3]))
    hist.update("f", _probs([0.7, 0.8, 0.9]))
    assert hist.get("f")[0, :, 0].tolist() == pytest.approx([0.7, 0.1])
    assert (tmp_path / "f.pt").exists() and not list(tmp_path.glob("*.tmp"))
    with pytest.raises(DataError, match="history has 1 points"):
        hist.update("f", _probs([0.1, 0.2, 0.3], [0.1, 0.2, 0.3]))
    with pytest.raises(DataError, match="no PVC history"):
        hist.vote("other")


def test_pseudo_labels_never_reads_ground_truth() -> None:
    n = len(_scene()[0])
    gt = GroundTruth(
        np.zeros((0, 7), np.float32), np.zeros(0, np.int64), np.full(n, -1), np.full(n, 3)
    )
    view = _frame([CAR_BOX], [CAR], gt).training_view()
    with pytest.raises(GroundTruthAccessError):
        _ = view.gt
    cfg = PseudoLabelConfig(spg=True, ring_filter=True, rsc=True)
    assert pseudo_labels(view, cfg).labels.shape == (n,)


def test_ring_stages_need_rings() -> None:
    frame = _frame([CAR_BOX], [CAR])
    no_rings = Frame(
        "norings",
        frame.points,
        np.full(len(frame.ring), -1, np.int32),
        frame.column,
        frame.cameras,
        frame.weak,
    )
    with pytest.raises(DataError, match="ring indices"):
        pseudo_labels(no_rings, PseudoLabelConfig(ring_filter=True))
    lab = pseudo_labels(no_rings, PseudoLabelConfig(ring_filter=False)).labels
    assert (lab[:-1] != IGNORE).all()


def test_no_boxes_gives_background() -> None:
    out = pseudo_labels(_frame(np.zeros((0, 4)).tolist(), []), PseudoLabelConfig(rsc=True))
    assert (out.labels[:-1] == BACKGROUND).all() and not out.vote_mask.any()


def test_pseudo_label_quality_by_hand() -> None:
    pred = torch.tensor([0, 0, 3, IGNORE, 1, 3, 0, 2])
    gt = torch.tensor([0, 3, 0, 0, 1, 3, IGNORE, 3])
    q = pseudo_label_quality(pred, gt)
    # Vehicle (gt-IGNORE point dropped): P = {0, 1}, G = {0, 2, 3}: TP 1.
    assert q["Vehicle/precision"] == 0.5 and q["Vehicle/recall"] == pytest.approx(1 / 3)
    assert q["Vehicle/iou"] == 0.25
    assert q["Pedestrian/iou"] == 1.0
    assert q["Cyclist/precision"] == 0.0 and np.isnan(q["Cyclist/recall"])
    # Background: P = {2, 5}, G = {1, 5, 7}: TP 1, union 4.
    assert q["Background/precision"] == 0.5 and q["Background/iou"] == 0.25
    # Foreground: P = {0, 1, 4, 7}, G = {0, 2, 3, 4}: TP 2, union 6.
    assert q["Foreground/precision"] == 0.5 and q["Foreground/recall"] == 0.5
    assert q["Foreground/iou"] == pytest.approx(2 / 6)
    assert q["ignore_fraction"] == pytest.approx(1 / 7)


def test_bad_box_label_is_a_data_error() -> None:
    with pytest.raises(DataError, match="2D box labels"):
        pseudo_labels(_frame([CAR_BOX], [BACKGROUND]), PseudoLabelConfig())


@pytest.mark.gpu
def test_cuda_matches_cpu() -> None:
    frame = _frame([CAR_BOX, [49.2, 30.0, 50.8, 80.0]], [CAR, PED]).training_view()
    cfg = PseudoLabelConfig(spg=True, ring_filter=True, rsc=True)
    cpu = pseudo_labels(frame, cfg)
    gpu = pseudo_labels(
        frame, PseudoLabelConfig(spg=True, ring_filter=True, rsc=True, device="cuda")
    )
    assert torch.equal(gpu.labels.cpu(), cpu.labels)
    assert torch.equal(gpu.segment_ids.cpu(), cpu.segment_ids)
    assert torch.allclose(gpu.vote_targets.cpu(), cpu.vote_targets, atol=1e-5)


def test_spg_radius_floor_follows_azimuth_spacing():
    """A pedestrian at 30 m scanned every 0.3 m: the release's 0.1 m radius shreds it into single
    points; a floor of 3 azimuth spacings (1024 columns: 0.55 m at 30 m) keeps it whole."""
    y = torch.arange(5, dtype=torch.float64) * 0.3
    xyz = torch.stack([torch.full_like(y, 30.0), y, torch.zeros_like(y)], 1)
    point, box = torch.arange(5), torch.zeros(5, dtype=torch.long)
    flags = torch.ones(5, dtype=torch.long)
    labels = torch.tensor([1])
    fixed = spg_keep_pairs(xyz, point, box, labels, flags, CCL_RADIUS, 0.0)
    floor = spg_keep_pairs(xyz, point, box, labels, flags, CCL_RADIUS, 3 * 2 * math.pi / 1024)
    assert int(fixed.sum()) == 1
    assert bool(floor.all())
