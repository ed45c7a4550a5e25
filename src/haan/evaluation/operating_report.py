"""The operating-point and proposal-recall sections of a diagnosis (JSON-ready dicts), and the
choice of per-class thresholds, from ActivityNet-format ground truth and predictions
(`haan.evaluation.activitynet.GroundTruth`, `Predictions`) with `haan.evaluation.operating_points`.

Which detections count, as `haan eval-detections` counts them by default: with `subset`, only the
ground truth of that subset's videos; predictions on the file's other videos and on videos it does
not know are false positives; predictions and ground truths whose label is not in `class_names`
are left out. For the proposal recall every prediction is a proposal, whatever its label (the
official proposal evaluator counts them all, see `operating_points.proposal_recall`).

Floats that are undefined (precision with nothing kept, recall without ground truth) are NaN in
the dicts, written as null by `haan.fileio.write_json`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from haan.errors import DataWarning, InputError
from haan.evaluation.activitynet import GroundTruth, Predictions
from haan.evaluation.operating_points import (
    MAX_AVERAGE_PROPOSALS,
    OperatingCurve,
    best_f1,
    class_curves,
    counts_ratios,
    match_detections,
    operating_curve,
    proposal_recall,
    thresholded_counts,
)
from haan.evaluation.thresholds import ThresholdsFile, threshold_mapping

POOLING = ("micro: one threshold for every class, true positives, detections and ground truths "
           "summed over the classes")
# Recall vs tIoU: this grid, at these average numbers of proposals per video.
RECALL_TIOU_GRID: np.ndarray = np.linspace(0.1, 0.95, 18)
RECALL_AN = (1, 10, 50, 100)


@dataclass(frozen=True)
class _Matched:
    label: np.ndarray             # (P,) class index into class_names
    score: np.ndarray             # (P,)
    is_tp: np.ndarray             # (P,) bool at the tIoU
    num_ground_truths: np.ndarray  # (C,)


def _kept_ground_truth(gt: GroundTruth, subset: str | None) -> np.ndarray:
    """(N,) bool: the annotations of the subset's videos (all without a subset)."""
    if subset is None:
        return np.ones(len(gt.video), dtype=bool)
    in_subset = np.array([s == subset for s in gt.subsets], dtype=bool)    # (V,)
    if not in_subset.any():
        raise InputError(f"--subset {subset}: no video of the ground truth is in it (subsets: "
                         f"{', '.join(sorted({str(s) for s in gt.subsets}))})")
    return in_subset[gt.video]


def _prediction_videos(gt: GroundTruth, pred: Predictions) -> np.ndarray:
    """(P,) ground-truth video ids of the predictions; unknown videos get ids of their own."""
    index = {name: i for i, name in enumerate(gt.videos)}
    lut = np.array([index.get(name, len(gt.videos) + k) for k, name in enumerate(pred.videos)],
                   dtype=np.int64)
    return lut[pred.video]


def _label_ids(names: Sequence[str], class_names: Sequence[str]) -> np.ndarray:
    index = {name: c for c, name in enumerate(class_names)}
    return np.array([index.get(name, -1) for name in names], dtype=np.int64)


def _matched(gt: GroundTruth, pred: Predictions, class_names: Sequence[str], tiou: float,
             subset: str | None) -> _Matched:
    if not 0.0 < tiou <= 1.0:
        raise InputError(f"tIoU {tiou} is outside (0, 1]")
    gt_label = _label_ids(gt.labels, class_names)[gt.label]                # (N,)
    keep_gt = _kept_ground_truth(gt, subset) & (gt_label >= 0)
    pred_label = _label_ids(pred.labels, class_names)[pred.label]         # (P,)
    keep = pred_label >= 0
    pred_video = _prediction_videos(gt, pred)
    c = len(class_names)
    is_tp = match_detections(gt.video[keep_gt], gt_label[keep_gt], gt.segment[keep_gt],
                             pred_video[keep], pred_label[keep], pred.segment[keep],
                             pred.score[keep], tiou)
    return _Matched(pred_label[keep], pred.score[keep], is_tp,
                    np.bincount(gt_label[keep_gt], minlength=c))


def _points(curve: OperatingCurve, best_threshold: float | None,
            max_points: int | None) -> np.ndarray:
    """The curve's points to list: all, or at most max_points evenly spread over its thresholds
    (by rank), always with the first, the last and the best-F1 one."""
    k = len(curve.threshold)
    if max_points is None or k <= max_points:
        return np.arange(k)
    picked = np.unique(np.linspace(0, k - 1, max(2, max_points - 1)).round().astype(np.int64))
    best = np.flatnonzero(curve.threshold == best_threshold)                # (0 or 1,)
    return np.union1d(picked, best)


