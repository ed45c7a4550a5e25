"""`haan diagnose`: the files it writes, its options (--protocol, --hierarchy, --durations,
--tiou-thresholds, --subset), its refusal to overwrite, and one-line errors with exit status 2.
The numbers themselves: tests/evaluation/test_diagnosis*.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from haan.cli import main

GT = {"version": "t", "taxonomy": [], "database": {
    "v1": {"subset": "test", "duration": 100.0, "annotations": [
        {"segment": [0, 10], "label": "vault_a"}, {"segment": [20, 30], "label": "vault_b"},
        {"segment": [50, 60], "label": "beam_a"}]},
    "v2": {"subset": "test", "duration": 50.0, "annotations": [
        {"segment": [5, 7], "label": "vault_a"}]},
    "v3": {"subset": "train", "duration": 40.0, "annotations": [
        {"segment": [1, 2], "label": "beam_a"}]},
}}
PRED = {"version": "t", "external_data": {}, "results": {
    "v1": [{"segment": [0, 10], "label": "vault_a", "score": 0.9},
           {"segment": [21, 30], "label": "vault_a", "score": 0.8},   # sibling wrong label
           {"segment": [50, 59], "label": "vault_b", "score": 0.7},   # stranger wrong label
           {"segment": [20, 30], "label": "vault_b", "score": 0.6},
           {"segment": [80, 90], "label": "beam_a", "score": 0.5}],
    "v2": [{"segment": [5, 7], "label": "vault_a", "score": 0.4}],
}}
HIERARCHY = {"vault_a": "vault", "vault_b": "vault", "beam_a": "beam"}


def write(path: Path, obj) -> str:
    path.write_text(json.dumps(obj))
    return str(path)


def run(argv, capsys):
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def files(tmp_path):
    return (write(tmp_path / "gt.json", GT), write(tmp_path / "pred.json", PRED),
            write(tmp_path / "h.json", HIERARCHY))


def test_writes_the_report_and_figures(files, tmp_path, capsys):
    gt, pred, hierarchy = files
    out = tmp_path / "diag"
    status, stdout, err = run(["diagnose", "--ground-truth", gt, "--predictions", pred,
                               "--subset", "test", "--hierarchy", hierarchy, "--out", str(out)],
                              capsys)
    assert status == 0, err
    assert sorted(p.name for p in out.iterdir()) == [
        "diagnosis.json", "false_negatives.png", "false_positives.png", "hierarchy.png",
        "operating_points.png", "recall.png", "sensitivity.png"]
    report = json.loads((out / "diagnosis.json").read_text())
    assert report["protocol"] == "haan" and "detad" not in report
    assert report["num_ground_truths"] == 4 and report["N"] == 4 / 3
    # the hierarchy: one sibling (vault_a on vault_b) and one stranger (vault_b on beam_a)
    h = report["hierarchy"]
    assert h["sibling"][0] == 1 and h["stranger"][0] == 1
    assert h["per_class"]["vault_a"] == {"coarse": "vault", "sibling": [1] * 10,
                                         "stranger": [0] * 10}
    assert h["confusion_matrix"]["classes"] == ["beam_a", "vault_a", "vault_b"]
    # durations from the ground truth: 10 s of 100 s is 0.1 (8-20%), 2 s of 50 s 0.04 (2-4%)
    assert report["false_negatives"]["coverage"]["count"] == [0, 1, 0, 0, 3, 0, 0, 0, 0]
    assert report["summary"]["label errors within the coarse class (%)"] == 50.0
    assert "average-mAP_N, top-10G predictions (%)" in stdout


def test_refuses_to_overwrite(files, tmp_path, capsys):
    gt, pred, _ = files
    out = tmp_path / "diag"
    argv = ["diagnose", "--ground-truth", gt, "--predictions", pred, "--out", str(out)]
    assert run(argv, capsys)[0] == 0
    before = (out / "diagnosis.json").read_bytes()
    status, _, err = run(argv, capsys)
    assert status == 2 and err.count("\n") == 1 and "--overwrite" in err
    assert (out / "diagnosis.json").read_bytes() == before
    assert run(argv + ["--overwrite"], capsys)[0] == 0


def test_durations_file_and_the_note_without_durations(files, tmp_path, capsys):
    gt, pred, _ = files
    bare = json.loads(json.dumps(GT))
    for entry in bare["database"].values():
        del entry["duration"]
    gt = write(tmp_path / "bare.json", bare)
    out = tmp_path / "a"
    assert run(["diagnose", "--ground-truth", gt, "--predictions", pred, "--out", str(out)],
               capsys)[0] == 0
    report = json.loads((out / "diagnosis.json").read_text())
    assert "coverage" not in report["false_negatives"] and "coverage" not in report["sensitivity"]
    assert any("coverage left out" in note for note in report["notes"])
    durations = write(tmp_path / "d.json", {"v1": 200, "v2": 10, "v3": 40})
    out = tmp_path / "b"
    assert run(["diagnose", "--ground-truth", gt, "--predictions", pred, "--durations", durations,
                "--subset", "test", "--out", str(out)], capsys)[0] == 0
    report = json.loads((out / "diagnosis.json").read_text())
    # 10/200 = 0.05 (4-6%), 2/10 = 0.2 (8-20%, closed above)
    assert report["false_negatives"]["coverage"]["count"] == [0, 0, 3, 0, 1, 0, 0, 0, 0]


def test_detad_protocol_nests_its_sections(files, tmp_path, capsys):
    gt, pred, _ = files
    out = tmp_path / "d"
    status, _, err = run(["diagnose", "--ground-truth", gt, "--predictions", pred, "--protocol",
                          "detad-thumos14", "--out", str(out)], capsys)
    assert status == 0, err
    report = json.loads((out / "diagnosis.json").read_text())
    assert set(report["detad"]) == {"false_positives", "false_negatives", "sensitivity"}
    assert report["tiou_thresholds"] == [0.5]
    assert {"operating_points", "recall"} <= set(report)  # haan's own, beside DETAD's


@pytest.mark.parametrize("extra, message", [
    (["--protocol", "detad-thumos14", "--tiou-thresholds", "0.3"], "--tiou-thresholds"),
    (["--tiou-thresholds", "0.5,2"], "outside (0, 1]"),
    (["--subset", "nope"], "no video of subset 'nope'"),
])
def test_one_line_errors(files, tmp_path, capsys, extra, message):
    gt, pred, _ = files
    status, _, err = run(["diagnose", "--ground-truth", gt, "--predictions", pred,
                          "--out", str(tmp_path / "x"), *extra], capsys)
    assert status == 2 and err.startswith("haan: error:") and message in err
    assert err.count("\n") == 1
    assert not (tmp_path / "x" / "diagnosis.json").exists()


def test_a_hierarchy_missing_a_label(files, tmp_path, capsys):
    gt, pred, _ = files
    bad = write(tmp_path / "bad.json", {"vault_a": "vault"})
    status, _, err = run(["diagnose", "--ground-truth", gt, "--predictions", pred,
                          "--hierarchy", bad, "--out", str(tmp_path / "x")], capsys)
    assert status == 2 and "no coarse label" in err and err.count("\n") == 1


def test_a_bad_durations_file(files, tmp_path, capsys):
    gt, pred, _ = files
    bad = write(tmp_path / "bad.json", {"v1": -3})
    status, _, err = run(["diagnose", "--ground-truth", gt, "--predictions", pred,
                          "--durations", bad, "--out", str(tmp_path / "x")], capsys)
    assert status == 2 and "positive number of seconds" in err


def test_diagnose_never_imports_torch(files, tmp_path):
    gt, pred, hierarchy = files
    code = ("import sys\nfrom haan.cli import main\n"
            f"status = main(['diagnose', '--ground-truth', {gt!r}, '--predictions', {pred!r}, "
            f"'--hierarchy', {hierarchy!r}, '--out', {str(tmp_path / 'o')!r}])\n"
            "assert status == 0\nassert 'torch' not in sys.modules, 'torch was imported'\n"
            "print('ok')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("ok")


SPLIT_GT = {"database": {
    "a": {"subset": "validation", "annotations": [
        {"segment": [0, 10], "label": "vault"}, {"segment": [20, 30], "label": "vault"}]},
    "b": {"subset": "test", "annotations": [
        {"segment": [0, 10], "label": "vault"}, {"segment": [40, 50], "label": "vault"}]},
}}
SPLIT_PRED = {  # a detector's predictions on each subset, one file each
    # validation: kept at >= 0.8 the detections are 2 TP of 2 ground truths (F1 1); at >= 0.3 a
    # false positive joins them (F1 2*2/(3+2) = 0.8): the best-F1 threshold is 0.8
    "validation": {"results": {"a": [
          {"segment": [0, 10], "label": "vault", "score": 0.9},
          {"segment": [20, 30], "label": "vault", "score": 0.8},
          {"segment": [60, 70], "label": "vault", "score": 0.3}]}},
    # test, with the 0.8 threshold: 0.95 is kept (TP), 0.5 (TP) and 0.4 (FP) dropped:
    # precision 1/1, recall 1/2, F1 2*1/(1+2) = 2/3
    "test": {"results": {"b": [
          {"segment": [0, 10], "label": "vault", "score": 0.95},
          {"segment": [40, 50], "label": "vault", "score": 0.5},
          {"segment": [80, 90], "label": "vault", "score": 0.4}]}},
}


def test_thresholds_chosen_on_one_subset_apply_on_another(tmp_path, capsys):
    gt = write(tmp_path / "gt.json", SPLIT_GT)
    pred = {s: write(tmp_path / f"{s}.json", SPLIT_PRED[s]) for s in SPLIT_PRED}
    chosen = tmp_path / "thresholds.json"
    status, stdout, err = run(["diagnose", "--ground-truth", gt, "--predictions",
                               pred["validation"], "--subset", "validation", "--choose-thresholds", str(chosen),
                               "--out", str(tmp_path / "val")], capsys)
    assert status == 0, err
    data = json.loads(chosen.read_text())
    assert data["thresholds"] == {"vault": 0.8} and data["subset"] == "validation"
    assert data["tiou"] == 0.5
    assert "the chosen thresholds in" in stdout
    status, stdout, err = run(["diagnose", "--ground-truth", gt, "--predictions", pred["test"],
                               "--subset", "test", "--thresholds", str(chosen),
                               "--out", str(tmp_path / "test")], capsys)
    assert status == 0, err
    report = json.loads((tmp_path / "test" / "diagnosis.json").read_text())
    given = report["operating_points"]["thresholds"]["overall"]
    assert (given["true_positives"], given["detections"], given["num_ground_truths"]) == (1, 1, 2)
    assert given["f1"] == pytest.approx(2 / 3, abs=1e-12)
    assert report["summary"]["F1 of the given per-class thresholds (%)"] == pytest.approx(200 / 3)
    # a thresholds file is refused like the figures: not replaced without --overwrite
    status, _, err = run(["diagnose", "--ground-truth", gt, "--predictions", pred["test"],
                          "--choose-thresholds", str(chosen), "--out", str(tmp_path / "x")], capsys)
    assert status == 2 and "thresholds.json" in err and "--overwrite" in err
