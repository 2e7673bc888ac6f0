"""3D point-cloud segmentor: the MWSIS/FSD "VoteSegmentor" (dossier section 3.2).

points -> dynamic voxels -> point encoder (DynamicScatterVFE) -> sparse UNet -> voxel-to-point
neck -> head MLP -> per-point sigmoid class logits (N, 3) and per-class centre votes (N, 9).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import spconv.pytorch as spconv
import torch
from torch import Tensor, nn

from labeleff.data.classes import NUM_CLASSES
from labeleff.errors import DataError
from labeleff.geometry.voxel import Voxels, scatter_max, scatter_mean, voxelize
from labeleff.models.sparse import default_device, down_block, set_conv_algo, subm_block, up_block


@dataclass(frozen=True)
class Segmentor3DConfig:
    """Architecture of :class:`Segmentor3D`.

    Attributes:
        voxel_size: voxel edges (x, y, z), metres.
        pc_range: (x_min, y_min, z_min, x_max, y_max, z_max), metres; points outside get no
            prediction (zeros, ``valid`` False).
        in_channels: per-point input features used (x, y, z, intensity, ...).
        vfe_channels: widths of the point-encoder layers (Linear + BN + ReLU each).
        encoder_channels: per UNet level (level 0 = full resolution), the widths of its convs;
            the first conv of levels >= 1 is a stride-2 SparseConv3d, the rest SubMConv3d.
        decoder_channels: per UNet level (level 0 first), the width the decoder produces there;
            ``decoder_channels[0]`` is the per-voxel output width.
        head_channels: width of the two head MLP layers.
        num_classes: foreground classes (sigmoid logits; background = all-zero target).
        bn_eps: BatchNorm epsilon (FSD: 1e-3).
        bn_momentum: BatchNorm momentum, torch convention (FSD: 0.01). The ``tiny`` and ``cpu``
            presets use 0.1 so that eval-mode statistics settle within short runs.
    """

    voxel_size: tuple[float, float, float] = (0.25, 0.25, 0.25)
    pc_range: tuple[float, ...] = (-64.0, -64.0, -3.0, 64.0, 64.0, 3.0)
    in_channels: int = 4
    vfe_channels: tuple[int, ...] = (32, 32)
    encoder_channels: tuple[tuple[int, ...], ...] = ((16,), (32, 32), (64, 64), (64, 64))
    decoder_channels: tuple[int, ...] = (32, 32, 64, 64)
    head_channels: int = 64
    num_classes: int = NUM_CLASSES
    bn_eps: float = 1e-3
    bn_momentum: float = 0.01

    @staticmethod
    def preset(name: str, **overrides: object) -> Segmentor3DConfig:
        """A named preset: ``tiny`` (tests), ``smoke``, ``cpu``, ``gpu`` (dossier sizes)."""
        if name not in _PRESETS:
            raise DataError("Segmentor3DConfig", f"unknown preset {name!r}; use {sorted(_PRESETS)}")
        return replace(_PRESETS[name], **overrides)


_PRESETS: dict[str, Segmentor3DConfig] = {
    "tiny": Segmentor3DConfig(
        voxel_size=(0.2, 0.2, 0.2), pc_range=(-8.0, -8.0, -2.0, 8.0, 8.0, 2.0),
        vfe_channels=(16, 16), encoder_channels=((16,), (16, 16), (32, 32)),
        decoder_channels=(16, 16, 32), head_channels=32, bn_momentum=0.1,
    ),
    "smoke": Segmentor3DConfig(
        vfe_channels=(16, 16), encoder_channels=((16,), (16, 16), (32, 32)),
        decoder_channels=(16, 16, 32), head_channels=32, bn_momentum=0.1,
    ),
    "cpu": Segmentor3DConfig(bn_momentum=0.1),
    "gpu": Segmentor3DConfig(
        voxel_size=(0.25, 0.25, 0.2), pc_range=(-80.0, -80.0, -2.0, 80.0, 80.0, 4.0),
        vfe_channels=(64, 64),
        encoder_channels=((64,), (64, 64, 64), (64, 64, 64), (128, 128, 128), (256, 256, 256)),
        decoder_channels=(64, 64, 64, 64, 128), head_channels=128,
    ),
}


@dataclass
class Segmentor3DOutput:
    """Per-point outputs for ALL input points.

    Attributes:
        logits: (N, num_classes) sigmoid logits; 0 where ``valid`` is False.
        votes: (N, 3 * num_classes) encoded centre offsets, class c at ``[3c:3c+3]``
            (decode with ``losses3d.decode_votes``); 0 where ``valid`` is False.
        valid: (N,) bool, True for points inside ``pc_range`` (they got a prediction).
        voxels: the voxelization used.
    """

    logits: Tensor
    votes: Tensor
    valid: Tensor
    voxels: Voxels


def _mlp_layer(c_in: int, c_out: int, eps: float, momentum: float) -> nn.Sequential:
    """Linear (no bias) + BatchNorm1d + ReLU."""
    return nn.Sequential(nn.Linear(c_in, c_out, bias=False), nn.BatchNorm1d(c_out, eps, momentum),
                         nn.ReLU())


class PointEncoder(nn.Module):
    """DynamicScatterVFE: point features -> per-voxel max-pooled features.

    Each point gets [its input features, offset to its voxel's point mean, offset to its voxel
    centre]; every layer but the last concatenates its voxel max back to the points.
    """

    def __init__(self, cfg: Segmentor3DConfig) -> None:
        super().__init__()
        widths = (cfg.in_channels + 6, *cfg.vfe_channels)
        self.layers = nn.ModuleList(
            _mlp_layer(c_in * (2 if i > 0 else 1), c_out, cfg.bn_eps, cfg.bn_momentum)
            for i, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:], strict=True))
        )
        self.out_channels = widths[-1]

    def forward(self, feats: Tensor, voxels: Voxels) -> Tensor:
        """Args: feats (M, C_in) in-range point features; voxels. Returns (V, C_out)."""
        p2v, V = voxels.point2voxel[voxels.in_range], voxels.num_voxels
        xyz = feats[:, :3]
        mean = scatter_mean(xyz, p2v, V)[p2v]
        x = torch.cat([feats, xyz - mean, xyz - voxels.centres()[p2v]], dim=1)
        for i, layer in enumerate(self.layers):
            if i > 0:
                x = torch.cat([x, scatter_max(x, p2v, V)[p2v]], dim=1)
            x = layer(x)
        return scatter_max(x, p2v, V)


class SparseUNet(nn.Module):
    """Sparse 3D UNet with skip connections, output at full voxel resolution."""

    def __init__(self, c_in: int, cfg: Segmentor3DConfig, device: torch.device | str) -> None:
        super().__init__()
        enc, dec = cfg.encoder_channels, cfg.decoder_channels
        if len(enc) != len(dec) or len(enc) < 1:
            raise DataError("Segmentor3DConfig", "encoder/decoder need the same number of levels")
        blk = {"device": device, "eps": cfg.bn_eps, "momentum": cfg.bn_momentum}
        self.encoder = nn.ModuleList()
        for lvl, widths in enumerate(enc):
            first = (subm_block(c_in, widths[0], "subm0", **blk) if lvl == 0
                     else down_block(c_in, widths[0], f"down{lvl}", **blk))
            pairs = zip(widths[:-1], widths[1:], strict=True)
            rest = [subm_block(a, b, f"subm{lvl}", **blk) for a, b in pairs]
            self.encoder.append(spconv.SparseSequential(first, *rest))
            c_in = widths[-1]
        self.lateral = nn.ModuleList(subm_block(e[-1], e[-1], f"subm{i}", **blk)
                                     for i, e in enumerate(enc))
        x_widths = [*dec[1:], enc[-1][-1]]
        levels = enumerate(zip(enc, x_widths, dec, strict=True))
        self.merge = nn.ModuleList(subm_block(e[-1] + xw, d, f"subm{i}", **blk)
                                   for i, (e, xw, d) in levels)
        self.up = nn.ModuleList(up_block(dec[i], dec[i], f"down{i}", **blk)
                                for i in range(1, len(dec)))
        self.out_channels = dec[0]

    def forward(self, x: spconv.SparseConvTensor) -> spconv.SparseConvTensor:
        """Full-resolution voxel features, same voxels and order as the input."""
        skips = []
        for stage in self.encoder:
            x = stage(x)
            skips.append(x)
        for lvl in range(len(skips) - 1, -1, -1):
            lateral = self.lateral[lvl](skips[lvl])
            x = x.replace_feature(torch.cat([lateral.features, x.features], dim=1))
            x = self.merge[lvl](x)
            if lvl > 0:
                x = self.up[lvl - 1](x)
        return x


class Segmentor3D(nn.Module):
    """Point encoder + sparse UNet + voxel-to-point neck + vote/segmentation head.

    Args:
        cfg: architecture.
        device: device the sparse convs are built for (CPU -> Native algorithm); the algorithm
            follows the input's device at every forward anyway.
    """

    def __init__(self, cfg: Segmentor3DConfig, device: torch.device | str | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self._algo_device = torch.device(device) if device is not None else default_device()
        self.encoder = PointEncoder(cfg)
        self.unet = SparseUNet(self.encoder.out_channels, cfg, self._algo_device)
        c, h = self.unet.out_channels + 3, cfg.head_channels
        self.head = nn.Sequential(_mlp_layer(c, h, cfg.bn_eps, cfg.bn_momentum),
                                  _mlp_layer(h, h, cfg.bn_eps, cfg.bn_momentum))
        self.conv_seg = nn.Linear(h, cfg.num_classes)
        self.voting = nn.Linear(h, 3 * cfg.num_classes)
        nn.init.normal_(self.conv_seg.weight, 0.0, 0.01)
        nn.init.zeros_(self.conv_seg.bias)

    def forward(self, points: Tensor, batch_idx: Tensor | None = None) -> Segmentor3DOutput:
        """Segments a batch of point clouds.

        Args:
            points: (N, C >= in_channels) float, columns x, y, z (metres), intensity, ...
            batch_idx: (N,) int frame index of each point in 0..B-1; all zeros when None.

        Returns:
            Per-point logits (N, K), votes (N, 3K) and the in-range mask (N,).
        """
        if points.ndim != 2 or points.shape[1] < self.cfg.in_channels:
            raise DataError("Segmentor3D", f"points must be (N, >={self.cfg.in_channels}), "
                                           f"got {tuple(points.shape)}")
        self._sync_algo(points.device)
        voxels = voxelize(points[:, :3], self.cfg.voxel_size, self.cfg.pc_range, batch_idx)
        k, inside = self.cfg.num_classes, voxels.in_range
        if voxels.num_voxels == 0:
            zeros = points.new_zeros((points.shape[0], 4 * k), dtype=torch.float32)
            return Segmentor3DOutput(zeros[:, :k], zeros[:, k:], inside, voxels)
        feats = points[inside, : self.cfg.in_channels].float()
        p2v = voxels.point2voxel[inside]
        voxel_feats = self._voxel_features(feats, voxels, batch_idx)
        neck = torch.cat([voxel_feats[p2v], feats[:, :3] - voxels.centres()[p2v]], dim=1)
        hidden = self.head(neck)
        out = torch.cat([self.conv_seg(hidden), self.voting(hidden)], dim=1)
        full = out.new_zeros((points.shape[0], out.shape[1])).index_put((inside,), out)
        return Segmentor3DOutput(full[:, :k], full[:, k:], inside, voxels)

    def _voxel_features(self, feats: Tensor, voxels: Voxels, batch_idx: Tensor | None) -> Tensor:
        """(V, C) UNet features of the occupied voxels from (M, C_in) in-range point features."""
        batch_size = int(batch_idx.max()) + 1 if batch_idx is not None and batch_idx.numel() else 1
        sp = spconv.SparseConvTensor(self.encoder(feats, voxels), voxels.indices,
                                     list(voxels.spatial_shape), batch_size)
        return self.unet(sp).features

    def _sync_algo(self, device: torch.device) -> None:
        """Switches the sparse convs to the algorithm ``device`` needs (no-op if unchanged)."""
        if device.type != self._algo_device.type:
            set_conv_algo(self.unet, device)
            self._algo_device = device
