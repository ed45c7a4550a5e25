"""haan.evaluation.activitynet: the official ActivityNet evaluator's numbers on cases built for each of its
rules (tests/fixtures/anet_cases: the official `eval_detection.py` was run once on them outside this
repository), a plain-loop reference of those rules written here, the subset/label/video rules and
their warnings, odd segments, the hierarchy, and bad files as one-line errors."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from haan.errors import DataWarning, InputError
from haan.evaluation.activitynet import (
    DEFAULT_TIOU_THRESHOLDS,
    evaluate_files,
    read_ground_truth,
    read_predictions,
    write_report,
)

CASES = Path(__file__).resolve().parents[1] / "fixtures" / "anet_cases"
CASE_NAMES = ["other_subsets", "threshold_0_9", "ties", "string_segments"]


def write(path: Path, obj) -> Path:
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return path


def evaluate_quietly(*args, **kwargs):
    """evaluate_files and the DataWarning messages it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = evaluate_files(*args, **kwargs)
    return report, [str(w.message) for w in caught if issubclass(w.category, DataWarning)]


# ----------------------------------------------------------------------------------------------
# Plain-loop reference of the official rules


def reference(gt_path: Path, pred_path: Path, subset: str, thresholds, other_subsets: str,
              visit_order=lambda tiou: np.argsort(tiou)[::-1]) -> dict[str, list[float]]:
    """Per-class AP by the official evaluator's rules, with loops: ground truth of `subset` only;
    every prediction with a class of it (also on other videos: false positives, unless dropped);
    detections ranked by argsort(score)[::-1]; each visits the ground truths of its class and video
    in `visit_order` of its tIoU with all of them (in file order), and stops at the first one below
    the threshold."""
    database = json.loads(gt_path.read_text())["database"]
    results = json.loads(pred_path.read_text())["results"]
    gts: dict[str, list] = {}
    for video, entry in database.items():
        if entry["subset"] == subset:
            for a in entry["annotations"]:
                gts.setdefault(a["label"], []).append((video, float(a["segment"][0]), float(a["segment"][1])))
    preds: dict[str, list] = {label: [] for label in gts}
    for video, dets in results.items():
        if other_subsets == "drop" and video in database and database[video]["subset"] != subset:
            continue
        for d in dets:
            preds[d["label"]].append((video, float(d["segment"][0]), float(d["segment"][1]), float(d["score"])))
    ap = {}
    for label, class_gts in gts.items():
        class_preds = preds[label]
        rank = np.argsort(np.array([p[3] for p in class_preds]))[::-1] if class_preds else []
        taken = [[False] * len(class_gts) for _ in thresholds]
        tp = [[0] * len(class_preds) for _ in thresholds]
        for r, i in enumerate(rank):
            video, s1, e1, _ = class_preds[i]
            same = [j for j, g in enumerate(class_gts) if g[0] == video]
            tiou = []
            for j in same:
                _, s2, e2 = class_gts[j]
                inter = max(0.0, min(e1, e2) - max(s1, s2))
                tiou.append(inter / ((e2 - s2) + (e1 - s1) - inter))
            order = visit_order(np.array(tiou)) if same else []
            for t, thr in enumerate(thresholds):
                for k in order:
                    if tiou[k] < thr:
                        break
                    if not taken[t][same[k]]:
                        taken[t][same[k]] = True
                        tp[t][r] = 1
                        break
        ap[label] = []
        for t in range(len(thresholds)):
            prec, rec, hits = [], [], 0
            for n in range(len(class_preds)):
                hits += tp[t][n]
                prec.append(hits / (n + 1))
                rec.append(hits / len(class_gts))
            mprec, mrec = [0.0] + prec + [0.0], [0.0] + rec + [1.0]
            for n in range(len(mprec) - 2, -1, -1):
                mprec[n] = max(mprec[n], mprec[n + 1])
            ap[label].append(sum((mrec[n] - mrec[n - 1]) * mprec[n] for n in range(1, len(mrec))
                                 if mrec[n] != mrec[n - 1]))
    return ap


