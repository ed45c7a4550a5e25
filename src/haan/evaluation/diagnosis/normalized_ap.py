"""DETAD's normalized AP (AP_N): precision as if every class had N ground truths,

    precision_N = recall * N / (recall * N + false positives so far),

N = the average number of ground truths per class, so that AP is comparable between classes and
bins of different sizes (Hoiem et al.'s normalization, as DETAD uses it). Recall stays the class's
own. Then VOC-2011 interpolated AP (haan.evaluation.metrics.interpolated_ap).
"""

from __future__ import annotations

import numpy as np

from haan.evaluation.metrics import interpolated_ap


def normalized_precision_recall(tp: np.ndarray, num_gt: int, n: float
                                ) -> tuple[np.ndarray, np.ndarray]:
    """tp (M, P) bool, detections ranked -> precision_N, recall: (M, P) each."""
    tp = np.asarray(tp, dtype=bool)
    tp_cum = np.cumsum(tp, axis=1, dtype=np.float64)
    fp_cum = np.cumsum(~tp, axis=1, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = tp_cum / num_gt
        precision = recall * n / (recall * n + fp_cum)
    return precision, recall


def normalized_ap(tp: np.ndarray, num_gt: int, n: float) -> np.ndarray:
    """AP_N at each threshold: tp (M, P) bool, ranked -> (M,). 0 without detections."""
    tp = np.asarray(tp, dtype=bool)
    if tp.shape[1] == 0:
        return np.zeros(tp.shape[0])
    precision, recall = normalized_precision_recall(tp, num_gt, n)
    return interpolated_ap(precision, recall)
