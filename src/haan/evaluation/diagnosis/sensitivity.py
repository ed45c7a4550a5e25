"""DETAD's sensitivity analysis: normalized AP on the ground truths of one bin of a
characteristic, against all of them.

For a bin, each class keeps its ground truths in the bin and the detections that either took one
of them or took none (detections that took a ground truth of another bin are left out, neither
right nor wrong); AP_N with the class's ground truths in the bin and the same N as the whole.
"""

from __future__ import annotations

import numpy as np

from haan.evaluation.diagnosis.normalized_ap import normalized_ap


def bin_ap(matched: np.ndarray, in_bin: np.ndarray, num_gt: int, n: float,
           across_thresholds: bool) -> np.ndarray:
    """AP_N of one class on one bin at each threshold: (M,).

    matched (M, P) ground truth taken by each ranked detection or -1; in_bin (G+1,) bool whether
    each ground truth is in the bin, with a last False entry so -1 indexes it; num_gt the class's
    ground truths in the bin. across_thresholds:
    DETAD's filter, which keeps a detection only if it passes at EVERY threshold (the same set for
    all); otherwise each threshold keeps its own.
    """
    took_bin = in_bin[matched]                                      # (M, P)
    keep = took_bin | (matched < 0)                                 # (M, P)
    if across_thresholds:
        keep = np.broadcast_to(keep.all(axis=0), keep.shape)
    return np.array([normalized_ap(took_bin[m][keep[m]][None, :], num_gt, n)[0]
                     for m in range(matched.shape[0])])


def relative_change(per_bin: np.ndarray, base: float) -> tuple[float, float]:
    """(lowest, highest) bin value over the whole's, NaN bins ignored."""
    values = per_bin[~np.isnan(per_bin)]
    if len(values) == 0 or base == 0:
        return float("nan"), float("nan")
    return float(values.min() / base), float(values.max() / base)
