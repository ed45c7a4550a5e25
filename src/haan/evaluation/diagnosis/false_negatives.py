"""DETAD's false-negative analysis: the share of ground truths no detection takes, per bin of a
ground-truth characteristic (coverage, length, number of instances in the video)."""

from __future__ import annotations

import numpy as np


def undo_imprecise_matches(tp: np.ndarray, precision: np.ndarray, min_precision: float
                           ) -> np.ndarray:
    """DETAD's false-negative setting: a match where the normalized precision so far is at most
    `min_precision` does not count (its ground truth stays taken). tp, precision (M, P) -> (M, P)."""
    return tp & ~(precision <= min_precision)


def miss_rate_by_bin(found: np.ndarray, gt_bin: np.ndarray, num_bins: int) -> np.ndarray:
    """Share of ground truths not found, per bin: found (M, G) bool, gt_bin (G,) in [0, K) or -1
    (outside every bin) -> (M, K), NaN for an empty bin."""
    inside = gt_bin >= 0
    total = np.bincount(gt_bin[inside], minlength=num_bins).astype(np.float64)      # (K,)
    missed = np.stack([np.bincount(gt_bin[inside & ~row], minlength=num_bins) for row in found])
    with np.errstate(invalid="ignore", divide="ignore"):
        return missed / total