def later_first(tiou: np.ndarray) -> list[int]:
    """Decreasing tIoU, equal ones later-first: what haan assumed before (a stable sort)."""
    return sorted(range(len(tiou)), key=lambda k: tiou[k])[::-1]


def case_runs():
    for name in CASE_NAMES:
        expected = json.loads((CASES / name / "expected.json").read_text())
        for i, run in enumerate(expected["runs"]):
            yield pytest.param(name, run, expected.get("tied_tiou_argsorts", []), id=f"{name}-{i}")


def argsort_as_when_recorded(tied: list[dict]) -> bool:
    """Does numpy's argsort on this machine order the tied arrays as on the machine that ran the
    official evaluator (AVX-512)? It decides the official visiting order of equal tIoUs."""
    return all(np.argsort(np.array(t["tiou"])).tolist() == t["argsort"] for t in tied)


# ----------------------------------------------------------------------------------------------
# The official evaluator's numbers


@pytest.mark.parametrize("name, run, tied", list(case_runs()))
def test_official_cases(name, run, tied):
    folder = CASES / name
    report, _ = evaluate_quietly(folder / "gt.json", folder / "pred.json", subset=run["subset"],
                                 tiou_thresholds=run["tiou_thresholds"], other_subsets=run["other_subsets"])
    got = report.to_dict()
    assert got["tiou_thresholds"] == run["tiou_thresholds"]
    assert sorted(got["per_class_ap"]) == sorted(run["per_class_ap"])
    # Machine-independent: haan follows the rules as written in the reference above.
    want = reference(folder / "gt.json", folder / "pred.json", run["subset"], run["tiou_thresholds"],
                     run["other_subsets"])
    for label, ap in want.items():
        np.testing.assert_allclose(got["per_class_ap"][label], ap, rtol=0, atol=1e-12)
    if not argsort_as_when_recorded(tied):
        pytest.skip("numpy's argsort orders equal values differently on this machine than where the "
                    "official evaluator ran; compared with the reference only")
    for label, ap in run["per_class_ap"].items():
        np.testing.assert_allclose(got["per_class_ap"][label], ap, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got["mAP"], run["mAP"], rtol=0, atol=1e-12)
    assert got["average_mAP"] == pytest.approx(run["average_mAP"], abs=1e-12)


def test_the_cases_exercise_their_rules():
    """Each case tells the official rule from what haan did before."""
    runs = {name: json.loads((CASES / name / "expected.json").read_text()) for name in CASE_NAMES}
    # Other subsets: their predictions as false positives vs dropped give other numbers.
    fp_run, drop_run = runs["other_subsets"]["runs"]
    assert (fp_run["other_subsets"], drop_run["other_subsets"]) == ("false-positive", "drop")
    assert abs(fp_run["average_mAP"] - drop_run["average_mAP"]) > 0.1

    # A detection at tIoU exactly 0.8999999999999999 is a match at that threshold, not at 0.9.
    folder = CASES / "threshold_0_9"
    exact = runs["threshold_0_9"]["runs"][0]
    assert exact["tiou_thresholds"][8] == 0.8999999999999999
    rounded, _ = evaluate_quietly(folder / "gt.json", folder / "pred.json", subset="validation",
                                  tiou_thresholds=np.round(exact["tiou_thresholds"], 2))
    assert rounded.metrics.mAP[8] < exact["mAP"][8] - 0.1

    # Ties between 4+ ground truths: the official order is not later-first (on this machine).
    ties = runs["ties"]
    assert any(len(t["tiou"]) >= 4 and np.argsort(np.array(t["tiou"]))[::-1].tolist() != later_first(
        np.array(t["tiou"])) for t in ties["tied_tiou_argsorts"])
    if argsort_as_when_recorded(ties["tied_tiou_argsorts"]):
        folder = CASES / "ties"
        for run in ties["runs"]:
            old = reference(folder / "gt.json", folder / "pred.json", run["subset"],
                            run["tiou_thresholds"], run["other_subsets"], visit_order=later_first)
            assert any(not np.allclose(old[label], ap, rtol=0, atol=1e-12)
                       for label, ap in run["per_class_ap"].items())

    # String segments: the ground truth has only "database", no "duration", strings everywhere.
    gt = json.loads((CASES / "string_segments" / "gt.json").read_text())
    assert list(gt) == ["database"]
    assert all("duration" not in v and all(type(x) is str for a in v["annotations"] for x in a["segment"])
               for v in gt["database"].values())


