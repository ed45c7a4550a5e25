"""DETAD's three analyses over one set of arrays, each returning a JSON-ready dict (fractions,
not percent). `DiagnosisData` holds the arrays; `false_positive_analysis`,
`false_negative_analysis` and `sensitivity_analysis` are the sections.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from haan.evaluation.diagnosis import false_positives as fpa
from haan.evaluation.diagnosis.false_negatives import miss_rate_by_bin, undo_imprecise_matches
from haan.evaluation.diagnosis.matching import match_class, rank_by_score, top_by_score
from haan.evaluation.diagnosis.normalized_ap import normalized_ap, normalized_precision_recall
from haan.evaluation.diagnosis.protocol import ERROR_TYPES, Protocol, bin_index
from haan.evaluation.diagnosis.sensitivity import bin_ap, relative_change


@dataclass(frozen=True)
class DiagnosisData:
    """Ground truths (G) and detections (P) with class ids in [0, C) and video ids (ints)."""
    gt_video: np.ndarray          # (G,) int
    gt_label: np.ndarray          # (G,) int
    gt_segment: np.ndarray        # (G, 2) seconds
    pred_video: np.ndarray        # (P,) int; a video without ground truth has no gt_video entry
    pred_label: np.ndarray        # (P,) int
    pred_segment: np.ndarray      # (P, 2)
    pred_score: np.ndarray        # (P,)
    pred_video_key: np.ndarray    # (P,) int, the rank of the video's name (DETAD's loop order)
    class_names: list
    n: float                      # N of AP_N: ground truths per class, on average
    classes: np.ndarray           # (C',) the classes averaged in mAP_N
    characteristics: dict = field(default_factory=dict)   # name -> (G,) float, when known

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def match_all(data: DiagnosisData, keep: np.ndarray, order: np.ndarray, thr) -> np.ndarray:
    """Ground truth (global index) taken by each kept detection: (M, P) int, -1 none/not kept.
    order (P,) every detection from the highest ranked."""
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    matched = np.full((len(thr), len(order)), -1, dtype=np.int64)
    for c in range(data.num_classes):
        p = np.flatnonzero((data.pred_label == c) & keep)
        g = np.flatnonzero(data.gt_label == c)
        if len(p) == 0 or len(g) == 0:
            continue
        local = match_class(data.gt_video[g], data.gt_segment[g], data.pred_video[p],
                            data.pred_segment[p], np.argsort(position[p]), thr)
        matched[:, p] = np.where(local >= 0, g[np.maximum(local, 0)], -1)
    return matched


def class_ranks(data: DiagnosisData, keep: np.ndarray, order: np.ndarray) -> list:
    """For each class, its kept detections from the highest ranked: list of (P_c,) arrays."""
    ranked = order[keep[order]]
    label = data.pred_label[ranked]
    by_class = np.argsort(label, kind="stable")
    bounds = np.searchsorted(label[by_class], np.arange(data.num_classes + 1))
    return [ranked[by_class[bounds[c]:bounds[c + 1]]] for c in range(data.num_classes)]


def map_n(data: DiagnosisData, matched: np.ndarray, ranks: list, drop: np.ndarray | None = None
          ) -> np.ndarray:
    """AP_N per averaged class and threshold: (C', M). drop (M, P) bool: detections removed."""
    gt_count = np.bincount(data.gt_label, minlength=data.num_classes)
    out = np.zeros((len(data.classes), matched.shape[0]))
    for i, c in enumerate(data.classes.tolist()):
        tp = matched[:, ranks[c]] >= 0                                   # (M, P_c)
        if drop is None:
            out[i] = normalized_ap(tp, gt_count[c], data.n)
        else:
            out[i] = [normalized_ap(tp[m][~drop[m, ranks[c]]][None, :], gt_count[c], data.n)[0]
                      for m in range(tp.shape[0])]
    return out


def _per_threshold(values: np.ndarray) -> dict:
    return {"per_threshold": [float(v) for v in values], "average": float(np.mean(values))}


def false_positive_analysis(data: DiagnosisData, protocol: Protocol, thr) -> tuple[dict, dict]:
    """The error types of each class's top limit x G detections; returns the section and the
    arrays the hierarchy split needs (codes (M, P), best ground truth (P,), kept (P,))."""
    gt_count = np.bincount(data.gt_label, minlength=data.num_classes)
    limit_order = top_by_score(data.pred_score) if protocol.detad else rank_by_score(data.pred_score)
    keep = fpa.limit_per_class(data.pred_label, limit_order, gt_count, protocol.limit_factor)
    order = rank_by_score(data.pred_score)
    matched = match_all(data, keep, order, thr)
    top, best = fpa.best_ground_truth(data.pred_video, data.pred_label, data.pred_segment,
                                      data.gt_video, data.gt_label, data.gt_segment,
                                      prefer_same_label=not protocol.detad)
    same = (best >= 0) & (data.gt_label[np.maximum(best, 0)] == data.pred_label)
    codes = fpa.error_types(matched, top, same, thr, protocol.min_tiou)
    if protocol.detad:
        codes = _detad_stale_ground_truth(data, codes, matched, keep, top, thr, protocol)
    ranks = class_ranks(data, keep, order)
    ap = map_n(data, matched, ranks)
    base = float(ap.mean())
    within = fpa.rank_within_class(data.pred_label, limit_order)
    slices = fpa.rank_slices(within, data.pred_label, gt_count, protocol.limit_factor)
    section = {
        "tiou_thresholds": [float(t) for t in thr],
        "limit_factor": protocol.limit_factor,
        "num_predictions": int(keep.sum()),
        "N": float(data.n),
        "average_mAP_N": base,
        "mAP_N": [float(v) for v in ap.mean(axis=0)],
        "all": _shares(codes, keep),
        "rank_slices": [{"slice": f"{k + 1}G", "num_predictions": int((keep & (slices == k)).sum()),
                         **_shares(codes, keep & (slices == k))}
                        for k in range(protocol.limit_factor)],
        "removal": {},
    }
    for code, name in enumerate(ERROR_TYPES):
        if code == 0:
            continue
        removed = float(map_n(data, matched, ranks, drop=codes == code).mean())
        section["removal"][name] = {"average_mAP_N": removed, "gain": removed - base}
    return section, {"codes": codes, "best": best, "keep": keep}


def _shares(codes: np.ndarray, members: np.ndarray) -> dict:
    share = fpa.breakdown(codes, members)                                # (M, 6)
    return {name: _per_threshold(share[:, k]) for k, name in enumerate(ERROR_TYPES)}


def _detad_stale_ground_truth(data, codes, matched, keep, top, thr, protocol):
    """Codes of detections in videos without ground truth, typed as DETAD's loop types them."""
    has_gt = np.isin(data.pred_video, data.gt_video)
    if has_gt[keep].all():
        return codes
    video_key = data.pred_video_key
    gt_key_of_pred = np.where(has_gt, video_key, -1)
    stale = np.full(codes.shape, -1, dtype=np.int64)
    for m in range(len(thr)):
        unmatched = keep & (matched[m] < 0)
        keys = np.unique(gt_key_of_pred[unmatched & has_gt])            # videos with ground truth
        for p in np.flatnonzero(unmatched & ~has_gt).tolist():
            before = keys[keys < video_key[p]]
            if len(before) == 0:
                continue
            source = np.flatnonzero(has_gt & (video_key == before[-1]))[0]
            fake = np.array([data.pred_video[source]])
            t, b = fpa.best_ground_truth(fake, data.pred_label[[p]], data.pred_segment[[p]],
                                         data.gt_video, data.gt_label, data.gt_segment, False)
            same = b[0] >= 0 and data.gt_label[b[0]] == data.pred_label[p]
            stale[m, p] = fpa.error_types(np.array([[-1]]), t, np.array([same]), [thr[m]],
                                          protocol.min_tiou)[0, 0]
    unmatched = keep[None, :] & (matched < 0)
    return fpa.reuse_previous_video(codes, unmatched, video_key, has_gt, stale)


def full_matching(data: DiagnosisData, thr) -> tuple[np.ndarray, np.ndarray]:
    """Every detection matched (no limit): (order (P,), matched (M, P)), shared by the
    false-negative and sensitivity analyses."""
    order = rank_by_score(data.pred_score)
    return order, match_all(data, np.ones(len(order), dtype=bool), order, thr)


def false_negative_analysis(data: DiagnosisData, protocol: Protocol, thr, bins: dict,
                            full: tuple | None = None) -> dict:
    """Miss rate per bin of each characteristic known (`data.characteristics`). full: the
    result of `full_matching`, when already computed."""
    order, matched = full if full is not None else full_matching(data, thr)
    matched = matched.copy()
    keep = np.ones(len(order), dtype=bool)
    if protocol.fn_min_normalized_precision > 0:
        gt_count = np.bincount(data.gt_label, minlength=data.num_classes)
        for c, r in enumerate(class_ranks(data, keep, order)):
            if len(r) == 0 or gt_count[c] == 0:
                continue
            tp = matched[:, r] >= 0
            precision, _ = normalized_precision_recall(tp, gt_count[c], data.n)
            kept_tp = undo_imprecise_matches(tp, precision, protocol.fn_min_normalized_precision)
            matched[:, r] = np.where(kept_tp, matched[:, r], -1)
    found = np.zeros((len(thr), len(data.gt_video)), dtype=bool)         # (M, G)
    for m in range(len(thr)):
        found[m, matched[m][matched[m] >= 0]] = True
    section = {"tiou_thresholds": [float(t) for t in thr],
               "miss_rate_all": _per_threshold(1 - found.mean(axis=1))}
    for name, values in data.characteristics.items():
        b = bins[name]
        idx = bin_index(values, b)
        rate = miss_rate_by_bin(found, idx, len(b.names))                 # (M, K)
        section[name] = {"bins": list(b.names), "edges": [float(e) for e in b.edges],
                         "count": np.bincount(idx[idx >= 0], minlength=len(b.names)).tolist(),
                         "outside_bins": int((idx < 0).sum()),
                         "miss_rate": [_per_threshold(rate[:, k]) for k in range(len(b.names))]}
    return section


def sensitivity_analysis(data: DiagnosisData, protocol: Protocol, thr, bins: dict,
                         full: tuple | None = None) -> dict:
    """AP_N per bin of each known characteristic, and its lowest and highest over the whole's.
    full: the result of `full_matching`, when already computed."""
    order, matched = full if full is not None else full_matching(data, thr)
    keep = np.ones(len(order), dtype=bool)
    ranks = class_ranks(data, keep, order)
    base = float(map_n(data, matched, ranks).mean())
    section = {"tiou_thresholds": [float(t) for t in thr], "average_mAP_N": base}
    for name, values in data.characteristics.items():
        b = bins[name]
        idx = bin_index(values, b)
        per_bin = np.full(len(b.names), np.nan)
        for k in range(len(b.names)):
            in_bin = np.append(idx == k, False)                            # (G+1,)
            count = np.bincount(data.gt_label[idx == k], minlength=data.num_classes)
            aps = [bin_ap(matched[:, ranks[c]], in_bin, int(count[c]), data.n, protocol.detad).mean()
                   for c in data.classes.tolist() if count[c] > 0]
            if aps:
                per_bin[k] = float(np.mean(aps))
        low, high = relative_change(per_bin, base)
        section[name] = {"bins": list(b.names), "edges": [float(e) for e in b.edges],
                         "average_mAP_N": [None if np.isnan(v) else float(v) for v in per_bin],
                         "relative_change": {"min": low, "max": high}}
    return section
