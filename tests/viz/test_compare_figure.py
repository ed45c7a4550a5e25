"""haan.viz.compare_figure: mAP against tIoU of several methods, mean and std over seeds (read
back from the matplotlib artists)."""

from __future__ import annotations

import numpy as np
from matplotlib.container import ErrorbarContainer

from haan.viz.compare_figure import plot_compare


def test_compare_figure_draws_mean_and_std_over_seeds():
    thresholds = np.array([0.1, 0.3, 0.5])
    haan = np.array([[0.30, 0.20, 0.10], [0.34, 0.22, 0.08], [0.29, 0.21, 0.12]])
    single = np.array([[0.2, 0.1, 0.05]])
    fig = plot_compare(thresholds, {"HAAN": haan, "W-TALC": single})
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

