"""The figure of one video (`haan plot video`, `haan predict --plot`): each shown class's clip
scores over time above a row per class with its detections and its ground-truth segments.

`plot_video` draws it in steps, one per part of the figure, in the order the artists are added
(the order fixes the bytes of the written file).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from haan.evaluation.postprocess import VideoDetections, video_scores
from haan.viz.figures import class_colors, shorten

# Row r of the lower panel (from the top): its detections at y = r - 0.19, its ground truth at
# y = r + 0.21.
DETECTION_OFFSET, DETECTION_HEIGHT = -0.19, 0.34
GROUND_TRUTH_OFFSET, GROUND_TRUTH_HEIGHT = 0.21, 0.26


def shown_video_classes(gt_labels: np.ndarray, class_score: np.ndarray, top_k: int) -> np.ndarray:
    """The classes a video figure draws, one row each: the ground-truth classes in order of first
    appearance, then the `top_k` classes of highest video score that are not among them."""
    gt_labels = np.asarray(gt_labels, dtype=np.int64)
    _, first = np.unique(gt_labels, return_index=True)
    gt_classes = gt_labels[np.sort(first)]                                  # (G_v,)
    by_score = np.argsort(-class_score, kind="stable")                      # (C,)
    predicted = by_score[~np.isin(by_score, gt_classes)][:top_k]            # (<= top_k,)
    return np.concatenate([gt_classes, predicted]).astype(np.int64)


@dataclass(frozen=True)
class _VideoRows:
    """The rows of a video figure, one per shown class, top to bottom."""

    shown: np.ndarray     # (S,) class of each row
    row_of: np.ndarray    # (C,) row of each class, -1 where the class is not shown
    colors: list          # S colours, one per row
    in_gt: np.ndarray     # (S,) bool: a class of the ground truth
    has_gt: bool          # the video has ground truth at all
    solid: np.ndarray     # (S,) bool; dashed: a predicted class the ground truth does not have


def _video_rows(shown: np.ndarray, num_classes: int, gt_labels: np.ndarray) -> _VideoRows:
    row_of = np.full(num_classes, -1, dtype=np.int64)
    row_of[shown] = np.arange(len(shown))
    in_gt = np.isin(shown, gt_labels)
    has_gt = len(gt_labels) > 0
    return _VideoRows(shown=shown, row_of=row_of, colors=class_colors(len(shown)), in_gt=in_gt,
                     has_gt=has_gt, solid=in_gt | (not has_gt))


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
    scores, fine_to_coarse, gt_labels, gt_segments = _video_arrays(
        scores, class_names, fine_to_coarse, gt_labels, gt_segments)
    num_clips, num_classes = scores.shape
    class_score = video_scores(scores, kmax_mod_factor)                     # (C,)
    rows = _video_rows(shown_video_classes(gt_labels, class_score, top_k), num_classes, gt_labels)
    duration = num_clips / clips_per_second

    fig, curves, bars = _video_figure(len(rows.shown))
    _draw_class_scores(curves, scores, clips_per_second, class_score, class_names, rows)
    hidden = _draw_detections(bars, detections, duration, rows)
    _draw_ground_truth(bars, gt_labels, gt_segments, rows)
    _label_class_rows(bars, class_names, rows, duration, hidden)
    _add_legend(fig, curves, rows.has_gt)
    coarse_classes = fine_to_coarse[gt_labels] if rows.has_gt else fine_to_coarse[rows.shown]
    names = ", ".join(str(coarse_names[g]) for g in _unique_in_order(coarse_classes).tolist())
    # A video without annotation: the coarse classes of its top predictions.
    kind = "coarse" if rows.has_gt else "predicted coarse"
    fig.suptitle(f"{video_name}  ({kind}: {names};  {num_clips} clips, {duration:.1f} s)",
                 fontsize=10)
    return fig


def _video_arrays(scores, class_names, fine_to_coarse, gt_labels, gt_segments
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The inputs as arrays of their dtypes and shapes; ValueError where they disagree."""
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
    return scores, fine_to_coarse, gt_labels, gt_segments


def _video_figure(num_rows: int) -> tuple[Figure, Axes, Axes]:
    """The figure, its curves panel and its per-class rows panel, sized by the number of rows."""
    fig = Figure(figsize=(11, 4.0 + 0.42 * max(num_rows, 1) + 0.09 * (num_rows + 2)),
                 layout="constrained")
    curves, bars = fig.subplots(2, 1, sharex=True,
                                height_ratios=[3.0, 0.5 + 0.42 * max(num_rows, 1)])
    return fig, curves, bars


