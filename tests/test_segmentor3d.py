"""3D segmentor: shapes, batching, out-of-range handling and a tiny overfitting run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from labeleff.errors import DataError
from labeleff.models.instances3d import semantic_from_logits
from labeleff.models.losses3d import segmentor_losses
from labeleff.models.segmentor3d import Segmentor3D, Segmentor3DConfig
from tests.scene3d import tiny_scene


def _batch(n_ground: int = 500, n_box: int = 200) -> tuple[torch.Tensor, ...]:
    (pa, la, oa), (pb, lb, ob) = tiny_scene(0, n_ground, n_box), tiny_scene(1, n_ground, n_box)
    batch_idx = torch.cat([torch.zeros(len(pa)), torch.ones(len(pb))]).long()
    return torch.cat([pa, pb]), batch_idx, torch.cat([la, lb]), torch.cat([oa, ob])


def test_forward_backward_two_frames() -> None:
    torch.manual_seed(0)
    model = Segmentor3D(Segmentor3DConfig.preset("tiny"), device="cpu")
    points, batch_idx, _, _ = _batch(200, 50)
    points[0, :3] = torch.tensor([100.0, 0.0, 0.0])  # out of range
    out = model(points, batch_idx)
    assert out.logits.shape == (len(points), 3) and out.votes.shape == (len(points), 9)
    assert out.valid.shape == (len(points),) and not out.valid[0] and out.valid[1:].all()
    assert out.logits[0].abs().sum() == 0 and out.votes[0].abs().sum() == 0
    (out.logits.square().sum() + out.votes.square().sum()).backward()
    for name in ("encoder.layers.0.0.weight", "unet.encoder.0.0.0.weight", "conv_seg.weight",
                 "voting.weight"):
        grad = dict(model.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name


def test_frames_in_a_batch_do_not_interact() -> None:
    torch.manual_seed(0)
    model = Segmentor3D(Segmentor3DConfig.preset("tiny"), device="cpu").eval()
    points, batch_idx, _, _ = _batch(200, 50)
    first = batch_idx == 0
    with torch.no_grad():
        alone = model(points[first]).logits
        together = model(points, batch_idx).logits[first]
    assert torch.allclose(alone, together, atol=1e-5)


@pytest.mark.parametrize("preset", ["cpu", "gpu"], ids=["cpu_preset", "dossier_preset"])
def test_presets_build_and_run(preset: str) -> None:
    model = Segmentor3D(Segmentor3DConfig.preset(preset), device="cpu")
    points, batch_idx, _, _ = _batch(100, 30)
    out = model(points, batch_idx)
    assert out.logits.shape == (len(points), 3) and out.valid.all()


def test_no_point_in_range_and_bad_input() -> None:
    model = Segmentor3D(Segmentor3DConfig.preset("tiny"), device="cpu")
    out = model(torch.full((5, 4), 100.0))
    assert out.logits.shape == (5, 3) and not out.valid.any()
    with pytest.raises(DataError):
        model(torch.zeros(5, 3))
    with pytest.raises(DataError):
        Segmentor3DConfig.preset("huge")


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One intra-op thread: on a loaded 2-core machine two threads ran this test 15x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_overfits_a_tiny_scene(one_thread: None) -> None:
    torch.manual_seed(0)
    model = Segmentor3D(Segmentor3DConfig.preset("tiny"), device="cpu")
    points, batch_idx, labels, offsets = _batch()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.05)
    for _ in range(30):
        out = model(points, batch_idx)
        losses = segmentor_losses(out.logits, out.votes, out.valid, labels, offsets, labels < 3)
        opt.zero_grad()
        sum(losses.values()).backward()
        opt.step()
    with torch.no_grad():
        semantic, _ = semantic_from_logits(model(points, batch_idx).logits)
    accuracy = (semantic == labels).float().mean()
    assert accuracy > 0.9
    for cls in (0, 1, 3):
        assert (semantic[labels == cls] == cls).float().mean() > 0.8


@pytest.mark.gpu
def test_cpu_built_model_runs_on_cuda() -> None:
    """A model built for CPU (Native convs) switches to the CUDA algorithm when moved."""
    model = Segmentor3D(Segmentor3DConfig.preset("tiny"), device="cpu").cuda()
    points, batch_idx, labels, offsets = (t.cuda() for t in _batch(200, 50))
    out = model(points, batch_idx)
    losses = segmentor_losses(out.logits, out.votes, out.valid, labels, offsets, labels < 3)
    sum(losses.values()).backward()
    assert out.logits.shape == (len(points), 3) and out.logits.is_cuda
