"""Figures: one video's class activations and detections, a training run's curves, an evaluation
report's mAP and per-class AP, and several methods' mAP over seeds.

The figure functions take arrays and dicts and return a matplotlib `Figure`. They never touch
pyplot, so there is no global figure state and no display backend: they work headless, leak no
figures in a long process, and leave a notebook's backend alone (PNG is rendered by Agg).
`save_figure` writes a figure as PNG, SVG or PDF by the path's extension, through haan.fileio.
The loaders read a run folder or a report file; bad input is one `InputError` line.

Scores in percent on every axis; reports hold fractions, results.csv holds percent already.
"""

from __future__ import annotations

import textwrap
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib import colormaps, rc_context
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from haan.errors import DataWarning, InputError
from haan.evaluation.postprocess import VideoDetections, video_scores
from haan.fileio import atomic_write, read_json, read_numeric_csv, refuse_to_replace

FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
# No creation date in SVG and PDF files, so that the same data gives the same bytes.
_METADATA = {"png": {}, "svg": {"Date": None}, "pdf": {"CreationDate": None}}
DPI = 100

LOG_NON_LOSS_COLUMNS = ("epoch", "kmeans_inertia", "eval_avg_mAP", "seconds")
# Titles of HAAN's log columns in the paper's notation; other runs' columns keep their names.
_LOSS_TITLES = {"loss": "total loss", "l_mil": r"$L_{mil}$", "l_pseudo": r"$L_{pseudo}$",
                "l_concept": r"$L_{concept}$", "l_coarse": r"$L_{coarse}$"}


# ----------------------------------------------------------------------------------------------
# Writing