def _draw_class_scores(curves: Axes, scores: np.ndarray, clips_per_second: float,
                       class_score: np.ndarray, class_names: Sequence[str],
                       rows: _VideoRows) -> None:
    """A step curve of clip scores per shown class, labelled with its video score."""
    edges = np.arange(scores.shape[0] + 1) / clips_per_second               # (T + 1,) seconds
    for row, c in enumerate(rows.shown.tolist()):  # one artist per shown class (a handful)
        solid = rows.solid[row]
        tag = "" if solid else ", not in the ground truth"
        label = f"{shorten(class_names[c], 60)}  (video score {class_score[c]:.2f}{tag})"
        curves.stairs(scores[:, c], edges, color=rows.colors[row], baseline=None,
                      linewidth=1.5 if solid else 1.0, linestyle="-" if solid else "--",
                      label=label)
    curves.set_ylabel("clip score (logit)")
    curves.set_title("class activation over time", fontsize=9, loc="left")
    curves.grid(alpha=0.3)


def _draw_detections(bars: Axes, detections: VideoDetections, duration: float,
                     rows: _VideoRows) -> int:
    """The detections of the shown classes as bars in their class's row, with their scores where
    the labels fit; returns the number of detections in classes not shown."""
    keep = rows.row_of[detections.label] >= 0
    det_row = rows.row_of[detections.label[keep]]
    det_start, det_end = detections.start[keep], detections.end[keep]
    det_score = detections.score[keep]
    bars.barh(det_row + DETECTION_OFFSET, det_end - det_start, left=det_start,
              height=DETECTION_HEIGHT, color=[rows.colors[r] for r in det_row.tolist()],
              edgecolor="black", linewidth=0.4, label="detection")
    label_width = 0.3 * duration / (0.8 * bars.figure.get_figwidth())  # seconds a "0.00" covers
    centre = (det_start + det_end) / 2
    for k in _labels_that_fit(det_row, centre, det_score, label_width).tolist():
        bars.text(centre[k], det_row[k] + DETECTION_OFFSET, f"{det_score[k]:.2f}", ha="center",
                  va="center", fontsize=6, clip_on=True,
                  bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.75})
    return int((~keep).sum())


def _draw_ground_truth(bars: Axes, gt_labels: np.ndarray, gt_segments: np.ndarray,
                       rows: _VideoRows) -> None:
    """The ground-truth segments of the shown classes, hatched, beneath their detections."""
    gt_keep = rows.row_of[gt_labels] >= 0
    gt_row = rows.row_of[gt_labels[gt_keep]]
    bars.barh(gt_row + GROUND_TRUTH_OFFSET, gt_segments[gt_keep, 1] - gt_segments[gt_keep, 0],
              left=gt_segments[gt_keep, 0], height=GROUND_TRUTH_HEIGHT, color="0.6",
              hatch="////", edgecolor="0.25", linewidth=0.4, label="ground truth")


def _label_class_rows(bars: Axes, class_names: Sequence[str], rows: _VideoRows, duration: float,
                      hidden: int) -> None:
    """Class names on the rows (ground-truth classes bold), the time axis and the panel title."""
    num_rows = len(rows.shown)
    bars.set_yticks(np.arange(num_rows), [shorten(class_names[c], 40) for c in rows.shown.tolist()],
                    fontsize=7)
    for tick, gt in zip(bars.get_yticklabels(), rows.in_gt.tolist()):
        tick.set_fontweight("bold" if gt else "normal")
    bars.set_ylim(num_rows - 0.5, -0.5)
    bars.set_xlim(0, duration)
    bars.set_xlabel("time (s)")
    bars.grid(axis="x", alpha=0.3)
    note = f"; {hidden} more in classes not shown" if hidden else ""
    below = " above the ground truth (hatched)" if rows.has_gt else " (no ground truth)"
    bars.set_title(f"per class: detections (bars, with their scores){below}{note}",
                   fontsize=9, loc="left")


def _add_legend(fig: Figure, curves: Axes, has_gt: bool) -> None:
    """The classes' curves, then a key to the detection and ground-truth bars, below the axes."""
    handles, labels = curves.get_legend_handles_labels()
    handles.append(Patch(facecolor="white", edgecolor="black", linewidth=0.6))
    labels.append("detection (class colour, score printed)")
    if has_gt:
        handles.append(Patch(facecolor="0.6", edgecolor="0.25", hatch="////", linewidth=0.6))
        labels.append("ground-truth segment")
    fig.legend(handles, labels, loc="outside lower center", ncols=2, fontsize=7, frameon=False)


def _labels_that_fit(row: np.ndarray, centre: np.ndarray, score: np.ndarray,
                     width: float) -> np.ndarray:
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


__all__ = ["plot_video", "shown_video_classes"]
