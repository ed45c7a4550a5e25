"""DETAD's false-positive analysis: each detection's error type, their share by rank slice, and
the normalized mAP gained by removing each type.

Error codes (ERROR_TYPES order): 0 true positive; a detection that is not one, against the ground
truth of its video (any class) with the highest tIoU:
  tIoU >= threshold: 1 double detection (same label) or 2 wrong label;
  min_tiou <= tIoU < threshold: 3 localization (same label) or 4 confusion;
  otherwise, or no ground truth in its video: 5 background.
"""

from __future__ import annotations

import numpy as np

from haan.evaluation.diagnosis.matching import pair_tiou, same_video_pairs

NUM_TYPES = 6


def limit_per_class(pred_label: np.ndarray, order: np.ndarray, gt_count: np.ndarray,
                    factor: int) -> np.ndarray:
    """Keep each class's top factor x (its ground-truth count) detections: (P,) bool.

    pred_label (P,); order (P,) all detections from the highest ranked; gt_count (C,).
    """
    label = pred_label[order]
    # rank of each detection inside its class, in `order`
    by_class = np.argsort(label, kind="stable")                       # (P,)
    sorted_label = label[by_class]
    start = np.searchsorted(sorted_label, sorted_label, side="left")
    within = np.empty(len(order), dtype=np.int64)
    within[by_class] = np.arange(len(order)) - start
    keep = np.zeros(len(order), dtype=bool)
    keep[order] = within < gt_count[label] * factor
    return keep


def rank_within_class(pred_label: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Rank of each detection (P,) among those of its class, 0 = highest, following `order`."""
    label = pred_label[order]
    by_class = np.argsort(label, kind="stable")
    sorted_label = label[by_class]
    start = np.searchsorted(sorted_label, sorted_label, side="left")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order[by_class]] = np.arange(len(order)) - start
    return rank


def best_ground_truth(pred_video, pred_label, pred_segment, gt_video, gt_label, gt_segment,
                      prefer_same_label: bool) -> tuple[np.ndarray, np.ndarray]:
    """For each detection (P,): the highest tIoU with a ground truth of its video (-inf without
    one) and that ground truth (-1 without one). Equal tIoUs: the first in input order (DETAD's
    argmax), or with prefer_same_label the first of the detection's own label if there is one."""
    num = len(pred_video)
    det, gt = same_video_pairs(pred_video, gt_video)                  # (Q,)
    tiou = pair_tiou(pred_segment, gt_segment, det, gt)
    tiou = np.where(np.isnan(tiou), -np.inf, tiou)
    top = np.full(num, -np.inf)
    np.maximum.at(top, det, tiou)
    at_top = tiou == top[det]                                          # (Q,)
    key = np.arange(len(det), dtype=np.float64)                       # input order in the block
    if prefer_same_label:
        key = key - len(det) * (gt_label[gt] == pred_label[det])      # own label first
    key = np.where(at_top, key, np.inf)
    best_key = np.full(num, np.inf)
    np.minimum.at(best_key, det, key)
    best = np.full(num, -1, dtype=np.int64)
    chosen = at_top & (key == best_key[det])
    best[det[chosen]] = gt[chosen]
    return top, best


def error_types(matched: np.ndarray, top_tiou: np.ndarray, same_label: np.ndarray,
                tiou_thresholds, min_tiou: float) -> np.ndarray:
    """Error code of each detection at each threshold: (M, P) int8.

    matched (M, P) ground truth taken or -1; top_tiou (P,) highest tIoU in its video (-inf none);
    same_label (P,) whether that ground truth has the detection's label.
    """
    thr = np.asarray(tiou_thresholds, dtype=np.float64)[:, None]      # (M, 1)
    above = top_tiou[None, :] >= thr                                   # (M, P)
    near = top_tiou[None, :] >= min_tiou                               # (1, P)
    code = np.where(above, np.where(same_label, 1, 2),
                    np.where(near, np.where(same_label, 3, 4), 5))
    return np.where(matched >= 0, 0, code).astype(np.int8)


def reuse_previous_video(codes: np.ndarray, unmatched: np.ndarray, video_key: np.ndarray,
                         has_gt: np.ndarray, stale: np.ndarray) -> np.ndarray:
    """DETAD's quirk: its loop over the unmatched detections (sorted by video name) keeps the last
    video's ground truth when a video has none, so only one detection of such a video is
    background (here: the first in input order); the others are typed against the ground truth of
    the previous video (by name) that has some. stale (M, P) their codes against it, -1 if there
    is no previous one. codes (M, P); unmatched (M, P) bool the detections DETAD's loop visits
    (kept, not true positives); video_key (P,) the video's rank by name; has_gt (P,).
    """
    out = codes.copy()
    for m in range(codes.shape[0]):
        idx = np.flatnonzero(unmatched[m] & ~has_gt)
        _, first_of_video = np.unique(video_key[idx], return_index=True)
        later = np.ones(len(idx), dtype=bool)
        later[first_of_video] = False
        use = idx[later & (stale[m, idx] >= 0)]
        out[m, use] = stale[m, use]
    return out


def breakdown(codes: np.ndarray, members: np.ndarray) -> np.ndarray:
    """Share of each error type among the member detections: codes (M, P), members (P,) bool ->
    (M, 6) fractions (NaN without members)."""
    n = int(members.sum())
    counts = np.stack([np.bincount(row[members], minlength=NUM_TYPES) for row in codes])
    with np.errstate(invalid="ignore", divide="ignore"):
        return counts / n


def rank_slices(rank_in_class: np.ndarray, pred_label: np.ndarray, gt_count: np.ndarray,
                num_slices: int) -> np.ndarray:
    """Slice of each detection (P,): k when its rank in its class is in [k n_c, (k+1) n_c)."""
    n = np.maximum(gt_count[pred_label], 1)
    return np.minimum(rank_in_class // n, num_slices)
