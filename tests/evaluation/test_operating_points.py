"""Operating points (P/R/F1 against the score threshold, best-F1 thresholds, thresholds applied)
and proposal recall (AR@AN, recall vs tIoU): hand-worked cases, and the official evaluators'
rules written plainly here (eval_detection's greedy matching, eval_proposal's
average_recall_vs_avg_nr_proposals) as references on random data."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from haan.errors import DataWarning, InputError
from haan.evaluation.activitynet import read_ground_truth, read_predictions
from haan.evaluation.operating_points import (
    best_f1,
    class_curves,
    match_detections,
    operating_curve,
    proposal_recall,
    thresholded_counts,
)
from haan.evaluation.operating_report import (
    choose_thresholds,
    choose_thresholds_file,
    operating_points_section,
    recall_section,
)
from haan.evaluation.thresholds import (
    ThresholdsFile,
    parse_thresholds,
    read_thresholds,
    write_thresholds,
)

# ----------------------------------------------------------------------------------------------
# References, written plainly from the official code's rules


def plain_tiou(target, candidates):
    """eval_detection's / eval_proposal's segment_iou: target (2,), candidates (n, 2) -> (n,)."""
    candidates = np.asarray(candidates, dtype=np.float64).reshape(-1, 2)
    inter = (np.minimum(target[1], candidates[:, 1]) - np.maximum(target[0], candidates[:, 0]))
    inter = inter.clip(0)
    union = (candidates[:, 1] - candidates[:, 0]) + (target[1] - target[0]) - inter
    return inter.astype(float) / union


def plain_matching(gt_video, gt_label, gt_segment, pred_video, pred_label, pred_segment,
                   pred_score, tiou):
    """Per class: detections by np.argsort(score)[::-1]; each takes the first free ground truth of
    its video in np.argsort(tIoU)[::-1] order, stopping below the threshold."""
    is_tp = np.zeros(len(pred_score), dtype=bool)
    for c in np.unique(pred_label):
        g_idx = np.flatnonzero(gt_label == c)
        p_idx = np.flatnonzero(pred_label == c)
        locked = {}
        for i in p_idx[np.argsort(pred_score[p_idx])[::-1]]:
            mine = g_idx[gt_video[g_idx] == pred_video[i]]
            if len(mine) == 0:
                continue
            ious = plain_tiou(pred_segment[i], gt_segment[mine])
            for j in ious.argsort()[::-1]:
                if ious[j] < tiou:
                    break
                if mine[j] in locked:
                    continue
                locked[mine[j]] = i
                is_tp[i] = True
                break
    return is_tp


def plain_proposal_recall(gt_video, gt_segment, prop_video, prop_segment, prop_score,
                          thresholds, max_avg):
    """eval_proposal.average_recall_vs_avg_nr_proposals, video by video."""
    videos = list(dict.fromkeys(gt_video.tolist()))
    if not max_avg:
        max_avg = float(len(prop_video)) / len(videos)
    ratio = max_avg * float(len(videos)) / len(prop_video)
    scores, total = [], 0
    for v in videos:
        truth = gt_segment[gt_video == v]
        mine = np.flatnonzero(prop_video == v)
        if len(mine) == 0:
            scores.append(np.zeros((len(truth), 1)))
            continue
        props = prop_segment[mine][np.argsort(prop_score[mine])[::-1]]
        kept = min(int(len(props) * ratio), len(props))
        total += kept
        props = props[:kept]
        tiou = np.empty((len(truth), kept))
        for i in range(kept):
            tiou[:, i] = plain_tiou(props[i], truth)
        scores.append(tiou)
    pcn = np.arange(1, 101) / 100.0 * (max_avg * float(len(videos)) / total)
    recall = np.empty((len(thresholds), 100))
    for r, t in enumerate(thresholds):
        matches = np.zeros((len(videos), 100))
        positives = np.zeros(len(videos))
        for i, s in enumerate(scores):
            positives[i] = s.shape[0]
            hit = s >= t
            counts = np.minimum((s.shape[1] * pcn).astype(int), s.shape[1])
            for j, k in enumerate(counts):
                matches[i, j] = np.count_nonzero(hit[:, :k].sum(axis=1))
        recall[r] = matches.sum(axis=0) / positives.sum()
    average = recall.mean(axis=0)
    per_video = pcn * (float(total) / len(videos))
    area = float(((per_video[1:] - per_video[:-1]) * (average[1:] + average[:-1]) / 2.0).sum())
    return recall, average, per_video, 100.0 * area / per_video[-1]


def random_detections(seed, videos=12, classes=4, gts=60, dets=400, tie_scores=False):
    rng = np.random.default_rng(seed)
    gv, gl = rng.integers(0, videos, gts), rng.integers(0, classes, gts)
    start = rng.uniform(0, 100, gts)
    gs = np.stack([start, start + rng.uniform(1, 15, gts)], axis=1)
    near = rng.random(dets) < 0.6
    k = rng.integers(0, gts, dets)
    pv = np.where(near, gv[k], rng.integers(0, videos + 2, dets))     # 2 videos without truth
    pl = np.where(near & (rng.random(dets) < 0.8), gl[k], rng.integers(0, classes, dets))
    ps = np.where(near, gs[k, 0] + rng.normal(0, 2, dets), rng.uniform(0, 100, dets))
    psg = np.stack([ps, ps + np.where(near, gs[k, 1] - gs[k, 0], 5) + rng.normal(0, 1, dets)], 1)
    score = rng.random(dets)
    if tie_scores:
        score = np.round(score, 1)
    return gv, gl, gs, pv, pl, psg, score


# ----------------------------------------------------------------------------------------------
# Matching and curves


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("tiou", [0.3, 0.5, 0.7])
def test_matching_is_the_official_greedy_matching(seed, tiou):
    gv, gl, gs, pv, pl, psg, score = random_detections(seed)
    got = match_detections(gv, gl, gs, pv, pl, psg, score, tiou)
    want = plain_matching(gv, gl, gs, pv, pl, psg, score, tiou)
    assert got.sum() > 10
    np.testing.assert_array_equal(got, want)


def test_curve_by_hand():
    # One class, G = 2 in one video. 0.9 takes A; 0.8 overlaps A again (taken: false positive);
    # 0.7 takes B; 0.6 hits nothing.
    gt = np.array([[0.0, 10.0], [20.0, 30.0]])
    pred = np.array([[0.0, 10.0], [1.0, 10.0], [20.0, 29.0], [50.0, 60.0]])
    score = np.array([0.8, 0.9, 0.7, 0.6])  # input order is not rank order
    is_tp = match_detections([0, 0], [0, 0], gt, [0] * 4, [0] * 4, pred, score, 0.5)
    np.testing.assert_array_equal(is_tp, [False, True, True, False])
    curve = operating_curve(score, is_tp, 2)
    np.testing.assert_array_equal(curve.threshold, [0.9, 0.8, 0.7, 0.6])
    np.testing.assert_array_equal(curve.detections, [1, 2, 3, 4])
    np.testing.assert_array_equal(curve.true_positives, [1, 1, 2, 2])
    np.testing.assert_array_equal(curve.precision, [1 / 1, 1 / 2, 2 / 3, 2 / 4])
    np.testing.assert_array_equal(curve.recall, [1 / 2, 1 / 2, 2 / 2, 2 / 2])
    np.testing.assert_array_equal(curve.f1, [2 / 3, 2 / 4, 4 / 5, 4 / 6])
    best = best_f1(curve)
    assert (best.threshold, best.detections, best.true_positives, best.f1) == (0.7, 3, 2, 0.8)
    assert (best.precision, best.recall) == (2 / 3, 1.0)


def test_equal_scores_are_one_step_and_best_f1_ties_take_the_highest_threshold():
    # G = 3. Scores 0.9 (TP), 0.8 x2 (FP, FP: one step), 0.6 (FP), 0.5 (TP).
    # F1 = 2TP / (D + G): 2/4 = 0.5, 2/6, 2/7, 4/8 = 0.5 -> the tie goes to 0.9.
    score = np.array([0.9, 0.8, 0.8, 0.6, 0.5])
    is_tp = np.array([True, False, False, False, True])
    curve = operating_curve(score, is_tp, 3)
    np.testing.assert_array_equal(curve.threshold, [0.9, 0.8, 0.6, 0.5])
    np.testing.assert_array_equal(curve.detections, [1, 3, 4, 5])
    np.testing.assert_array_equal(curve.f1, [2 / 4, 2 / 6, 2 / 7, 4 / 8])
    assert best_f1(curve).threshold == 0.9
    # No true positive at all: keep nothing, i.e. just above the highest score.
    nothing = best_f1(operating_curve(score, np.zeros(5, dtype=bool), 3))
    assert nothing.threshold == np.nextafter(0.9, 1.0) and nothing.f1 == 0.0
    assert nothing.detections == 0 and math.isnan(nothing.precision)
    # No ground truth (F1 undefined) or no detection (no score): no choice.
    assert best_f1(operating_curve(score, np.zeros(5, dtype=bool), 0)) is None
    assert best_f1(operating_curve(np.zeros(0), np.zeros(0, dtype=bool), 3)) is None


def test_class_curves_pooled_curve_and_thresholded_counts_by_hand():
    # Class 0: G = 2, (0.9 TP, 0.4 TP, 0.3 FP); class 1: G = 1, (0.8 FP, 0.5 TP); class 2: G = 0.
    label = np.array([0, 1, 0, 1, 0])
    score = np.array([0.9, 0.8, 0.4, 0.5, 0.3])
    is_tp = np.array([True, False, True, True, False])
    gts = np.array([2, 1, 0])
    c0, c1, c2 = class_curves(label, score, is_tp, gts)
    np.testing.assert_array_equal(c0.f1, [2 / 3, 4 / 4, 4 / 5])
    np.testing.assert_array_equal(c1.f1, [0 / 2, 2 / 3])
    assert len(c2.threshold) == 0
    pooled = operating_curve(score, is_tp, 3)       # micro: one threshold for all classes
    np.testing.assert_array_equal(pooled.threshold, [0.9, 0.8, 0.5, 0.4, 0.3])
    np.testing.assert_array_equal(pooled.true_positives, [1, 1, 2, 3, 3])
    np.testing.assert_array_equal(pooled.f1, [2 / 4, 2 / 5, 4 / 6, 6 / 7, 6 / 8])
    assert best_f1(c0).threshold == 0.4 and best_f1(c1).threshold == 0.5
    # Thresholds 0.5 for class 0 (keeps 0.9 only), 0.5 for class 1 (both), -inf for class 2.
    counts = thresholded_counts(label, score, is_tp, gts, np.array([0.5, 0.5, -np.inf]))
    np.testing.assert_array_equal(counts.detections, [1, 2, 0])
    np.testing.assert_array_equal(counts.true_positives, [1, 1, 0])


# ----------------------------------------------------------------------------------------------
# AR@AN


@pytest.mark.parametrize("case", [
    dict(seed=3, dets=400, max_avg=100.0),          # every proposal kept (few per video)
    dict(seed=4, dets=3000, max_avg=100.0),         # ratio < 1: each video keeps its top part
    dict(seed=5, dets=500, max_avg=None),           # max_avg = P / V
    dict(seed=6, dets=600, max_avg=7.0, tie_scores=True),   # ties cut by the truncation
])
def test_average_recall_is_eval_proposals(case):
    gv, _, gs, pv, _, psg, score = random_detections(case["seed"], dets=case["dets"],
                                                      tie_scores=case.get("tie_scores", False))
    pv = np.where(pv == 3, 0, pv)   # video 3 has ground truth but no proposal
    thresholds = np.linspace(0.5, 0.95, 10)
    got = proposal_recall(gv, gs, pv, psg, score, thresholds, case["max_avg"])
    recall, average, per_video, auc = plain_proposal_recall(gv, gs, pv, psg, score, thresholds,
                                                            case["max_avg"])
    assert 0 < average[-1] < 1
    np.testing.assert_array_equal(got.recall, recall)
    np.testing.assert_array_equal(got.average_recall, average)
    np.testing.assert_array_equal(got.average_proposals, per_video)
    assert got.area_under_curve == pytest.approx(auc, rel=1e-12)
    assert got.num_videos == len(np.unique(gv))


def test_average_recall_by_hand():
    # Two videos, max_avg 2, 4 proposals in all: ratio = 2 * 2 / 4 = 1, every proposal kept.
    # Video 0: truths [0, 10], [20, 30]; proposals by score: [20, 30] (0.9), [0, 4] (0.8).
    # Video 1: truth [0, 10]; proposals [0, 10] (0.7), [0, 9] (0.6).
    gt = np.array([[0, 10], [20, 30], [0, 10]], dtype=float)
    props = np.array([[20, 30], [0, 4], [0, 10], [0, 9]], dtype=float)
    got = proposal_recall([0, 0, 1], gt, [0, 0, 1, 1], props, [0.9, 0.8, 0.7, 0.6], [0.5],
                          max_average_proposals=2.0)
    # pcn_j = j / 100 * (2 * 2 / 4); each video sees int(2 * pcn_j) of its 2 proposals: none
    # below j = 50, one from j = 50, two at j = 100. One proposal each: [20, 30] in video 0 and
    # [0, 10] in video 1 -> 2 of 3; the second, [0, 4] (tIoU 0.4), adds nothing.
    np.testing.assert_array_equal(got.recall[0, :49], 0.0)
    np.testing.assert_array_equal(got.recall[0, 49:], 2 / 3)
    np.testing.assert_array_equal(got.average_proposals, np.arange(1, 101) / 100.0 * (4 / 2))


# ----------------------------------------------------------------------------------------------
# From ActivityNet files: sections and thresholds


def write_files(tmp_path):
    """Two classes, subsets "val" (videos a, b) and "test" (c)."""
    database = {
        "a": {"subset": "val", "annotations": [{"segment": [0, 10], "label": "Jump"},
                                              {"segment": [20, 30], "label": "Run"}]},
        "b": {"subset": "val", "annotations": [{"segment": [5, 15], "label": "Jump"}]},
        "c": {"subset": "test", "annotations": [{"segment": [0, 10], "label": "Jump"},
                                               {"segment": [40, 50], "label": "Run"}]},
    }
    results = {
        "a": [{"segment": [0, 10], "label": "Jump", "score": 0.9},     # TP
              {"segment": [0, 9], "label": "Jump", "score": 0.6},      # duplicate: FP
              {"segment": [20, 30], "label": "Run", "score": 0.3},     # TP
              {"segment": [0, 10], "label": "Swim", "score": 0.99}],   # unknown label: left out
        "b": [{"segment": [5, 15], "label": "Jump", "score": 0.5},     # TP
              {"segment": [60, 70], "label": "Run", "score": 0.8}],    # FP
        "c": [{"segment": [0, 10], "label": "Jump", "score": 0.7},     # TP in test
              {"segment": [30, 35], "label": "Jump", "score": 0.95},   # FP (other subset on val)
              {"segment": [40, 50], "label": "Run", "score": 0.2}],    # TP below Run's threshold
    }
    gt, pred = tmp_path / "gt.json", tmp_path / "pred.json"
    gt.write_text(json.dumps({"database": database}))
    pred.write_text(json.dumps({"results": results}))
    return read_ground_truth(gt), read_predictions(pred)


def test_choose_on_one_subset_apply_on_another(tmp_path):
    gt, pred = write_files(tmp_path)
    names = ["Jump", "Run"]
    # On val, Jump (G = 2): 0.95 FP (video c of test), 0.9 TP, 0.7 FP (c), 0.6 FP, 0.5 TP:
    # F1 = 0/3, 2/4, 2/5, 2/6, 4/7 -> 0.5 (4/7). Run (G = 1): 0.8 FP, 0.3 TP, 0.2 FP (c):
    # 0/2, 2/3, 2/4 -> 0.3. Pooled (G = 3): Jump's and Run's scores together.
    assert choose_thresholds(gt, pred, names, 0.5, subset="val") == {"Jump": 0.5, "Run": 0.3}
    chosen = choose_thresholds_file(gt, pred, names, 0.5, subset="val")
    # pooled, highest first: .95 F .9 T .8 F .7 F .6 F .5 T .3 T .2 F, G = 3:
    # F1 = 0, 2/5, 2/6, 2/7, 2/8, 4/9, 6/10, 6/11 -> 0.3
    assert chosen == ThresholdsFile(0.5, "val", {"Jump": 0.5, "Run": 0.3}, 0.3)
    path = tmp_path / "thresholds.json"
    write_thresholds(path, chosen)
    assert read_thresholds(path) == chosen

    section = operating_points_section(gt, pred, names, 0.5, read_thresholds(path), subset="test")
    # On test, predictions on val's videos a and b are false positives (the official rule).
    # Jump (G = 1) keeps 0.95 (c), 0.9 (a), 0.7 (c: its TP), 0.6 (a), 0.5 (b); Run (G = 1) keeps
    # 0.8 (b), 0.3 (a) and drops 0.2 (c), its true positive.
    applied = section["thresholds"]
    assert applied["per_class"]["Jump"] == {"threshold": 0.5, "true_positives": 1, "detections": 5,
                                            "num_ground_truths": 1, "precision": 1 / 5,
                                            "recall": 1.0, "f1": 2 / 6}
    assert applied["per_class"]["Run"] == {"threshold": 0.3, "true_positives": 0, "detections": 2,
                                           "num_ground_truths": 1, "precision": 0.0,
                                           "recall": 0.0, "f1": 0.0}
    assert applied["overall"] == {"true_positives": 1, "detections": 7, "num_ground_truths": 2,
                                  "precision": 1 / 7, "recall": 1 / 2, "f1": 2 / 9}
    assert applied["mean_f1"] == (2 / 6 + 0.0) / 2
    assert (applied["chosen_at_tiou"], applied["chosen_on_subset"], applied["default"]) == (
        0.5, "val", 0.3)
    # The curves are there too, with the keys documented.
    assert set(section) == {"tiou", "pooling", "overall", "per_class", "thresholds"}
    assert set(section["overall"]) == {"num_ground_truths", "threshold", "detections",
                                       "true_positives", "precision", "recall", "f1", "best"}
    assert section["per_class"]["Run"]["best"]["threshold"] == 0.2

    # A class the file does not list gets the default; null default keeps its detections.
    only_jump = ThresholdsFile(0.5, "val", {"Jump": 0.5}, None)
    again = operating_points_section(gt, pred, names, 0.5, only_jump, subset="test")
    assert again["thresholds"]["per_class"]["Run"]["threshold"] is None
    assert again["thresholds"]["per_class"]["Run"]["true_positives"] == 1
    with pytest.warns(DataWarning, match="chosen at tIoU 0.5, applied at 0.7"):
        operating_points_section(gt, pred, names, 0.7, only_jump, subset="test")


def test_recall_section_keys_and_values(tmp_path):
    gt, pred = write_files(tmp_path)
    section = recall_section(gt, pred, subset="val")
    assert section["num_videos"] == 2 and section["num_ground_truths"] == 3
    assert section["num_proposals"] == 9            # every prediction in the file, any label
    assert list(section["ar_at"]) == ["1", "10", "50", "100"]
    assert len(section["average_proposals"]) == len(section["average_recall"]) == 100
    assert len(section["recall"]) == 10 and len(section["recall_vs_tiou"]["tiou"]) == 18
    # All 3 truths have an exact proposal in their video, all kept (ratio = 100 * 2 / 9 > 1):
    # recall 1 at every tIoU once each video sees all of its proposals.
    assert section["average_recall"][-1] == 1.0
    assert section["recall_vs_tiou"]["recall"]["100"] == [1.0] * 18


# ----------------------------------------------------------------------------------------------
# Thresholds files


@pytest.mark.parametrize("content, message", [
    ("[]", "expected a JSON object"),
    ('{"tiou": 0.5}', 'missing key "thresholds"'),
    ('{"thresholds": {}}', 'missing key "tiou"'),
    ('{"tiou": 0.5, "thresholds": {}, "treshold": 1}', 'unknown key "treshold"'),
    ('{"tiou": 1.5, "thresholds": {}}', '"tiou" must be a number in (0, 1], got 1.5'),
    ('{"tiou": true, "thresholds": {}}', '"tiou" must be a number in (0, 1], got true'),
    ('{"tiou": 0.5, "subset": 3, "thresholds": {}}', '"subset" must be a string or null'),
    ('{"tiou": 0.5, "thresholds": [0.1]}', '"thresholds" must be an object'),
    ('{"tiou": 0.5, "thresholds": {"Jump": "0.3"}}',
     'thresholds["Jump"] must be a finite number, got "0.3"'),
    ('{"tiou": 0.5, "thresholds": {"Jump": NaN}}', 'thresholds["Jump"] must be a finite number'),
    ('{"tiou": 0.5, "thresholds": {}, "default": "x"}', '"default" must be a finite number or null'),
    ('{"tiou": 0.5, ', "invalid JSON"),
])
def test_bad_thresholds_files_are_one_line_naming_the_file(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(InputError) as err:
        read_thresholds(path)
    text = str(err.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text


def test_min_scores_and_unknown_classes():
    chosen = parse_thresholds({"tiou": 0.5, "thresholds": {"b": 0.25}, "default": 0.5}, "f.json")
    np.testing.assert_array_equal(chosen.min_scores(["a", "b"]), [0.5, 0.25])
    keep_all = parse_thresholds({"tiou": 0.5, "thresholds": {"b": 0.25}}, "f.json")
    np.testing.assert_array_equal(keep_all.min_scores(["a", "b"]), [-np.inf, 0.25])
    with pytest.raises(InputError, match=r'^f.json: thresholds: "b" not among the 1 classes'):
        chosen.min_scores(["a"])


def test_recall_section_is_activitynets_own_output():
    """tests/fixtures/anet_proposal: the official eval_proposal function was run once on these
    files (make_expected.py there); ratio < 1, ties, a video without proposals, proposals on a
    training video and on an unknown one."""
    case = Path(__file__).resolve().parents[1] / "fixtures" / "anet_proposal"
    expected = json.loads((case / "expected.json").read_text())
    section = recall_section(read_ground_truth(case / "gt.json"),
                             read_predictions(case / "pred.json"), subset=expected["subset"])
    assert section["recall"] == expected["recall"]
    assert section["average_recall"] == expected["average_recall"]
    assert section["average_proposals"] == expected["proposals_per_video"]
    assert section["area_under_curve"] == pytest.approx(expected["area_under_curve_percent"],
                                                        rel=1e-12)
    assert section["num_proposals"] > 100 * section["num_videos"]


def test_max_points_keeps_the_ends_and_the_best_point(tmp_path):
    gv, gl, gs, pv, pl, psg, score = random_detections(9, dets=600)
    database = {f"v{v}": {"subset": "test", "annotations": [
        {"segment": gs[k].tolist(), "label": f"c{gl[k]}"} for k in np.flatnonzero(gv == v)]}
        for v in range(14)}
    results = {f"v{v}": [{"segment": psg[k].tolist(), "label": f"c{pl[k]}", "score": score[k]}
                         for k in np.flatnonzero(pv == v)] for v in range(14)}
    (tmp_path / "gt.json").write_text(json.dumps({"database": database}))
    (tmp_path / "pred.json").write_text(json.dumps({"results": results}))
    gt, pred = read_ground_truth(tmp_path / "gt.json"), read_predictions(tmp_path / "pred.json")
    full = operating_points_section(gt, pred, gt.labels, 0.5)
    short = operating_points_section(gt, pred, gt.labels, 0.5, max_points=20)
    for a, b in [(full["overall"], short["overall"])] + [
            (full["per_class"][n], short["per_class"][n]) for n in gt.labels]:
        assert b["best"] == a["best"] and len(b["threshold"]) <= 20 < len(a["threshold"])
        rows = [a["threshold"].index(t) for t in b["threshold"]]
        assert rows[0] == 0 and rows[-1] == len(a["threshold"]) - 1 and rows == sorted(rows)
        assert a["threshold"].index(a["best"]["threshold"]) in rows
        for key in ("detections", "true_positives", "precision", "recall", "f1"):
            assert b[key] == [a[key][r] for r in rows]


def test_no_proposal_at_all_recalls_nothing():
    # The official code divides by zero here; haan says recall 0 on the official AN grid.
    got = proposal_recall([0, 1], np.array([[0.0, 5.0], [1.0, 2.0]]), np.zeros(0, dtype=np.int64),
                          np.zeros((0, 2)), np.zeros(0))
    np.testing.assert_array_equal(got.recall, 0.0)
    np.testing.assert_array_equal(got.average_proposals, np.arange(1, 101) / 100.0 * 100.0)
    assert got.area_under_curve == 0.0 and got.num_proposals_kept == 0
