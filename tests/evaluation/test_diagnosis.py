"""Hand-worked cases of `haan diagnose`'s analyses: every error type and its thresholds, every bin
edge, AP_N, the top-kG limit, removal gains, the false-negative and sensitivity settings, the
hierarchy split, and the tie rules (DETAD's order under the detad protocols, haan's otherwise)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from haan.evaluation.diagnosis import false_positives as fpa
from haan.evaluation.diagnosis.analyses import (
    DiagnosisData,
    false_negative_analysis,
    false_positive_analysis,
    sensitivity_analysis,
)
from haan.evaluation.diagnosis.hierarchy import confusion_matrix, label_error_split
from haan.evaluation.diagnosis.matching import match_class, rank_by_score, top_by_score
from haan.evaluation.diagnosis.normalized_ap import normalized_ap
from haan.evaluation.diagnosis.protocol import PROTOCOLS, THUMOS14_BINS, bin_index

HAAN, DETAD = PROTOCOLS["haan"], PROTOCOLS["detad-thumos14"]


def data(gt, pred, classes=2, chars=None, n=None):
    """gt: [(video, label, start, end)], pred: [(video, label, start, end, score)]."""
    gt = np.array(gt, dtype=np.float64).reshape(-1, 4)
    pred = np.array(pred, dtype=np.float64).reshape(-1, 5)
    labels = gt[:, 1].astype(int)
    return DiagnosisData(
        gt_video=gt[:, 0].astype(int), gt_label=labels, gt_segment=gt[:, 2:4],
        pred_video=pred[:, 0].astype(int), pred_label=pred[:, 1].astype(int),
        pred_segment=pred[:, 2:4], pred_score=pred[:, 4], pred_video_key=pred[:, 0].astype(int),
        class_names=[f"c{i}" for i in range(classes)],
        n=float(len(gt) / len(np.unique(labels))) if n is None else n,
        classes=np.unique(labels), characteristics=chars or {})


# One video (0) with ground truths A = [0, 10] of class 0 and B = [20, 30] of class 1.
GT = [(0, 0, 0, 10), (0, 1, 20, 30)]
PRED = [
    (0, 0, 0, 10, 0.9),    # true positive
    (0, 0, 0, 5, 0.8),     # tIoU 0.5 with A, A taken: double detection (>= threshold)
    (0, 1, 1, 10, 0.7),    # tIoU 0.9 with A, other label: wrong label
    (0, 0, 9, 19, 0.6),    # tIoU 1/19 with A ... and 0 with B: background (< 0.1)
    (0, 0, 9, 10, 0.5),    # tIoU exactly 0.1 with A: localization (>= 0.1)
    (0, 1, 6, 14, 0.4),    # tIoU 4/14 with A, other label: confusion
    (0, 1, 20, 30, 0.3),   # true positive of B
    (1, 0, 0, 10, 0.2),    # a video without ground truth: background
]
EXPECTED = [0, 1, 2, 5, 3, 4, 0, 5]


@pytest.mark.parametrize("protocol", [HAAN, DETAD])
def test_each_error_type_and_its_thresholds(protocol):
    section, arrays = false_positive_analysis(data(GT, PRED), protocol, (0.5,))
    assert arrays["codes"][0].tolist() == EXPECTED
    # shares of all 8 kept predictions (limit 10 x 1 ground truth per class keeps all)
    assert section["num_predictions"] == 8
    assert section["all"]["true positive"]["average"] == 2 / 8
    assert section["all"]["background"]["average"] == 2 / 8
    for name in ("double detection", "wrong label", "localization", "confusion"):
        assert section["all"][name]["average"] == 1 / 8


def test_error_types_move_with_the_threshold():
    # at tIoU 0.95, [0, 5] (0.5) is a localization error and [1, 10] (0.9) a confusion error
    _, arrays = false_positive_analysis(data(GT, PRED), HAAN, (0.5, 0.95))
    assert arrays["codes"][1].tolist() == [0, 3, 4, 5, 3, 4, 0, 5]


def test_normalized_ap_by_hand():
    # tp, fp, tp with 2 ground truths and N = 4: recall .5 .5 1, precision_N 1, 2/3, 4/5
    # -> envelope 1, .8, .8 -> AP = .5 * 1 + .5 * .8
    assert normalized_ap(np.array([[True, False, True]]), 2, 4.0)[0] == pytest.approx(0.9, abs=1e-15)
    # N = the class's own count: the usual precision 1, 1/2, 2/3 -> .5 + .5 * 2/3
    assert normalized_ap(np.array([[True, False, True]]), 2, 2.0)[0] == pytest.approx(
        0.5 + 0.5 * 2 / 3, abs=1e-15)


@pytest.mark.parametrize("values, expected", [
    ([0.0, 0.02, 0.0200001, 0.04, 0.08, 0.0800001, 1.0, 1.01, -0.001], [0, 0, 1, 1, 3, 4, 4, -1, -1]),
])
def test_coverage_bin_edges(values, expected):
    assert bin_index(np.array(values), THUMOS14_BINS["coverage"]).tolist() == expected


def test_length_and_instance_bin_edges():
    length = [0, 3, 3.0001, 6, 12, 18, 18.01, 1e6]
    assert bin_index(np.array(length), THUMOS14_BINS["length"]).tolist() == [0, 0, 1, 1, 2, 3, 4, 4]
    count = [1, 2, 40, 41, 80, 81]
    assert bin_index(np.array(count), THUMOS14_BINS["num-instances"]).tolist() == [0, 1, 1, 2, 2, 3]
    # ActivityNet's coverage edges are numpy.linspace's: 0.6 itself is below 0.6000000000000001
    anet = PROTOCOLS["detad-activitynet"].bins["coverage"]
    assert bin_index(np.array([0.6, 0.6000000000000001, 0.61]), anet).tolist() == [2, 2, 3]


def test_the_limit_keeps_the_top_k_times_g_and_ties_by_order():
    # class 0 has 1 ground truth: factor 2 keeps 2 of its 4 detections
    label = np.array([0, 0, 0, 0, 1])
    score = np.array([0.5, 0.9, 0.5, 0.1, 0.3])
    gt_count = np.array([1, 1])
    # pandas' nlargest (DETAD): equal scores in input order -> positions 1 and 0
    assert fpa.limit_per_class(label, top_by_score(score), gt_count, 2).tolist() == [
        True, True, False, False, True]
    # haan's rank (argsort(score)[::-1] where stable): the later of equal scores first -> 1 and 2
    assert fpa.limit_per_class(label, rank_by_score(score), gt_count, 2).tolist() == [
        False, True, True, False, True]


def test_rank_slices():
    # 2 ground truths: ranks 0-1 are 1G, 2-3 2G, ...
    rank = np.array([0, 1, 2, 3, 4, 25])
    assert fpa.rank_slices(rank, np.zeros(6, int), np.array([2]), 10).tolist() == [0, 0, 1, 1, 2, 10]


def test_removal_gain_by_hand():
    # class 0, 2 ground truths: TP, wrong label, TP. N = 2 (2 gt / 1 class).
    gt = [(0, 0, 0, 10), (0, 0, 20, 30), (0, 1, 40, 50)]
    pred = [(0, 0, 0, 10, 0.9), (0, 0, 40, 50, 0.8), (0, 0, 20, 30, 0.7), (0, 1, 40, 50, 0.6)]
    section, arrays = false_positive_analysis(data(gt, pred, n=2.0), HAAN, (0.5,))
    assert arrays["codes"][0].tolist() == [0, 2, 0, 0]
    class0 = 0.5 + 0.5 * 2 / 3        # precision 1, 1/2, 2/3 with N = 2
    base = (class0 + 1.0) / 2
    assert section["average_mAP_N"] == pytest.approx(base, abs=1e-15)
    assert section["removal"]["wrong label"]["gain"] == pytest.approx(1.0 - base, abs=1e-15)
    assert section["removal"]["background"]["gain"] == 0


def test_false_negatives_undo_imprecise_matches_under_detad():
    # one class, 1 ground truth found only by the 21st detection: precision_N = 1 / (1 + 20)
    # = 0.0476 <= 0.05, so DETAD counts it missed; haan's protocol counts it found.
    gt = [(0, 0, 0, 10)]
    pred = [(0, 0, 100 + 20 * i, 110 + 20 * i, 1 - 0.01 * i) for i in range(20)]
    pred.append((0, 0, 0, 10, 0.5))
    chars = {"length": np.array([10.0])}
    d = data(gt, pred, classes=1, chars=chars, n=1.0)
    detad = false_negative_analysis(d, DETAD, (0.5,), THUMOS14_BINS)
    haan = false_negative_analysis(d, HAAN, (0.5,), THUMOS14_BINS)
    assert detad["miss_rate_all"]["average"] == 1.0 and haan["miss_rate_all"]["average"] == 0.0
    assert detad["length"]["count"] == [0, 0, 1, 0, 0]
    assert detad["length"]["miss_rate"][2]["average"] == 1.0
    assert math.isnan(detad["length"]["miss_rate"][0]["average"])     # an empty bin


def test_sensitivity_filters_detections_of_other_bins():
    # class 0: a short (2 s) and a long (20 s) ground truth, each found; one background detection
    gt = [(0, 0, 0, 2), (0, 0, 10, 30)]
    pred = [(0, 0, 10, 30, 0.9), (0, 0, 50, 51, 0.8), (0, 0, 0, 2, 0.7)]
    chars = {"length": np.array([2.0, 20.0])}
    section = sensitivity_analysis(data(gt, pred, classes=1, chars=chars, n=2.0), HAAN, (0.5,),
                                   THUMOS14_BINS)
    # all: TP FP TP, N = 2 -> .5 + .5 * 2/3; short bin: FP TP (the long one's TP left out) ->
    # recall 0 1, precision_N 0, 2/3 -> 2/3; long bin: TP FP -> 1
    assert section["average_mAP_N"] == pytest.approx(0.5 + 0.5 * 2 / 3, abs=1e-15)
    per_bin = section["length"]["average_mAP_N"]
    assert per_bin[0] == pytest.approx(2 / 3, abs=1e-15) and per_bin[4] == 1.0
    assert per_bin[1] is None
    base = 0.5 + 0.5 * 2 / 3
    assert section["length"]["relative_change"]["min"] == pytest.approx((2 / 3) / base)


def test_detad_keeps_a_detection_only_if_it_passes_at_every_threshold():
    # the detection takes the long ground truth at 0.5 but not at 0.95 (tIoU 0.9)
    gt = [(0, 0, 0, 2), (0, 0, 10, 30)]
    pred = [(0, 0, 10, 28, 0.9), (0, 0, 0, 2, 0.7)]
    chars = {"length": np.array([2.0, 20.0])}
    d = data(gt, pred, classes=1, chars=chars, n=2.0)
    bins = THUMOS14_BINS
    detad = PROTOCOLS["detad-activitynet"]
    # short bin, DETAD: the first detection took a long one at 0.5 -> left out at both -> AP 1
    assert sensitivity_analysis(d, detad, (0.5, 0.95), bins)["length"]["average_mAP_N"][0] == 1.0
    # haan: at 0.95 it took nothing, so it stays as a false positive there: (1 + 2/3) / 2
    got = sensitivity_analysis(d, HAAN, (0.5, 0.95), bins)["length"]["average_mAP_N"][0]
    assert got == pytest.approx((1 + 2 / 3) / 2, abs=1e-15)


def test_a_segment_with_two_labels():
    """THUMOS14 labels every CliffDiving also Diving. An unmatched Diving detection on such a pair:
    DETAD takes the first ground truth of equal tIoU (CliffDiving, first in the file) and calls it
    a wrong label; haan prefers the detection's own label and calls it a double detection."""
    gt = [(0, 0, 0, 10), (0, 1, 0, 10)]                   # class 0 CliffDiving, 1 Diving
    pred = [(0, 1, 0, 10, 0.9), (0, 1, 0, 9.5, 0.8)]
    _, detad = false_positive_analysis(data(gt, pred), DETAD, (0.5,))
    _, haan = false_positive_analysis(data(gt, pred), HAAN, (0.5,))
    assert detad["codes"][0].tolist() == [0, 2]
    assert haan["codes"][0].tolist() == [0, 1]