def test_default_thresholds_are_numpy_linspace_exactly():
    assert DEFAULT_TIOU_THRESHOLDS == tuple(np.linspace(0.5, 0.95, 10).tolist())
    assert DEFAULT_TIOU_THRESHOLDS[8] == 0.8999999999999999


# ----------------------------------------------------------------------------------------------
# Reading


def test_numeric_strings_are_read_as_float_reads_them(tmp_path):
    gt = write(tmp_path / "gt.json", {"database": {"v": {"annotations": [
        {"segment": ["88.6", "90.9"], "label": "a"}, {"segment": [" 1e1 ", 12], "label": "a"}]}}})
    pred = write(tmp_path / "p.json", {"results": {"v": [{"segment": ["0.1", 0.2], "label": "a", "score": "0.5"}]}})
    g, p = read_ground_truth(gt), read_predictions(pred)
    assert g.segment.tolist() == [[88.6, 90.9], [10.0, 12.0]] and g.subsets == [None]
    assert p.segment.tolist() == [[0.1, 0.2]] and p.score.tolist() == [0.5]


# ----------------------------------------------------------------------------------------------
# Subsets, labels, unknown videos: the rules and their warnings


GT = {"database": {
    "v0": {"subset": "validation", "annotations": [{"segment": [0, 10], "label": "jump"},
                                                   {"segment": [20, 30], "label": "spin"}]},
    "v1": {"subset": "validation", "annotations": []},
    "v2": {"subset": "testing", "annotations": [{"segment": [0, 10], "label": "jump"},
                                                {"segment": [0, 10], "label": "flip"}]},
    "v3": {"subset": "testing", "annotations": []},
}}
PRED = {"results": {
    # jump [0,10] .9 TP; spin [20,26] tIoU .6: TP at .5, FP at .7.
    "v0": [{"segment": [0, 10], "label": "jump", "score": 0.9},
           {"segment": [20, 26], "label": "spin", "score": 0.8},
           {"segment": [0, 10], "label": "dance", "score": 0.99}],    # never used: ignored
    "v1": [{"segment": [0, 10], "label": "flip", "score": 0.7}],     # flip: no GT in validation
    # Other subset: 2 jump predictions (1.0, .95) rank first; the dance one is only ignored.
    "v2": [{"segment": [0, 10], "label": "jump", "score": 1.0},
           {"segment": [0, 10], "label": "jump", "score": 0.95},
           {"segment": [0, 10], "label": "dance", "score": 0.5}],
    "v3": [{"segment": [0, 10], "label": "dance", "score": 0.5}],    # ignored label only
    # Unknown video: jump .92 (FP) and an ignored label.
    "elsewhere": [{"segment": [0, 10], "label": "jump", "score": 0.92},
                  {"segment": [0, 10], "label": "dance", "score": 0.1}],
}}


