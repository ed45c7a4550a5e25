"""`haan predict --thresholds`: thresholds chosen by best F1 on one subset (validation) of a tiny
run's predictions, applied by predict to every video, and the F1 they reach on the other subset
(test) is the F1 of predict's thresholded output. Bad thresholds files are one line, exit 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from haan.cli import main
from haan.evaluation.activitynet import read_ground_truth, read_predictions
from haan.evaluation.operating_report import choose_thresholds_file, operating_points_section
from haan.evaluation.thresholds import ThresholdsFile, write_thresholds

from helpers import THUMOS14_CLASSES


def run(capsys, *argv) -> tuple[int, str, str]:
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def predicted(thumos_run) -> dict:
    """The shared tiny run (conftest.thumos_run) and its detections for all 410 videos
    (validation and test) without thresholds."""
    plain = thumos_run["root"] / "plain.json"
    assert main(["predict", "--run", str(thumos_run["run"]), str(thumos_run["features"]), "--out",
                 str(plain), "--quiet", "--threads", "1"]) == 0
    return {**thumos_run, "plain": plain}


def kept_by_hand(results: dict, chosen: ThresholdsFile) -> dict:
    """Each video's detections with score >= its class's threshold (the default, or all, for
    classes the file does not list), in their order."""
    def keep(d: dict) -> bool:
        threshold = chosen.thresholds.get(d["label"], chosen.default)
        return threshold is None or d["score"] >= threshold
    return {video: [d for d in dets if keep(d)] for video, dets in results.items()}


def test_thresholds_chosen_on_validation_applied_on_test(predicted, tmp_path, capsys):
    gt = read_ground_truth(predicted["gt"])
    plain = read_predictions(predicted["plain"])
    names = gt.labels
    chosen = choose_thresholds_file(gt, plain, names, 0.5, subset="validation")
    assert chosen.subset == "validation" and chosen.tiou == 0.5 and chosen.default is not None
    assert set(chosen.thresholds) <= set(THUMOS14_CLASSES) and len(chosen.thresholds) >= 10
    thresholds = tmp_path / "thresholds.json"
    write_thresholds(thresholds, chosen)

    out = tmp_path / "cut.json"
    status, stdout, err = run(capsys, "predict", "--run", predicted["run"], predicted["features"],
                              "--thresholds", thresholds, "--out", out, "--quiet", "--threads", "1")
    assert status == 0 and err == ""
    document = json.loads(out.read_text())
    before = json.loads(predicted["plain"].read_text())["results"]
    expected = kept_by_hand(before, chosen)
    assert document["results"] == expected
    dropped = sum(map(len, before.values())) - sum(map(len, expected.values()))
    assert dropped > 0
    assert document["thresholds"] == {"file": str(thresholds), **json.loads(thresholds.read_text()),
                                      "dropped": dropped}
    assert f"dropped {dropped} detections under their class's threshold in {thresholds}" in stdout
    # The summary lines count what is kept.
    lines = {line.split()[0]: line.split() for line in stdout.splitlines()[1:411]}
    assert all(int(lines[v][3]) == len(dets) for v, dets in expected.items())

    # The F1 the thresholds reach on test, computed from the plain detections, is the F1 of
    # predict's output with every detection kept: the same counts. True positives are equal by
    # construction where a class's kept detections have no equal scores (their ranking is then
    # the same in both files; the tiny model's float32 scores have a few ties in some classes).
    applied = operating_points_section(gt, plain, names, 0.5, chosen,
                                       subset="test")["thresholds"]
    cut = operating_points_section(gt, read_predictions(out), names, 0.5, subset="test")
    assert applied["overall"]["detections"] == cut["overall"]["detections"][-1]
    untied = 0
    for c, name in enumerate(names):
        mine, theirs = applied["per_class"][name], cut["per_class"][name]
        assert mine["detections"] == (theirs["detections"] or [0])[-1]
        kept = plain.score[(plain.label == plain.labels.index(name)) & (
            plain.score >= mine["threshold"])] if name in plain.labels else np.zeros(0)
        if len(np.unique(kept)) == len(kept):
            untied += 1
            assert mine["true_positives"] == (theirs["true_positives"] or [0])[-1]
            assert mine["f1"] == (theirs["f1"] or [0.0])[-1] or mine["f1"] != mine["f1"]
    assert untied >= 5
    assert sum(m["true_positives"] for m in applied["per_class"].values()) > 0


def test_classes_the_file_does_not_list_keep_their_detections(predicted, tmp_path, capsys):
    before = json.loads(predicted["plain"].read_text())["results"]
    label = next(d["label"] for dets in before.values() for d in dets)
    scores = sorted(d["score"] for dets in before.values() for d in dets if d["label"] == label)
    chosen = ThresholdsFile(0.5, None, {label: scores[len(scores) // 2]}, None)
    thresholds = tmp_path / "one.json"
    write_thresholds(thresholds, chosen)
    out = tmp_path / "one-cut.json"
    assert run(capsys, "predict", "--run", predicted["run"], predicted["features"], "--thresholds",
               thresholds, "--out", out, "--quiet", "--threads", "1")[0] == 0
    results = json.loads(out.read_text())["results"]
    assert results == kept_by_hand(before, chosen)
    assert json.loads(out.read_text())["thresholds"]["dropped"] == len(scores) // 2


@pytest.mark.parametrize("content, message", [
    ('{"tiou": 0.5, "thresholds": {"Nope": 0.3}}',
     'thresholds: "Nope" not among the 20 classes of the model'),
    ('{"tiou": 0.5, "thresholds": {"Diving": "high"}}',
     'thresholds["Diving"] must be a finite number, got "high"'),
    ('{"tiou": 0.5, "thresholds": {}, "defaults": 0.2}', 'unknown key "defaults"'),
    ('{"tiou": 0.5', "invalid JSON"),
])
def test_bad_thresholds_file_is_one_line_with_status_2(predicted, tmp_path, capsys, content,
                                                        message):
    thresholds = tmp_path / "bad.json"
    thresholds.write_text(content)
    first = next(iter(sorted(predicted["features"].iterdir())))
    status, out, err = run(capsys, "predict", "--run", predicted["run"], first, "--thresholds",
                           thresholds, "--out", tmp_path / "p.json")
    assert (status, out, err.count("\n")) == (2, "", 1), err
    assert err.startswith(f"haan: error: {thresholds}: {message}"), err
    assert not (tmp_path / "p.json").exists()