def _curve_dict(curve: OperatingCurve, max_points: int | None = None) -> dict[str, Any]:
    best = best_f1(curve)
    at = _points(curve, None if best is None else best.threshold, max_points)
    return {
        "num_ground_truths": curve.num_ground_truths,
        "threshold": curve.threshold[at].tolist(), "detections": curve.detections[at].tolist(),
        "true_positives": curve.true_positives[at].tolist(),
        "precision": curve.precision[at].tolist(), "recall": curve.recall[at].tolist(),
        "f1": curve.f1[at].tolist(),
        "best": None if best is None else {
            "threshold": best.threshold, "detections": best.detections,
            "true_positives": best.true_positives, "precision": best.precision,
            "recall": best.recall, "f1": best.f1},
    }


def _applied(m: _Matched, class_names: Sequence[str], thresholds: ThresholdsFile,
             tiou: float) -> dict[str, Any]:
    if thresholds.tiou == thresholds.tiou and thresholds.tiou != tiou:  # NaN: not recorded
        warnings.warn(f"{thresholds.source}: chosen at tIoU {thresholds.tiou}, applied at {tiou}",
                      DataWarning)
    min_scores = thresholds.min_scores(class_names)                        # (C,)
    counts = thresholded_counts(m.label, m.score, m.is_tp, m.num_ground_truths, min_scores)
    precision, recall, f1 = counts_ratios(counts)                          # (C,)
    total = [int(x.sum()) for x in (counts.true_positives, counts.detections, counts.ground_truths)]
    p, r, f = counts_ratios_of(*total)
    has_gt = counts.ground_truths > 0
    return {
        "chosen_at_tiou": thresholds.tiou, "chosen_on_subset": thresholds.subset,
        "default": thresholds.default,
        "overall": {"true_positives": total[0], "detections": total[1],
                    "num_ground_truths": total[2], "precision": p, "recall": r, "f1": f},
        "mean_f1": float(f1[has_gt].mean()) if has_gt.any() else float("nan"),
        "per_class": {name: {
            "threshold": float(min_scores[c]) if np.isfinite(min_scores[c]) else None,
            "true_positives": int(counts.true_positives[c]), "detections": int(counts.detections[c]),
            "num_ground_truths": int(counts.ground_truths[c]), "precision": float(precision[c]),
            "recall": float(recall[c]), "f1": float(f1[c])} for c, name in enumerate(class_names)},
    }


def counts_ratios_of(tp: int, det: int, gt: int) -> tuple[float, float, float]:
    """precision, recall, F1 of pooled counts (NaN where undefined)."""
    return (tp / det if det else float("nan"), tp / gt if gt else float("nan"),
            2 * tp / (det + gt) if det + gt else float("nan"))


def operating_points_section(ground_truth: GroundTruth, predictions: Predictions,
                             class_names: Sequence[str], tiou: float,
                             thresholds: ThresholdsFile | Mapping[str, float] | None = None,
                             *, subset: str | None = None,
                             max_points: int | None = None) -> dict[str, Any]:
    """Precision, recall and F1 against the score threshold, per class and overall, at `tiou`.

    Keys: "tiou"; "pooling" (how "overall" pools: micro); "overall" and "per_class" {name: ...},
    each a curve {"num_ground_truths", "threshold" (distinct scores, highest first: keep score >=
    threshold), "detections", "true_positives", "precision", "recall", "f1" (lists, one value per
    threshold), "best": {"threshold", "detections", "true_positives", "precision", "recall", "f1"}
    or null (no ground truth or no detection)}. With `thresholds` (a ThresholdsFile or a {class:
    threshold} mapping, no default), also "thresholds": {"chosen_at_tiou", "chosen_on_subset",
    "default", "overall" {"true_positives", "detections", "num_ground_truths", "precision",
    "recall", "f1"} (micro), "mean_f1" (mean over the classes with ground truth), "per_class"
    {name: {"threshold" (null: every detection kept), the same counts and ratios}}}.

    Every distinct score is a point of the curves (thousands at THUMOS14 size: about 1.7 MB of
    JSON); `max_points` lists at most that many per curve, evenly spread by rank, with the first,
    the last and the best-F1 point ("best" is always computed on the whole curve).
    """
    m = _matched(ground_truth, predictions, class_names, tiou, subset)
    curves = class_curves(m.label, m.score, m.is_tp, m.num_ground_truths)
    section: dict[str, Any] = {
        "tiou": float(tiou), "pooling": POOLING,
        "overall": _curve_dict(operating_curve(m.score, m.is_tp, int(m.num_ground_truths.sum())),
                               max_points),
        "per_class": {name: _curve_dict(curve, max_points)
                      for name, curve in zip(class_names, curves)},
    }
    if thresholds is not None:
        section["thresholds"] = _applied(m, class_names, threshold_mapping(thresholds), tiou)
    return section


