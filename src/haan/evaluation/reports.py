"""Detection-mAP reports, the same for `haan evaluate`, `haan train` and `haan eval-detections`:
the paper's results.csv, the printed mAP table and the report JSON; and the detections JSON of
`haan evaluate` and `haan predict` (ActivityNet's results format).

The report JSON (values are fractions; NaN is null):

    {"tiou_thresholds": [...], "mAP": [...], "average_mAP": x,
     "per_class_ap": {label: [... per threshold]},          # the classes with ground truth
     "classes_without_ground_truth": [...], "ignored_prediction_labels": [...],
     "coarse": {"tiou_thresholds": [...], "mAP": [...], "average_mAP": x,
                "per_class_ap": {coarse label: [...]}, "classes_without_ground_truth": [...]},
     "fine_to_coarse": {fine label: coarse label}}           # these two only with a hierarchy

No torch here: `haan eval-detections` imports this module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from haan.config import Config
from haan.evaluation.metrics import DetectionMetrics
from haan.evaluation.postprocess import Detections
from haan.fileio import json_ready, write_csv

# ----------------------------------------------------------------------------------------------
# results.csv: `epoch,mAP@<t>,...,avg.mAP` in percent, the paper's file


def results_header(config: Config) -> list[str]:
    return ["epoch"] + [f"mAP@{t}" for t in config.evaluation.report_thresholds] + ["avg.mAP"]


def results_row(epoch: int, metrics: DetectionMetrics, config: Config) -> list[float]:
    """`epoch, mAP@<report thresholds>..., avg.mAP`, in percent as the paper's results.csv (each
    report threshold takes the mAP of the nearest evaluated threshold)."""
    thresholds = np.asarray(config.evaluation.tiou_thresholds)
    row: list[float] = [epoch]
    for t in config.evaluation.report_thresholds:
        j = int(np.argmin(np.abs(thresholds - t)))
        row.append(float(metrics.mAP[j]) * 100)
    row.append(float(metrics.average_mAP) * 100)
    return row


def write_results_csv(path: str | Path, header: Sequence[str], rows: Sequence[Sequence[float]]) -> None:
    """The epoch as an integer, the rest as full-precision floats."""
    write_csv(path, header, [[int(row[0])] + [float(v) for v in row[1:]] for row in rows])


# ----------------------------------------------------------------------------------------------
# The printed table


def _class_count(metrics: DetectionMetrics) -> str:
    evaluated, left_out = int(metrics.has_ground_truth.sum()), metrics.num_left_out
    return (f"{evaluated} {'class' if evaluated == 1 else 'classes'} evaluated, {left_out} left out "
            "of the mean (no ground truth)")


def format_table(metrics: DetectionMetrics, title: str = "", coarse: DetectionMetrics | None = None,
                 coarse_names: Sequence[str] | None = None) -> str:
    """The mAP table in percent: one threshold a line, the average, how many classes were
    evaluated. With `coarse` (scored at the same thresholds), a coarse mAP column and each coarse
    class's AP averaged over the thresholds."""
    lines = [title] if title else []
    coarse_map = [] if coarse is None else coarse.mAP.tolist()
    lines.append("tIoU    mAP (%)" + ("  coarse mAP (%)" if coarse is not None else ""))
    for j, (t, m) in enumerate(zip(metrics.tiou_thresholds.tolist(), metrics.mAP.tolist())):
        lines.append(f"{t:<6g}  {100 * m:7.2f}" + (f"  {100 * coarse_map[j]:14.2f}" if coarse_map else ""))
    lines.append(f"{'avg':<6}  {100 * metrics.average_mAP:7.2f}"
                 + (f"  {100 * coarse.average_mAP:14.2f}" if coarse is not None else ""))
    lines.append(_class_count(metrics))
    if coarse is not None:
        lines.append("coarse: " + _class_count(coarse))
        names = _names(coarse_names, len(coarse.has_ground_truth))
        shown = [(names[c], float(coarse.per_class_ap[c].mean()))
                 for c in np.flatnonzero(coarse.has_ground_truth).tolist()]
        width = max([len("coarse class")] + [len(name) for name, _ in shown])
        lines.append(f"{'coarse class':<{width}}  avg AP (%)")
        lines += [f"{name:<{width}}  {100 * ap:10.2f}" for name, ap in shown]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# The report JSON


