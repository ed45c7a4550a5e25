"""`haan eval-detections`: golden values through the command line, the report file, the subset and
label rules, and one-line errors with exit status 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from haan.cli import main

GOLDEN = Path(__file__).parent / "data" / "golden"
REPORT_KEYS = ["tiou_thresholds", "mAP", "average_mAP", "per_class_ap",
               "classes_without_ground_truth", "ignored_prediction_labels"]


def run(argv, capsys):
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def write(path: Path, obj) -> str:
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return str(path)


@pytest.mark.parametrize("case", ["case0", "case1", "case2", "case3"])
def test_golden_cases_through_the_cli(case, tmp_path, capsys):
    expected = json.loads((GOLDEN / case / "expected.json").read_text())
    out_path = tmp_path / "report.json"
    argv = ["eval-detections", "--ground-truth", str(GOLDEN / case / "gt.json"),
            "--predictions", str(GOLDEN / case / "pred.json"), "--output", str(out_path)]
    if expected["tiou_thresholds"][0] != 0.5:  # cases 1 and 3 use FineGym's 0.1:0.05:0.5
        argv += ["--tiou-thresholds", ",".join(map(str, expected["tiou_thresholds"]))]
    status, out, err = run(argv, capsys)
    assert status == 0
    report = json.loads(out_path.read_text())
    assert list(report) == REPORT_KEYS
    assert report["tiou_thresholds"] == expected["tiou_thresholds"]
    assert list(report["per_class_ap"]) == list(expected["per_class_ap"])
    for label, ap in expected["per_class_ap"].items():
        np.testing.assert_allclose(report["per_class_ap"][label], ap, rtol=0, atol=1e-9)
    np.testing.assert_allclose(report["mAP"], expected["mAP"], rtol=0, atol=1e-9)
    assert report["average_mAP"] == pytest.approx(expected["average_mAP"], abs=1e-9)
    assert report["classes_without_ground_truth"] == expected["classes_without_ground_truth"] == []
    # The printed table is in percent.
    assert f"{100 * expected['average_mAP']:.2f}" in out.splitlines()[-2]
    n = len(expected["per_class_ap"])
    assert f"{n} {'class' if n == 1 else 'classes'} evaluated, 0 left out" in out
    if case == "case2":
        assert report["ignored_prediction_labels"] == ["not_a_class"]
        assert err.startswith("warning: ") and "not_a_class" in err and len(err.splitlines()) == 1
    else:
        assert report["ignored_prediction_labels"] == [] and err == ""


def test_default_thresholds_are_exactly_point_five_to_point_ninety_five(tmp_path, capsys):
    out_path = tmp_path / "r.json"
    status, out, _ = run(["eval-detections", "--ground-truth", str(GOLDEN / "case0" / "gt.json"),
                          "--predictions", str(GOLDEN / "case0" / "pred.json"), "--output", str(out_path)],
                         capsys)
    assert status == 0
    assert json.loads(out_path.read_text())["tiou_thresholds"] == [
        0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]
    assert [line.split()[0] for line in out.splitlines()[2:12]] == [
        "0.5", "0.55", "0.6", "0.65", "0.7", "0.75", "0.8", "0.85", "0.9", "0.95"]
    assert not [p for p in os.listdir(tmp_path) if p != "r.json"]  # no temporary file left


def test_subset_unknown_videos_and_labels(tmp_path, capsys):
    gt = {"database": {
        "v0": {"subset": "validation", "annotations": [{"segment": [0, 10], "label": "jump"},
                                                       {"segment": [20, 30], "label": "spin"}]},
        "v1": {"subset": "validation", "annotations": []},
        "v2": {"subset": "testing", "annotations": [{"segment": [0, 10], "label": "jump"},
                                                    {"segment": [0, 10], "label": "flip"}]},
    }}
    pred = {"results": {
        # jump: [0,10] TP (.9); unknown video (.95) ranks first -> FP. prec 0 .5, rec 0 1 -> AP .5
        "v0": [{"segment": [0, 10], "label": "jump", "score": 0.9},
               # spin [20,26]: tIoU .6 -> TP at .5, FP at .7: AP 1 and 0
               {"segment": [20, 26], "label": "spin", "score": 0.8},
               {"segment": [0, 10], "label": "dance", "score": 0.99}],   # never used: ignored
        "v1": [{"segment": [0, 10], "label": "flip", "score": 0.7}],    # flip has no GT here
        "v2": [{"segment": [0, 10], "label": "jump", "score": 1.0}] * 3,  # other subset: dropped
        "elsewhere": [{"segment": [0, 10], "label": "jump", "score": 0.95}],
    }}
    out_path = tmp_path / "r.json"
    status, out, err = run(["eval-detections", "--ground-truth", write(tmp_path / "gt.json", gt),
                            "--predictions", write(tmp_path / "p.json", pred), "--subset", "validation",
                            "--tiou-thresholds", "0.5,0.7", "--output", str(out_path)], capsys)
    assert status == 0
    report = json.loads(out_path.read_text())
    assert report["per_class_ap"] == {"jump": [0.5, 0.5], "spin": [1.0, 0.0]}
    assert report["mAP"] == [0.75, 0.25] and report["average_mAP"] == 0.5
    assert report["classes_without_ground_truth"] == ["flip"]
    assert report["ignored_prediction_labels"] == ["dance"]
    warnings = err.splitlines()
    assert len(warnings) == 3 and all(w.startswith("warning: ") for w in warnings)
    assert "1 predictions with labels" in warnings[0] and "dance" in warnings[0]
    assert "3 predictions on 1 videos of other subsets" in warnings[1]
    assert "1 predictions on 1 videos unknown" in warnings[2] and "false positives" in warnings[2]
    assert "2 classes evaluated, 1 left out" in out
    assert "75.00" in out and "25.00" in out and "50.00" in out


# ----------------------------------------------------------------------------------------------
# Bad input: one line, exit status 2


GOOD_GT = {"database": {"v0": {"subset": "validation", "annotations": [{"segment": [0, 1], "label": "a"}]}}}
GOOD_PRED = {"results": {"v0": [{"segment": [0, 1], "label": "a", "score": 0.5}]}}


def bad_pred(entry):
    return {"results": {"v0": [{"segment": [0, 1], "label": "a", "score": 0.5}, entry]}}


@pytest.mark.parametrize("gt, pred, extra, which, message", [
    (None, GOOD_PRED, [], "gt", "cannot read the file"),
    ("{not json", GOOD_PRED, [], "gt", "invalid JSON"),
    ([1, 2], GOOD_PRED, [], "gt", "'database'"),
    ({"taxonomy": []}, GOOD_PRED, [], "gt", "'database'"),
    ({"database": {"v0": {"subset": "x"}}}, GOOD_PRED, [], "gt", 'database["v0"]'),
    ({"database": {"v0": {"annotations": [{"segment": [0], "label": "a"}]}}}, GOOD_PRED, [], "gt",
     'database["v0"][0]: "segment" must be 2'),
    ({"database": {"v0": {"annotations": [{"segment": [0, 1]}]}}}, GOOD_PRED, [], "gt",
     'database["v0"][0]: "label" must be a string'),
    (GOOD_GT, {"detections": {}}, [], "pred", "'results'"),
    (GOOD_GT, {"results": {"v0": {"segment": [0, 1]}}}, [], "pred", 'results["v0"] must be a list'),
    (GOOD_GT, bad_pred({"segment": [0, "1"], "label": "a", "score": 1}), [], "pred",
     'results["v0"][1]: "segment" must be 2'),
    (GOOD_GT, bad_pred({"segment": [0, 1, 2], "label": "a", "score": 1}), [], "pred",
     'results["v0"][1]: "segment" must be 2'),
    (GOOD_GT, bad_pred({"segment": [0, 1], "score": 1}), [], "pred", 'results["v0"][1]: "label"'),
    (GOOD_GT, bad_pred({"segment": [0, 1], "label": "a"}), [], "pred", 'results["v0"][1]: "score"'),
    (GOOD_GT, bad_pred({"segment": [0, 1], "label": "a", "score": "0.5"}), [], "pred",
     'results["v0"][1]: "score" must be a finite number, got "0.5"'),
    (GOOD_GT, bad_pred({"segment": [0, 1], "label": "a", "score": True}), [], "pred", '"score"'),
    (GOOD_GT, bad_pred({"segment": [0, 10 ** 400], "label": "a", "score": 1}), [], "pred", '"segment"'),
    (GOOD_GT, bad_pred([0, 1, "a", 0.5]), [], "pred", 'results["v0"][1]: expected an object'),
    (GOOD_GT, GOOD_PRED, ["--tiou-thresholds", "0.5,abc"], None, "--tiou-thresholds: 'abc' is not a number"),
    (GOOD_GT, GOOD_PRED, ["--tiou-thresholds", "0"], None, "--tiou-thresholds: 0 is outside (0, 1]"),
    (GOOD_GT, GOOD_PRED, ["--tiou-thresholds", "0.5,1.5"], None, "outside (0, 1]"),
    (GOOD_GT, GOOD_PRED, ["--subset", "testing"], "gt", "no video of subset 'testing'"),
    ({"database": {"v0": {"annotations": []}}}, GOOD_PRED, ["--subset", "validation"], "gt",
     'database["v0"] has no "subset"'),
    ({"database": {"v0": {"subset": "validation", "annotations": []}}}, GOOD_PRED, [], "gt",
     "no annotation to evaluate"),
    (GOOD_GT, '{"results": {"v0": [{"segment": [0, 1], "label": "a", "score": NaN}]}}', [], "pred",
     'results["v0"][0]: "score" must be a finite number, got NaN'),
])
def test_bad_input_is_one_line_and_status_2(tmp_path, capsys, gt, pred, extra, which, message):
    gt_path = str(tmp_path / "missing.json") if gt is None else write(tmp_path / "gt.json", gt)
    pred_path = write(tmp_path / "pred.json", pred)
    status, out, err = run(["eval-detections", "--ground-truth", gt_path, "--predictions", pred_path,
                            *extra], capsys)
    assert status == 2
    assert len(err.splitlines()) == 1 and err.startswith("haan: error: ")
    assert message in err
    if which is not None:
        assert (gt_path if which == "gt" else pred_path) + ": " in err


def test_reversed_segments_are_evaluated_with_a_warning(tmp_path, capsys):
    # ActivityNet evaluates such segments with its formula as they are; haan does too, but says so.
    pred = {"results": {"v0": [{"segment": [2, 0], "label": "a", "score": 0.5}]}}
    status, _, err = run(["eval-detections", "--ground-truth", write(tmp_path / "gt.json", GOOD_GT),
                          "--predictions", write(tmp_path / "p.json", pred)], capsys)
    assert status == 0
    assert err.splitlines() == [f"warning: {tmp_path / 'p.json'}: 1 segments end before they start "
                                "(evaluated as given)"]


def test_output_into_a_missing_folder_is_an_error(tmp_path, capsys):
    status, _, err = run(["eval-detections", "--ground-truth", write(tmp_path / "gt.json", GOOD_GT),
                          "--predictions", write(tmp_path / "p.json", GOOD_PRED),
                          "--output", str(tmp_path / "no" / "r.json")], capsys)
    assert status == 2 and "folder" in err and len(err.splitlines()) == 1


# ----------------------------------------------------------------------------------------------
# As a process


def test_process_error_has_no_traceback(tmp_path):
    gt = write(tmp_path / "gt.json", GOOD_GT)
    proc = subprocess.run([sys.executable, "-m", "haan", "eval-detections", "--ground-truth", gt,
                           "--predictions", str(tmp_path / "nope.json")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [f"haan: error: {tmp_path / 'nope.json'}: cannot read the file "
                                        "(No such file or directory)"]


def test_eval_detections_never_imports_torch(tmp_path):
    code = ("import sys\nfrom haan.cli import main\n"
            f"status = main(['eval-detections', '--ground-truth', {str(GOLDEN / 'case0' / 'gt.json')!r}, "
            f"'--predictions', {str(GOLDEN / 'case0' / 'pred.json')!r}])\n"
            "assert status == 0\nassert 'torch' not in sys.modules, 'torch was imported'\nprint('ok')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("ok")
