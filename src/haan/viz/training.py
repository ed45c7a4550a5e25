"""The figure of a training run (`haan plot training`): the selection mAP per evaluated epoch with
the best epoch marked, above one panel per loss; and reading it from a run folder's log.csv and
results.csv (bad input is one `InputError` line).

Scores in percent on every axis: results.csv holds percent already.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from haan.errors import DataWarning, InputError
from haan.fileio import read_numeric_csv
from haan.viz.figures import check_output, save_figure

LOG_NON_LOSS_COLUMNS = ("epoch", "kmeans_inertia", "eval_avg_mAP", "seconds")
# Titles of HAAN's log columns in the paper's notation; other runs' columns keep their names.
_LOSS_TITLES = {"loss": "total loss", "l_mil": r"$L_{mil}$", "l_pseudo": r"$L_{pseudo}$",
                "l_concept": r"$L_{concept}$", "l_coarse": r"$L_{coarse}$"}


@dataclass(frozen=True)
class TrainingCurves:
    epochs: np.ndarray                   # (E,) epochs of log.csv
    losses: dict[str, np.ndarray]        # loss column -> (E,)
    eval_epochs: np.ndarray              # (R,) epochs of results.csv
    eval_mAP: dict[str, np.ndarray]      # results.csv column (mAP@t..., avg.mAP) -> (R,) percent


def best_epoch(eval_epochs: np.ndarray, average_mAP: np.ndarray) -> int | None:
    """The epoch training selects: highest average mAP, the earliest on ties, NaN never; None
    when no value is finite."""
    average_mAP = np.asarray(average_mAP, dtype=np.float64)
    finite = np.isfinite(average_mAP)
    if not finite.any():
        return None
    return int(np.asarray(eval_epochs)[np.argmax(np.where(finite, average_mAP, -np.inf))])


def plot_training(curves: TrainingCurves, title: str = "") -> Figure:
    """The selection mAP per evaluated epoch (each results.csv column, avg.mAP bold, the best epoch
    marked) above one panel per loss (their scales differ by orders of magnitude)."""
    names = list(curves.losses)
    ncols = min(3, max(len(names), 1))
    loss_rows = -(-len(names) // ncols)
    fig = Figure(figsize=(11, 3.6 + 2.3 * loss_rows), layout="constrained")
    grid = fig.add_gridspec(1 + loss_rows, ncols, height_ratios=[1.6] + [1.0] * loss_rows)
    top = fig.add_subplot(grid[0, :])
    panels = [fig.add_subplot(grid[1 + i // ncols, i % ncols], sharex=top)
              for i in range(len(names))]

    avg = curves.eval_mAP.get("avg.mAP")
    best = best_epoch(curves.eval_epochs, avg) if avg is not None else None
    thresholds = [k for k in curves.eval_mAP if k != "avg.mAP"]
    cmap = colormaps["viridis"]
    for i, key in enumerate(thresholds):  # the yellow end of viridis would not show on white
        top.plot(curves.eval_epochs, curves.eval_mAP[key], linewidth=0.9, alpha=0.8, label=key,
                 color=cmap(0.85 * i / max(len(thresholds) - 1, 1)))
    if avg is not None:
        top.plot(curves.eval_epochs, avg, color="black", linewidth=2.0, label="avg.mAP")
    for ax, name in zip(panels, names):
        ax.plot(curves.epochs, curves.losses[name], color="tab:blue", linewidth=1.0, label=name)
        ax.set_title(_LOSS_TITLES.get(name, name), fontsize=9)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
        ax.set_xlabel("epoch", fontsize=8)
    if best is not None:
        value = float(avg[np.flatnonzero(curves.eval_epochs == best)[0]])
        top.plot([best], [value], marker="*", markersize=14, color="crimson", linestyle="none",
                 label=f"best epoch {best}: {value:.2f}", zorder=5)
        for ax in [top, *panels]:
            ax.axvline(best, color="crimson", linestyle=":", linewidth=1.0)
    if len(curves.eval_epochs) == 0:
        top.text(0.5, 0.5, "no evaluated epoch yet", transform=top.transAxes, ha="center",
                 va="center", color="0.4")
    top.set_ylabel("selection mAP (%)")
    top.set_xlabel("epoch")
    top.grid(alpha=0.3)
    if len(curves.eval_epochs):
        top.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=7, frameon=False)

    every_epoch = np.concatenate([curves.epochs, curves.eval_epochs])
    if len(every_epoch):
        top.set_xlim(every_epoch.min() - 0.5, every_epoch.max() + 0.5)
    top.xaxis.set_major_locator(MaxNLocator(integer=True))  # shared by the loss panels
    fig.suptitle(title or "training", fontsize=10)
    return fig


def _column(path: Path, header: list[str], values: np.ndarray, name: str) -> np.ndarray:
    if name not in header:
        raise InputError(f"{path}: no '{name}' column (columns: {', '.join(header)})")
    column = values[:, header.index(name)]
    if name == "epoch" and not np.all(np.isfinite(column)):
        raise InputError(f"{path}: an epoch that is not a number")
    return column


def read_training_curves(run_dir: str | Path) -> TrainingCurves:
    """log.csv (required) and results.csv (a warning when absent: no epoch evaluated yet)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: not a folder (expected a run folder with log.csv)")
    log_path = run_dir / "log.csv"
    header, values = read_numeric_csv(log_path)
    epochs = _column(log_path, header, values, "epoch").astype(np.int64)
    if len(epochs) == 0:
        raise InputError(f"{log_path}: no epoch logged yet")
    losses = {name: values[:, j] for j, name in enumerate(header)
              if name not in LOG_NON_LOSS_COLUMNS}

    results_path = run_dir / "results.csv"
    eval_epochs, eval_mAP = np.zeros(0, dtype=np.int64), {}
    if results_path.exists():
        header, values = read_numeric_csv(results_path)
        eval_epochs = _column(results_path, header, values, "epoch").astype(np.int64)
        _column(results_path, header, values, "avg.mAP")
        eval_mAP = {name: values[:, j] for j, name in enumerate(header) if name != "epoch"}
    else:
        warnings.warn(f"{results_path}: no such file; drawing the losses only", DataWarning)
    return TrainingCurves(epochs=epochs, losses=losses, eval_epochs=eval_epochs, eval_mAP=eval_mAP)


def plot_training_run(run_dir: str | Path, out: str | Path, overwrite: bool = False) -> Figure:
    """`haan plot training`: read the run folder, draw, write `out`."""
    check_output(out, overwrite)
    fig = plot_training(read_training_curves(run_dir),
                        title=f"training run: {Path(run_dir).resolve().name}")
    save_figure(fig, out)
    return fig


__all__ = ["LOG_NON_LOSS_COLUMNS", "TrainingCurves", "best_epoch", "plot_training",
           "plot_training_run", "read_training_curves"]
