"""haan.viz.ap: the per-class order, what an AP figure draws (read back from the matplotlib
artists), a report of eval-detections, and the one-line errors of reading a report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from haan.cli import main
from haan.errors import InputError
from haan.viz.ap import plot_ap, read_ap_report

from viz_helpers import MAGIC, bar_geometry

REPO = Path(__file__).resolve().parents[2]


def ap_report(with_coarse: bool = True) -> dict:
    report = {
        "tiou_thresholds": [0.1, 0.3, 0.5],
        "mAP": [0.5, 0.4, None],
        "average_mAP": 0.45,
        # Binary fractions, so that the ties (2, 3, 4, 10 at 0.375) are exact.
        "per_class_ap": {"0": [0.25, 0.125, 0.0], "1": [0.75, 0.5, 0.25], "2": [0.375] * 3,
                         "3": [0.5, 0.5, 0.125], "10": [0.375] * 3, "11": [None, 0.125, 0.125],
                         "4": [0.625, 0.375, 0.125]},
        "classes_without_ground_truth": ["5"],
        "ignored_prediction_labels": [],
    }
    if with_coarse:
        report["coarse"] = {"tiou_thresholds": [0.1, 0.3, 0.5], "mAP": [0.7, 0.6, 0.5],
                            "average_mAP": 0.6, "per_class_ap": {"0": [0.8, 0.7, 0.6],
                                                                 "1": [0.6, 0.5, 0.4]},
                            "classes_without_ground_truth": []}
        report["fine_to_coarse"] = {"0": "1", "1": "0", "2": "1", "3": "1", "4": "0", "5": "0",
                                    "10": "1", "11": "0"}
    return report


def expected_order(per_class: dict, mapping: dict | None) -> list[str]:
    """Plain loops: groups by coarse label (numbers in numeric order), then AP high to low, NaN
    last, ties by label (numbers in numeric order)."""
    average = {}
    for label, ap in per_class.items():
        average[label] = sum(np.nan if v is None else v for v in ap) / len(ap)
    groups = {}
    for label in per_class:
        groups.setdefault(None if mapping is None else mapping[label], []).append(label)
    order = []
    for group in sorted(groups, key=lambda g: int(g) if g is not None else 0):
        members = groups[group]
        finite = [m for m in members if not np.isnan(average[m])]
        members_sorted = sorted(finite, key=lambda m: (-average[m], int(m)))
        order += members_sorted + [m for m in members if np.isnan(average[m])]
    return order


@pytest.mark.parametrize("with_coarse", [True, False])
def test_ap_figure_draws_the_curves_and_sorted_grouped_bars(tmp_path, with_coarse):
    report = ap_report(with_coarse)
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    fine, coarse, mapping = read_ap_report(path)
    fig = plot_ap(fine, coarse, mapping)
    curve_ax, bar_ax = fig.axes

    lines = curve_ax.lines
    assert len(lines) == (2 if with_coarse else 1)
    np.testing.assert_allclose(lines[0].get_xdata(), [0.1, 0.3, 0.5])
    np.testing.assert_allclose(lines[0].get_ydata(), [50.0, 40.0, np.nan])
    assert lines[0].get_label() == "fine classes: average 45.00"
    if with_coarse:
        np.testing.assert_allclose(lines[1].get_ydata(), [70.0, 60.0, 50.0])

    order = expected_order(report["per_class_ap"], report.get("fine_to_coarse"))
    if with_coarse:
        assert order == ["1", "4", "11", "2", "3", "10", "0"]
    else:
        assert order == ["1", "2", "3", "4", "10", "0", "11"]
    assert [t.get_text() for t in bar_ax.get_yticklabels()] == order
    geometry = bar_geometry(bar_ax.containers[0])
    widths = [100 * sum(ap) / len(ap) if None not in ap else 0.0
              for ap in (report["per_class_ap"][label] for label in order)]
    np.testing.assert_allclose(geometry[:, 1], widths)
    np.testing.assert_allclose(geometry[:, 0], 0.0)
    positions = geometry[:, 2]
    assert np.all(np.diff(positions) >= 1)  # top to bottom, in that order
    texts = [t.get_text() for t in bar_ax.texts]
    assert " n/a" in texts and " 50.0" in texts
    assert "1 without ground truth not shown" in bar_ax.get_title(loc="left")
    if with_coarse:  # a gap between the groups, each named with its coarse AP
        assert positions[3] - positions[2] == pytest.approx(1.8)
        assert "coarse 0\ncoarse AP 70.0" in texts and "coarse 1\ncoarse AP 50.0" in texts


def test_a_report_from_eval_detections_draws(tmp_path, capsys):
    golden = REPO / "tests" / "fixtures" / "golden" / "case0"
    report = tmp_path / "report.json"
    assert main(["eval-detections", "--ground-truth", str(golden / "gt.json"), "--predictions",
                 str(golden / "pred.json"), "--output", str(report)]) == 0
    assert main(["plot", "ap", str(report), "--out", str(tmp_path / "ap.svg")]) == 0
    assert (tmp_path / "ap.svg").read_bytes().startswith(MAGIC["svg"])
    written = json.loads(report.read_text())
    fine, _, _ = read_ap_report(report)
    assert sorted(fine.per_class_ap) == sorted(written["per_class_ap"])


@pytest.mark.parametrize("content, message", [
    ("[1, 2]", "the report: expected a JSON object"),
    ('{"mAP": [0.1]}', "no 'tiou_thresholds' (not an evaluation report?)"),
    ('{"tiou_thresholds": [], "mAP": [], "average_mAP": 0, "per_class_ap": {}}',
     "tiou_thresholds: expected at least one number"),
    ('{"tiou_thresholds": [0.5], "mAP": [0.1, 0.2], "average_mAP": 0, "per_class_ap": {}}',
     "mAP: 2 values, expected 1 (one per tIoU threshold)"),
    ('{"tiou_thresholds": [0.5], "mAP": [0.1], "average_mAP": "x", "per_class_ap": {}}',
     "average_mAP: expected a number"),
    ('{"tiou_thresholds": [0.5], "mAP": [0.1], "average_mAP": 0.1, "per_class_ap": {"a": ["x"]}}',
     "per_class_ap.a: expected a list of numbers"),
    ('{"tiou_thresholds": [0.5], "mAP": [0.1], "average_mAP": 0.1, "per_class_ap": {"a": [0.1]},'
     ' "fine_to_coarse": {"b": "0"}}', "fine_to_coarse: no coarse class for a"),
    ('{"tiou_thresholds": [0.5], "mAP": [0.1], "average_mAP": 0.1, "per_class_ap": {},'
     ' "coarse": {"tiou_thresholds": [0.5]}}', "no 'coarse.mAP'"),
    ('{"tiou_thresholds": [0.5], ', "invalid JSON"),
])
def test_bad_reports_are_one_line_errors(tmp_path, content, message):
    path = tmp_path / "r.json"
    path.write_text(content)
    with pytest.raises(InputError) as info:
        read_ap_report(path)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value)
    with pytest.raises(InputError, match="no such file"):
        read_ap_report(tmp_path / "missing.json")