def test_other_subsets_are_false_positives_and_warnings_count_exactly(tmp_path):
    report, messages = evaluate_quietly(write(tmp_path / "gt.json", GT), write(tmp_path / "p.json", PRED),
                                        subset="validation", tiou_thresholds=[0.5, 0.7])
    got = report.to_dict()
    # jump, by score: v2 1.0 FP, v2 .95 FP, elsewhere .92 FP, v0 .9 TP -> prec 0 0 0 1/4, rec 0 0 0 1:
    # AP = 1/4 at both thresholds. spin: AP 1 and 0.
    assert got["per_class_ap"] == {"jump": [0.25, 0.25], "spin": [1.0, 0.0]}
    assert got["mAP"] == [0.625, 0.125] and got["average_mAP"] == 0.375
    assert got["classes_without_ground_truth"] == ["flip"]
    assert got["ignored_prediction_labels"] == ["dance"]
    assert report.num_predictions == 6 and report.num_ground_truths == 2
    p = tmp_path / "p.json"
    assert messages == [
        f"{p}: 4 predictions with labels the ground truth never uses are ignored: dance",
        f"{p}: 2 predictions on 1 videos of other subsets than 'validation' count as false positives "
        "(as in the official evaluator)",
        f"{p}: 1 predictions on 1 videos unknown to {tmp_path / 'gt.json'} count as false positives",
    ]


def test_other_subsets_can_be_dropped(tmp_path):
    report, messages = evaluate_quietly(write(tmp_path / "gt.json", GT), write(tmp_path / "p.json", PRED),
                                        subset="validation", tiou_thresholds=[0.5, 0.7], other_subsets="drop")
    # jump: elsewhere .92 FP, v0 .9 TP -> AP 1/2.
    assert report.to_dict()["per_class_ap"] == {"jump": [0.5, 0.5], "spin": [1.0, 0.0]}
    assert report.num_predictions == 4
    assert messages[1] == (f"{tmp_path / 'p.json'}: 2 predictions on 1 videos of other subsets than "
                           "'validation' are dropped")
    with pytest.raises(ValueError, match="other_subsets"):
        evaluate_files(tmp_path / "gt.json", tmp_path / "p.json", other_subsets="ignore")


def test_without_a_subset_every_video_counts(tmp_path):
    report, messages = evaluate_quietly(write(tmp_path / "gt.json", GT), write(tmp_path / "p.json", PRED),
                                        tiou_thresholds=[0.5])
    got = report.to_dict()
    assert got["classes_without_ground_truth"] == [] and set(got["per_class_ap"]) == {"flip", "jump", "spin"}
    assert len(messages) == 2  # ignored labels and the unknown video; no other subset


def test_odd_segments_warn_once_per_kind_with_evaluated_counts(tmp_path):
    gt = {"database": {"v0": {"subset": "validation", "annotations": [
        {"segment": [-1, 5], "label": "a"}, {"segment": [7, 7], "label": "a"}]},
        "v1": {"subset": "testing", "annotations": [{"segment": [5, 1], "label": "a"}]}}}
    pred = {"results": {"v0": [
        {"segment": [2, 0], "label": "a", "score": 0.5},      # reversed
        {"segment": [-3, -4], "label": "a", "score": 0.5},    # reversed and starts before 0
        {"segment": [3, 3], "label": "a", "score": 0.5},      # zero length
        {"segment": [3, 3], "label": "zzz", "score": 0.5}]}}  # ignored: not counted
    _, messages = evaluate_quietly(write(tmp_path / "gt.json", gt), write(tmp_path / "p.json", pred),
                                   subset="validation")
    g, p = tmp_path / "gt.json", tmp_path / "p.json"
    assert messages[1:] == [  # the first one is about the ignored label
        f"{g}: 1 segments start before 0 (evaluated as given)",      # v1's reversed one is not evaluated
        f"{g}: 1 segments have zero length (evaluated as given)",
        f"{p}: 2 segments end before they start (evaluated as given)",
        f"{p}: 1 segments start before 0 (evaluated as given)",
        f"{p}: 1 segments have zero length (evaluated as given)",
    ]


# ----------------------------------------------------------------------------------------------
# Hierarchy


