"""Operating points of a detector and its proposal recall: pure functions over arrays.

Detections are matched to ground truth at one tIoU exactly as ActivityNet's `eval_detection.py`
does (per class, greedy by score, each ground truth taken by at most one detection:
`haan.evaluation.metrics.detection_true_positives`). Keeping the detections with `score >= s`
keeps a prefix of each class's ranking, so the true positives at any threshold s are those of the full matching
with `score >= s`; one matching gives the whole precision / recall / F1 curve.

At a threshold s, with D(s) detections kept, TP(s) of them true positives and G ground truths:
precision = TP / D, recall = TP / G, F1 = 2 TP / (D + G) (the harmonic mean of the two). The
curve is evaluated at each distinct score (D(s) jumps there), highest first.

"Overall" is micro-pooled: one threshold for every class, TP, D and G summed over classes. A
macro mean of per-class precision is undefined at thresholds where a class keeps no detection,
and the pooled counts are what a deployed detector outputs.

Best-F1 threshold of a class: the highest threshold reaching the class's maximum F1 (fewest
detections for the same F1). The candidates are the class's distinct scores plus "keep nothing",
the float just above its highest score (F1 = 0), chosen only when no threshold reaches a true
positive. F1 values are quotients of integers below 2**53, so equal F1s are equal floats (the
division is correctly rounded) and the choice is exact on every CPU.

AR@AN follows ActivityNet's `eval_proposal.py` (`average_recall_vs_avg_nr_proposals`) to the
float: class-agnostic; the videos are those with ground truth; each video keeps its top
`int(n * ratio)` proposals by score (`ratio = max_avg * V / P`, P counting every proposal given,
those on videos without ground truth included); a ground truth is recalled at the j-th point
(j = 1..100) when any of the first `int(kept * j / 100 * max_avg * V / total_kept)` proposals of
its video reaches the tIoU (no one-to-one matching); recall is averaged over tIoU 0.5:0.05:0.95.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from haan.evaluation.metrics import _tiou, detection_true_positives

# ActivityNet's proposal protocol: np.linspace(0.5, 0.95, 10) exactly, 100 proposals per video.
PROPOSAL_TIOU_THRESHOLDS: np.ndarray = np.linspace(0.5, 0.95, 10)
MAX_AVERAGE_PROPOSALS = 100.0
# The points of the AR@AN curve: fractions 1/100 .. 100/100 of max_avg proposals per video.
AN_POINTS = 100


@dataclass(frozen=True)
class OperatingCurve:
    threshold: np.ndarray        # (K,) the distinct scores, highest first: keep score >= threshold
    detections: np.ndarray       # (K,) int64 D: detections kept
    true_positives: np.ndarray   # (K,) int64 TP: kept detections that match a ground truth
    num_ground_truths: int       # G
    precision: np.ndarray        # (K,) TP / D
    recall: np.ndarray           # (K,) TP / G (NaN when G = 0)
    f1: np.ndarray               # (K,) 2 TP / (D + G)


@dataclass(frozen=True)
class BestPoint:
    threshold: float             # keep score >= threshold
    detections: int
    true_positives: int
    precision: float             # NaN when nothing is kept
    recall: float
    f1: float


@dataclass(frozen=True)
class Counts:
    detections: np.ndarray       # (C,) int64 kept
    true_positives: np.ndarray   # (C,) int64
    ground_truths: np.ndarray    # (C,) int64


def _ratios(tp: np.ndarray, det: np.ndarray, gt: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """precision, recall, F1 of broadcastable integer counts (NaN where undefined)."""
    tp, det, gt = (np.asarray(x, dtype=np.float64) for x in (tp, det, gt))
    with np.errstate(divide="ignore", invalid="ignore"):
        return tp / det, tp / gt, 2.0 * tp / (det + gt)


def match_detections(gt_video: np.ndarray, gt_label: np.ndarray, gt_segment: np.ndarray,
                     pred_video: np.ndarray, pred_label: np.ndarray, pred_segment: np.ndarray,
                     pred_score: np.ndarray, tiou: float) -> np.ndarray:
    """Which detections are true positives at `tiou`: (P,) bool, in input order.

    gt_video (N,) int, gt_label (N,) int, gt_segment (N, 2); pred_video (P,) int, pred_label (P,)
    int, pred_segment (P, 2), pred_score (P,). The very matching `evaluate_detections` scores
    (`metrics.detection_true_positives`): per class, the input order decides ties as in the
    official evaluator.
    """
    return detection_true_positives(gt_video, gt_label, gt_segment, pred_video, pred_label,
                                    pred_segment, pred_score, [tiou])[0]


def operating_curve(score: np.ndarray, is_tp: np.ndarray, num_ground_truths: int) -> OperatingCurve:
    """Precision, recall and F1 of keeping `score >= s`, at each distinct score s.

    score (P,), is_tp (P,) bool: the detections (of one class, or pooled over classes) and their
    matching at one tIoU (`match_detections`); num_ground_truths: G of the same classes.
    """
    score = np.asarray(score, dtype=np.float64).reshape(-1)
    order = np.argsort(-score, kind="stable")                             # (P,) highest first
    s = score[order]
    tp_cum = np.cumsum(np.asarray(is_tp, dtype=bool)[order], dtype=np.int64)   # (P,)
    last = np.flatnonzero(np.append(s[1:] != s[:-1], len(s) > 0))         # (K,) end of each score
    det, tp = last + 1, tp_cum[last]
    precision, recall, f1 = _ratios(tp, det, num_ground_truths)
    return OperatingCurve(s[last], det.astype(np.int64), tp, int(num_ground_truths),
                          precision, recall, f1)


def class_curves(label: np.ndarray, score: np.ndarray, is_tp: np.ndarray,
                 num_ground_truths: np.ndarray) -> list[OperatingCurve]:
    """`operating_curve` of each class: label (P,) in [0, C), score (P,), is_tp (P,) bool,
    num_ground_truths (C,)."""
    label = np.asarray(label, dtype=np.int64).reshape(-1)
    by_class = np.argsort(label, kind="stable")                           # (P,)
    ends = np.cumsum(np.bincount(label, minlength=len(num_ground_truths)))   # (C,)
    starts = np.concatenate([[0], ends[:-1]])
    return [operating_curve(score[by_class[a:b]], is_tp[by_class[a:b]], int(g))
            for a, b, g in zip(starts.tolist(), ends.tolist(), np.asarray(num_ground_truths).tolist())]


def best_f1(curve: OperatingCurve) -> BestPoint | None:
    """The highest threshold reaching the curve's maximum F1; None when F1 is undefined (no ground
    truth) or there is no detection (no score to put a threshold on). When no threshold gives a
    true positive, "keep nothing": the float just above the highest score."""
    if curve.num_ground_truths == 0 or len(curve.threshold) == 0:
        return None
    if curve.true_positives[-1] == 0:
        return BestPoint(float(np.nextafter(curve.threshold[0], np.inf)), 0, 0, float("nan"),
                         0.0, 0.0)
    k = int(np.argmax(curve.f1))  # the first maximum: thresholds are decreasing
    return BestPoint(float(curve.threshold[k]), int(curve.detections[k]),
                     int(curve.true_positives[k]), float(curve.precision[k]),
                     float(curve.recall[k]), float(curve.f1[k]))


def thresholded_counts(label: np.ndarray, score: np.ndarray, is_tp: np.ndarray,
                       num_ground_truths: np.ndarray, min_score: np.ndarray) -> Counts:
    """Per class, what keeping `score >= min_score[label]` gives: label (P,) in [0, C), score (P,),
    is_tp (P,) bool, num_ground_truths (C,), min_score (C,) float (-inf keeps every detection)."""
    label = np.asarray(label, dtype=np.int64).reshape(-1)
    min_score = np.asarray(min_score, dtype=np.float64).reshape(-1)
    keep = np.asarray(score, dtype=np.float64) >= min_score[label]        # (P,)
    c = len(min_score)
    return Counts(np.bincount(label[keep], minlength=c).astype(np.int64),
                  np.bincount(label[keep & np.asarray(is_tp, dtype=bool)], minlength=c).astype(np.int64),
                  np.asarray(num_ground_truths, dtype=np.int64).reshape(-1))


def counts_ratios(counts: Counts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision, recall and F1 (C,) of `thresholded_counts` (NaN where undefined)."""
    return _ratios(counts.true_positives, counts.detections, counts.ground_truths)


