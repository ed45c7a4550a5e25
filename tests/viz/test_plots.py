"""Figures: the file formats, the data each figure draws (read back from the matplotlib artists),
the loaders' one-line errors, and `haan plot` end to end on a trained tiny run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.container import BarContainer, ErrorbarContainer
from matplotlib.patches import StepPatch

from haan.cli import main
from haan.errors import DataWarning, InputError
from haan.evaluation.postprocess import VideoDetections, detect, video_scores
from haan.viz import plots

REPO = Path(__file__).resolve().parents[2]
MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "svg": b"<?xml", "pdf": b"%PDF-"}
LOG_HEADER = ["epoch", "loss", "l_mil", "l_pseudo", "l_concept", "l_coarse", "kmeans_inertia",
              "eval_avg_mAP", "seconds"]


def bar_geometry(container: BarContainer) -> np.ndarray:
    """(n, 4) left, width, y centre, height of horizontal bars."""
    return np.array([[r.get_x(), r.get_width(), r.get_y() + r.get_height() / 2, r.get_height()]
                     for r in container.patches]).reshape(-1, 4)


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    path.write_text("\n".join(",".join(str(v) for v in r) for r in [header, *rows]) + "\n")


# ----------------------------------------------------------------------------------------------
# Writing


@pytest.mark.parametrize("ext", ["png", "svg", "pdf"])
def test_each_format_by_extension_and_the_same_figure_gives_the_same_bytes(tmp_path, ext):
    thresholds = np.array([0.1, 0.3, 0.5])
    for name in ["a", "b"]:
        fig = plots.plot_compare(thresholds, {"m": np.array([[0.3, 0.2, 0.1], [0.32, 0.18, 0.1]])})
        plots.save_figure(fig, tmp_path / f"{name}.{ext.upper() if name == 'b' else ext}")
    a = (tmp_path / f"a.{ext}").read_bytes()
    assert a.startswith(MAGIC[ext]) and len(a) > 1000
    assert a == (tmp_path / f"b.{ext.upper()}").read_bytes()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporaries left


@pytest.mark.parametrize("name", ["x.jpg", "x", "x.png.txt"])
def test_an_unknown_extension_is_a_one_line_error(tmp_path, name):
    with pytest.raises(InputError, match="unknown figure format.*use .png, .svg or .pdf"):
        plots.save_figure(plots.plot_compare([0.5], {"m": [[0.1]]}), tmp_path / name)
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------------------------
# One video


def video_case():
    """T = 12 clips at 1.5 clips per second, C = 6 classes in 3 coarse classes."""
    rng = np.random.default_rng(0)
    scores = rng.normal(-1.0, 0.3, (12, 6))
    scores[2:5, 4] += 3.0   # class 4: ground truth, detected
    scores[7:10, 1] += 2.5  # class 1: ground truth, detected
    scores[:, 0] += 1.2     # class 0: not in the ground truth, high video score
    scores[5:7, 3] += 1.0   # class 3: a weak distractor
    detections = detect(scores, 1.5, 0.1, 2.0)
    gt_labels = np.array([4, 1, 4])
    gt_segments = np.array([[1.2, 3.4], [4.6, 6.8], [7.0, 7.5]])
    names = ["salto", "split leap", "turn", "round-off", "flic-flac", "pike"]
    coarse_names = ["floor", "beam", "vault"]
    fine_to_coarse = np.array([0, 1, 1, 0, 2, 2])
    return scores, detections, gt_labels, gt_segments, names, coarse_names, fine_to_coarse


def test_shown_classes_are_the_ground_truth_then_the_top_predictions():
    gt = np.array([5, 2, 5, 7])
    class_score = np.array([0.1, 0.9, 0.3, 0.9, -0.2, 0.8, 0.0, 0.5])
    expected = [5, 2, 7]  # first appearance
    for c in sorted(range(8), key=lambda c: (-class_score[c], c)):
        if c not in expected and len(expected) < 3 + 2:
            expected.append(c)
    assert plots.shown_video_classes(gt, class_score, top_k=2).tolist() == expected == [5, 2, 7, 1, 3]
    assert plots.shown_video_classes(np.zeros(0, int), class_score, top_k=3).tolist() == [1, 3, 5]


def test_video_figure_draws_the_scores_detections_and_ground_truth():
    scores, _, gt_labels, gt_segments, names, coarse_names, f2c = video_case()
    c_s = video_scores(scores, 2.0)
    shown = [4, 1] + [c for c in np.argsort(-c_s, kind="stable").tolist() if c not in (4, 1)][:2]
    assert shown[2] == 0
    hidden_class = next(c for c in range(6) if c not in shown)
    det = VideoDetections(label=np.array([4, 1, hidden_class, 0, 4]),
                          start=np.array([1.0, 4.0, 2.0, 0.0, 6.0]),
                          end=np.array([2.0, 6.5, 3.0, 8.0, 7.3]),
                          score=np.array([3.1, 2.5, 0.7, 1.25, 0.4]))
    fig = plots.plot_video(scores, 1.5, det, gt_labels, gt_segments, names, coarse_names, f2c,
                           "video_7", kmax_mod_factor=2.0, top_k=2)
    curves, bars = fig.axes

    # One step curve per shown class: clip t spans t / 1.5 .. (t + 1) / 1.5 seconds.
    steps = [p for p in curves.patches if isinstance(p, StepPatch)]
    assert len(steps) == len(shown)
    for patch, c in zip(steps, shown):
        values, edges, _ = patch.get_data()
        np.testing.assert_array_equal(values, scores[:, c])
        np.testing.assert_allclose(edges, np.arange(13) / 1.5)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    for row, c in enumerate(shown):
        assert legend[row].startswith(names[c]) and f"video score {c_s[c]:.2f}" in legend[row]
    assert ("not in the ground truth" in legend[2]) and ("not in the ground truth" not in legend[0])

    # Detections of the shown classes: bars at their seconds, in their class's row, with scores.
    det_bars, gt_bars = bars.containers
    np.testing.assert_allclose(bar_geometry(det_bars), [
        [1.0, 1.0, 0 - 0.19, 0.34], [4.0, 2.5, 1 - 0.19, 0.34], [0.0, 8.0, 2 - 0.19, 0.34],
        [6.0, 1.3, 0 - 0.19, 0.34]])
    assert [t.get_text() for t in bars.texts] == ["3.10", "2.50", "1.25", "0.40"]
    np.testing.assert_allclose([t.get_position() for t in bars.texts],
                               [[1.5, -0.19], [5.25, 0.81], [4.0, 1.81], [6.65, -0.19]])
    assert "1 more in classes not shown" in bars.get_title(loc="left")
    # Ground truth beneath, in its class's row.
    np.testing.assert_allclose(bar_geometry(gt_bars),
                               [[1.2, 2.2, 0.21, 0.26], [4.6, 2.2, 1.21, 0.26], [7.0, 0.5, 0.21, 0.26]])
    assert [t.get_text() for t in bars.get_yticklabels()] == [names[c] for c in shown]
    assert bars.get_xlim() == (0.0, 8.0)
    # The coarse classes of the ground truth, by name, in the title.
    assert fig.get_suptitle().startswith("video_7  (coarse: vault, beam;")


def test_video_without_ground_truth_names_the_predicted_coarse_classes():
    scores, det, _, _, names, coarse_names, f2c = video_case()
    fig = plots.plot_video(scores, 1.5, det, np.zeros(0, int), np.zeros((0, 2)), names, coarse_names,
                           f2c, "new", kmax_mod_factor=2.0, top_k=3)
    curves, bars = fig.axes
    shown = np.argsort(-video_scores(scores, 2.0), kind="stable")[:3]
    assert [t.get_text() for t in bars.get_yticklabels()] == [names[c] for c in shown]
    assert len(bars.containers[1].patches) == 0
    coarse = list(dict.fromkeys(coarse_names[f2c[c]] for c in shown))
    assert fig.get_suptitle().startswith(f"new  (predicted coarse: {', '.join(coarse)};")
    assert not any("ground truth" in t.get_text() for t in fig.legends[0].get_texts())


def test_dense_detections_print_scores_that_do_not_overlap():
    row = np.array([0, 0, 0, 1, 0])
    centre = np.array([1.0, 1.5, 3.0, 1.2, 2.2])
    score = np.array([0.5, 0.9, 0.1, 0.2, 0.3])
    # Row 0 by score: 1.5 placed; 2.2 kept (0.7 away); 1.0 dropped (0.5 from 1.5); 3.0 kept.
    assert plots._labels_that_fit(row, centre, score, width=0.6).tolist() == [1, 2, 3, 4]


# ----------------------------------------------------------------------------------------------
# A training run


def training_run(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    run = tmp_path / "run"
    run.mkdir()
    epochs = np.arange(8)
    losses = np.stack([3.0 / (epochs + 1), 0.5 / (epochs + 1), 9.0 - epochs, 0.01 * epochs,
                       np.full(8, 0.25)], axis=1)
    avg = np.array([1.0, 4.0, np.nan, 7.5, 6.0, 7.5, 3.0, 2.0])  # best: epoch 3 (tie with 5)
    rows = [[e, *losses[e], 100.0 - e, "" if e == 2 else avg[e], 1.5] for e in epochs.tolist()]
    write_csv(run / "log.csv", LOG_HEADER, rows)
    write_csv(run / "results.csv", ["epoch", "mAP@0.1", "mAP@0.5", "avg.mAP"],
              [[e, 2 * avg[e], avg[e] / 2, avg[e]] for e in epochs.tolist() if e != 2])
    return run, losses, avg


def test_best_epoch_is_the_one_training_selects():
    rng = np.random.default_rng(1)
    for _ in range(50):
        values = rng.integers(0, 4, 12).astype(float)
        values[rng.random(12) < 0.2] = np.nan
        epochs = np.arange(12) * 2
        best, chosen = -np.inf, None
        for e, v in zip(epochs.tolist(), values.tolist()):  # haan.engine.loop's rule
            if np.isfinite(v) and v > best:
                best, chosen = v, e
        assert plots.best_epoch(epochs, values) == chosen
    assert plots.best_epoch(np.arange(3), np.full(3, np.nan)) is None


def test_training_figure_draws_every_loss_and_marks_the_best_epoch(tmp_path):
    run, losses, avg = training_run(tmp_path)
    curves = plots.read_training_curves(run)
    assert list(curves.losses) == LOG_HEADER[1:6]
    fig = plots.plot_training(curves)
    top, *panels = fig.axes
    assert [ax.get_title() for ax in panels] == ["total loss", r"$L_{mil}$", r"$L_{pseudo}$",
                                                 r"$L_{concept}$", r"$L_{coarse}$"]
    for j, ax in enumerate(panels):
        (line,) = [line for line in ax.lines if line.get_label() == LOG_HEADER[1 + j]]
        x, y = line.get_data()
        np.testing.assert_array_equal(x, np.arange(8))
        np.testing.assert_array_equal(y, losses[:, j])
    lines = {line.get_label(): line for line in top.lines}
    evaluated = [0, 1, 3, 4, 5, 6, 7]
    np.testing.assert_array_equal(lines["avg.mAP"].get_xdata(), evaluated)
    np.testing.assert_array_equal(lines["avg.mAP"].get_ydata(), avg[evaluated])
    np.testing.assert_array_equal(lines["mAP@0.1"].get_ydata(), 2 * avg[evaluated])
    star = lines["best epoch 3: 7.50"]
    assert star.get_xdata().tolist() == [3] and star.get_ydata().tolist() == [7.5]
    for ax in [top, *panels]:  # the best epoch's vertical line on every panel
        assert any(line.get_xdata()[0] == 3 and line.get_linestyle() == ":" for line in ax.lines)


def test_training_figure_takes_whatever_loss_columns_a_log_has(tmp_path):
    run = tmp_path / "wtalc"
    run.mkdir()
    write_csv(run / "log.csv", ["epoch", "loss", "l_mil", "l_casl", "seconds"],
              [[0, 2.0, 1.0, 1.0, 0.3], [1, 1.5, 0.8, 0.7, 0.3]])
    write_csv(run / "results.csv", ["epoch", "mAP@0.5", "avg.mAP"], [[0, 1.0, 2.0], [1, 2.0, 2.0]])
    fig = plots.plot_training(plots.read_training_curves(run))
    assert [ax.get_title() for ax in fig.axes[1:]] == ["total loss", r"$L_{mil}$", "l_casl"]
    (line,) = [line for line in fig.axes[3].lines if line.get_label() == "l_casl"]
    np.testing.assert_array_equal(line.get_ydata(), [1.0, 0.7])
    assert [l.get_label() for l in fig.axes[0].lines if l.get_marker() == "*"] == ["best epoch 0: 2.00"]


def test_a_run_without_results_draws_the_losses_with_a_warning(tmp_path):
    run, _, _ = training_run(tmp_path)
    (run / "results.csv").unlink()
    with pytest.warns(DataWarning, match="results.csv: no such file"):
        curves = plots.read_training_curves(run)
    fig = plots.plot_training(curves)
    assert len(fig.axes[0].lines) == 0 and "no evaluated epoch yet" in fig.axes[0].texts[0].get_text()


@pytest.mark.parametrize("log, message", [
    (None, "log.csv: no such file"),
    ("", "log.csv: empty file"),
    ("epoch,loss\n", "log.csv: no epoch logged yet"),
    ("loss,l_mil\n1,2\n", "log.csv: no 'epoch' column"),
    ("epoch,loss\n0,1\n1,abc\n", "log.csv: line 3, column loss: not a number: 'abc'"),
    ("epoch,loss\n0,1,2\n", "log.csv: line 2: 3 fields, the header has 2"),
    ("epoch,loss,loss\n0,1,2\n", "log.csv: line 1: repeated column names"),
    ("epoch,loss\n,1\n", "log.csv: an epoch that is not a number"),
    (b"epoch,loss\n0,\xff\n", "log.csv: not UTF-8 text"),
])
def test_bad_log_files_are_one_line_errors(tmp_path, log, message):
    run = tmp_path / "run"
    run.mkdir()
    if isinstance(log, bytes):
        (run / "log.csv").write_bytes(log)
    elif log is not None:
        (run / "log.csv").write_text(log)
    with pytest.raises(InputError) as info:
        plots.read_training_curves(run)
    assert str(info.value).startswith(f"{run}/{message}")
    assert "\n" not in str(info.value)


def test_bad_results_file_and_run_folder(tmp_path):
    run, _, _ = training_run(tmp_path)
    (run / "results.csv").write_text("epoch,mAP@0.5\n0,1.0\n")
    with pytest.raises(InputError, match=r"results.csv: no 'avg.mAP' column \(columns: epoch, mAP@0.5\)"):
        plots.read_training_curves(run)
    with pytest.raises(InputError, match="not a folder"):
        plots.read_training_curves(run / "log.csv")


# ----------------------------------------------------------------------------------------------
# An evaluation report


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
    fine, coarse, mapping = plots.read_ap_report(path)
    fig = plots.plot_ap(fine, coarse, mapping)
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
    fine, _, _ = plots.read_ap_report(report)
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
        plots.read_ap_report(path)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value)
    with pytest.raises(InputError, match="no such file"):
        plots.read_ap_report(tmp_path / "missing.json")


# ----------------------------------------------------------------------------------------------
# Several methods


def test_compare_figure_draws_mean_and_std_over_seeds():
    thresholds = np.array([0.1, 0.3, 0.5])
    haan = np.array([[0.30, 0.20, 0.10], [0.34, 0.22, 0.08], [0.29, 0.21, 0.12]])
    single = np.array([[0.2, 0.1, 0.05]])
    fig = plots.plot_compare(thresholds, {"HAAN": haan, "W-TALC": single})
    ax = fig.axes[0]
    first, second = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    data_line, _, (bar_lines,) = first.lines
    mean = [sum(haan[:, k]) / 3 * 100 for k in range(3)]
    std = [np.sqrt(sum((haan[s, k] * 100 - mean[k]) ** 2 for s in range(3)) / 2) for k in range(3)]
    np.testing.assert_allclose(data_line.get_xdata(), thresholds)
    np.testing.assert_allclose(data_line.get_ydata(), mean)
    segments = np.array(bar_lines.get_segments())  # (K, 2, 2): (x, mean - std) .. (x, mean + std)
    np.testing.assert_allclose(segments[:, 0, 1], np.subtract(mean, std))
    np.testing.assert_allclose(segments[:, 1, 1], np.add(mean, std))
    np.testing.assert_allclose(second.lines[0].get_ydata(), single[0] * 100)
    averages = haan.mean(axis=1) * 100
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [f"HAAN: average {averages.mean():.2f} ± {averages.std(ddof=1):.2f} (3 seeds)",
                      "W-TALC: average 11.67 (1 seed)"]


# ----------------------------------------------------------------------------------------------
# The command line


def test_plot_commands_end_to_end_on_a_trained_run(tiny_dataset, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["train", "--config", str(tiny_dataset), "--set", "hyperparameters.epochs=3",
                 "--set", "haan.eval_interval=2", "--output-dir", str(out), "--exp-name", "r",
                 "--quiet"]) == 0
    run = next(out.glob("*/r"))
    evaluated = tmp_path / "evaluated"
    assert main(["evaluate", "--config", str(tiny_dataset), "--models-dir", str(run),
                 "--output-dir", str(evaluated), "--quiet"]) == 0
    capsys.readouterr()

    figure = tmp_path / "training.pdf"
    assert main(["plot", "training", str(run), "--out", str(figure)]) == 0
    assert capsys.readouterr().out == f"wrote {figure}\n"
    assert figure.read_bytes().startswith(MAGIC["pdf"])
    curves = plots.read_training_curves(run)
    assert curves.epochs.tolist() == [0, 1, 2] and curves.eval_epochs.tolist() == [1, 2]
    assert np.isnan(float((run / "log.csv").read_text().splitlines()[1].split(",")[7]))

    assert main(["plot", "ap", str(evaluated / "eval_report.json"), "--out", str(tmp_path / "ap.png")]) == 0
    assert (tmp_path / "ap.png").read_bytes().startswith(MAGIC["png"])

    # Nothing replaced without --overwrite; errors are one line with exit status 2.
    before = figure.read_bytes()
    for argv, message in [
        (["plot", "training", str(run), "--out", str(figure)], "already exists; pass --overwrite"),
        (["plot", "training", str(run), "--out", str(tmp_path / "t.jpg")], "unknown figure format"),
        (["plot", "training", str(tmp_path / "nope"), "--out", str(tmp_path / "t.png")], "not a folder"),
        (["plot", "ap", str(run / "log.csv"), "--out", str(tmp_path / "a.svg")], "invalid JSON"),
        (["plot", "ap", str(run / "x.json"), "--out", str(tmp_path / "a.svg")], "no such file"),
    ]:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("haan: error: ") and message in err and err.count("\n") == 1
    assert figure.read_bytes() == before
    assert not (tmp_path / "t.png").exists() and not (tmp_path / "a.svg").exists()
    assert main(["plot", "training", str(run), "--out", str(figure), "--overwrite"]) == 0


def test_plot_help_and_no_matplotlib_at_cli_import():
    with pytest.raises(SystemExit) as info:
        main(["plot", "--help"])
    assert info.value.code == 0
    with pytest.raises(SystemExit) as info:
        main(["plot"])
    assert info.value.code == 2
    code = "import sys, haan.cli; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env={"PYTHONPATH": str(REPO / "src")})
    assert result.stdout.strip() == "False"