def test_hierarchy_scores_the_coarse_level(tmp_path):
    # Fine a1, a2 -> A; b -> B. v0: a1 [0,10], a2 [20,30], b [40,50].
    gt = {"database": {"v0": {"annotations": [{"segment": [0, 10], "label": "a1"},
                                              {"segment": [20, 30], "label": "a2"},
                                              {"segment": [40, 50], "label": "b"}]}}}
    # a2 [0,10] .9 is wrong at the fine level (FP for a2) but right at the coarse level (A);
    # a1 [20,30] .8 likewise; b [40,45] .7: tIoU .5.
    pred = {"results": {"v0": [{"segment": [0, 10], "label": "a2", "score": 0.9},
                               {"segment": [20, 30], "label": "a1", "score": 0.8},
                               {"segment": [40, 45], "label": "b", "score": 0.7},
                               {"segment": [0, 10], "label": "c", "score": 0.6}]}}
    mapping = {"a1": "A", "a2": "A", "b": "B", "extra": "C"}
    report, _ = evaluate_quietly(write(tmp_path / "gt.json", gt), write(tmp_path / "p.json", pred),
                                 tiou_thresholds=[0.5, 0.6], hierarchy_path=write(tmp_path / "h.json", mapping))
    got = report.to_dict()
    assert list(got) == ["tiou_thresholds", "mAP", "average_mAP", "per_class_ap",
                         "classes_without_ground_truth", "ignored_prediction_labels", "coarse",
                         "fine_to_coarse"]
    assert got["per_class_ap"] == {"a1": [0.0, 0.0], "a2": [0.0, 0.0], "b": [1.0, 0.0]}
    # Coarse A: both detections TP -> AP 1 at both; B: AP 1 at .5, 0 at .6.
    assert got["coarse"] == {"tiou_thresholds": [0.5, 0.6], "mAP": [1.0, 0.5], "average_mAP": 0.75,
                             "per_class_ap": {"A": [1.0, 1.0], "B": [1.0, 0.0]},
                             "classes_without_ground_truth": []}
    assert got["fine_to_coarse"] == {"a1": "A", "a2": "A", "b": "B"}
    assert got["ignored_prediction_labels"] == ["c"]
    path = tmp_path / "r.json"
    write_report(report, path)
    assert json.loads(path.read_text()) == got


@pytest.mark.parametrize("mapping, message", [
    ({"a": "A"}, 'no coarse label for the ground-truth label "b"'),
    (["a", "A"], "expected a JSON object mapping fine labels to coarse labels"),
    ({"a": "A", "b": 3}, '["b"]: the coarse label must be a string, got 3'),
    ("{", "invalid JSON"),
])
def test_bad_hierarchy_is_one_line(tmp_path, mapping, message):
    gt = write(tmp_path / "gt.json", {"database": {"v": {"annotations": [
        {"segment": [0, 1], "label": "a"}, {"segment": [0, 1], "label": "b"}]}}})
    pred = write(tmp_path / "p.json", {"results": {}})
    h = write(tmp_path / "h.json", mapping)
    with pytest.raises(InputError) as info:
        evaluate_files(gt, pred, hierarchy_path=h)
    assert str(info.value).startswith(f"{h}: ") and message in str(info.value)
    assert "\n" not in str(info.value)


# ----------------------------------------------------------------------------------------------
# Bad files: one line naming the file (and the video)


GOOD_GT = {"database": {"v0": {"subset": "validation", "annotations": [{"segment": [0, 1], "label": "a"}]}}}
GOOD_PRED = {"results": {"v0": [{"segment": [0, 1], "label": "a", "score": 0.5}]}}


def bad_pred(entry):
    return {"results": {"v0": [{"segment": [0, 1], "label": "a", "score": 0.5}, entry]}}


