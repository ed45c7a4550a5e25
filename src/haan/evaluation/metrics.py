"""ActivityNet temporal-detection AP (spec section 6), vectorized and bit-compatible with the
paper's `eval_detection.py`.

Everything here is a pure function of numpy arrays. Per class, with M tIoU thresholds, G ground
truths and P detections:

1. detections are ranked with `np.argsort(score)[::-1]` (the paper's order, ties included);
2. each detection visits the ground truths of its video in the paper's order,
   `np.argsort(tiou)[::-1]` of its tIoU with every ground truth of its class in its video (in input
   order), and at each threshold takes the first one that is not yet taken by a higher-ranked
   detection, stopping at the first one below the threshold (true positive, otherwise false
   positive);
3. AP = area under the VOC-2011 interpolated precision/recall curve.

Only same-video (detection, ground truth) pairs with a tIoU at or above the lowest threshold can
ever match, so they are the only ones built; the greedy matching runs over those pairs alone with
every threshold handled at once as one bit of an integer.

The visiting order is decreasing tIoU; only the order among EQUAL tIoUs depends on numpy's
argsort, which is not stable (with AVX-512, arrays of 4 or more elements: equal values come out in
an order that depends on the whole array). So detections without equal candidate tIoUs are ordered
by one vectorized sort, and only the detections with ties get the paper's `argsort` on the very
array the paper builds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Thresholds are matched as the bits of one int64 word (bit 63 is the sign), so at most this many
# at a time; more are processed in independent chunks.
_MAX_BITS = 62


def segment_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise temporal IoU of segments a (P, 2) and b (G, 2) as [start, end]: (P, G)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 2)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 2)
    return _tiou(a[:, None, :], b[None, :, :])


def _tiou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """tIoU of broadcastable segment arrays a (..., 2), b (..., 2), in the paper's arithmetic."""
    inter = (np.minimum(a[..., 1], b[..., 1]) - np.maximum(a[..., 0], b[..., 0])).clip(0)
    union = (b[..., 1] - b[..., 0]) + (a[..., 1] - a[..., 0]) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / union


