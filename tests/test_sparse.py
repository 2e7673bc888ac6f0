"""spconv algorithm choice: Native on CPU, implicit GEMM on CUDA."""

from __future__ import annotations

import pytest
import spconv.pytorch as spconv
import torch
from spconv.core import ConvAlgo

from labeleff.models.sparse import conv_algo, set_conv_algo, subm_block


def test_conv_algo_per_device() -> None:
    assert conv_algo("cpu") == ConvAlgo.Native
    assert conv_algo(torch.device("cuda")) == ConvAlgo.MaskImplicitGemm


def _conv_algos(module: torch.nn.Module) -> set[ConvAlgo]:
    return {m.algo for m in module.modules() if isinstance(m, spconv.SubMConv3d)}


def test_blocks_built_for_cpu_run_on_cpu_and_can_switch() -> None:
    block = subm_block(2, 4, "k", device="cpu", eps=1e-3, momentum=0.1)
    assert _conv_algos(block) == {ConvAlgo.Native}
    indices = torch.tensor([[0, 0, 0, 0], [0, 0, 0, 1], [0, 1, 1, 1]], dtype=torch.int32)
    x = spconv.SparseConvTensor(torch.randn(3, 2), indices, [2, 2, 2], 1)
    assert block(x).features.shape == (3, 4)
    set_conv_algo(block, "cuda")
    assert _conv_algos(block) == {ConvAlgo.MaskImplicitGemm}


def test_default_algorithm_asserts_on_cpu() -> None:
    """The fact the helper exists for (DESIGN.md section 5): the default algorithm fails on CPU
    (an assertion, or a CUDA initialisation error where no driver is installed)."""
    conv = spconv.SubMConv3d(2, 4, 3, padding=1, indice_key="k")
    indices = torch.tensor([[0, 0, 0, 0]], dtype=torch.int32)
    with pytest.raises((AssertionError, RuntimeError)):
        conv(spconv.SparseConvTensor(torch.randn(1, 2), indices, [2, 2, 2], 1))