# ----------------------------------------------------------------------------------------------
# Proposals: AR@AN and recall vs tIoU


@dataclass(frozen=True)
class ProposalRecall:
    tiou_thresholds: np.ndarray       # (T,)
    recall: np.ndarray                # (T, 100) recall at each tIoU and point
    average_recall: np.ndarray        # (100,) recall.mean(axis=0): AR
    average_proposals: np.ndarray     # (100,) AN: average number of proposals per video
    area_under_curve: float           # 100 * trapz(AR, AN) / AN[-1], the official percentage
    num_videos: int                   # V: videos with ground truth
    num_ground_truths: int
    num_proposals_kept: int           # proposals kept over all videos at the last point


def _rank_in_video(video: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Proposal indices grouped by video (ascending id) and, in each, ordered as the official
    `np.argsort(score)[::-1]` over the video's proposals in input order: (P,)."""
    order = np.lexsort((-np.arange(len(score)), -score, video))            # ties: later first
    v, s = video[order], score[order]
    tied = np.unique(v[1:][(v[1:] == v[:-1]) & (s[1:] == s[:-1])])
    # argsort's order among equal values depends on the whole array (and the CPU's sort), so
    # videos with ties get the official call on the very array it sees; ties are rare.
    starts = np.searchsorted(v, tied, side="left")
    for vid, start in zip(tied.tolist(), starts.tolist()):
        mine = np.flatnonzero(video == vid)                                 # input order
        order[start:start + len(mine)] = mine[np.argsort(score[mine])[::-1]]
    return order


def proposal_recall(gt_video: np.ndarray, gt_segment: np.ndarray, prop_video: np.ndarray,
                    prop_segment: np.ndarray, prop_score: np.ndarray,
                    tiou_thresholds=PROPOSAL_TIOU_THRESHOLDS,
                    max_average_proposals: float | None = MAX_AVERAGE_PROPOSALS,
                    ) -> ProposalRecall:
    """Recall at each tIoU and average number of proposals, as ActivityNet's `eval_proposal.py`.

    gt_video (N,) int, gt_segment (N, 2): the ground truths (any label; N > 0); prop_video (P,)
    int, prop_segment (P, 2), prop_score (P,): every proposal (detections without their labels),
    those on videos without ground truth included (they count in P, as officially). With
    `max_average_proposals=None`, P / V as officially. When no proposal is kept at all, recall is
    0 and AN is the official grid j / 100 * max_avg.
    """
    thr = np.asarray(tiou_thresholds, dtype=np.float64).reshape(-1)        # (T,)
    gt_video = np.asarray(gt_video, dtype=np.int64).reshape(-1)
    gt_segment = np.asarray(gt_segment, dtype=np.float64).reshape(-1, 2)
    prop_video = np.asarray(prop_video, dtype=np.int64).reshape(-1)
    prop_segment = np.asarray(prop_segment, dtype=np.float64).reshape(-1, 2)
    prop_score = np.asarray(prop_score, dtype=np.float64).reshape(-1)
    if len(gt_video) == 0:
        raise ValueError("proposal recall needs at least one ground truth")
    videos, gt_v = np.unique(gt_video, return_inverse=True)               # (V,), (N,)
    num_videos, total_given = len(videos), len(prop_video)
    max_avg = (float(total_given) / num_videos if not max_average_proposals
               else float(max_average_proposals))
    ratio = max_avg * float(num_videos) / total_given if total_given else 0.0

    # Proposals of the ground-truth videos, ranked in each; each video keeps its top int(n * ratio).
    pos = np.searchsorted(videos, prop_video).clip(0, max(num_videos - 1, 0))
    on_gt = videos[pos] == prop_video                                      # (P,)
    p_v = pos[on_gt]                                                       # (P',) video index
    order = _rank_in_video(p_v, prop_score[on_gt])                         # (P',)
    n = np.bincount(p_v, minlength=num_videos)                             # (V,)
    kept = np.minimum((n * ratio).astype(np.int64), n)                     # (V,)
    first = np.cumsum(n) - n
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order)) - first[p_v[order]]                # (P',) rank in video
    keep = rank < kept[p_v]
    segment, k_v, k_rank = prop_segment[on_gt][keep], p_v[keep], rank[keep]
    total = int(kept[n > 0].sum())
    # A video without proposals is one column of zeros officially: min(int(1 * pcn), 1) columns.
    columns = np.where(n > 0, kept, 1)                                     # (V,)

    pcn = (np.arange(1, AN_POINTS + 1) / 100.0 * (max_avg * float(num_videos) / total) if total
           else np.zeros(AN_POINTS))                                       # (100,)
    visible = np.minimum((columns[:, None] * pcn[None, :]).astype(np.int64),
                         columns[:, None])                                 # (V, 100)

    # First rank of a proposal reaching each tIoU, per ground truth: (N, T), len(...) = never.
    by_video = np.argsort(k_v, kind="stable")
    starts = np.searchsorted(k_v[by_video], gt_v, side="left")
    count = np.searchsorted(k_v[by_video], gt_v, side="right") - starts   # (N,)
    g = np.repeat(np.arange(len(gt_v)), count)                             # (Q,) pairs
    q = by_video[starts[g] + np.arange(len(g)) - np.repeat(np.cumsum(count) - count, count)]
    tiou = _tiou(segment[q], gt_segment[g])                                # (Q,)
    # How many thresholds each pair reaches (the official `>=`; a NaN tIoU reaches none).
    levels = np.searchsorted(np.sort(thr), np.nan_to_num(tiou, nan=-np.inf), side="right")  # (Q,)
    never = np.iinfo(np.int64).max
    best = np.full((len(gt_v), len(thr) + 1), never, dtype=np.int64)       # (N, T+1)
    np.minimum.at(best, (g, levels), k_rank[q])
    # Reaching level l means reaching every threshold below it: a suffix minimum over levels.
    first_hit = np.minimum.accumulate(best[:, ::-1], axis=1)[:, ::-1][:, 1:]   # (N, T) sorted thr
    first_hit = first_hit[:, np.argsort(np.argsort(thr, kind="stable"), kind="stable")]

    recall = np.empty((len(thr), AN_POINTS))                               # (T, 100)
    seen = visible[gt_v]                                                   # (N, 100)
    for t in range(len(thr)):  # a few thresholds: one (N, 100) comparison each
        recall[t] = (first_hit[:, t, None] < seen).sum(axis=0).astype(np.float64) / len(gt_v)
    average_recall = recall.mean(axis=0)
    if total:
        average_proposals = pcn * (float(total) / num_videos)
    else:
        average_proposals = np.arange(1, AN_POINTS + 1) / 100.0 * max_avg
    area = float(np.trapezoid(average_recall, average_proposals))
    last = float(average_proposals[-1])   # 0 only with max_avg None and no proposal at all
    return ProposalRecall(thr, recall, average_recall, average_proposals,
                          100.0 * area / last if last else 0.0, num_videos, len(gt_v), total)
