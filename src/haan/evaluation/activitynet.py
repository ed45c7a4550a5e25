"""ActivityNet-format detection files: read ground truth and predictions into flat arrays, evaluate
them with `haan.evaluation.metrics` by the rules of ActivityNet's `Evaluation/eval_detection.py`, and write the
report (`haan.evaluation.reports`).

Ground truth: `{"database": {video: {"subset": name, "annotations": [{"segment": [s, e],
"label": name}, ...]}, ...}}`. Predictions: `{"results": {video: [{"segment": [s, e], "label": name,
"score": x}, ...], ...}}`. Other keys are ignored (no "version", "taxonomy" or "duration" needed).
Segment bounds and scores are JSON numbers or numeric strings (`["88.6", "90.9"]`, read with
`float` as the official evaluator does). Bad files raise `InputError` with a one-line message naming
the file (and the video); odd but usable content gives a `DataWarning`.

The JSON is parsed once by the stdlib; the per-detection fields are pulled out with list
comprehensions into numpy arrays, and validated with a few set comprehensions over their types. Only
when that fast check fails is the file walked item by item to say where the problem is.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from haan.errors import DataWarning, InputError
from haan.evaluation.metrics import DetectionMetrics, coarse_detection_metrics, evaluate_detections
from haan.evaluation.reports import format_table, report_json
from haan.fileio import read_json, write_json

# The official default, exactly: its 9th value is 0.8999999999999999, and a tIoU of exactly that
# value is a match at it (it would not be at 0.9).
DEFAULT_TIOU_THRESHOLDS: tuple[float, ...] = tuple(np.linspace(0.5, 0.95, 10).tolist())

# What happens to predictions on ground-truth videos of another subset than the evaluated one: the
# official evaluator's ground truth holds only the subset, so they are false positives there.
OTHER_SUBSET_RULES = ("false-positive", "drop")

# JSON numbers, or strings `float` reads; bool is excluded because `type(True) is bool`.
_NUMERIC = (int, float, str)


@dataclass(frozen=True)
class GroundTruth:
    videos: list[str]                # every video of the file, in file order
    subsets: list[str | None]        # (V,) each video's "subset" (None where absent)
    labels: list[str]                # every label the file uses (all subsets), sorted
    video: np.ndarray                # (N,) int64 index into videos
    label: np.ndarray                # (N,) int64 index into labels
    segment: np.ndarray              # (N, 2) float64 seconds
    durations: list[float | None] | None = None   # (V,) each video's "duration" where it is a
                                                  # positive number (not checked otherwise)


@dataclass(frozen=True)
class Predictions:
    videos: list[str]                # every video of the file, in file order
    labels: list[str]                # the distinct labels, in order of first appearance
    video: np.ndarray                # (P,) int64 index into videos
    label: np.ndarray                # (P,) int64 index into labels
    segment: np.ndarray              # (P, 2) float64 seconds
    score: np.ndarray                # (P,) float64


@dataclass(frozen=True)
class EvaluationReport:
    metrics: DetectionMetrics                # classes = class_names
    class_names: list[str]                   # (C,) every label the ground truth uses, sorted
    ignored_prediction_labels: list[str]     # never used by the ground truth
    subset: str | None
    num_ground_truths: int                   # evaluated (in the subset)
    num_predictions: int                     # evaluated (false positives included)
    coarse: DetectionMetrics | None = None   # with a hierarchy: classes = coarse_names
    coarse_names: list[str] | None = None    # (K,) sorted
    fine_to_coarse: dict[str, str] | None = None   # class name -> coarse name

    def to_dict(self) -> dict[str, Any]:
        """The report JSON (`haan.evaluation.reports.report_json`)."""
        return report_json(self.metrics, self.class_names, self.ignored_prediction_labels,
                           coarse=self.coarse, coarse_names=self.coarse_names,
                           fine_to_coarse=self.fine_to_coarse)


# ----------------------------------------------------------------------------------------------
# Reading


def parse_tiou_thresholds(text: str) -> tuple[float, ...]:
    """'0.5,0.75,0.95' -> (0.5, 0.75, 0.95); each value must be in (0, 1]."""
    values = []
    for item in text.split(","):
        try:
            value = float(item)
        except ValueError:
            raise InputError(f"--tiou-thresholds: {item.strip()!r} is not a number; expected "
                             "comma-separated values in (0, 1], e.g. 0.5,0.75,0.95") from None
        if not 0.0 < value <= 1.0:
            raise InputError(f"--tiou-thresholds: {item.strip()} is outside (0, 1]")
        values.append(value)
    return tuple(values)


def _top_dict(path: str | Path, data: Any, key: str, expected: str) -> dict:
    if not isinstance(data, dict) or key not in data:
        raise InputError(f"{path}: expected a JSON object with a {key!r} key ({expected})")
    if not isinstance(data[key], dict):
        raise InputError(f"{path}: {key!r} must be an object mapping video names to {expected}")
    return data[key]


def _as_float(x: Any) -> float | None:
    """A JSON number or numeric string as a finite float, else None (bool is not a number)."""
    if type(x) not in _NUMERIC:
        return None
    try:
        value = float(x)
    except (ValueError, OverflowError):  # not numeric text; an integer too large for a float
        return None
    return value if math.isfinite(value) else None


def _item_problem(item: Any, need_score: bool) -> str | None:
    """What is wrong with one annotation/detection, or None."""
    if not isinstance(item, dict):
        return f"expected an object, got {type(item).__name__}"
    seg = item.get("segment")
    if not isinstance(seg, list) or len(seg) != 2 or any(_as_float(x) is None for x in seg):
        return f'"segment" must be 2 finite numbers [start, end], got {json.dumps(seg)}'
    if type(item.get("label")) is not str:
        return f'"label" must be a string, got {json.dumps(item.get("label"))}'
    if need_score and _as_float(item.get("score")) is None:
        return f'"score" must be a finite number, got {json.dumps(item.get("score"))}'
    return None


def _floats(values: list, types: set[type]) -> np.ndarray:
    """A list of numbers (or of pairs) as float64; numeric strings are read with `float`."""
    if str in types:  # rare: strings are converted one by one, exactly as `float` reads them
        values = [[float(x) for x in v] if type(v) is list else float(v) for v in values]
    return np.array(values, dtype=np.float64)


def _columns(path: str | Path, key: str, groups: list[list], names: list[str], need_score: bool,
             ) -> tuple[np.ndarray, list[str], np.ndarray | None]:
    """Flatten the item lists of every video: segments (P, 2), labels [P], scores (P,) or None."""
    items = [d for group in groups for d in group]
    try:
        segs = [d["segment"] for d in items]
        labels = [d["label"] for d in items]
        scores = [d["score"] for d in items] if need_score else []
        seg_types = {type(x) for s in segs for x in s}
        score_types = {type(x) for x in scores}
        ok = ({type(s) for s in segs} <= {list} and {len(s) for s in segs} <= {2}
              and seg_types <= set(_NUMERIC) and {type(x) for x in labels} <= {str}
              and score_types <= set(_NUMERIC))
    except (KeyError, TypeError):
        ok = False
    if ok:
        try:
            segment = _floats(segs, seg_types).reshape(-1, 2)
            score = _floats(scores, score_types) if need_score else None
            ok = bool(np.isfinite(segment).all() and (score is None or np.isfinite(score).all()))
        except (ValueError, OverflowError):
            ok = False
    if not ok:  # slow path, only to say where
        for name, group in zip(names, groups):
            for i, item in enumerate(group):
                problem = _item_problem(item, need_score)
                if problem:
                    raise InputError(f"{path}: {key}[{json.dumps(name)}][{i}]: {problem}")
        raise InputError(f"{path}: malformed {key!r} entries")  # pragma: no cover - unreachable
    return segment, labels, score


def _warn_odd_segments(path: str | Path, segment: np.ndarray) -> None:
    """One warning per kind of odd segment among those evaluated, with its count (a segment can be
    of two kinds). The official evaluator takes them as they are; so does haan."""
    start, end = segment[:, 0], segment[:, 1]
    for count, what in ((int((end < start).sum()), "end before they start"),
                        (int((start < 0).sum()), "start before 0"),
                        (int((end == start).sum()), "have zero length")):
        if count:
            warnings.warn(f"{path}: {count} segments {what} (evaluated as given)", DataWarning)


def read_ground_truth(path: str | Path) -> GroundTruth:
    """Read an ActivityNet ground-truth file (all subsets)."""
    database = _top_dict(path, read_json(path), "database",
                         '{"subset": ..., "annotations": [{"segment": [s, e], "label": ...}]}')
    videos = list(database)
    for name in videos:
        entry = database[name]
        if not isinstance(entry, dict) or not isinstance(entry.get("annotations"), list):
            raise InputError(f'{path}: database[{json.dumps(name)}] must be an object with an '
                             '"annotations" list')
    groups = [database[name]["annotations"] for name in videos]
    segment, label_names, _ = _columns(path, "database", groups, videos, need_score=False)
    labels = sorted(set(label_names))
    index = {name: i for i, name in enumerate(labels)}
    counts = np.fromiter((len(g) for g in groups), dtype=np.int64, count=len(groups))
    return GroundTruth(
        videos=videos,
        subsets=[database[name].get("subset") for name in videos],
        labels=labels,
        video=np.repeat(np.arange(len(videos), dtype=np.int64), counts),
        label=np.array([index[name] for name in label_names], dtype=np.int64),
        segment=segment,
        durations=[_duration(database[name].get("duration")) for name in videos],
    )


def _duration(value: Any) -> float | None:
    seconds = _as_float(value)
    return seconds if seconds is not None and seconds > 0 else None


def read_predictions(path: str | Path) -> Predictions:
    """Read an ActivityNet detection-results file."""
    results = _top_dict(path, read_json(path), "results",
                        'lists of {"segment": [s, e], "label": ..., "score": x}')
    videos = list(results)
    groups = list(results.values())
    if not {type(g) for g in groups} <= {list}:
        bad = next(name for name, g in zip(videos, groups) if type(g) is not list)
        raise InputError(f"{path}: results[{json.dumps(bad)}] must be a list of detections")
    segment, label_names, score = _columns(path, "results", groups, videos, need_score=True)
    index: dict[str, int] = {}
    label = np.array([index.setdefault(name, len(index)) for name in label_names], dtype=np.int64)
    counts = np.fromiter((len(g) for g in groups), dtype=np.int64, count=len(groups))
    return Predictions(videos=videos, labels=list(index), label=label, segment=segment, score=score,
                       video=np.repeat(np.arange(len(videos), dtype=np.int64), counts))


def read_hierarchy(path: str | Path) -> dict[str, str]:
    """A `{"fine label": "coarse label"}` JSON file."""
    mapping = read_json(path)
    if not isinstance(mapping, dict):
        raise InputError(f'{path}: expected a JSON object mapping fine labels to coarse labels, '
                         'e.g. {"vault_round_off": "vault"}')
    for fine, coarse in mapping.items():
        if type(coarse) is not str:
            raise InputError(f"{path}: [{json.dumps(fine)}]: the coarse label must be a string, got "
                             f"{json.dumps(coarse)}")
    return mapping


# ----------------------------------------------------------------------------------------------
# Evaluation and report


def _videos_phrase(count: int, video: np.ndarray) -> str:
    """'N predictions on M videos' for the predictions selected; video (n,) their video ids."""
    return f"{count} predictions on {len(np.unique(video))} videos"


@dataclass(frozen=True)
class Scored:
    """What is scored of a predictions file against a ground-truth file, as the arrays
    `haan.evaluation.metrics` takes (ground-truth video and label ids)."""

    kept_annotation: np.ndarray      # (N,) bool: the ground truths scored (those of the subset)
    used_prediction: np.ndarray      # (P,) bool: the predictions scored
    arrays: tuple                    # gt video, label, segment; prediction video, label, segment,
                                     # score: of the scored ones, in file order
    ignored_labels: list[str]        # prediction labels the ground truth never uses


def select_scored(gt: GroundTruth, pred: Predictions, subset: str | None = None,
                  other_subsets: str = "false-positive", ground_truth_path: str | Path = "",
                  predictions_path: str | Path = "") -> Scored:
    """The ground truths and predictions `evaluate_files` scores, and its warnings (see there);
    the paths only name the files in messages."""
    if other_subsets not in OTHER_SUBSET_RULES:
        raise ValueError(f"other_subsets must be one of {OTHER_SUBSET_RULES}, got {other_subsets!r}")
    if subset is None:
        kept_video = np.ones(len(gt.videos), dtype=bool)                  # (V,)
    else:
        if None in gt.subsets:
            bad = gt.videos[gt.subsets.index(None)]
            raise InputError(f'{ground_truth_path}: database[{json.dumps(bad)}] has no "subset", '
                             f"needed by --subset {subset}")
        kept_video = np.array([s == subset for s in gt.subsets], dtype=bool)
        if not kept_video.any():
            names = ", ".join(sorted({str(s) for s in gt.subsets}))
            raise InputError(f"{ground_truth_path}: no video of subset {subset!r} (subsets: {names})")
    kept = kept_video[gt.video]                                            # (N,)
    if not kept.any():
        raise InputError(f"{ground_truth_path}: no annotation to evaluate"
                         + (f" in subset {subset!r}" if subset is not None else ""))

    # Prediction videos -> ground-truth video ids (-1: unknown to the file). A video of another
    # subset keeps its id: it has no kept ground truth, so its predictions are false positives.
    gt_video_index = {name: i for i, name in enumerate(gt.videos)}
    video_lut = np.array([gt_video_index.get(name, -1) for name in pred.videos], dtype=np.int64)
    pred_video = video_lut[pred.video]                                     # (P,)
    # Prediction labels -> ground-truth label ids (-1: a label the ground truth never uses).
    gt_label_index = {name: i for i, name in enumerate(gt.labels)}
    label_lut = np.array([gt_label_index.get(name, -1) for name in pred.labels], dtype=np.int64)
    pred_label = label_lut[pred.label]                                     # (P,)

    known_label = pred_label >= 0                                          # (P,)
    ignored = sorted(name for name, i in zip(pred.labels, label_lut.tolist()) if i < 0)
    if ignored:
        shown = ", ".join(ignored[:10]) + (f", ... ({len(ignored)} labels)" if len(ignored) > 10 else "")
        warnings.warn(f"{predictions_path}: {int((~known_label).sum())} predictions with labels the "
                      f"ground truth never uses are ignored: {shown}", DataWarning)
    # The other cases count only predictions with a known label (the others are ignored anyway).
    other = known_label & (pred_video >= 0) & ~kept_video[np.maximum(pred_video, 0)]   # (P,)
    if other.any():
        fate = ("are dropped" if other_subsets == "drop" else
                "count as false positives (as in the official evaluator)")
        warnings.warn(f"{predictions_path}: {_videos_phrase(int(other.sum()), pred.video[other])} of "
                      f"other subsets than {subset!r} {fate}", DataWarning)
    unknown = known_label & (pred_video < 0)                               # (P,)
    if unknown.any():
        warnings.warn(f"{predictions_path}: {_videos_phrase(int(unknown.sum()), pred.video[unknown])} "
                      f"unknown to {ground_truth_path} count as false positives", DataWarning)

    use = known_label & ~other if other_subsets == "drop" else known_label  # (P,)
    _warn_odd_segments(ground_truth_path, gt.segment[kept])
    _warn_odd_segments(predictions_path, pred.segment[use])
    arrays = (gt.video[kept], gt.label[kept], gt.segment[kept],
              pred_video[use], pred_label[use], pred.segment[use], pred.score[use])
    return Scored(kept, use, arrays, ignored)


def check_hierarchy(gt: GroundTruth, hierarchy: dict[str, str],
                    hierarchy_path: str | Path = "") -> None:
    """Every ground-truth label must have a coarse label."""
    missing = [name for name in gt.labels if name not in hierarchy]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise InputError(f"{hierarchy_path}: no coarse label for the ground-truth label "
                         f"{json.dumps(missing[0])}{more}")


def score(gt: GroundTruth, scored: Scored, subset: str | None,
          tiou_thresholds: Sequence[float] = DEFAULT_TIOU_THRESHOLDS,
          hierarchy: dict[str, str] | None = None) -> EvaluationReport:
    """The report of what `select_scored` selected (hierarchy checked by `check_hierarchy`)."""
    thr = np.asarray(tiou_thresholds, dtype=np.float64)
    arrays = scored.arrays
    metrics = evaluate_detections(*arrays, num_classes=len(gt.labels), tiou_thresholds=thr)
    coarse = coarse_names = fine_to_coarse = None
    if hierarchy is not None:
        fine_to_coarse = {name: hierarchy[name] for name in gt.labels}
        coarse_names = sorted(set(fine_to_coarse.values()))
        coarse_index = {name: i for i, name in enumerate(coarse_names)}
        coarse_of = np.array([coarse_index[fine_to_coarse[name]] for name in gt.labels], dtype=np.int64)
        coarse = coarse_detection_metrics(*arrays, fine_to_coarse=coarse_of,
                                          num_coarse=len(coarse_names), tiou_thresholds=thr)
    return EvaluationReport(
        metrics=metrics, class_names=gt.labels, ignored_prediction_labels=scored.ignored_labels,
        subset=subset, num_ground_truths=int(scored.kept_annotation.sum()),
        num_predictions=int(scored.used_prediction.sum()),
        coarse=coarse, coarse_names=coarse_names, fine_to_coarse=fine_to_coarse,
    )


def evaluate_files(ground_truth_path: str | Path, predictions_path: str | Path,
                   subset: str | None = None,
                   tiou_thresholds: Sequence[float] = DEFAULT_TIOU_THRESHOLDS,
                   other_subsets: str = "false-positive",
                   hierarchy_path: str | Path | None = None) -> EvaluationReport:
    """ActivityNet detection mAP of a predictions file against a ground-truth file, by the rules of
    the official evaluator.

    With `subset`, only the ground-truth videos of that subset are kept; predictions on the file's
    other videos are false positives (the official rule) or, with `other_subsets="drop"`, left out.
    Predictions on videos the file does not know are false positives. Classes are the labels the
    file uses in any subset; those without an instance in the kept videos are left out of the mean
    and listed. Predictions with labels the ground truth never uses are ignored (the official
    evaluator fails on them). Each of these cases is reported with a `DataWarning` counting exactly
    the predictions it concerns; so are odd segments (reversed, starting before 0, of zero length).

    With `hierarchy_path` (a `{"fine label": "coarse label"}` file covering every ground-truth
    label), the same ground truths and predictions are also scored with their coarse labels.
    """
    if other_subsets not in OTHER_SUBSET_RULES:
        raise ValueError(f"other_subsets must be one of {OTHER_SUBSET_RULES}, got {other_subsets!r}")
    gt = read_ground_truth(ground_truth_path)
    pred = read_predictions(predictions_path)
    hierarchy = read_hierarchy(hierarchy_path) if hierarchy_path is not None else None
    if hierarchy is not None:
        check_hierarchy(gt, hierarchy, hierarchy_path)
    scored = select_scored(gt, pred, subset, other_subsets, ground_truth_path, predictions_path)
    return score(gt, scored, subset, tiou_thresholds, hierarchy)


def format_report(report: EvaluationReport) -> str:
    """The report as a text table, in percent (`haan.evaluation.reports.format_table`)."""
    where = f" (subset {report.subset})" if report.subset is not None else ""
    title = (f"ActivityNet detection mAP{where}: {report.num_ground_truths} ground truths, "
             f"{report.num_predictions} predictions")
    return format_table(report.metrics, title, coarse=report.coarse, coarse_names=report.coarse_names)


def write_report(report: EvaluationReport, path: str | Path) -> None:
    """Write the report JSON (through `haan.fileio`: atomic, NaN as null)."""
    write_json(path, report.to_dict())