def interpolated_ap(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    """VOC-2011 AP of each row: precision, recall (M, P) -> (M,).

    Pad precision with 0 at both ends and recall with 0 and 1, make precision non-increasing from
    the right, sum (r[i] - r[i-1]) * p[i]. Terms where recall does not change are exactly 0, so all
    points are summed instead of selecting the changes row by row.
    """
    m = precision.shape[0]
    zeros, ones = np.zeros((m, 1)), np.ones((m, 1))
    mprec = np.hstack([zeros, precision, zeros])                       # (M, P+2)
    mrec = np.hstack([zeros, recall, ones])                            # (M, P+2)
    envelope = np.maximum.accumulate(mprec[:, ::-1], axis=1)[:, ::-1]  # (M, P+2)
    return np.sum((mrec[:, 1:] - mrec[:, :-1]) * envelope[:, 1:], axis=1)


def _match_pairs(det: np.ndarray, gt: np.ndarray, n_pass: np.ndarray, num_dets: int,
                 num_gts: int, num_bits: int) -> np.ndarray:
    """Greedy matching of candidate pairs at up to 62 thresholds at once.

    det, gt (Q,): the pairs, grouped by detection rank and in each group in visiting order;
    n_pass (Q,): how many of the (ascending) thresholds the pair's tIoU reaches. Returns the
    true-positive bits of each detection: (num_dets,) int64, bit b set = TP at threshold b.
    """
    n_pass = np.clip(n_pass, 0, num_bits).astype(np.int64)
    live = n_pass > 0                                                   # pairs that can match
    pass_bits = (np.int64(1) << n_pass[live]) - 1                       # (Q',)
    taken = [0] * num_gts   # per ground truth: the thresholds at which it is already matched
    tp = [0] * num_dets     # per detection: the thresholds at which it is a true positive
    # Sequential by nature: a detection may take a ground truth only if no higher-ranked one took
    # it at that threshold. Ints hold all thresholds as bits, so each pair costs a few int ops.
    for d, g, bits in zip(det[live].tolist(), gt[live].tolist(), pass_bits.tolist()):
        new = bits & ~(taken[g] | tp[d])
        if new:
            taken[g] |= new
            tp[d] |= new
    return np.array(tp, dtype=np.int64)


def _visit_ties_as_the_paper(visit: np.ndarray, det_in_visit: np.ndarray, tied: np.ndarray,
                             raw_tiou: np.ndarray, candidate: np.ndarray, first: np.ndarray,
                             count: np.ndarray) -> None:
    """Reorder, in place, the pairs of the `tied` detections in `visit` into the paper's order.

    visit (Q',): candidate pair indices grouped by detection, det_in_visit (Q',) their detections;
    raw_tiou (Q,), candidate (Q,) bool: all pairs, detection d's block [first[d], first[d] +
    count[d]) holding its ground truths in input order (the paper's `tiou_arr`).
    """
    starts = np.searchsorted(det_in_visit, tied, side="left")
    # One argsort per tied detection: how argsort orders equal values depends on the whole array, so
    # each must be the paper's exact array; ties are rare, so this loop is short.
    for d, start in zip(tied.tolist(), starts.tolist()):
        block = first[d] + np.argsort(raw_tiou[first[d]:first[d] + count[d]])[::-1]
        block = block[candidate[block]]
        visit[start:start + len(block)] = block


def average_precision(gt_video: np.ndarray, gt_segment: np.ndarray, pred_video: np.ndarray,
                      pred_segment: np.ndarray, pred_score: np.ndarray,
                      tiou_thresholds) -> np.ndarray:
    """AP of one class at each tIoU threshold: (M,) float64.

    gt_video (G,) int, gt_segment (G, 2); pred_video (P,) int, pred_segment (P, 2), pred_score (P,).
    The input order matters only for ties, exactly as in the paper: detections with equal scores
    are ranked by `np.argsort(pred_score)[::-1]`, ground truths with equal tIoU are visited in the
    order of `np.argsort(tiou)[::-1]` over the detection's tIoU with all ground truths of its video.
    Returns zeros when there is no detection or no ground truth (AP is undefined without ground
    truth; `evaluate_detections` leaves such classes out of the mean).
    """
    thr = np.asarray(tiou_thresholds, dtype=np.float64).reshape(-1)   # (M,)
    num_gts, num_dets = len(np.asarray(gt_video).reshape(-1)), len(np.asarray(pred_video).reshape(-1))
    if num_dets == 0 or num_gts == 0 or len(thr) == 0:
        return np.zeros(len(thr))
    _, tp = true_positives(gt_video, gt_segment, pred_video, pred_segment, pred_score, thr)
    tp_cum = np.cumsum(tp, axis=1, dtype=np.float64)                  # (M, P)
    fp_cum = np.cumsum(~tp, axis=1, dtype=np.float64)                 # (M, P)
    recall = tp_cum / num_gts
    precision = tp_cum / (tp_cum + fp_cum)
    return interpolated_ap(precision, recall)


def true_positives(gt_video: np.ndarray, gt_segment: np.ndarray, pred_video: np.ndarray,
                   pred_segment: np.ndarray, pred_score: np.ndarray,
                   tiou_thresholds) -> tuple[np.ndarray, np.ndarray]:
    """The paper's greedy matching of one class's detections: (rank (P,), tp (M, P) bool).

    Arguments as `average_precision`. rank: the detections' indices in the paper's ranking,
    `np.argsort(pred_score)[::-1]`; tp[m, i]: the detection of rank i (`rank[i]`) takes a ground
    truth at threshold m (each ground truth is taken by at most one detection per threshold).
    """
    thr = np.asarray(tiou_thresholds, dtype=np.float64).reshape(-1)   # (M,)
    gt_video = np.asarray(gt_video).reshape(-1)
    pred_video = np.asarray(pred_video).reshape(-1)
    gt_segment = np.asarray(gt_segment, dtype=np.float64).reshape(-1, 2)
    pred_segment = np.asarray(pred_segment, dtype=np.float64).reshape(-1, 2)
    pred_score = np.asarray(pred_score, dtype=np.float64).reshape(-1)
    num_gts, num_dets, m = len(gt_video), len(pred_video), len(thr)
    rank = np.argsort(pred_score)[::-1]                               # (P,) the paper's order
    if num_dets == 0 or num_gts == 0 or m == 0:
        return rank, np.zeros((m, num_dets), dtype=bool)
    video, segment = pred_video[rank], pred_segment[rank]

    # Same-video pairs: ground truths sorted by video, each detection's block found by bisection.
    by_video = np.argsort(gt_video, kind="stable")                    # (G,)
    sorted_video = gt_video[by_video]
    lo = np.searchsorted(sorted_video, video, side="left")            # (P,)
    count = np.searchsorted(sorted_video, video, side="right") - lo   # (P,)
    det = np.repeat(np.arange(num_dets), count)                       # (Q,) detection rank
    first = np.cumsum(count) - count                                  # (P,) offset of each block
    gt = by_video[lo[det] + np.arange(len(det)) - first[det]]         # (Q,) ground-truth index
    # Each detection's block of pairs is the paper's `tiou_arr`: its tIoU with every ground truth of
    # its video, in input order.
    raw_tiou = _tiou(segment[det], gt_segment[gt])                    # (Q,)
    # 0/0 (e.g. two empty segments) is NaN: the paper's `tiou < thr` is then False and its argsort puts
    # NaN last, i.e. visited first, which is exactly how +inf behaves.
    tiou = np.where(np.isnan(raw_tiou), np.inf, raw_tiou)

    can_match = tiou >= thr.min()                                     # (Q,)
    candidate = np.flatnonzero(can_match)                             # (Q',)
    # By rank, then tIoU descending (equal tIoU: later ground truth first, fixed below if it matters).
    visit = candidate[np.lexsort((-gt[candidate], -tiou[candidate], det[candidate]))]
    det_v, tiou_v = det[visit], tiou[visit]
    tied = (det_v[1:] == det_v[:-1]) & (tiou_v[1:] == tiou_v[:-1])     # (Q'-1,)
    if tied.any():
        _visit_ties_as_the_paper(visit, det_v, np.unique(det_v[1:][tied]), raw_tiou, can_match,
                                 first, count)
    det, gt, tiou = det[visit], gt[visit], tiou[visit]

    order = np.argsort(thr, kind="stable")                            # (M,) ascending
    n_pass = np.searchsorted(thr[order], tiou, side="right")          # (Q,)
    tp = np.zeros((m, num_dets), dtype=bool)                          # (M, P)
    for lo_bit in range(0, m, _MAX_BITS):  # one pass unless more than 62 thresholds
        bits = min(_MAX_BITS, m - lo_bit)
        tp_bits = _match_pairs(det, gt, n_pass - lo_bit, num_dets, num_gts, bits)   # (P,)
        chunk = order[lo_bit:lo_bit + bits]
        tp[chunk] = ((tp_bits[None, :] >> np.arange(bits)[:, None]) & 1) == 1
    return rank, tp


def _as_int(name: str, x) -> np.ndarray:
    x = np.asarray(x).reshape(-1)
    if len(x) == 0:
        return x.astype(np.int64)
    if not np.issubdtype(x.dtype, np.integer):
        raise ValueError(f"{name} must be integers, got {x.dtype}")
    return x


@dataclass(frozen=True)
class DetectionMetrics:
    tiou_thresholds: np.ndarray      # (M,)
    per_class_ap: np.ndarray         # (C, M) float64; 0 for classes without ground truth
    has_ground_truth: np.ndarray     # (C,) bool
    mAP: np.ndarray                  # (M,) mean over classes WITH ground truth; NaN if none has
    average_mAP: float               # mean of mAP over thresholds

    @property
    def num_left_out(self) -> int:
        """Classes left out of the mean because they have no ground truth."""
        return int((~self.has_ground_truth).sum())


def evaluate_detections(gt_video: np.ndarray, gt_label: np.ndarray, gt_segment: np.ndarray,
                        pred_video: np.ndarray, pred_label: np.ndarray, pred_segment: np.ndarray,
                        pred_score: np.ndarray, num_classes: int,
                        tiou_thresholds) -> DetectionMetrics:
    """Per-class AP and mAP of detections against ground truth (ActivityNet rules).

    gt_video (N,) int, gt_label (N,) int in [0, C), gt_segment (N, 2) float seconds;
    pred_video (P,) int, pred_label (P,) int in [0, C), pred_segment (P, 2), pred_score (P,).
    Videos are any integer ids; a detection in a video without ground truth of its class is a false
    positive. Within a class, the input order decides ties as in the paper (see average_precision).

    mAP averages over the classes that have ground truth (the paper averages over all C, which is
    NaN as soon as one class has none); if no class has ground truth, mAP and average_mAP are NaN.
    """
    thr = np.asarray(tiou_thresholds, dtype=np.float64).reshape(-1)
    gt_video, gt_label = _as_int("gt_video", gt_video), _as_int("gt_label", gt_label)
    pred_video, pred_label = _as_int("pred_video", pred_video), _as_int("pred_label", pred_label)
    gt_segment = np.asarray(gt_segment, dtype=np.float64).reshape(-1, 2)
    pred_segment = np.asarray(pred_segment, dtype=np.float64).reshape(-1, 2)
    pred_score = np.asarray(pred_score, dtype=np.float64).reshape(-1)
    if not (len(gt_video) == len(gt_label) == len(gt_segment)):
        raise ValueError("gt_video, gt_label and gt_segment must have the same length")
    if not (len(pred_video) == len(pred_label) == len(pred_segment) == len(pred_score)):
        raise ValueError("pred_video, pred_label, pred_segment and pred_score must have the same length")
    for name, label in (("gt_label", gt_label), ("pred_label", pred_label)):
        if len(label) and (label.min() < 0 or label.max() >= num_classes):
            raise ValueError(f"{name} must be in [0, {num_classes})")
    if len(thr) == 0 or not np.all((thr > 0) & (thr <= 1)):
        raise ValueError("tiou_thresholds must be a non-empty list of values in (0, 1]")

    # Group by class keeping the input order inside each class (the paper's per-class frames).
    gt_by_class = np.argsort(gt_label, kind="stable")
    pred_by_class = np.argsort(pred_label, kind="stable")
    gt_end = np.cumsum(np.bincount(gt_label, minlength=num_classes))       # (C,)
    pred_end = np.cumsum(np.bincount(pred_label, minlength=num_classes))   # (C,)
    gt_start = np.concatenate([[0], gt_end[:-1]])                          # (C,)
    pred_start = np.concatenate([[0], pred_end[:-1]])                      # (C,)

    per_class_ap = np.zeros((num_classes, len(thr)))                       # (C, M)
    for c in range(num_classes):  # independent classes, each one vectorized
        g = gt_by_class[gt_start[c]:gt_end[c]]
        p = pred_by_class[pred_start[c]:pred_end[c]]
        per_class_ap[c] = average_precision(gt_video[g], gt_segment[g], pred_video[p],
                                            pred_segment[p], pred_score[p], thr)

    has_gt = np.bincount(gt_label, minlength=num_classes) > 0              # (C,)
    mAP = per_class_ap[has_gt].mean(axis=0) if has_gt.any() else np.full(len(thr), np.nan)
    return DetectionMetrics(tiou_thresholds=thr, per_class_ap=per_class_ap, has_ground_truth=has_gt,
                            mAP=mAP, average_mAP=float(mAP.mean()))


def detection_true_positives(gt_video: np.ndarray, gt_label: np.ndarray, gt_segment: np.ndarray,
                             pred_video: np.ndarray, pred_label: np.ndarray,
                             pred_segment: np.ndarray, pred_score: np.ndarray,
                             tiou_thresholds) -> np.ndarray:
    """Each detection true (matched) or false positive at each tIoU threshold, as
    `evaluate_detections` counts it: (M, P) bool in the input order. Arguments as there; each
    class is matched on its own, keeping the input order inside the class (the ties rule)."""
    thr = np.asarray(tiou_thresholds, dtype=np.float64).reshape(-1)   # (M,)
    gt_label, pred_label = _as_int("gt_label", gt_label), _as_int("pred_label", pred_label)
    gt_video, pred_video = _as_int("gt_video", gt_video), _as_int("pred_video", pred_video)
    gt_segment = np.asarray(gt_segment, dtype=np.float64).reshape(-1, 2)
    pred_segment = np.asarray(pred_segment, dtype=np.float64).reshape(-1, 2)
    pred_score = np.asarray(pred_score, dtype=np.float64).reshape(-1)
    tp = np.zeros((len(thr), len(pred_label)), dtype=bool)            # (M, P)
    for c in np.unique(pred_label).tolist():  # independent classes, each one vectorized
        p = np.flatnonzero(pred_label == c)                           # input order kept
        g = np.flatnonzero(gt_label == c)
        rank, ranked = true_positives(gt_video[g], gt_segment[g], pred_video[p],
                                      pred_segment[p], pred_score[p], thr)
        tp[:, p[rank]] = ranked
    return tp


def coarse_detection_metrics(gt_video: np.ndarray, gt_label: np.ndarray, gt_segment: np.ndarray,
                             pred_video: np.ndarray, pred_label: np.ndarray,
                             pred_segment: np.ndarray, pred_score: np.ndarray,
                             fine_to_coarse: np.ndarray, num_coarse: int,
                             tiou_thresholds) -> DetectionMetrics:
    """Coarse-level AP: every fine ground truth and detection relabelled with its coarse class,
    then scored as `evaluate_detections` does (same rules, same thresholds).

    Arguments as `evaluate_detections`, with fine labels gt_label (N,), pred_label (P,) in [0, C);
    fine_to_coarse (C,) int in [0, num_coarse). The input order is kept, so ties between fine
    classes merged into one coarse class are decided as the paper would on relabelled files.
    """
    fine_to_coarse = _as_int("fine_to_coarse", fine_to_coarse)
    if len(fine_to_coarse) and (fine_to_coarse.min() < 0 or fine_to_coarse.max() >= num_coarse):
        raise ValueError(f"fine_to_coarse must be in [0, {num_coarse})")
    num_fine = len(fine_to_coarse)
    gt_label, pred_label = _as_int("gt_label", gt_label), _as_int("pred_label", pred_label)
    for name, label in (("gt_label", gt_label), ("pred_label", pred_label)):
        if len(label) and (label.min() < 0 or label.max() >= num_fine):
            raise ValueError(f"{name} must be in [0, {num_fine}) (the fine classes of fine_to_coarse)")
    return evaluate_detections(gt_video, fine_to_coarse[gt_label], gt_segment, pred_video,
                               fine_to_coarse[pred_label], pred_segment, pred_score,
                               num_classes=num_coarse, tiou_thresholds=tiou_thresholds)
