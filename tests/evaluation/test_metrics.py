"""haan.evaluation.metrics: hand-worked AP cases, the golden values of the paper's evaluator, and a plain-loop
reference of spec section 6 on random cases."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from haan.evaluation.metrics import (
    average_precision,
    coarse_detection_metrics,
    detection_true_positives,
    evaluate_detections,
    interpolated_ap,
    segment_iou,
)

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "golden"


def seg(*pairs):
    return np.array(pairs, dtype=np.float64).reshape(-1, 2)


# ----------------------------------------------------------------------------------------------
# tIoU and interpolation


def test_segment_iou_hand_values():
    a = seg([0, 10], [5, 7])
    b = seg([5, 15], [10, 20], [2, 4], [0, 10])
    # [0,10] vs [5,15]: inter 5, union 15; vs [10,20]: touching, 0; vs [2,4]: 2/10; vs itself: 1.
    # [5,7] vs [5,15]: 2/10; vs [10,20]: 0; vs [2,4]: 0; vs [0,10]: 2/10.
    expected = np.array([[5 / 15, 0.0, 0.2, 1.0], [0.2, 0.0, 0.0, 0.2]])
    np.testing.assert_allclose(segment_iou(a, b), expected, rtol=0, atol=1e-15)
    assert segment_iou(a, b).shape == (2, 4)


def test_interpolated_ap_hand_values():
    # prec [1, .5, 2/3], rec [.5, .5, 1]: envelope at the recall changes: i=1 -> 1, i=3 -> 2/3.
    # AP = .5 * 1 + .5 * 2/3.
    ap = interpolated_ap(np.array([[1, 0.5, 2 / 3]]), np.array([[0.5, 0.5, 1.0]]))
    assert ap[0] == pytest.approx(0.5 + 0.5 * 2 / 3, abs=1e-15)


# ----------------------------------------------------------------------------------------------
# Hand-worked AP


def test_shifted_detections_at_several_thresholds():
    # Video 0, GTs g0 [0,10], g1 [20,30]. Detections by score:
    #   d1 [1,11] .9: tIoU(g0) = 9/11 = .818;  d2 [20,26] .8: tIoU(g1) = 6/10 = .6;  d3 [50,60] .7: none.
    # thr .5: TP TP FP -> prec 1 1 2/3, rec .5 1 1 -> AP = .5*1 + .5*1 = 1
    # thr .7: TP FP FP -> prec 1 .5 1/3, rec .5 .5 .5 -> AP = .5
    # thr .9: FP FP FP -> AP = 0
    ap = average_precision([0, 0], seg([0, 10], [20, 30]), [0, 0, 0], seg([1, 11], [20, 26], [50, 60]),
                           [0.9, 0.8, 0.7], [0.5, 0.7, 0.9])
    np.testing.assert_allclose(ap, [1.0, 0.5, 0.0], rtol=0, atol=1e-15)


def test_false_positive_ranked_first_halves_ap():
    # d_a [30,40] .9 is FP, d_b [0,10] .5 is TP: prec 0 .5, rec 0 1 -> envelope .5 -> AP = .5
    ap = average_precision([0], seg([0, 10]), [0, 0], seg([30, 40], [0, 10]), [0.9, 0.5], [0.5])
    assert ap.tolist() == [0.5]


def test_duplicates_of_one_ground_truth_are_false_positives():
    # g0 [0,10], g1 [20,30]. d1 [0,10] .9 TP; d2 [0,9] .8 and d3 [1,10] .7 hit g0 again: FP;
    # d4 [20,30] .6 TP. prec 1 .5 1/3 .5, rec .5 .5 .5 1.
    # AP = .5 * max(1, .5, 1/3, .5) + .5 * .5 = .75
    ap = average_precision([0, 0], seg([0, 10], [20, 30]), [0, 0, 0, 0],
                           seg([0, 10], [0, 9], [1, 10], [20, 30]), [0.9, 0.8, 0.7, 0.6], [0.5])
    assert ap[0] == pytest.approx(0.75, abs=1e-15)


def test_detection_in_a_video_without_ground_truth_is_a_false_positive():
    # GT in video 0 only; d [0,10] in video 1 (.9) is FP, d [0,10] in video 0 (.8) TP -> AP .5
    ap = average_precision([0], seg([0, 10]), [1, 0], seg([0, 10], [0, 10]), [0.9, 0.8], [0.5, 0.95])
    np.testing.assert_allclose(ap, [0.5, 0.5], rtol=0, atol=1e-15)


def test_equal_tiou_visits_the_later_ground_truth_first():
    # gA [0,10] (first), gB [5,15] (later). d1 [2.5,12.5] .9: tIoU 7.5/12.5 = .6 with both: takes gB.
    # d2 [0,10] .8: tIoU(gA) = 1 -> TP. AP = 1. (Earlier-first would give d1->gA, d2 FP, AP .5.)
    ap = average_precision([0, 0], seg([0, 10], [5, 15]), [0, 0], seg([2.5, 12.5], [0, 10]),
                           [0.9, 0.8], [0.5])
    assert ap.tolist() == [1.0]


def test_equal_tiou_between_four_or_more_ground_truths_follows_argsort():
    # g0..g7; the detection d2 [5, 15] has tIoU .6 with the five inside it (g1, g2, g3, g6, g7) and
    # visits them in the order of np.argsort(tiou)[::-1]. d0 and d1 are exact copies of g7 and g6.
    g = seg([0, 3], [7, 13], [6, 12], [8, 14], [14, 20], [30, 40], [5, 11], [9, 15])
    d = seg([9, 15], [5, 11], [5, 15], [5, 10])
    score = [0.99, 0.98, 0.9, 0.7]
    got = average_precision(np.zeros(8, int), g, np.zeros(4, int), d, score, [0.5])
    want = reference_ap(np.zeros(8, int), g, np.zeros(4, int), d, score, [0.5])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)
    # d2 takes the first of its five it visits that d0 and d1 have not taken. If that is g2 [6, 12]
    # (AVX-512's argsort visits 7, 6, 2, 3, 1), d3 [5, 10] finds g6 (.83) and g2 (.57) taken and g1
    # (.375) below .5: TP TP TP FP -> AP = 3/8. If it is g1 or g3 (later-first: 7, 6, 3, 2, 1), d3
    # takes g2: AP = 4/8.
    order = np.argsort(segment_iou(seg([5, 15]), g)[0])[::-1].tolist()
    taken_by_d2 = next(k for k in order if k not in (6, 7))
    assert got.tolist() == [0.375 if taken_by_d2 == 2 else 0.5]


def test_equal_scores_rank_as_argsort_reversed():
    # Equal scores: np.argsort(...)[::-1] puts the later detection first (stable for small arrays):
    # d1 [30,40] (FP) before d0 [0,10] (TP) -> prec 0 .5, rec 0 1 -> AP .5
    ap = average_precision([0], seg([0, 10]), [0, 0], seg([0, 10], [30, 40]), [0.5, 0.5], [0.5])
    assert ap.tolist() == [0.5]


def test_threshold_reached_exactly_is_a_match():
    # tIoU([0,10], [0,5]) = .5 exactly: >= .5 matches, .55 does not.
    ap = average_precision([0], seg([0, 10]), [0], seg([0, 5]), [1.0], [0.5, 0.55])
    assert ap.tolist() == [1.0, 0.0]


def test_empty_segments_match_as_in_the_paper():
    # 0/0 = NaN tIoU: the paper's `tiou < thr` is False, so the detection matches at every threshold.
    ap = average_precision([0], seg([5, 5]), [0], seg([5, 5]), [1.0], [0.5, 1.0])
    assert ap.tolist() == [1.0, 1.0]


def test_no_detection_or_no_ground_truth_gives_zero():
    assert average_precision([0], seg([0, 1]), [], np.zeros((0, 2)), [], [0.5, 0.7]).tolist() == [0, 0]
    assert average_precision([], np.zeros((0, 2)), [0], seg([0, 1]), [1.0], [0.5]).tolist() == [0]


def test_evaluate_detections_classes_with_and_without_ground_truth():
    # class 0: the .75 case above; class 1: GT, no detection -> AP 0; class 2: detections only,
    # no GT -> left out of the mean.
    gt_video, gt_label = [0, 0, 3], [0, 0, 1]
    gt_segment = seg([0, 10], [20, 30], [0, 5])
    pred_video, pred_label = [0, 0, 0, 0, 3], [0, 0, 0, 0, 2]
    pred_segment = seg([0, 10], [0, 9], [1, 10], [20, 30], [0, 5])
    pred_score = [0.9, 0.8, 0.7, 0.6, 0.99]
    m = evaluate_detections(gt_video, gt_label, gt_segment, pred_video, pred_label, pred_segment,
                            pred_score, num_classes=3, tiou_thresholds=[0.5, 0.95])
    np.testing.assert_allclose(m.per_class_ap, [[0.75, 0.75], [0, 0], [0, 0]], rtol=0, atol=1e-15)
    assert m.has_ground_truth.tolist() == [True, True, False]
    np.testing.assert_allclose(m.mAP, [0.375, 0.375], rtol=0, atol=1e-15)
    assert m.average_mAP == pytest.approx(0.375, abs=1e-15)
    assert m.num_left_out == 1


def test_no_class_with_ground_truth_gives_nan():
    m = evaluate_detections([], [], np.zeros((0, 2)), [0], [1], seg([0, 1]), [1.0],
                            num_classes=2, tiou_thresholds=[0.5])
    assert np.isnan(m.mAP).all() and np.isnan(m.average_mAP)
    assert m.per_class_ap.tolist() == [[0.0], [0.0]]


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="same length"):
        evaluate_detections([0], [0, 0], seg([0, 1]), [], [], np.zeros((0, 2)), [], 1, [0.5])
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        evaluate_detections([0], [2], seg([0, 1]), [], [], np.zeros((0, 2)), [], 2, [0.5])
    with pytest.raises(ValueError, match="tiou_thresholds"):
        evaluate_detections([0], [0], seg([0, 1]), [], [], np.zeros((0, 2)), [], 1, [0.0])


# ----------------------------------------------------------------------------------------------
# Golden values from the paper's evaluator


def _read_golden(case: str):
    """Plain loops over the JSON files, independent of haan.evaluation.activitynet."""
    gt = json.loads((GOLDEN / case / "gt.json").read_text())["database"]
    pred = json.loads((GOLDEN / case / "pred.json").read_text())["results"]
    expected = json.loads((GOLDEN / case / "expected.json").read_text())
    classes = sorted({a["label"] for v in gt.values() for a in v["annotations"]})
    cid = {c: i for i, c in enumerate(classes)}
    vid = {v: i for i, v in enumerate(gt)}
    g = [(vid[v], cid[a["label"]], *a["segment"]) for v in gt for a in gt[v]["annotations"]]
    p = [(vid.get(v, -1), cid[d["label"]], *d["segment"], d["score"])
         for v in pred for d in pred[v] if d["label"] in cid]
    g, p = np.array(g, dtype=np.float64), np.array(p, dtype=np.float64)
    return classes, g, p, expected


@pytest.mark.parametrize("case", ["case0", "case1", "case2", "case3"])
def test_golden_cases_through_the_function(case):
    classes, g, p, expected = _read_golden(case)
    m = evaluate_detections(g[:, 0].astype(int), g[:, 1].astype(int), g[:, 2:4],
                            p[:, 0].astype(int), p[:, 1].astype(int), p[:, 2:4], p[:, 4],
                            num_classes=len(classes), tiou_thresholds=expected["tiou_thresholds"])
    want = np.array([expected["per_class_ap"][c] for c in classes])
    np.testing.assert_allclose(m.per_class_ap, want, rtol=0, atol=1e-9)
    np.testing.assert_allclose(m.mAP, expected["mAP"], rtol=0, atol=1e-9)
    assert m.average_mAP == pytest.approx(expected["average_mAP"], abs=1e-9)


# ----------------------------------------------------------------------------------------------
# Plain-loop reference of spec section 6


def reference_ap(gt_video, gt_segment, pred_video, pred_segment, pred_score, thresholds):
    """Section 6 with nested loops: per detection, per threshold, per ground truth."""
    num_gt, num_pred, m = len(gt_video), len(pred_video), len(thresholds)
    ap = [0.0] * m
    if num_pred == 0 or num_gt == 0:
        return ap
    order = np.argsort(np.asarray(pred_score, dtype=np.float64))[::-1]
    locked = [[False] * num_gt for _ in range(m)]
    tp = [[0] * num_pred for _ in range(m)]
    for rank, i in enumerate(order):
        s1, e1 = pred_segment[i]
        same = [j for j in range(num_gt) if gt_video[j] == pred_video[i]]
        tious = []
        for j in same:
            s2, e2 = gt_segment[j]
            inter = max(0.0, min(e1, e2) - max(s1, s2))
            tious.append(inter / ((e2 - s2) + (e1 - s1) - inter))
        visit = np.argsort(np.array(tious))[::-1]  # the paper's order, ties included
        for t in range(m):
            for k in visit:
                if tious[k] < thresholds[t]:
                    break
                if locked[t][same[k]]:
                    continue
                locked[t][same[k]] = True
                tp[t][rank] = 1
                break
    for t in range(m):
        tp_sum, prec, rec = 0, [], []
        for n in range(num_pred):
            tp_sum += tp[t][n]
            prec.append(tp_sum / (n + 1))
            rec.append(tp_sum / num_gt)
        mprec, mrec = [0.0] + prec + [0.0], [0.0] + rec + [1.0]
        for n in range(len(mprec) - 2, -1, -1):
            mprec[n] = max(mprec[n], mprec[n + 1])
        ap[t] = sum((mrec[n] - mrec[n - 1]) * mprec[n] for n in range(1, len(mrec)) if mrec[n] != mrec[n - 1])
    return ap


def random_class_case(rng: np.random.Generator):
    """Integer-grid segments (many exact tIoU ties, tIoUs like .5 exactly) or continuous ones."""
    num_gt, num_pred, num_videos = rng.integers(0, 14), rng.integers(0, 40), rng.integers(1, 5)
    def segments(n):
        if rng.random() < 0.6:
            start = rng.integers(0, 20, n).astype(np.float64)
            return np.stack([start, start + rng.integers(1, 9, n)], axis=1)
        start = rng.uniform(0, 20, n)
        return np.stack([start, start + rng.uniform(0.1, 8, n)], axis=1)
    # Scores from a few values (ties) or continuous.
    score = rng.choice([0.1, 0.5, 0.9], num_pred) if rng.random() < 0.5 else rng.random(num_pred)
    return (rng.integers(0, num_videos, num_gt), segments(num_gt),
            rng.integers(0, num_videos + 1, num_pred), segments(num_pred), score)


def test_vectorized_ap_matches_plain_loops_on_random_cases():
    rng = np.random.default_rng(0)
    grid = np.round(np.arange(0.05, 1.0001, 0.05), 2)
    for _ in range(300):
        thresholds = rng.permutation(rng.choice(grid, rng.integers(1, 11), replace=False))
        case = random_class_case(rng)
        want = reference_ap(*case, thresholds)
        got = average_precision(*case, thresholds)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_more_than_62_thresholds_are_chunked():
    rng = np.random.default_rng(1)
    thresholds = np.round(np.linspace(0.01, 1.0, 100), 4)
    for _ in range(10):
        case = random_class_case(rng)
        np.testing.assert_allclose(average_precision(*case, thresholds), reference_ap(*case, thresholds),
                                   rtol=0, atol=1e-12)


def test_evaluate_detections_matches_per_class_reference():
    # Many classes, some without ground truth and some without detections; classes interleaved in
    # the input, so the per-class input order (which decides ties) must be kept.
    rng = np.random.default_rng(2)
    thresholds = [0.1, 0.3, 0.5, 0.7]
    for _ in range(20):
        num_classes = int(rng.integers(1, 7))
        cases = [random_class_case(rng) for _ in range(num_classes)]
        gt_label = np.concatenate([np.full(len(c[0]), k) for k, c in enumerate(cases)])
        pred_label = np.concatenate([np.full(len(c[2]), k) for k, c in enumerate(cases)])
        gp, pp = rng.permutation(len(gt_label)), rng.permutation(len(pred_label))

        def cat(field, idx):
            return np.concatenate([c[field] for c in cases])[idx]

        m = evaluate_detections(cat(0, gp), gt_label[gp], cat(1, gp), cat(2, pp), pred_label[pp],
                                cat(3, pp), cat(4, pp), num_classes, thresholds)
        for k in range(num_classes):
            g, p = gp[gt_label[gp] == k], pp[pred_label[pp] == k]
            want = reference_ap(cat(0, g), cat(1, g), cat(2, p), cat(3, p), cat(4, p), thresholds)
            np.testing.assert_allclose(m.per_class_ap[k], want, rtol=0, atol=1e-12)
        has = np.array([len(c[0]) > 0 for c in cases])
        assert m.has_ground_truth.tolist() == has.tolist()
        if has.any():
            np.testing.assert_allclose(m.mAP, m.per_class_ap[has].mean(0), rtol=0, atol=1e-15)


# ----------------------------------------------------------------------------------------------
# Coarse level


def test_coarse_metrics_hand_worked():
    # Fine classes 0, 1 -> coarse 0; fine 2 -> coarse 1. Video 0: fine 0 [0,10], fine 1 [20,30];
    # video 1: fine 2 [0,10].
    gt_video, gt_label, gt_segment = [0, 0, 1], [0, 1, 2], seg([0, 10], [20, 30], [0, 10])
    # .9 fine 1 [0,10] (wrong fine class, right coarse one); .8 fine 0 [20,28] (tIoU .8 with
    # [20,30]); .7 fine 0 [0,10] (a duplicate at the coarse level); .6 fine 2 [0,5] in video 1
    # (tIoU .5); .5 fine 0 [0,10] in video 1 (no coarse-0 ground truth there).
    pred_video, pred_label = [0, 0, 0, 1, 1], [1, 0, 0, 2, 0]
    pred_segment = seg([0, 10], [20, 28], [0, 10], [0, 5], [0, 10])
    pred_score = [0.9, 0.8, 0.7, 0.6, 0.5]
    m = coarse_detection_metrics(gt_video, gt_label, gt_segment, pred_video, pred_label, pred_segment,
                                 pred_score, fine_to_coarse=np.array([0, 0, 1]), num_coarse=2,
                                 tiou_thresholds=[0.5, 0.9])
    # Coarse 0, ranked .9 .8 .7 .5: at .5 TP TP FP FP -> prec 1 1 2/3 1/2, rec .5 1 1 1 -> AP 1;
    # at .9 TP FP FP FP -> AP .5 * 1 = .5. Coarse 1: the .6 detection, TP at .5 only -> 1, 0.
    np.testing.assert_allclose(m.per_class_ap, [[1.0, 0.5], [1.0, 0.0]], rtol=0, atol=1e-15)
    np.testing.assert_allclose(m.mAP, [1.0, 0.25], rtol=0, atol=1e-15)
    assert m.average_mAP == pytest.approx(0.625, abs=1e-15)
    # The fine level, for contrast: fine 0 ranks .8 (FP), .7 (TP), .5 (FP) -> AP .5 at both.
    fine = evaluate_detections(gt_video, gt_label, gt_segment, pred_video, pred_label, pred_segment,
                               pred_score, num_classes=3, tiou_thresholds=[0.5, 0.9])
    np.testing.assert_allclose(fine.per_class_ap[0], [0.5, 0.5], rtol=0, atol=1e-15)


def test_coarse_metrics_bad_arguments():
    with pytest.raises(ValueError, match=r"fine_to_coarse must be in \[0, 2\)"):
        coarse_detection_metrics([0], [0], seg([0, 1]), [], [], np.zeros((0, 2)), [], [0, 2], 2, [0.5])
    with pytest.raises(ValueError, match=r"gt_label must be in \[0, 2\)"):
        coarse_detection_metrics([0], [2], seg([0, 1]), [], [], np.zeros((0, 2)), [], [0, 1], 2, [0.5])


def test_true_positive_flags_by_hand():
    """One class, one video, ground truths [0, 4] and [10, 12]. Detections in input order:
    d0 [0, 2] score 0.5 (tIoU 0.5 with the first), d1 [0, 4] score 0.6 (tIoU 1), d2 [10, 11]
    score 0.9 (tIoU 0.5 with the second), d3 [20, 21] score 0.8 (nothing). Ranked d2, d3, d1, d0:
    d1 takes the first ground truth at every threshold, so d0 (ranked after it) never matches;
    d2 matches the second at 0.5 only."""
    gt_video, gt_label = np.zeros(2, np.int64), np.zeros(2, np.int64)
    gt_segment = np.array([[0.0, 4.0], [10.0, 12.0]])
    pred_segment = np.array([[0.0, 2.0], [0.0, 4.0], [10.0, 11.0], [20.0, 21.0]])
    score = np.array([0.5, 0.6, 0.9, 0.8])
    flags = detection_true_positives(gt_video, gt_label, gt_segment, np.zeros(4, np.int64),
                                     np.zeros(4, np.int64), pred_segment, score,
                                     tiou_thresholds=[0.5, 0.7])
    assert flags.tolist() == [[False, True, True, False], [False, True, False, False]]
    # another class or another video: nothing to match
    assert not detection_true_positives(gt_video, gt_label, gt_segment, np.ones(4, np.int64),
                                        np.zeros(4, np.int64), pred_segment, score,
                                        tiou_thresholds=[0.5]).any()