def choose_thresholds(ground_truth: GroundTruth, predictions: Predictions,
                      class_names: Sequence[str], tiou: float, *,
                      subset: str | None = None) -> dict[str, float]:
    """The best-F1 threshold of each class (`operating_points.best_f1`: the highest threshold
    reaching the class's maximum F1). Classes without ground truth (F1 undefined) or without
    detections (no score) are left out: a thresholds file gives them its default."""
    m = _matched(ground_truth, predictions, class_names, tiou, subset)
    curves = class_curves(m.label, m.score, m.is_tp, m.num_ground_truths)
    best = {name: best_f1(curve) for name, curve in zip(class_names, curves)}
    return {name: point.threshold for name, point in best.items() if point is not None}


def choose_thresholds_file(ground_truth: GroundTruth, predictions: Predictions,
                           class_names: Sequence[str], tiou: float, *,
                           subset: str | None = None) -> ThresholdsFile:
    """`choose_thresholds` with, as the default for the classes it leaves out, the best-F1
    threshold of the micro-pooled curve (one threshold for all classes; None without detections)."""
    m = _matched(ground_truth, predictions, class_names, tiou, subset)
    curves = class_curves(m.label, m.score, m.is_tp, m.num_ground_truths)
    chosen = {name: p.threshold for name, p in
              ((name, best_f1(curve)) for name, curve in zip(class_names, curves)) if p is not None}
    pooled = best_f1(operating_curve(m.score, m.is_tp, int(m.num_ground_truths.sum())))
    return ThresholdsFile(float(tiou), subset, chosen, None if pooled is None else pooled.threshold)


def recall_section(ground_truth: GroundTruth, predictions: Predictions, *,
                   subset: str | None = None,
                   max_average_proposals: float = MAX_AVERAGE_PROPOSALS) -> dict[str, Any]:
    """AR@AN (ActivityNet's proposal protocol, class-agnostic) and recall vs tIoU.

    Keys: "protocol"; "tiou_thresholds" (0.5:0.05:0.95); "max_average_proposals" (100);
    "average_proposals" (AN, 100 points), "average_recall" (AR at each AN), "recall" (one list of
    100 per tIoU threshold); "ar_at" {"1", "10", "50", "100": AR at that AN}; "area_under_curve"
    (percent, as the official evaluator prints it); "recall_vs_tiou" {"tiou" (0.1:0.05:0.95),
    "recall" {"1", "10", "50", "100": recall at each tIoU with that AN}}; "num_videos",
    "num_ground_truths", "num_proposals" (all given), "num_proposals_kept".
    """
    kept = _kept_ground_truth(ground_truth, subset)
    if not kept.any():
        raise InputError(f"no ground truth to recall{f' in subset {subset!r}' if subset else ''}")
    args = (ground_truth.video[kept], ground_truth.segment[kept],
            _prediction_videos(ground_truth, predictions), predictions.segment, predictions.score)
    official = proposal_recall(*args, max_average_proposals=max_average_proposals)
    grid = proposal_recall(*args, tiou_thresholds=RECALL_TIOU_GRID,
                           max_average_proposals=max_average_proposals)
    # Point j (0-based) is (j + 1) / 100 of max_avg proposals per video.
    columns = {str(an): round(an * 100 / max_average_proposals) - 1 for an in RECALL_AN
               if 1 <= round(an * 100 / max_average_proposals) <= 100}
    return {
        "protocol": ("ActivityNet eval_proposal: class-agnostic, top int(n * ratio) proposals per "
                     "video by score, a ground truth recalled by any proposal reaching the tIoU"),
        "tiou_thresholds": official.tiou_thresholds.tolist(),
        "max_average_proposals": float(max_average_proposals),
        "average_proposals": official.average_proposals.tolist(),
        "average_recall": official.average_recall.tolist(),
        "recall": official.recall.tolist(),
        "ar_at": {an: float(official.average_recall[j]) for an, j in columns.items()},
        "area_under_curve": official.area_under_curve,
        "recall_vs_tiou": {"tiou": grid.tiou_thresholds.tolist(),
                           "recall": {an: grid.recall[:, j].tolist() for an, j in columns.items()}},
        "num_videos": official.num_videos, "num_ground_truths": official.num_ground_truths,
        "num_proposals": int(len(predictions.score)),
        "num_proposals_kept": official.num_proposals_kept,
    }


__all__ = ["POOLING", "RECALL_AN", "RECALL_TIOU_GRID", "choose_thresholds",
           "choose_thresholds_file", "operating_points_section", "recall_section"]
