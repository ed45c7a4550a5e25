"""ActivityNet-format detection files: read ground truth and predictions into flat arrays, evaluate
them with `haan.metrics`, and write the report.

Ground truth: `{"database": {video: {"subset": name, "annotations": [{"segment": [s, e],
"label": name}, ...]}, ...}}`. Predictions: `{"results": {video: [{"segment": [s, e], "label": name,
"score": x}, ...], ...}}`. Other keys are ignored. Bad files raise `InputError` with a one-line
message naming the file (and the video); odd but usable content gives a `DataWarning`.

The JSON is parsed once by the stdlib; the per-detection fields are pulled out with list
comprehensions into numpy arrays, and validated with a few set comprehensions over their types. Only
when that fast check fails is the file walked item by item to say where the problem is.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from haan.errors import DataWarning, InputError
from haan.metrics import evaluate_detections

# 0.5:0.05:0.95, rounded so that the values print (and serialise) as 0.6 rather than 0.6000000000000001.
DEFAULT_TIOU_THRESHOLDS: tuple[float, ...] = tuple(np.round(np.linspace(0.5, 0.95, 10), 2).tolist())

_NUMBER = (int, float)   # JSON numbers; bool is excluded because `type(True) is bool`


@dataclass(frozen=True)
class GroundTruth:
    videos: list[str]                # every video of the file, in file order
    subsets: list[str | None]        # (V,) each video's "subset" (None where absent)
    labels: list[str]                # every label the file uses (all subsets), sorted
    video: np.ndarray                # (N,) int64 index into videos
    label: np.ndarray                # (N,) int64 index into labels
    segment: np.ndarray              # (N, 2) float64 seconds


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
    tiou_thresholds: list[float]             # (M,)
    mAP: list[float]                         # (M,) fractions in [0, 1]
    average_mAP: float
    per_class_ap: dict[str, list[float]]     # label -> (M,), the classes with ground truth
    classes_without_ground_truth: list[str]  # used by the file, but not in the kept subset
    ignored_prediction_labels: list[str]     # never used by the ground truth
    # For the printed table only (not in the JSON report):
    subset: str | None = None
    num_ground_truths: int = 0
    num_predictions: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON report: exactly these six keys."""
        return {
            "tiou_thresholds": self.tiou_thresholds,
            "mAP": self.mAP,
            "average_mAP": self.average_mAP,
            "per_class_ap": self.per_class_ap,
            "classes_without_ground_truth": self.classes_without_ground_truth,
            "ignored_prediction_labels": self.ignored_prediction_labels,
        }


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


def _load_json(path: str | Path) -> Any:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: invalid JSON: not UTF-8 text") from None


def _top_dict(path: str | Path, data: Any, key: str, expected: str) -> dict:
    if not isinstance(data, dict) or key not in data:
        raise InputError(f"{path}: expected a JSON object with a {key!r} key ({expected})")
    if not isinstance(data[key], dict):
        raise InputError(f"{path}: {key!r} must be an object mapping video names to {expected}")
    return data[key]


def _finite(x: int | float) -> bool:
    try:
        return math.isfinite(x)
    except OverflowError:  # an integer too large for a float
        return False


def _item_problem(item: Any, need_score: bool) -> str | None:
    """What is wrong with one annotation/detection, or None."""
    if not isinstance(item, dict):
        return f"expected an object, got {type(item).__name__}"
    seg = item.get("segment")
    if (not isinstance(seg, list) or len(seg) != 2 or any(type(x) not in _NUMBER for x in seg)
            or not all(_finite(x) for x in seg)):
        return f'"segment" must be 2 finite numbers [start, end], got {json.dumps(seg)}'
    if type(item.get("label")) is not str:
        return f'"label" must be a string, got {json.dumps(item.get("label"))}'
    if need_score and (type(item.get("score")) not in _NUMBER or not _finite(item["score"])):
        return f'"score" must be a finite number, got {json.dumps(item.get("score"))}'
    return None


def _columns(path: str | Path, key: str, groups: list[list], names: list[str], need_score: bool,
             ) -> tuple[np.ndarray, list[str], np.ndarray | None]:
    """Flatten the item lists of every video: segments (P, 2), labels [P], scores (P,) or None."""
    items = [d for group in groups for d in group]
    try:
        segs = [d["segment"] for d in items]
        labels = [d["label"] for d in items]
        scores = [d["score"] for d in items] if need_score else []
        ok = ({type(s) for s in segs} <= {list} and {len(s) for s in segs} <= {2}
              and {type(x) for s in segs for x in s} <= set(_NUMBER)
              and {type(x) for x in labels} <= {str} and {type(x) for x in scores} <= set(_NUMBER))
    except (KeyError, TypeError):
        ok = False
    if ok:
        try:
            segment = np.array(segs, dtype=np.float64).reshape(-1, 2)
            score = np.array(scores, dtype=np.float64) if need_score else None
            ok = bool(np.isfinite(segment).all() and (score is None or np.isfinite(score).all()))
        except OverflowError:
            ok = False
    if not ok:  # slow path, only to say where
        for name, group in zip(names, groups):
            for i, item in enumerate(group):
                problem = _item_problem(item, need_score)
                if problem:
                    raise InputError(f"{path}: {key}[{json.dumps(name)}][{i}]: {problem}")
        raise InputError(f"{path}: malformed {key!r} entries")  # pragma: no cover - unreachable
    return segment, labels, score


def _warn_reversed(path: str | Path, segment: np.ndarray) -> None:
    n = int((segment[:, 1] < segment[:, 0]).sum())
    if n:
        warnings.warn(f"{path}: {n} segments end before they start (evaluated as given)", DataWarning)