def figure_format(path: str | Path) -> str:
    """The format a figure path asks for, from its extension (.png, .svg, .pdf)."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        shown = f"'{suffix}'" if suffix else "no extension"
        raise InputError(f"{path}: unknown figure format ({shown}); use .png, .svg or .pdf")
    return FORMATS[suffix]


def save_figure(fig: Figure, path: str | Path) -> None:
    """PNG, SVG or PDF by the extension; the same figure gives the same bytes in every format."""
    fmt = figure_format(path)
    # A fixed salt: SVG element ids are otherwise random.
    with rc_context({"svg.hashsalt": "haan"}), atomic_write(path, "wb") as f:
        fig.savefig(f, format=fmt, dpi=DPI, metadata=_METADATA[fmt])


def _check_output(path: str | Path, overwrite: bool) -> None:
    """Fail before any work: a format we cannot write, or a file we must not replace."""
    figure_format(path)
    if not overwrite:
        refuse_to_replace([path])


# ----------------------------------------------------------------------------------------------
# One video


def _short(name: str, width: int) -> str:
    return textwrap.shorten(name, width=width, placeholder="...") if len(name) > width else name


def _colors(n: int) -> list:
    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def shown_video_classes(gt_labels: np.ndarray, class_score: np.ndarray, top_k: int) -> np.ndarray:
    """The classes a video figure draws, one row each: the ground-truth classes in order of first
    appearance, then the `top_k` classes of highest video score that are not among them."""
    gt_labels = np.asarray(gt_labels, dtype=np.int64)
    _, first = np.unique(gt_labels, return_index=True)
    gt_classes = gt_labels[np.sort(first)]                                  # (G_v,)
    by_score = np.argsort(-class_score, kind="stable")                      # (C,)
    predicted = by_score[~np.isin(by_score, gt_classes)][:top_k]            # (<= top_k,)
    return np.concatenate([gt_classes, predicted]).astype(np.int64)


def plot_video(
    scores: np.ndarray,
    clips_per_second: float,
    detections: VideoDetections,
    gt_labels: np.ndarray,
    gt_segments: np.ndarray,
    class_names: Sequence[str],
    coarse_names: Sequence[str],
    fine_to_coarse: np.ndarray,
    video_name: str,
    *,
    kmax_mod_factor: float,
    top_k: int = 3,
) -> Figure:
    """One video: each shown class's clip score over time (clip t spans t / r .. (t + 1) / r
    seconds, r = clips_per_second), and per class a row with its detections (bars labelled with
    their scores) above its ground-truth segments. Shown classes: the ground-truth ones and the
    `top_k` others of highest video score (the c_s of detection, with `kmax_mod_factor`).

    scores (T, C); detections in seconds; gt_labels (N,) fine classes, gt_segments (N, 2) seconds
    (both empty for a video without annotation); class_names (C,); coarse_names (G,);
    fine_to_coarse (C,) coarse index of each fine class.
    """
    scores = np.asarray(scores, dtype=np.float64)                           # (T, C)
    num_clips, num_classes = scores.shape
    fine_to_coarse = np.asarray(fine_to_coarse, dtype=np.int64)             # (C,)
    if len(class_names) != num_classes or len(fine_to_coarse) != num_classes:
        raise ValueError(f"{num_classes} score columns, {len(class_names)} class names, "
                         f"{len(fine_to_coarse)} fine-to-coarse entries")
    gt_labels = np.asarray(gt_labels, dtype=np.int64).reshape(-1)           # (N,)
    gt_segments = np.asarray(gt_segments, dtype=np.float64).reshape(-1, 2)  # (N, 2)
    if num_clips == 0:
        raise ValueError("a video without clips has nothing to draw")
    class_score = video_scores(scores, kmax_mod_factor)                     # (C,)
    shown = shown_video_classes(gt_labels, class_score, top_k)              # (S,)
    row_of = np.full(num_classes, -1, dtype=np.int64)
    row_of[shown] = np.arange(len(shown))
    colors = _colors(len(shown))
    duration = num_clips / clips_per_second
    edges = np.arange(num_clips + 1) / clips_per_second                     # (T + 1,) seconds
    in_gt = np.isin(shown, gt_labels)
    has_gt = len(gt_labels) > 0
    solid = in_gt | (not has_gt)  # dashed: a predicted class the ground truth does not have

    rows = len(shown)
    fig = Figure(figsize=(11, 4.0 + 0.42 * max(rows, 1) + 0.09 * (rows + 2)), layout="constrained")
    curves, bars = fig.subplots(2, 1, sharex=True, height_ratios=[3.0, 0.5 + 0.42 * max(rows, 1)])

    for row, c in enumerate(shown.tolist()):  # one artist per shown class (a handful)
        tag = "" if solid[row] else ", not in the ground truth"
        curves.stairs(scores[:, c], edges, color=colors[row], baseline=None,
                      linewidth=1.5 if solid[row] else 1.0, linestyle="-" if solid[row] else "--",
                      label=f"{_short(class_names[c], 60)}  (video score {class_score[c]:.2f}{tag})")
    curves.set_ylabel("clip score (logit)")
    curves.set_title("class activation over time", fontsize=9, loc="left")
    curves.grid(alpha=0.3)

    # Row r (from the top): its detections at y = r - 0.19, its ground truth at y = r + 0.21.
    keep = row_of[detections.label] >= 0
    det_row = row_of[detections.label[keep]]
    det_start, det_end = detections.start[keep], detections.end[keep]
    det_score = detections.score[keep]
    bars.barh(det_row - 0.19, det_end - det_start, left=det_start, height=0.34,
              color=[colors[r] for r in det_row.tolist()], edgecolor="black", linewidth=0.4,
              label="detection")
    label_width = 0.3 * duration / (0.8 * fig.get_figwidth())  # seconds a "0.00" label covers
    centre = (det_start + det_end) / 2
    for k in _labels_that_fit(det_row, centre, det_score, label_width).tolist():
        bars.text(centre[k], det_row[k] - 0.19, f"{det_score[k]:.2f}", ha="center", va="center",
                  fontsize=6, clip_on=True,
                  bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.75})
    gt_keep = row_of[gt_labels] >= 0
    gt_row = row_of[gt_labels[gt_keep]]
    bars.barh(gt_row + 0.21, gt_segments[gt_keep, 1] - gt_segments[gt_keep, 0],
              left=gt_segments[gt_keep, 0], height=0.26, color="0.6", hatch="////",
              edgecolor="0.25", linewidth=0.4, label="ground truth")
    bars.set_yticks(np.arange(rows), [_short(class_names[c], 40) for c in shown.tolist()], fontsize=7)
    for tick, gt in zip(bars.get_yticklabels(), in_gt.tolist()):
        tick.set_fontweight("bold" if gt else "normal")
    bars.set_ylim(rows - 0.5, -0.5)
    bars.set_xlim(0, duration)
    bars.set_xlabel("time (s)")
    bars.grid(axis="x", alpha=0.3)
    hidden = int((~keep).sum())
    note = f"; {hidden} more in classes not shown" if hidden else ""
    below = " above the ground truth (hatched)" if has_gt else " (no ground truth)"
    bars.set_title(f"per class: detections (bars, with their scores){below}{note}",
                   fontsize=9, loc="left")

    handles, labels = curves.get_legend_handles_labels()
    handles.append(Patch(facecolor="white", edgecolor="black", linewidth=0.6))
    labels.append("detection (class colour, score printed)")
    if has_gt:
        handles.append(Patch(facecolor="0.6", edgecolor="0.25", hatch="////", linewidth=0.6))
        labels.append("ground-truth segment")
    fig.legend(handles, labels, loc="outside lower center", ncols=2, fontsize=7, frameon=False)

    if has_gt:
        coarse = _unique_in_order(fine_to_coarse[gt_labels])
        kind = "coarse"
    else:  # a video without annotation: the coarse classes of its top predictions
        coarse = _unique_in_order(fine_to_coarse[shown])
        kind = "predicted coarse"
    names = ", ".join(str(coarse_names[g]) for g in coarse.tolist())
    fig.suptitle(f"{video_name}  ({kind}: {names};  {num_clips} clips, {duration:.1f} s)", fontsize=10)
    return fig


def _labels_that_fit(row: np.ndarray, centre: np.ndarray, score: np.ndarray, width: float) -> np.ndarray:
    """Indices of the detections whose score labels are printed: in each row, highest score first,
    every label that does not overlap one already placed (short, dense detections would otherwise
    print over each other)."""
    placed: dict[int, list[float]] = {}
    chosen = []
    for k in np.lexsort((-score, row)).tolist():  # greedy, so sequential; a few dozen detections
        taken = placed.setdefault(int(row[k]), [])
        if all(abs(centre[k] - c) >= width for c in taken):
            taken.append(float(centre[k]))
            chosen.append(k)
    return np.asarray(sorted(chosen), dtype=np.int64)


def _unique_in_order(values: np.ndarray) -> np.ndarray:
    _, first = np.unique(values, return_index=True)
    return values[np.sort(first)]


# ----------------------------------------------------------------------------------------------
# A training run


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
    panels = [fig.add_subplot(grid[1 + i // ncols, i % ncols], sharex=top) for i in range(len(names))]

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
    losses = {name: values[:, j] for j, name in enumerate(header) if name not in LOG_NON_LOSS_COLUMNS}

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
    _check_output(out, overwrite)
    fig = plot_training(read_training_curves(run_dir), title=f"training run: {Path(run_dir).resolve().name}")
    save_figure(fig, out)
    return fig


# ----------------------------------------------------------------------------------------------
# An evaluation report


@dataclass(frozen=True)
class APCurves:
    tiou_thresholds: np.ndarray            # (K,)
    mAP: np.ndarray                        # (K,) fractions, NaN where undefined
    average_mAP: float
    per_class_ap: dict[str, np.ndarray]    # label -> (K,) fractions, evaluated classes
    classes_without_ground_truth: list[str]


def _natural_key(label: str) -> tuple:
    return (0, int(label), "") if label.isdigit() else (1, 0, label)


def per_class_order(per_class_ap: Mapping[str, np.ndarray],
                    fine_to_coarse: Mapping[str, str] | None) -> list[tuple[str | None, list[str]]]:
    """The per-class rows of an AP figure: (coarse label, its fine labels) groups, coarse labels
    in natural order (0, 1, ..., 10 or by name), fine labels by AP averaged over thresholds,
    highest first (NaN last, ties by label). Without a mapping, one group (None)."""
    average = {label: float(np.mean(ap)) for label, ap in per_class_ap.items()}

    def by_ap(label: str) -> tuple:
        value = average[label]
        return (np.isnan(value), -value if not np.isnan(value) else 0.0, _natural_key(label))

    if fine_to_coarse is None:
        return [(None, sorted(per_class_ap, key=by_ap))]
    groups: dict[str, list[str]] = {}
    for label in per_class_ap:
        groups.setdefault(fine_to_coarse[label], []).append(label)
    return [(g, sorted(groups[g], key=by_ap)) for g in sorted(groups, key=_natural_key)]


def plot_ap(fine: APCurves, coarse: APCurves | None = None,
            fine_to_coarse: Mapping[str, str] | None = None, title: str = "") -> Figure:
    """mAP against tIoU (fine, and coarse when given) above the per-class AP averaged over the
    thresholds: horizontal bars, grouped by coarse class when `fine_to_coarse` is given."""
    groups = per_class_order(fine.per_class_ap, fine_to_coarse)
    num_rows = sum(len(labels) for _, labels in groups)
    gap = 0.8  # empty rows between coarse groups
    fig = Figure(figsize=(9, 4.6 + 0.155 * (num_rows + gap * len(groups))), layout="constrained")
    curve_ax, bar_ax = fig.subplots(
        2, 1, height_ratios=[3.2, 0.6 + 0.155 * (num_rows + gap * len(groups))])

    for curves, name, style in [(fine, "fine classes", "-"), (coarse, "coarse classes", "--")]:
        if curves is None:
            continue
        curve_ax.plot(curves.tiou_thresholds, curves.mAP * 100, style, marker="o", markersize=4,
                      label=f"{name}: average {curves.average_mAP * 100:.2f}")
    curve_ax.set_xlabel("tIoU threshold")
    curve_ax.set_ylabel("mAP (%)")
    curve_ax.set_xticks(fine.tiou_thresholds)
    curve_ax.tick_params(axis="x", labelsize=7)
    curve_ax.set_ylim(bottom=0)
    curve_ax.grid(alpha=0.3)
    curve_ax.legend(fontsize=8)
    curve_ax.set_title("mAP against tIoU", fontsize=9, loc="left")

    positions, labels, values, colors, y = [], [], [], [], 0.0
    palette = _colors(len(groups))
    for g, (group, members) in enumerate(groups):
        start = y
        for label in members:  # a row per class: at most ~100 labels and numbers
            positions.append(y)
            labels.append(label)
            values.append(float(np.mean(fine.per_class_ap[label])) * 100)
            colors.append(palette[g] if group is not None else "tab:blue")
            y += 1
        if group is not None:
            text = f"coarse {group}" if group.isdigit() else group
            if coarse is not None and group in coarse.per_class_ap:
                text += f"\ncoarse AP {float(np.mean(coarse.per_class_ap[group])) * 100:.1f}"
            bar_ax.text(1.01, (start + y - 1) / 2, text, transform=bar_ax.get_yaxis_transform(),
                        va="center", ha="left", fontsize=7)
            if g:
                bar_ax.axhline(start - (gap + 1) / 2, color="0.8", linewidth=0.6)
        y += gap
    value_arr = np.asarray(values)
    bar_ax.barh(positions, np.nan_to_num(value_arr), height=0.8, color=colors, label="per-class AP")
    for p, v in zip(positions, values):
        bar_ax.text(0 if np.isnan(v) else v, p, " n/a" if np.isnan(v) else f" {v:.1f}",
                    va="center", ha="left", fontsize=5.5)
    bar_ax.set_yticks(positions, [_short(label, 40) for label in labels], fontsize=6)
    bar_ax.set_ylim(max(y - gap, 1.0) - 0.5, -0.5)  # at least one row's height
    finite_max = np.nanmax(value_arr) if np.isfinite(value_arr).any() else 0.0
    bar_ax.set_xlim(0, max(finite_max * 1.12, 1.0))
    bar_ax.set_xlabel(f"AP (%), averaged over {len(fine.tiou_thresholds)} tIoU thresholds")
    bar_ax.grid(axis="x", alpha=0.3)
    left_out = len(fine.classes_without_ground_truth)
    note = f"; {left_out} without ground truth not shown" if left_out else ""
    grouping = ", grouped by coarse class" if fine_to_coarse is not None else ""
    bar_ax.set_title(f"per-class AP ({num_rows} classes{grouping}, highest first{note})",
                     fontsize=9, loc="left")
    fig.suptitle(title or "detection AP", fontsize=10)
    return fig


def _numbers(path: Path, where: str, value: Any, length: int | None = None) -> np.ndarray:
    """A JSON list of numbers (null = NaN) as float64, optionally of a given length."""
    if not isinstance(value, list) or not all(
            v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in value):
        raise InputError(f"{path}: {where}: expected a list of numbers")
    if length is not None and len(value) != length:
        raise InputError(f"{path}: {where}: {len(value)} values, expected {length} (one per tIoU threshold)")
    return np.array([np.nan if v is None else v for v in value], dtype=np.float64)


def _ap_curves(path: Path, report: Any, where: str) -> APCurves:
    if not isinstance(report, dict):
        raise InputError(f"{path}: {where or 'the report'}: expected a JSON object")
    prefix = f"{where}." if where else ""
    for key in ("tiou_thresholds", "mAP", "average_mAP", "per_class_ap"):
        if key not in report:
            raise InputError(f"{path}: no '{prefix}{key}' (not an evaluation report?)")
    thresholds = _numbers(path, prefix + "tiou_thresholds", report["tiou_thresholds"])
    if len(thresholds) == 0 or not np.all(np.isfinite(thresholds)):
        raise InputError(f"{path}: {prefix}tiou_thresholds: expected at least one number")
    k = len(thresholds)
    average = report["average_mAP"]
    if average is not None and (not isinstance(average, (int, float)) or isinstance(average, bool)):
        raise InputError(f"{path}: {prefix}average_mAP: expected a number")
    per_class = report["per_class_ap"]
    if not isinstance(per_class, dict):
        raise InputError(f"{path}: {prefix}per_class_ap: expected an object (label -> list)")
    without = report.get("classes_without_ground_truth", [])
    if not isinstance(without, list):
        raise InputError(f"{path}: {prefix}classes_without_ground_truth: expected a list")
    return APCurves(
        tiou_thresholds=thresholds,
        mAP=_numbers(path, prefix + "mAP", report["mAP"], k),
        average_mAP=np.nan if average is None else float(average),
        per_class_ap={str(label): _numbers(path, f"{prefix}per_class_ap.{label}", ap, k)
                      for label, ap in per_class.items()},
        classes_without_ground_truth=[str(c) for c in without],
    )


def read_ap_report(path: str | Path) -> tuple[APCurves, APCurves | None, dict[str, str] | None]:
    """An evaluation report (haan evaluate, haan eval-detections --output): the fine curves, the
    coarse ones and the fine -> coarse mapping (None where the report has none)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    return ap_report_curves(read_json(path), path)


