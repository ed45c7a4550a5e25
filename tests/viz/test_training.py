"""haan.viz.training: the epoch training selects, the curves a training figure draws (read back
from the matplotlib artists), and the one-line errors of reading a run folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from haan.errors import DataWarning, InputError
from haan.viz.training import best_epoch, plot_training, read_training_curves

from viz_helpers import write_csv

LOG_HEADER = ["epoch", "loss", "l_mil", "l_pseudo", "l_concept", "l_coarse", "kmeans_inertia",
              "eval_avg_mAP", "seconds"]


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
        assert best_epoch(epochs, values) == chosen
    assert best_epoch(np.arange(3), np.full(3, np.nan)) is None


def test_training_figure_draws_every_loss_and_marks_the_best_epoch(tmp_path):
    run, losses, avg = training_run(tmp_path)
    curves = read_training_curves(run)
    assert list(curves.losses) == LOG_HEADER[1:6]
    fig = plot_training(curves)
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
    fig = plot_training(read_training_curves(run))
    assert [ax.get_title() for ax in fig.axes[1:]] == ["total loss", r"$L_{mil}$", "l_casl"]
    (line,) = [line for line in fig.axes[3].lines if line.get_label() == "l_casl"]
    np.testing.assert_array_equal(line.get_ydata(), [1.0, 0.7])
    assert [l.get_label() for l in fig.axes[0].lines if l.get_marker() == "*"] == ["best epoch 0: 2.00"]


def test_a_run_without_results_draws_the_losses_with_a_warning(tmp_path):
    run, _, _ = training_run(tmp_path)
    (run / "results.csv").unlink()
    with pytest.warns(DataWarning, match="results.csv: no such file"):
        curves = read_training_curves(run)
    fig = plot_training(curves)
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
        read_training_curves(run)
    assert str(info.value).startswith(f"{run}/{message}")
    assert "\n" not in str(info.value)


def test_bad_results_file_and_run_folder(tmp_path):
    run, _, _ = training_run(tmp_path)
    (run / "results.csv").write_text("epoch,mAP@0.5\n0,1.0\n")
    with pytest.raises(InputError, match=r"results.csv: no 'avg.mAP' column \(columns: epoch, mAP@0.5\)"):
        read_training_curves(run)
    with pytest.raises(InputError, match="not a folder"):
        read_training_curves(run / "log.csv")

