"""spconv construction helpers that pick the convolution algorithm for the device.

spconv-cu126 on a CPU asserts "implicit gemm only support cuda" unless every conv uses
``ConvAlgo.Native`` (DESIGN.md section 5); on CUDA the default (MaskImplicitGemm) is much faster.
All weights are stored in the same (KRSC) layout whatever the algorithm, so a model built for one
device can be switched to the other with :func:`set_conv_algo`.
"""

from __future__ import annotations

import spconv.pytorch as spconv
import torch
from spconv.core import ConvAlgo
from torch import nn

_SPCONV_TYPES = (spconv.SubMConv3d, spconv.SparseConv3d, spconv.SparseInverseConv3d)


def conv_algo(device: torch.device | str) -> ConvAlgo:
    """The spconv algorithm to use on ``device``: Native on CPU, MaskImplicitGemm on CUDA."""
    return ConvAlgo.Native if torch.device(device).type == "cpu" else ConvAlgo.MaskImplicitGemm


def default_device() -> torch.device:
    """CUDA when available, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def set_conv_algo(module: nn.Module, device: torch.device | str) -> None:
    """Sets the algorithm of every sparse conv inside ``module`` to suit ``device``."""
    algo = conv_algo(device)
    for child in module.modules():
        if isinstance(child, _SPCONV_TYPES):
            child.algo = algo


def subm_block(
    c_in: int, c_out: int, key: str, device: torch.device | str, eps: float, momentum: float
) -> spconv.SparseSequential:
    """SubMConv3d (k=3, no bias) + BatchNorm1d + ReLU sharing the indices under ``key``."""
    conv = spconv.SubMConv3d(
        c_in, c_out, 3, padding=1, bias=False, indice_key=key, algo=conv_algo(device)
    )
    return spconv.SparseSequential(conv, nn.BatchNorm1d(c_out, eps, momentum), nn.ReLU())


def down_block(
    c_in: int, c_out: int, key: str, device: torch.device | str, eps: float, momentum: float
) -> spconv.SparseSequential:
    """Stride-2 SparseConv3d (k=3, padding 1) + BN + ReLU; ``key`` lets an inverse conv undo it."""
    conv = spconv.SparseConv3d(
        c_in, c_out, 3, stride=2, padding=1, bias=False, indice_key=key, algo=conv_algo(device)
    )
    return spconv.SparseSequential(conv, nn.BatchNorm1d(c_out, eps, momentum), nn.ReLU())


def up_block(
    c_in: int, c_out: int, key: str, device: torch.device | str, eps: float, momentum: float
) -> spconv.SparseSequential:
    """SparseInverseConv3d (k=3) back onto the voxels of the down conv ``key`` + BN + ReLU."""
    conv = spconv.SparseInverseConv3d(
        c_in, c_out, 3, indice_key=key, bias=False, algo=conv_algo(device)
    )
    return spconv.SparseSequential(conv, nn.BatchNorm1d(c_out, eps, momentum), nn.ReLU())
