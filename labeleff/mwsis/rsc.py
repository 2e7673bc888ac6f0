"""RSC: ring segment-based label correction (MWSIS dossier 3.6).

A ring segment is a depth-continuous run along one laser ring, so it usually belongs to one object.
RSC makes each segment's labels agree with its majority; it works on predictions at test time and
on pseudo labels in training.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from labeleff.data.classes import BACKGROUND, IGNORE, NUM_CLASSES


def rsc_correct(
    pred: torch.Tensor,
    segment_ids: torch.Tensor,
    ratio: float = 0.7,
    skip_classes: Sequence[int] = (1,),
) -> torch.Tensor:
    """Segment-level correction of per-point classes.

    For each foreground class ``i`` not in ``skip_classes`` (in class order, a later class
    overriding an earlier one, as in the released ``MWSIS.rsc``) and each segment ``s != -1`` with
    ``n_i(s) > 0`` points of class ``i``: if ``n_bg(s) > n_i(s)`` the whole segment becomes
    background; else if ``n_i(s) >= ratio * n(s)`` it becomes ``i``. All counts come from the input
    ``pred``. ``IGNORE`` points are neither counted (``n(s)`` is the number of non-ignored points)
    nor changed. The paper-intent fix of the official index mismatch (dossier 7 #1) is the
    caller's contract: ``segment_ids`` must index the same points as ``pred``.

    Args:
        pred: (N,) int64 classes in ``0 .. BACKGROUND`` or ``IGNORE``.
        segment_ids: (N,) int64 ring-segment ids, -1 for none.
        ratio: share of a segment class ``i`` must reach to take over the segment.
        skip_classes: classes never used as the majority (Pedestrian in the release).

    Returns:
        (N,) int64 corrected classes.
    """
    counted = (segment_ids >= 0) & (pred != IGNORE)
    seg = torch.where(counted, segment_ids, 0)
    num_seg = int(seg.max()) + 1 if seg.numel() else 1
    width = NUM_CLASSES + 1
    flat = seg[counted] * width + pred[counted]
    counts = torch.bincount(flat, minlength=num_seg * width).reshape(num_seg, width)
    total = counts.sum(1)
    decision = torch.full((num_seg,), IGNORE, dtype=torch.long, device=pred.device)
    for c in range(NUM_CLASSES):
        if c in skip_classes:
            continue
        n_c, n_bg = counts[:, c], counts[:, BACKGROUND]
        decision = torch.where((n_c > 0) & (n_c >= ratio * total), c, decision)
        decision = torch.where((n_c > 0) & (n_bg > n_c), BACKGROUND, decision)
    new = decision[seg]
    return torch.where(counted & (new != IGNORE), new, pred)
