"""The figure of `haan compare` (haan.viz.compare): mAP against tIoU of several methods, one line
each, the mean over seeds with error bars of one standard deviation.

Scores in percent on every axis; the runs are given as fractions.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
from matplotlib.figure import Figure

from haan.viz.figures import draw_tiou_axes


def plot_compare(tiou_thresholds: np.ndarray, runs: Mapping[str, np.ndarray], title: str = "",
                 averages: Mapping[str, np.ndarray] | None = None) -> Figure:
    """mAP against tIoU for several methods, one line each: the mean over seeds with error bars of
    one standard deviation (sample std, ddof = 1; none for a single seed).

    tiou_thresholds (K,); runs: name -> (S, K) mAP fractions, one row per seed; averages:
    name -> (S,) each seed's average mAP for the legend (default: the mean over the K plotted
    thresholds; give the run's own average when it is taken over more thresholds than plotted).
    """
    thresholds = np.asarray(tiou_thresholds, dtype=np.float64)              # (K,)
    if not runs:
        raise ValueError("no runs to compare")
    fig = Figure(figsize=(10, 4.8), layout="constrained")
    ax = fig.subplots()
    for name, values in runs.items():  # a line per method
        per_seed = np.atleast_2d(np.asarray(values, dtype=np.float64)) * 100  # (S, K) percent
        if per_seed.shape[1] != len(thresholds):
            raise ValueError(f"{name}: {per_seed.shape[1]} values per seed, "
                             f"{len(thresholds)} thresholds")
        seeds = per_seed.shape[0]
        mean = per_seed.mean(axis=0)                                         # (K,)
        std = per_seed.std(axis=0, ddof=1) if seeds > 1 else np.zeros_like(mean)
        average = (per_seed.mean(axis=1) if averages is None                 # (S,) percent
                   else np.atleast_1d(np.asarray(averages[name], dtype=np.float64)) * 100)
        spread = f" ± {average.std(ddof=1):.2f}" if seeds > 1 else ""
        ax.errorbar(thresholds, mean, yerr=std, marker="o", markersize=4, capsize=3, linewidth=1.4,
                    label=f"{name}: average {average.mean():.2f}{spread} "
                          f"({seeds} seed{'s' * (seeds > 1)})")
    draw_tiou_axes(ax, thresholds, "mAP (%), mean ± std over seeds")
    # Beside the axes: inside, it would hide the lines of the lowest methods.
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.suptitle(title or "mAP against tIoU", fontsize=10)
    return fig


__all__ = ["plot_compare"]