@pytest.mark.parametrize("gt, pred, kwargs, which, message", [
    (None, GOOD_PRED, {}, "gt", "cannot read the file (no such file)"),
    ("{not json", GOOD_PRED, {}, "gt", "invalid JSON"),
    ("[" * 100_000 + "]" * 100_000, GOOD_PRED, {}, "gt", "nested too deeply"),
    ([1, 2], GOOD_PRED, {}, "gt", "'database'"),
    ({"taxonomy": []}, GOOD_PRED, {}, "gt", "'database'"),
    ({"database": {"v0": {"subset": "x"}}}, GOOD_PRED, {}, "gt", 'database["v0"]'),
    ({"database": {"v0": {"annotations": [{"segment": [0], "label": "a"}]}}}, GOOD_PRED, {}, "gt",
     'database["v0"][0]: "segment" must be 2'),
    ({"database": {"v0": {"annotations": [{"segment": [0, 1]}]}}}, GOOD_PRED, {}, "gt",
     'database["v0"][0]: "label" must be a string'),
    ({"database": {"v0": {"annotations": [{"segment": ["0", "one"], "label": "a"}]}}}, GOOD_PRED, {}, "gt",
     'database["v0"][0]: "segment" must be 2 finite numbers [start, end], got ["0", "one"]'),
    (GOOD_GT, {"detections": {}}, {}, "pred", "'results'"),
    (GOOD_GT, "[" * 100_000 + "]" * 100_000, {}, "pred", "nested too deeply"),
    (GOOD_GT, {"results": {"v0": {"segment": [0, 1]}}}, {}, "pred", 'results["v0"] must be a list'),
    (GOOD_GT, bad_pred({"segment": [0, "nan"], "label": "a", "score": 1}), {}, "pred",
     'results["v0"][1]: "segment" must be 2'),
    (GOOD_GT, bad_pred({"segment": [0, "1e400"], "label": "a", "score": 1}), {}, "pred",
     'results["v0"][1]: "segment" must be 2'),
    (GOOD_GT, bad_pred({"segment": [0, 1, 2], "label": "a", "score": 1}), {}, "pred",
     'results["v0"][1]: "segment" must be 2'),
    (GOOD_GT, bad_pred({"segment": [0, True], "label": "a", "score": 1}), {}, "pred",
     'results["v0"][1]: "segment" must be 2'),
    (GOOD_GT, bad_pred({"segment": [0, 1], "score": 1}), {}, "pred", 'results["v0"][1]: "label"'),
    (GOOD_GT, bad_pred({"segment": [0, 1], "label": "a"}), {}, "pred", 'results["v0"][1]: "score"'),
    (GOOD_GT, bad_pred({"segment": [0, 1], "label": "a", "score": "high"}), {}, "pred",
     'results["v0"][1]: "score" must be a finite number, got "high"'),
    (GOOD_GT, '{"results": {"v0": [{"segment": [0, 1], "label": "a", "score": NaN}]}}', {}, "pred",
     'results["v0"][0]: "score" must be a finite number, got NaN'),
    (GOOD_GT, bad_pred({"segment": [0, 1], "label": "a", "score": True}), {}, "pred", '"score"'),
    (GOOD_GT, bad_pred({"segment": [0, 10 ** 400], "label": "a", "score": 1}), {}, "pred", '"segment"'),
    (GOOD_GT, bad_pred([0, 1, "a", 0.5]), {}, "pred", 'results["v0"][1]: expected an object'),
    (GOOD_GT, GOOD_PRED, {"subset": "testing"}, "gt", "no video of subset 'testing'"),
    ({"database": {"v0": {"annotations": []}}}, GOOD_PRED, {"subset": "validation"}, "gt",
     'database["v0"] has no "subset"'),
    ({"database": {"v0": {"subset": "validation", "annotations": []}}}, GOOD_PRED, {}, "gt",
     "no annotation to evaluate"),
])
def test_bad_files_are_one_line_errors(tmp_path, gt, pred, kwargs, which, message):
    gt_path = tmp_path / "missing.json" if gt is None else write(tmp_path / "gt.json", gt)
    pred_path = write(tmp_path / "pred.json", pred)
    with pytest.raises(InputError) as info:
        evaluate_files(gt_path, pred_path, **kwargs)
    text = str(info.value)
    assert "\n" not in text and message in text
    assert text.startswith(f"{gt_path if which == 'gt' else pred_path}: ")