def _names(names: Sequence[str] | None, count: int) -> list[str]:
    """Class names, or the class ids as strings (the labels `haan evaluate` writes)."""
    if names is None:
        return [str(c) for c in range(count)]
    if len(names) != count:
        raise ValueError(f"{len(names)} class names for {count} classes")
    return [str(n) for n in names]


def _level_json(metrics: DetectionMetrics, names: list[str]) -> dict[str, Any]:
    has_gt = metrics.has_ground_truth.tolist()
    return {
        "tiou_thresholds": metrics.tiou_thresholds.tolist(),
        "mAP": metrics.mAP.tolist(),
        "average_mAP": float(metrics.average_mAP),
        "per_class_ap": {name: ap for name, ap, h in zip(names, metrics.per_class_ap.tolist(), has_gt) if h},
        "classes_without_ground_truth": [name for name, h in zip(names, has_gt) if not h],
    }


def report_json(metrics: DetectionMetrics, class_names: Sequence[str] | None = None,
                ignored_prediction_labels: Sequence[str] = (), coarse: DetectionMetrics | None = None,
                coarse_names: Sequence[str] | None = None,
                fine_to_coarse: Mapping[str, str] | Sequence[int] | np.ndarray | None = None,
                ) -> dict[str, Any]:
    """The report JSON as a dict ready for `json.dumps` (NaN as None).

    class_names (C,) / coarse_names (K,): default the class ids as strings. fine_to_coarse: a
    {fine name: coarse name} mapping, or (C,) coarse class ids; given with `coarse` only.
    """
    if (coarse is None) != (fine_to_coarse is None):
        raise ValueError("coarse and fine_to_coarse go together")
    names = _names(class_names, len(metrics.has_ground_truth))
    report = _level_json(metrics, names)
    report["ignored_prediction_labels"] = list(ignored_prediction_labels)
    if coarse is not None:
        coarse_list = _names(coarse_names, len(coarse.has_ground_truth))
        if not isinstance(fine_to_coarse, Mapping):
            ids = np.asarray(fine_to_coarse).reshape(-1).tolist()
            if len(ids) != len(names):
                raise ValueError(f"fine_to_coarse has {len(ids)} entries for {len(names)} fine classes")
            fine_to_coarse = {names[f]: coarse_list[c] for f, c in enumerate(ids)}
        report["coarse"] = _level_json(coarse, coarse_list)
        report["fine_to_coarse"] = dict(fine_to_coarse)
    return json_ready(report)


def listing_order(detections: Detections) -> np.ndarray:
    """(P,) the detections by video, then score, highest first (ties in their given order): a
    reading order for people. Files are not written in it: see `detections_json`."""
    return np.lexsort((-detections.score, detections.video))


def detections_json(detections: Detections, video_names: Sequence[str],
                    class_names: Sequence[str] | None = None) -> dict:
    """ActivityNet results JSON, as `haan evaluate` and `haan predict` write it: video_names (V,)
    the videos of `detections.video` (each gets a list, empty without detections, in this order),
    labels the class names (default: the ids as strings).

    Each video's detections are listed in the order they were scored (evaluate's and predict's:
    by class, then start, as the paper's evaluator receives them). Detections with equal scores
    are ranked by the input order of a sort that is not stable, and whose result for ties differs
    between CPUs (numpy's vectorized sorts); listing exactly what was scored, in that order, is
    what makes `haan eval-detections` on this file give evaluate's numbers on every CPU."""
    names = [str(n) for n in video_names]
    labels = None if class_names is None else [str(n) for n in class_names]
    results: dict[str, list[dict]] = {n: [] for n in names}
    for k in range(len(detections.video)):  # output formatting, once per run
        c = int(detections.label[k])
        results[names[detections.video[k]]].append({
            "label": str(c) if labels is None else labels[c],
            "score": float(detections.score[k]),
            "segment": [float(detections.start[k]), float(detections.end[k])],
        })
    return {"version": "haan", "results": results, "external_data": {}}


__all__ = ["detections_json", "format_table", "listing_order", "report_json", "results_header", "results_row",
           "write_results_csv"]