def read_ground_truth(path: str | Path) -> GroundTruth:
    """Read an ActivityNet ground-truth file (all subsets)."""
    database = _top_dict(path, _load_json(path), "database",
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
    _warn_reversed(path, segment)
    return GroundTruth(
        videos=videos,
        subsets=[database[name].get("subset") for name in videos],
        labels=labels,
        video=np.repeat(np.arange(len(videos), dtype=np.int64), counts),
        label=np.array([index[name] for name in label_names], dtype=np.int64),
        segment=segment,
    )


def read_predictions(path: str | Path) -> Predictions:
    """Read an ActivityNet detection-results file."""
    results = _top_dict(path, _load_json(path), "results",
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
    _warn_reversed(path, segment)
    return Predictions(videos=videos, labels=list(index), label=label, segment=segment, score=score,
                       video=np.repeat(np.arange(len(videos), dtype=np.int64), counts))


# ----------------------------------------------------------------------------------------------
# Evaluation and report


def evaluate_files(ground_truth_path: str | Path, predictions_path: str | Path,
                   subset: str | None = None,
                   tiou_thresholds: Sequence[float] = DEFAULT_TIOU_THRESHOLDS) -> EvaluationReport:
    """ActivityNet detection mAP of a predictions file against a ground-truth file.

    With `subset`, only the ground-truth videos of that subset are kept and predictions on the file's
    other videos are dropped. Classes are the labels the file uses in any subset; those without an
    instance in the kept videos are left out of the mean and listed. Predictions with labels the
    ground truth never uses are ignored; predictions on videos the file does not know are false
    positives (ActivityNet's rule). Each of these cases is reported with a `DataWarning`.
    """
    gt = read_ground_truth(ground_truth_path)
    pred = read_predictions(predictions_path)
    thr = np.asarray(tiou_thresholds, dtype=np.float64)

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

    # Prediction videos -> ground-truth video ids: -1 unknown to the file, -2 in another subset.
    gt_video_index = {name: i for i, name in enumerate(gt.videos)}
    video_lut = np.array([gt_video_index.get(name, -1) for name in pred.videos], dtype=np.int64)
    known = video_lut >= 0
    video_lut[known & ~kept_video[np.maximum(video_lut, 0)]] = -2
    pred_video = video_lut[pred.video]                                     # (P,)
    # Prediction labels -> ground-truth label ids (-1: a label the ground truth never uses).
    gt_label_index = {name: i for i, name in enumerate(gt.labels)}
    label_lut = np.array([gt_label_index.get(name, -1) for name in pred.labels], dtype=np.int64)
    pred_label = label_lut[pred.label]                                     # (P,)

    ignored = sorted(name for name, i in zip(pred.labels, label_lut.tolist()) if i < 0)
    if ignored:
        shown = ", ".join(ignored[:10]) + (f", ... ({len(ignored)} labels)" if len(ignored) > 10 else "")
        warnings.warn(f"{predictions_path}: {int((pred_label < 0).sum())} predictions with labels the "
                      f"ground truth never uses are ignored: {shown}", DataWarning)
    other = pred_video == -2
    if other.any():
        warnings.warn(f"{predictions_path}: {int(other.sum())} predictions on "
                      f"{int((video_lut == -2).sum())} videos of other subsets than {subset!r} are "
                      "dropped", DataWarning)
    unknown = pred_video == -1
    if unknown.any():
        warnings.warn(f"{predictions_path}: {int(unknown.sum())} predictions on "
                      f"{int((video_lut == -1).sum())} videos unknown to {ground_truth_path} count as "
                      "false positives", DataWarning)

    use = (pred_label >= 0) & ~other                                       # (P,)
    metrics = evaluate_detections(gt.video[kept], gt.label[kept], gt.segment[kept],
                                  pred_video[use], pred_label[use], pred.segment[use], pred.score[use],
                                  num_classes=len(gt.labels), tiou_thresholds=thr)
    has_gt = metrics.has_ground_truth.tolist()
    return EvaluationReport(
        tiou_thresholds=thr.tolist(),
        mAP=metrics.mAP.tolist(),
        average_mAP=metrics.average_mAP,
        per_class_ap={name: ap for name, ap, h in zip(gt.labels, metrics.per_class_ap.tolist(), has_gt) if h},
        classes_without_ground_truth=[name for name, h in zip(gt.labels, has_gt) if not h],
        ignored_prediction_labels=ignored,
        subset=subset,
        num_ground_truths=int(kept.sum()),
        num_predictions=int(use.sum()),
    )


def format_report(report: EvaluationReport) -> str:
    """The report as a text table, in percent."""
    where = f" (subset {report.subset})" if report.subset is not None else ""
    lines = [f"ActivityNet detection mAP{where}: {report.num_ground_truths} ground truths, "
             f"{report.num_predictions} predictions", "tIoU    mAP (%)"]
    lines += [f"{t:<6g}  {100 * m:7.2f}" for t, m in zip(report.tiou_thresholds, report.mAP)]
    lines.append(f"{'avg':<6}  {100 * report.average_mAP:7.2f}")
    evaluated, left_out = len(report.per_class_ap), len(report.classes_without_ground_truth)
    lines.append(f"{evaluated} {'class' if evaluated == 1 else 'classes'} evaluated, {left_out} left "
                 "out of the mean (no ground truth)")
    return "\n".join(lines)


def write_report(report: EvaluationReport, path: str | Path) -> None:
    """Write the JSON report atomically: a temporary file in the same folder, then os.replace."""
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise InputError(f"{path}: cannot write the report: folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise InputError(f"{path}: cannot write the report ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(report.to_dict(), f, indent=1, allow_nan=False)
            f.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise InputError(f"{path}: cannot write the report ({exc.strerror or exc})") from None
        raise
