"""The figures of a detector's operating points and proposal recall, from the JSON-ready sections
of `haan.evaluation.operating_report`: precision, recall and F1 against the score threshold
(overall and a few classes, best F1 marked), and AR against the average number of proposals per
video with recall against tIoU. In percent on every axis; the sections hold fractions.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from haan.viz.figures import class_colors, shorten

# Per-class panels beside the overall one when no classes are named: those with most ground truth.
DEFAULT_CLASS_PANELS = 5
_LINES = (("precision", "precision", "tab:blue"), ("recall", "recall", "tab:orange"),
          ("f1", "F1", "tab:green"))


def _percent(values: Sequence[float | None]) -> np.ndarray:
    """A JSON list (null = undefined) as a float array in percent."""
    return 100.0 * np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _draw_curve(ax: Axes, curve: Mapping[str, Any], title: str) -> None:
    threshold = np.asarray(curve["threshold"], dtype=np.float64)
    for key, name, color in _LINES:
        ax.plot(threshold, _percent(curve[key]), color=color, label=name, lw=1.4,
                drawstyle="steps-post")
    best = curve.get("best")
    if best is not None:
        ax.axvline(best["threshold"], color="0.35", ls="--", lw=0.9)
        ax.plot([best["threshold"]], [100.0 * best["f1"]], "o", color="tab:green", ms=5)
        title += f"\nbest F1 {100 * best['f1']:.1f} at {best['threshold']:.3g}"
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("score threshold (keep score >= threshold)", fontsize=8)
    ax.set_ylim(0, 102)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)


def default_classes(section: Mapping[str, Any], count: int = DEFAULT_CLASS_PANELS) -> list[str]:
    """The `count` classes with most ground truth (ties by name), those with detections only."""
    per_class = section["per_class"]
    shown = [name for name, c in per_class.items() if c["num_ground_truths"] > 0 and c["threshold"]]
    return sorted(shown, key=lambda n: (-per_class[n]["num_ground_truths"], n))[:count]


def plot_operating_points(section: Mapping[str, Any], classes: Sequence[str] | None = None,
                          title: str = "") -> Figure:
    """Precision, recall and F1 (%) against the score threshold: overall (micro-pooled) first,
    then one panel per class of `classes` (default: `default_classes`); best F1 marked."""
    names = list(default_classes(section) if classes is None else classes)
    panels = 1 + len(names)
    columns = min(3, panels)
    rows = -(-panels // columns)
    fig = Figure(figsize=(4.2 * columns, 3.2 * rows + 0.4), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    overall = section["overall"]
    _draw_curve(axes[0], overall, f"overall ({overall['num_ground_truths']} ground truths)")
    axes[0].set_ylabel("%")
    for ax, name in zip(axes[1:], names):
        curve = section["per_class"][name]
        _draw_curve(ax, curve, f"{shorten(name, 30)} ({curve['num_ground_truths']} ground truths)")
    for ax in axes[panels:]:
        ax.set_axis_off()
    axes[0].legend(fontsize=7, loc="best")
    fig.suptitle(title or f"Operating points at tIoU {section['tiou']:g}", fontsize=10)
    return fig


def plot_recall(section: Mapping[str, Any], title: str = "") -> Figure:
    """Left: AR (%) against the average number of proposals per video, with the recall at the
    lowest, middle and highest tIoU; right: recall (%) against tIoU at a few AN."""
    fig = Figure(figsize=(10, 4), layout="constrained")
    left, right = fig.subplots(1, 2)
    an = np.asarray(section["average_proposals"], dtype=np.float64)
    left.plot(an, _percent(section["average_recall"]), color="black", lw=2, label="AR")
    thresholds = section["tiou_thresholds"]
    picks = sorted({0, len(thresholds) // 2, len(thresholds) - 1})
    for color, k in zip(class_colors(len(picks)), picks):
        left.plot(an, _percent(section["recall"][k]), color=color, lw=1,
                  label=f"recall @ tIoU {thresholds[k]:.2f}")
    ar = section["ar_at"]
    left.set_title("AR@AN: " + ", ".join(f"{k}: {100 * v:.1f}" for k, v in ar.items())
                   + f"; AUC {section['area_under_curve']:.1f}", fontsize=9)
    left.set_xlabel("average number of proposals per video (AN)")
    left.set_ylabel("%")
    left.set_ylim(0, 102)
    left.grid(alpha=0.3)
    left.legend(fontsize=7, loc="lower right")

    by_tiou = section["recall_vs_tiou"]
    tiou = np.asarray(by_tiou["tiou"], dtype=np.float64)
    # Curves often coincide (every proposal seen from some AN on): markers of decreasing size
    # and dashes keep each one visible.
    for k, (color, (count, values)) in enumerate(zip(class_colors(len(by_tiou["recall"])),
                                                     by_tiou["recall"].items())):
        right.plot(tiou, _percent(values), marker="osD^v"[k % 5], ls=("-", "--")[k % 2],
                   color=color, ms=max(2.5, 6 - 1.2 * k), lw=1.2, label=f"AN = {count}")
    right.set_xlabel("tIoU threshold")
    right.set_ylim(0, 102)
    right.set_title("recall vs tIoU", fontsize=9)
    right.grid(alpha=0.3)
    right.legend(fontsize=7)
    fig.suptitle(title or (f"Proposal recall: {section['num_ground_truths']} ground truths in "
                           f"{section['num_videos']} videos"), fontsize=10)
    return fig


__all__ = ["DEFAULT_CLASS_PANELS", "default_classes", "plot_operating_points", "plot_recall"]