def test_equal_tiou_visits_the_later_ground_truth_first():
    # a detection exactly between two ground truths of its class takes the later one
    matched = match_class(np.array([0, 0]), np.array([[0.0, 10], [10, 20]]), np.array([0]),
                          np.array([[5.0, 15]]), np.array([0]), [0.3])
    assert matched.tolist() == [[1]]


def test_detad_reuses_the_previous_videos_ground_truth():
    """DETAD's loop keeps the last ground truth when a video has none: of two detections in such a
    video (named after one with ground truth and an unmatched detection), one is background and
    the other is typed against the previous video's ground truth."""
    gt = [(0, 0, 0, 10)]
    pred = [(0, 0, 0, 10, 0.9), (0, 0, 50, 60, 0.85), (1, 0, 0, 9, 0.8), (1, 0, 0, 9, 0.7)]
    _, detad = false_positive_analysis(data(gt, pred, classes=1), DETAD, (0.5,))
    _, haan = false_positive_analysis(data(gt, pred, classes=1), HAAN, (0.5,))
    assert detad["codes"][0].tolist() == [0, 5, 5, 1]
    assert haan["codes"][0].tolist() == [0, 5, 5, 5]


def test_hierarchy_split_and_confusion_matrix():
    # classes 0, 1 in coarse 0; class 2 in coarse 1
    coarse_of = np.array([0, 0, 1])
    codes = np.array([[2, 4, 2, 0, 5]])
    best_label = np.array([1, 2, 0, 0, -1])
    pred_label = np.array([0, 0, 1, 0, 2])
    split = label_error_split(codes, best_label, pred_label, coarse_of, 3)
    assert split["sibling"].tolist() == [[1, 1, 0]]      # 0 vs 1, 1 vs 0
    assert split["stranger"].tolist() == [[1, 0, 0]]     # 0 vs 2
    matrix = confusion_matrix(codes[0], best_label, pred_label, 3)
    assert matrix.tolist() == [[0, 1, 1], [1, 0, 0], [0, 0, 0]]


def test_detad_quirk_counts_only_the_kept_detections():
    # 1 ground truth: the top 10 are kept; the first detection of video 1 in the file (score 0.01)
    # is cut, so the background one is the next (0.9) and the other seven reuse video 0's.
    gt = [(0, 0, 0, 10)]
    pred = [(0, 0, 0, 10, 0.99), (0, 0, 50, 60, 0.98), (1, 0, 0, 9, 0.01)]
    pred += [(1, 0, 0, 9, 0.9 - 0.01 * i) for i in range(8)]
    section, _ = false_positive_analysis(data(gt, pred, classes=1), DETAD, (0.5,))
    assert section["num_predictions"] == 10
    shares = {k: v["average"] for k, v in section["all"].items()}
    assert shares["true positive"] == 0.1 and shares["background"] == 0.2
    assert shares["double detection"] == pytest.approx(0.7, abs=1e-15)
