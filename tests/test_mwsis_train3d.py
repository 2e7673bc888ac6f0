"""The MWSIS 3D experiment end to end at tiny sizes, and its guard against label leakage."""

from __future__ import annotations

import math

import pytest
import torch

from labeleff.data.synthetic import PRESETS, generate_frame
from labeleff.errors import GroundTruthAccessError
from labeleff.models.segmentor3d import Segmentor3DConfig
from labeleff.mwsis.train3d import MWSIS3DParams, build_sample, label_quality, run_mwsis3d


@pytest.fixture(scope="module")
def frames():
    return [generate_frame(PRESETS["smoke"], 7, i) for i in range(3)]


def test_pseudo_rows_read_no_ground_truth(frames):
    view = frames[0].training_view()
    sample = build_sample(view, MWSIS3DParams(supervision="pseudo", spg=True, rsc=True))
    assert sample.points.shape[0] == sample.labels.shape[0] > 0
    with pytest.raises(GroundTruthAccessError):
        build_sample(view, MWSIS3DParams(supervision="gt"))


def test_label_quality_follows_the_stage(frames):
    def quality(p: MWSIS3DParams) -> dict[str, float]:
        samples = [build_sample(f, p) for f in frames]
        return label_quality(frames, samples, [s.labels for s in samples])

    spg, base = quality(MWSIS3DParams(spg=True)), quality(MWSIS3DParams(spg=False))
    full = quality(MWSIS3DParams(supervision="gt"))
    assert spg["pseudo/precision"] > base["pseudo/precision"]
    assert base["pseudo/recall"] > spg["pseudo/recall"]
    assert full["pseudo/iou"] == full["pseudo/precision"] == 1.0


def test_gt_row_trains_on_true_labels(frames):
    sample = build_sample(frames[0], MWSIS3DParams(supervision="gt"))
    gt = torch.as_tensor(frames[0].gt.point_semantic)
    assert set(sample.labels.tolist()) <= set(gt.tolist())
    assert bool((sample.labels >= 0).all())  # nothing ignored under full supervision


def test_full_method_runs_end_to_end(frames, tmp_path):
    p = MWSIS3DParams(supervision="pseudo", spg=True, rsc=True, pvc=True, ema=True,
                      pvc_start=0.5)
    logged = []
    out = run_mwsis3d(frames[:2], frames[2:], p, steps=4,
                      model_cfg=Segmentor3DConfig.preset("smoke"), seed=0,
                      log=lambda step, s: logged.append(step), progress=False,
                      checkpoint=tmp_path / "ck.pt")
    m = out.metrics
    assert logged == [1, 2, 3, 4]
    assert (tmp_path / "ck.pt").exists()
    for key in ("ap3d/mean", "ap3d/Vehicle", "miou3d/Foreground", "time/step_ms",
                "pseudo/precision", "pseudo/recall", "pseudo/iou", "pseudo/Vehicle/iou",
                "pseudo/ignored"):
        assert key in m
    assert 0.0 <= m["ap3d/Vehicle"] <= 1.0
    assert all(isinstance(v, float) for v in m.values())
    assert not math.isnan(m["miou3d/mean"])
