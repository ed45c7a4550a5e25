"""ActivityNet's greedy matching of one class's detections, keeping WHICH ground truth each
detection takes at each tIoU threshold (haan.evaluation.metrics keeps only whether it took one).

Detections are visited by rank; each takes, at each threshold, the first ground truth of its video
not yet taken, visiting them by decreasing tIoU and stopping below the threshold (DETAD's and the
official evaluator's loop). Ties are decided by order, by construction (no unstable sort):
equal scores rank the later detection first and equal tIoUs visit the later ground truth first,
which is what their `argsort(x)[::-1]` gives wherever numpy's argsort is stable (arrays of up to 16
elements, and any array without ties).
"""

from __future__ import annotations

import numpy as np


def rank_by_score(score: np.ndarray) -> np.ndarray:
    """Positions of score (P,) from the highest; equal scores: the later one first. (P,) int."""
    return np.argsort(score, kind="stable")[::-1]


def top_by_score(score: np.ndarray) -> np.ndarray:
    """Positions from the highest score, equal scores in input order (pandas' nlargest). (P,)"""
    return np.lexsort((np.arange(len(score)), -np.asarray(score, dtype=np.float64)))


def same_video_pairs(pred_video: np.ndarray, gt_video: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (detection, ground truth) pair of one video: det (Q,), gt (Q,), grouped by detection,
    each detection's ground truths in input order."""
    by_video = np.argsort(gt_video, kind="stable")                     # (G,)
    sorted_video = gt_video[by_video]
    lo = np.searchsorted(sorted_video, pred_video, side="left")        # (P,)
    count = np.searchsorted(sorted_video, pred_video, side="right") - lo
    det = np.repeat(np.arange(len(pred_video)), count)                 # (Q,)
    first = np.cumsum(count) - count
    gt = by_video[lo[det] + np.arange(len(det)) - first[det]]          # (Q,)
    return det, gt


def pair_tiou(pred_segment: np.ndarray, gt_segment: np.ndarray, det: np.ndarray,
              gt: np.ndarray) -> np.ndarray:
    """tIoU of each pair (Q,), in the evaluator's arithmetic."""
    if len(det) == 0:
        return np.zeros(0)
    a, b = pred_segment[det], gt_segment[gt]
    inter = (np.minimum(a[:, 1], b[:, 1]) - np.maximum(a[:, 0], b[:, 0])).clip(0)
    union = (b[:, 1] - b[:, 0]) + (a[:, 1] - a[:, 0]) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / union


def match_class(gt_video: np.ndarray, gt_segment: np.ndarray, pred_video: np.ndarray,
                pred_segment: np.ndarray, rank: np.ndarray, tiou_thresholds) -> np.ndarray:
    """Ground truth taken by each detection of one class: (M, P) int, -1 for none.

    gt_video (G,), gt_segment (G, 2); pred_video (P,), pred_segment (P, 2) in input order; rank
    (P,) the detections from the highest ranked (e.g. `rank_by_score`). Indices are into the G
    ground truths; the result is in input order.
    """
    thr = np.asarray(tiou_thresholds, dtype=np.float64).reshape(-1)   # (M,)
    num_dets = len(pred_video)
    matched = np.full((len(thr), num_dets), -1, dtype=np.int64)
    if num_dets == 0 or len(gt_video) == 0:
        return matched
    position = np.empty(num_dets, dtype=np.int64)
    position[rank] = np.arange(num_dets)                               # (P,) rank of each
    det, gt = same_video_pairs(np.asarray(pred_video), np.asarray(gt_video))
    tiou = pair_tiou(np.asarray(pred_segment, dtype=np.float64),
                     np.asarray(gt_segment, dtype=np.float64), det, gt)
    # NaN (0/0) passes every `tiou < thr` test of the loop: as +inf.
    tiou = np.where(np.isnan(tiou), np.inf, tiou)
    keep = tiou >= thr.min()
    det, gt, tiou = det[keep], gt[keep], tiou[keep]
    visit = np.lexsort((-gt, -tiou, position[det]))                    # rank, tIoU down, later gt
    det, gt, tiou = det[visit], gt[visit], tiou[visit]
    for m, t in enumerate(thr.tolist()):
        ok = tiou >= t
        taken: set[int] = set()
        row = matched[m]
        # Sequential by nature (a detection may take only what higher-ranked ones left); the
        # pairs are few: only same-video, same-class pairs above the lowest threshold.
        done = set()
        for d, g in zip(det[ok].tolist(), gt[ok].tolist()):
            if d in done or g in taken:
                continue
            taken.add(g)
            done.add(d)
            row[d] = g
    return matched

