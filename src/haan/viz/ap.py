"""The figure of an evaluation report (`haan plot ap`, `haan evaluate`'s eval_ap.png): mAP against
tIoU above each class's AP, grouped by coarse class; and reading the report (bad input is one
`InputError` line).

Scores in percent on every axis; reports hold fractions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from haan.errors import InputError
from haan.fileio import read_json
from haan.viz.figures import check_output, class_colors, draw_tiou_axes, save_figure, shorten

# Empty rows between two coarse groups of the per-class bars.
GROUP_GAP = 0.8


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
    bar_height = 0.155 * (num_rows + GROUP_GAP * len(groups))
    fig = Figure(figsize=(9, 4.6 + bar_height), layout="constrained")
    curve_ax, bar_ax = fig.subplots(2, 1, height_ratios=[3.2, 0.6 + bar_height])
    _draw_map_curves(curve_ax, fine, coarse)
    _draw_per_class_bars(bar_ax, groups, fine, coarse)
    left_out = len(fine.classes_without_ground_truth)
    note = f"; {left_out} without ground truth not shown" if left_out else ""
    grouping = ", grouped by coarse class" if fine_to_coarse is not None else ""
    bar_ax.set_title(f"per-class AP ({num_rows} classes{grouping}, highest first{note})",
                     fontsize=9, loc="left")
    fig.suptitle(title or "detection AP", fontsize=10)
    return fig


def _draw_map_curves(ax: Axes, fine: APCurves, coarse: APCurves | None) -> None:
    """mAP against tIoU: the fine classes solid, the coarse ones (when given) dashed."""
    for curves, name, style in [(fine, "fine classes", "-"), (coarse, "coarse classes", "--")]:
        if curves is None:
            continue
        ax.plot(curves.tiou_thresholds, curves.mAP * 100, style, marker="o", markersize=4,
                label=f"{name}: average {curves.average_mAP * 100:.2f}")
    draw_tiou_axes(ax, fine.tiou_thresholds, "mAP (%)")
    ax.legend(fontsize=8)
    ax.set_title("mAP against tIoU", fontsize=9, loc="left")


def _draw_per_class_bars(ax: Axes, groups: list[tuple[str | None, list[str]]], fine: APCurves,
                         coarse: APCurves | None) -> None:
    """A bar per class of its AP averaged over the thresholds, top to bottom in `groups`' order;
    each coarse group in its colour, named beside it (with its coarse AP) and ruled off."""
    positions, labels, values, colors, y = [], [], [], [], 0.0
    palette = class_colors(len(groups))
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
            ax.text(1.01, (start + y - 1) / 2, text, transform=ax.get_yaxis_transform(),
                    va="center", ha="left", fontsize=7)
            if g:
                ax.axhline(start - (GROUP_GAP + 1) / 2, color="0.8", linewidth=0.6)
        y += GROUP_GAP
    value_arr = np.asarray(values)
    ax.barh(positions, np.nan_to_num(value_arr), height=0.8, color=colors, label="per-class AP")
    for p, v in zip(positions, values):
        ax.text(0 if np.isnan(v) else v, p, " n/a" if np.isnan(v) else f" {v:.1f}",
                va="center", ha="left", fontsize=5.5)
    ax.set_yticks(positions, [shorten(label, 40) for label in labels], fontsize=6)
    ax.set_ylim(max(y - GROUP_GAP, 1.0) - 0.5, -0.5)  # at least one row's height
    finite_max = np.nanmax(value_arr) if np.isfinite(value_arr).any() else 0.0
    ax.set_xlim(0, max(finite_max * 1.12, 1.0))
    ax.set_xlabel(f"AP (%), averaged over {len(fine.tiou_thresholds)} tIoU thresholds")
    ax.grid(axis="x", alpha=0.3)


def _numbers(path: Path, where: str, value: Any, length: int | None = None) -> np.ndarray:
    """A JSON list of numbers (null = NaN) as float64, optionally of a given length."""
    if not isinstance(value, list) or not all(
            v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in value):
        raise InputError(f"{path}: {where}: expected a list of numbers")
    if length is not None and len(value) != length:
        raise InputError(f"{path}: {where}: {len(value)} values, expected {length} "
                         "(one per tIoU threshold)")
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
    """`read_ap_report` of a report already read (e.g. `haan.evaluation.reports.report_json`'s
    dict); `path` names it in errors."""
    fine = _ap_curves(path, report, "")
    coarse = (_ap_curves(path, report["coarse"], "coarse") if report.get("coarse") is not None
              else None)
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
    check_output(out, overwrite)
    fine, coarse, mapping = read_ap_report(report)
    fig = plot_ap(fine, coarse, mapping, title=f"detection AP: {report}")
    save_figure(fig, out)
    return fig


__all__ = ["APCurves", "ap_report_curves", "per_class_order", "plot_ap", "plot_ap_report",
           "read_ap_report"]
