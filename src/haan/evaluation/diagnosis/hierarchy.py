"""The label errors (wrong label, confusion) split by the hierarchy: a detection whose best ground
truth is a sibling (another fine class of the same coarse class) or a stranger (another coarse
class). HAAN's claim is that its mistakes stay among siblings."""

from __future__ import annotations

import numpy as np

LABEL_ERRORS = (2, 4)   # wrong label, confusion (false_positives' codes)


def label_error_split(codes: np.ndarray, best_gt_label: np.ndarray, pred_label: np.ndarray,
                      coarse_of: np.ndarray, num_classes: int) -> dict[str, np.ndarray]:
    """Counts of label errors, by predicted class: codes (M, P), best_gt_label (P,) the label of
    each detection's best ground truth (-1 none), pred_label (P,), coarse_of (C,) ->
    {"sibling": (M, C), "stranger": (M, C)} ints."""
    is_label_error = np.isin(codes, LABEL_ERRORS)                              # (M, P)
    safe = np.maximum(best_gt_label, 0)
    sibling = (coarse_of[safe] == coarse_of[pred_label]) & (best_gt_label >= 0)   # (P,)
    out = {}
    for name, which in (("sibling", sibling), ("stranger", ~sibling)):
        out[name] = np.stack([np.bincount(pred_label[row & which], minlength=num_classes)
                              for row in is_label_error])
    return out


def confusion_matrix(codes_row: np.ndarray, best_gt_label: np.ndarray, pred_label: np.ndarray,
                     num_classes: int) -> np.ndarray:
    """Label errors at one threshold as (C, C) counts: row = predicted class, column = the class
    of the best ground truth. codes_row (P,)."""
    is_error = np.isin(codes_row, LABEL_ERRORS)
    flat = pred_label[is_error] * num_classes + best_gt_label[is_error]
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)
