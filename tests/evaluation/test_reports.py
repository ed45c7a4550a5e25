"""haan.evaluation.reports: results.csv, the mAP table and the report JSON, on hand-made metrics; the names
haan.evaluation.evaluate re-exports."""

from __future__ import annotations

import json

import numpy as np
import pytest

from haan.config import load_config
from haan.evaluation import reports
from haan.evaluation.metrics import DetectionMetrics


def metrics(per_class_ap, has_ground_truth, thresholds) -> DetectionMetrics:
    ap = np.array(per_class_ap, dtype=np.float64)
    has = np.array(has_ground_truth)
    mAP = ap[has].mean(axis=0) if has.any() else np.full(len(thresholds), np.nan)
    return DetectionMetrics(tiou_thresholds=np.array(thresholds, dtype=np.float64), per_class_ap=ap,
                            has_ground_truth=has, mAP=mAP, average_mAP=float(mAP.mean()))


# Fine: 3 classes, the last without ground truth. mAP = [(.5 + .25) / 2, (.25 + 0) / 2] = [.375, .125].
FINE = metrics([[0.5, 0.25], [0.25, 0.0], [0.0, 0.0]], [True, True, False], [0.5, 0.8999999999999999])
# Coarse: 2 classes. mAP = [.75, .5], average .625; per-class averages .875 and .375.
COARSE = metrics([[1.0, 0.75], [0.5, 0.25]], [True, True], [0.5, 0.8999999999999999])


def test_results_csv_is_the_papers_format(tmp_path):
    config = load_config("synthetic")   # report thresholds 0.1:0.1:0.5 of 0.1:0.05:0.5
    header = reports.results_header(config)
    assert header == ["epoch", "mAP@0.1", "mAP@0.2", "mAP@0.3", "mAP@0.4", "mAP@0.5", "avg.mAP"]
    thresholds = config.evaluation.tiou_thresholds
    m = metrics([np.linspace(0.9, 0.5, len(thresholds))], [True], thresholds)
    row = reports.results_row(7, m, config)
    # mAP@0.1 = .9 (1st), @0.2 = .8 (3rd), ..., avg = .7, in percent
    np.testing.assert_allclose(row, [7, 90, 80, 70, 60, 50, 70], rtol=0, atol=1e-12)
    path = tmp_path / "results.csv"
    reports.write_results_csv(path, header, [row, [8.0, 1, 2, 3, 4, 5, 0.1]])
    lines = path.read_text().splitlines()
    assert lines[0] == ",".join(header)
    assert lines[1].split(",")[0] == "7" and [float(v) for v in lines[1].split(",")[1:]] == row[1:]
    assert lines[2] == "8,1.0,2.0,3.0,4.0,5.0,0.1"
    assert not [p for p in tmp_path.iterdir() if p.name != "results.csv"]  # through haan.fileio


def test_table_without_hierarchy():
    assert reports.format_table(FINE, "title").splitlines() == [
        "title",
        "tIoU    mAP (%)",
        "0.5       37.50",
        "0.9       12.50",
        "avg       25.00",
        "2 classes evaluated, 1 left out of the mean (no ground truth)",
    ]
    assert reports.format_table(FINE).splitlines()[0] == "tIoU    mAP (%)"


def test_table_with_coarse_section():
    assert reports.format_table(FINE, coarse=COARSE, coarse_names=["vault", "floor exercise"]).splitlines() == [
        "tIoU    mAP (%)  coarse mAP (%)",
        "0.5       37.50           75.00",
        "0.9       12.50           50.00",
        "avg       25.00           62.50",
        "2 classes evaluated, 1 left out of the mean (no ground truth)",
        "coarse: 2 classes evaluated, 0 left out of the mean (no ground truth)",
        "coarse class    avg AP (%)",
        "vault                87.50",
        "floor exercise       37.50",
    ]


def test_report_json_schema_and_values():
    got = reports.report_json(FINE, ["a", "b", "c"], ["zzz"])
    assert got == {
        "tiou_thresholds": [0.5, 0.8999999999999999], "mAP": [0.375, 0.125], "average_mAP": 0.25,
        "per_class_ap": {"a": [0.5, 0.25], "b": [0.25, 0.0]},
        "classes_without_ground_truth": ["c"], "ignored_prediction_labels": ["zzz"],
    }
    # Default names: the class ids (haan evaluate's labels).
    assert list(reports.report_json(FINE)["per_class_ap"]) == ["0", "1"]


def test_report_json_with_hierarchy():
    got = reports.report_json(FINE, ["a", "b", "c"], coarse=COARSE, coarse_names=["A", "B"],
                              fine_to_coarse=np.array([0, 0, 1]))
    assert list(got) == ["tiou_thresholds", "mAP", "average_mAP", "per_class_ap",
                         "classes_without_ground_truth", "ignored_prediction_labels", "coarse",
                         "fine_to_coarse"]
    assert got["coarse"] == {"tiou_thresholds": [0.5, 0.8999999999999999], "mAP": [0.75, 0.5],
                             "average_mAP": 0.625, "per_class_ap": {"A": [1.0, 0.75], "B": [0.5, 0.25]},
                             "classes_without_ground_truth": []}
    assert got["fine_to_coarse"] == {"a": "A", "b": "A", "c": "B"}
    named = reports.report_json(FINE, ["a", "b", "c"], coarse=COARSE, coarse_names=["A", "B"],
                                fine_to_coarse={"a": "A", "b": "A", "c": "B"})
    assert named == got
    with pytest.raises(ValueError, match="go together"):
        reports.report_json(FINE, coarse=COARSE)
    with pytest.raises(ValueError, match="3 fine classes"):
        reports.report_json(FINE, coarse=COARSE, fine_to_coarse=[0, 1])
    with pytest.raises(ValueError, match="2 class names for 3 classes"):
        reports.report_json(FINE, ["a", "b"])


def test_nan_is_null_in_valid_json():
    none = metrics([[0.0]], [False], [0.5])   # no class with ground truth: mAP NaN
    got = reports.report_json(none, ["a"])
    assert got["mAP"] == [None] and got["average_mAP"] is None
    assert json.loads(json.dumps(got, allow_nan=False)) == got
    assert "nan" in reports.format_table(none)


def test_detections_json_lists_each_video_in_the_scored_order_with_class_names():
    """Each video's detections in the order given (the order they were scored), not re-sorted:
    equal scores are ranked by the input order of a sort that is not stable."""
    from haan.evaluation.postprocess import Detections

    d = Detections(video=np.array([1, 0, 1, 1]), label=np.array([0, 2, 1, 2]),
                   start=np.array([0.0, 1.5, 2.0, 4.0]), end=np.array([1.0, 3.0, 2.5, 8.0]),
                   score=np.array([0.5, 0.25, 0.75, 0.5]))
    assert reports.listing_order(d).tolist() == [1, 2, 0, 3]   # equal scores keep their order
    got = reports.detections_json(d, ["v0", "v1", "v2"], ["a", "b", "c"])
    assert got == {"version": "haan", "external_data": {}, "results": {
        "v0": [{"label": "c", "score": 0.25, "segment": [1.5, 3.0]}],
        "v1": [{"label": "a", "score": 0.5, "segment": [0.0, 1.0]},
               {"label": "b", "score": 0.75, "segment": [2.0, 2.5]},
               {"label": "c", "score": 0.5, "segment": [4.0, 8.0]}],
        "v2": []}}
    ids = reports.detections_json(d, ["v0", "v1", "v2"])
    assert [x["label"] for x in ids["results"]["v1"]] == ["0", "1", "2"]