def ap_report_curves(report: Any, path: str | Path = "<report>"
                     ) -> tuple[APCurves, APCurves | None, dict[str, str] | None]:
    """`read_ap_report` of a report already read (e.g. `haan.evaluation.reports.report_json`'s dict); `path`
    names it in errors."""
    fine = _ap_curves(path, report, "")
    coarse = _ap_curves(path, report["coarse"], "coarse") if report.get("coarse") is not None else None
    mapping = report.get("fine_to_coarse")
    if mapping is None:
        return fine, coarse, None
    if not isinstance(mapping, dict) or not all(isinstance(v, (str, int)) and not isinstance(v, bool)
                                                for v in mapping.values()):
        raise InputError(f"{path}: fine_to_coarse: expected an object (fine label -> coarse label)")
    missing = sorted(set(fine.per_class_ap) - set(mapping), key=_natural_key)
    if missing:
        raise InputError(f"{path}: fine_to_coarse: no coarse class for {', '.join(missing[:5])}"
                         + (f" ... ({len(missing)} classes)" if len(missing) > 5 else ""))
    return fine, coarse, {str(k): str(v) for k, v in mapping.items()}


def plot_ap_report(report: str | Path, out: str | Path, overwrite: bool = False) -> Figure:
    """`haan plot ap`: read the report, draw, write `out`."""
    _check_output(out, overwrite)
    fine, coarse, mapping = read_ap_report(report)
    fig = plot_ap(fine, coarse, mapping, title=f"detection AP: {report}")
    save_figure(fig, out)
    return fig


