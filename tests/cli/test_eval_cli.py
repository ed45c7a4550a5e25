"""`haan eval-detections`: golden values through the command line, the report file, the options
(--subset, --drop-other-subsets, --tiou-thresholds, --hierarchy), warnings as `warning:` lines,
one-line errors with exit status 2, and no torch. The rules themselves: tests/evaluation/test_activitynet.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from haan.cli import main

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "golden"
CASES = Path(__file__).resolve().parents[1] / "fixtures" / "anet_cases"
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
    # The golden files hold the thresholds rounded; the defaults are numpy.linspace's exact values.
    np.testing.assert_allclose(report["tiou_thresholds"], expected["tiou_thresholds"], rtol=0, atol=1e-15)
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
        lines = err.splitlines()
        assert len(lines) == 2 and all(line.startswith("warning: ") for line in lines)
        assert "not_a_class" in lines[0] and "2 segments start before 0" in lines[1]
    else:
        assert report["ignored_prediction_labels"] == [] and err == ""


def test_default_thresholds_are_numpy_linspace(tmp_path, capsys):
    out_path = tmp_path / "r.json"
    status, out, _ = run(["eval-detections", "--ground-truth", str(GOLDEN / "case0" / "gt.json"),
                          "--predictions", str(GOLDEN / "case0" / "pred.json"), "--output", str(out_path)],
                         capsys)
    assert status == 0
    assert json.loads(out_path.read_text())["tiou_thresholds"] == np.linspace(0.5, 0.95, 10).tolist()
    assert [line.split()[0] for line in out.splitlines()[2:12]] == [  # printed with :g
        "0.5", "0.55", "0.6", "0.65", "0.7", "0.75", "0.8", "0.85", "0.9", "0.95"]
    assert not [p for p in os.listdir(tmp_path) if p != "r.json"]  # no temporary file left


def test_given_thresholds_are_used_as_given(tmp_path, capsys):
    out_path = tmp_path / "r.json"
    status, _, _ = run(["eval-detections", "--ground-truth", str(GOLDEN / "case0" / "gt.json"),
                        "--predictions", str(GOLDEN / "case0" / "pred.json"), "--output", str(out_path),
                        "--tiou-thresholds", "0.9,0.3333333333333333"], capsys)
    assert status == 0
    assert json.loads(out_path.read_text())["tiou_thresholds"] == [0.9, 0.3333333333333333]


@pytest.mark.parametrize("drop", [False, True])
def test_other_subsets_through_the_cli(tmp_path, capsys, drop):
    want = json.loads((CASES / "other_subsets" / "expected.json").read_text())["runs"][int(drop)]
    assert want["other_subsets"] == ("drop" if drop else "false-positive")
    out_path = tmp_path / "r.json"
    status, out, err = run(["eval-detections", "--ground-truth", str(CASES / "other_subsets" / "gt.json"),
                            "--predictions", str(CASES / "other_subsets" / "pred.json"),
                            "--subset", "validation", "--output", str(out_path)]
                           + (["--drop-other-subsets"] if drop else []), capsys)
    assert status == 0
    assert json.loads(out_path.read_text())["average_mAP"] == pytest.approx(want["average_mAP"], abs=1e-12)
    assert out.startswith(f"ActivityNet detection mAP (subset validation): 6 ground truths, "
                          f"{11 if drop else 15} predictions\n")
    lines = err.splitlines()
    assert len(lines) == 2 and all(line.startswith("warning: ") for line in lines)
    assert "4 predictions on 2 videos of other subsets than 'validation'" in lines[0]
    assert lines[0].endswith("are dropped" if drop else "count as false positives (as in the official evaluator)")
    assert "1 predictions on 1 videos unknown" in lines[1]


def test_hierarchy_through_the_cli(tmp_path, capsys):
    gt = {"database": {"v0": {"annotations": [{"segment": [0, 10], "label": "a1"},
                                              {"segment": [20, 30], "label": "a2"}]}}}
    pred = {"results": {"v0": [{"segment": [0, 10], "label": "a2", "score": 0.9}]}}
    out_path = tmp_path / "r.json"
    status, out, err = run(["eval-detections", "--ground-truth", write(tmp_path / "gt.json", gt),
                            "--predictions", write(tmp_path / "p.json", pred), "--tiou-thresholds", "0.5",
                            "--hierarchy", write(tmp_path / "h.json", {"a1": "A", "a2": "A"}),
                            "--output", str(out_path)], capsys)
    assert status == 0 and err == ""
    report = json.loads(out_path.read_text())
    # Fine: a2's detection is on a1's instance -> 0. Coarse A: 1 TP of 2 -> AP .5.
    assert report["mAP"] == [0.0] and report["coarse"]["mAP"] == [0.5]
    assert report["fine_to_coarse"] == {"a1": "A", "a2": "A"}
    assert out.splitlines()[1:] == [
        "tIoU    mAP (%)  coarse mAP (%)",
        "0.5        0.00           50.00",
        "avg        0.00           50.00",
        "2 classes evaluated, 0 left out of the mean (no ground truth)",
        "coarse: 1 class evaluated, 0 left out of the mean (no ground truth)",
        "coarse class  avg AP (%)",
        "A                  50.00",
    ]
    status, _, err = run(["eval-detections", "--ground-truth", str(tmp_path / "gt.json"),
                          "--predictions", str(tmp_path / "p.json"),
                          "--hierarchy", write(tmp_path / "h.json", {"a1": "A"})], capsys)
    assert status == 2 and err == (f'haan: error: {tmp_path / "h.json"}: no coarse label for the '
                                   'ground-truth label "a2"\n')


def test_warnings_are_lines(tmp_path, capsys):
    # ActivityNet evaluates odd segments with its formula as they are; haan does too, but says so.
    gt = {"database": {"v0": {"subset": "validation", "annotations": [{"segment": [0, 1], "label": "a"}]}}}
    pred = {"results": {"v0": [{"segment": [2, 0], "label": "a", "score": 0.5},
                               {"segment": [-1, 1], "label": "a", "score": 0.5}]}}
    status, _, err = run(["eval-detections", "--ground-truth", write(tmp_path / "gt.json", gt),
                          "--predictions", write(tmp_path / "p.json", pred)], capsys)
    assert status == 0
    assert err.splitlines() == [
        f"warning: {tmp_path / 'p.json'}: 1 segments end before they start (evaluated as given)",
        f"warning: {tmp_path / 'p.json'}: 1 segments start before 0 (evaluated as given)"]


# ----------------------------------------------------------------------------------------------
# Bad input: one line, exit status 2 (the messages themselves: tests/evaluation/test_activitynet.py)


GOOD_GT = {"database": {"v0": {"subset": "validation", "annotations": [{"segment": [0, 1], "label": "a"}]}}}
GOOD_PRED = {"results": {"v0": [{"segment": [0, 1], "label": "a", "score": 0.5}]}}


@pytest.mark.parametrize("gt, pred, extra, message", [
    (None, GOOD_PRED, [], "cannot read the file"),
    ("{not json", GOOD_PRED, [], "invalid JSON"),
    (GOOD_GT, {"results": {"v0": [{"segment": [0, "x"], "label": "a", "score": 1}]}}, [],
     'results["v0"][0]: "segment" must be 2'),
    (GOOD_GT, GOOD_PRED, ["--tiou-thresholds", "0.5,abc"], "--tiou-thresholds: 'abc' is not a number"),
    (GOOD_GT, GOOD_PRED, ["--tiou-thresholds", "0"], "--tiou-thresholds: 0 is outside (0, 1]"),
    (GOOD_GT, GOOD_PRED, ["--tiou-thresholds", "0.5,1.5"], "outside (0, 1]"),
    (GOOD_GT, GOOD_PRED, ["--subset", "testing"], "no video of subset 'testing'"),
    (GOOD_GT, GOOD_PRED, ["--hierarchy", "/nonexistent/h.json"], "/nonexistent/h.json: cannot read the file"),
])
def test_bad_input_is_one_line_and_status_2(tmp_path, capsys, gt, pred, extra, message):
    gt_path = str(tmp_path / "missing.json") if gt is None else write(tmp_path / "gt.json", gt)
    pred_path = write(tmp_path / "pred.json", pred)
    status, out, err = run(["eval-detections", "--ground-truth", gt_path, "--predictions", pred_path,
                            *extra], capsys)
    assert status == 2
    assert len(err.splitlines()) == 1 and err.startswith("haan: error: ")
    assert message in err


def test_output_into_a_missing_folder_creates_it_and_under_a_file_is_an_error(tmp_path, capsys):
    args = ["eval-detections", "--ground-truth", write(tmp_path / "gt.json", GOOD_GT),
            "--predictions", write(tmp_path / "p.json", GOOD_PRED), "--output"]
    status, _, err = run([*args, str(tmp_path / "no" / "r.json")], capsys)
    assert status == 0 and (tmp_path / "no" / "r.json").is_file()
    status, _, err = run([*args, str(tmp_path / "gt.json" / "r.json")], capsys)
    assert status == 2 and "not a folder" in err and len(err.splitlines()) == 1


# ----------------------------------------------------------------------------------------------
# As a process


def test_process_error_has_no_traceback(tmp_path):
    gt = write(tmp_path / "gt.json", GOOD_GT)
    proc = subprocess.run([sys.executable, "-m", "haan", "eval-detections", "--ground-truth", gt,
                           "--predictions", str(tmp_path / "nope.json")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [f"haan: error: {tmp_path / 'nope.json'}: cannot read the file "
                                        "(no such file)"]


def test_eval_detections_never_imports_torch(tmp_path):
    labels = {a["label"] for v in json.loads((GOLDEN / "case0" / "gt.json").read_text())["database"].values()
              for a in v["annotations"]}
    hierarchy = write(tmp_path / "h.json", {label: label[-1] for label in labels})
    code = ("import sys\nfrom haan.cli import main\n"
            f"status = main(['eval-detections', '--ground-truth', {str(GOLDEN / 'case0' / 'gt.json')!r}, "
            f"'--predictions', {str(GOLDEN / 'case0' / 'pred.json')!r}, '--hierarchy', {hierarchy!r}, "
            f"'--output', {str(tmp_path / 'r.json')!r}])\n"
            "assert status == 0\nassert 'torch' not in sys.modules, 'torch was imported'\nprint('ok')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("ok")
    assert "coarse" in json.loads((tmp_path / "r.json").read_text())


def test_an_existing_report_is_replaced_only_when_asked(tmp_path, capsys):
    out_path = tmp_path / "report.json"
    out_path.write_text("mine\n")
    argv = ["eval-detections", "--ground-truth", str(GOLDEN / "case0" / "gt.json"),
            "--predictions", str(GOLDEN / "case0" / "pred.json"), "--output", str(out_path)]
    status, out, err = run(argv, capsys)
    assert (status, out) == (2, "")
    assert err == f"haan: error: {out_path}: already exists; pass --overwrite to replace it\n"
    assert out_path.read_text() == "mine\n"
    status, _, _ = run([*argv, "--overwrite"], capsys)
    assert status == 0 and json.loads(out_path.read_text())["tiou_thresholds"][0] == 0.5
