"""haan.viz.operating_points: what the two figures draw, read back from the matplotlib artists,
on sections built from a small pair of files."""

from __future__ import annotations

import json

import numpy as np

from haan.evaluation.activitynet import read_ground_truth, read_predictions
from haan.evaluation.operating_report import operating_points_section, recall_section
from haan.viz.figures import save_figure
from haan.viz.operating_points import default_classes, plot_operating_points, plot_recall

from viz_helpers import MAGIC


def sections(tmp_path):
    rng = np.random.default_rng(0)
    database, results = {}, {}
    for v in range(6):
        anns, dets = [], []
        for k in range(4):
            start = float(rng.uniform(0, 80))
            label = ["Jump", "Run", "Swim"][(v + k) % 3]
            anns.append({"segment": [start, start + 10], "label": label})
            for _ in range(3):
                shift = float(rng.normal(0, 3))
                dets.append({"segment": [start + shift, start + 10 + shift], "label": label,
                             "score": float(rng.random())})
        database[f"v{v}"] = {"subset": "test", "annotations": anns}
        results[f"v{v}"] = dets
    (tmp_path / "gt.json").write_text(json.dumps({"database": database}))
    (tmp_path / "pred.json").write_text(json.dumps({"results": results}))
    gt, pred = read_ground_truth(tmp_path / "gt.json"), read_predictions(tmp_path / "pred.json")
    return operating_points_section(gt, pred, gt.labels, 0.5), recall_section(gt, pred)


def test_operating_points_figure_draws_the_curves(tmp_path):
    section, _ = sections(tmp_path)
    # Classes with most ground truth first (8 each: ties by name).
    assert default_classes(section) == ["Jump", "Run", "Swim"]
    fig = plot_operating_points(section, classes=["Run", "Swim", "Jump"])   # 4 panels, 3 x 2
    overall, run = fig.axes[0], fig.axes[1]
    for ax, curve in ((overall, section["overall"]), (run, section["per_class"]["Run"])):
        precision, recall, f1 = ax.lines[:3]
        np.testing.assert_array_equal(precision.get_xdata(), curve["threshold"])
        np.testing.assert_allclose(precision.get_ydata(), 100 * np.array(curve["precision"]))
        np.testing.assert_allclose(recall.get_ydata(), 100 * np.array(curve["recall"]))
        np.testing.assert_allclose(f1.get_ydata(), 100 * np.array(curve["f1"]))
        best = curve["best"]
        assert ax.lines[3].get_xdata()[0] == best["threshold"]          # the dashed line
        assert f"best F1 {100 * best['f1']:.1f}" in ax.get_title()
    assert len(fig.axes) == 6 and not fig.axes[4].axison and not fig.axes[5].axison
    save_figure(fig, tmp_path / "op.png")
    assert (tmp_path / "op.png").read_bytes().startswith(MAGIC["png"])


def test_recall_figure_draws_ar_and_recall_vs_tiou(tmp_path):
    _, section = sections(tmp_path)
    fig = plot_recall(section)
    left, right = fig.axes
    ar = left.lines[0]
    np.testing.assert_array_equal(ar.get_xdata(), section["average_proposals"])
    np.testing.assert_allclose(ar.get_ydata(), 100 * np.array(section["average_recall"]))
    assert [line.get_label() for line in right.lines] == [f"AN = {n}" for n in (1, 10, 50, 100)]
    np.testing.assert_allclose(right.lines[-1].get_ydata(),
                               100 * np.array(section["recall_vs_tiou"]["recall"]["100"]))
    save_figure(fig, tmp_path / "recall.png")
    assert (tmp_path / "recall.png").read_bytes().startswith(MAGIC["png"])