# ----------------------------------------------------------------------------------------------
# Several methods


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
            raise ValueError(f"{name}: {per_seed.shape[1]} values per seed, {len(thresholds)} thresholds")
        seeds = per_seed.shape[0]
        mean = per_seed.mean(axis=0)                                         # (K,)
        std = per_seed.std(axis=0, ddof=1) if seeds > 1 else np.zeros_like(mean)
        average = (per_seed.mean(axis=1) if averages is None                 # (S,) each seed's average mAP
                   else np.atleast_1d(np.asarray(averages[name], dtype=np.float64)) * 100)
        spread = f" ± {average.std(ddof=1):.2f}" if seeds > 1 else ""
        ax.errorbar(thresholds, mean, yerr=std, marker="o", markersize=4, capsize=3, linewidth=1.4,
                    label=f"{name}: average {average.mean():.2f}{spread} ({seeds} seed{'s' * (seeds > 1)})")
    ax.set_xlabel("tIoU threshold")
    ax.set_ylabel("mAP (%), mean ± std over seeds")
    ax.set_xticks(thresholds)
    ax.tick_params(axis="x", labelsize=7)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    # Beside the axes: inside, it would hide the lines of the lowest methods.
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.suptitle(title or "mAP against tIoU", fontsize=10)
    return fig


__all__ = [
    "APCurves", "FORMATS", "TrainingCurves", "ap_report_curves", "best_epoch", "figure_format", "per_class_order",
    "plot_ap", "plot_ap_report", "plot_compare", "plot_training", "plot_training_run", "plot_video",
    "read_ap_report", "read_training_curves", "save_figure", "shown_video_classes",
]
