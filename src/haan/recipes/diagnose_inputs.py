"""The files `haan diagnose` reads, as arrays: an ActivityNet ground-truth file and predictions file
(read by haan.evaluation.activitynet, as `eval-detections` reads them), the optional durations
file and hierarchy, and each ground truth's characteristics (length, coverage, number of
instances in its video).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from haan.errors import DataWarning, InputError
from haan.evaluation.activitynet import (
    GroundTruth,
    Predictions,
    read_ground_truth,
    read_hierarchy,
    read_predictions,
)
from haan.evaluation.diagnosis.analyses import DiagnosisData
from haan.evaluation.diagnosis.protocol import Protocol
from haan.fileio import read_json

# DETAD's annotation fields, read as they are under the detad protocols (DETAD reads them).
DETAD_FIELDS = ("coverage", "length", "num-instances")


@dataclass(frozen=True)
class Inputs:
    data: DiagnosisData
    notes: list                       # what was left out, and why
    coarse_of: np.ndarray | None      # (C,) coarse class of each class, with --hierarchy
    coarse_names: list | None
    ground_truth: GroundTruth         # the files as read, for the operating-point and recall
    predictions: Predictions          # sections (they select the subset themselves)


def _durations(path: str | Path | None, database: dict) -> dict:
    """Video -> duration (s): the ground truth's `duration` fields, then --durations over them."""
    durations = {}
    for name, entry in database.items():
        value = entry.get("duration")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            durations[name] = float(value)
    if path is not None:
        table = read_json(path)
        if not isinstance(table, dict):
            raise InputError(f'{path}: expected a JSON object {{"video": duration in seconds}}')
        for name, value in table.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise InputError(f"{path}: [{json.dumps(name)}]: the duration must be a positive "
                                 f"number of seconds, got {json.dumps(value)}")
            durations[name] = float(value)
    return durations


def _annotation_fields(database: dict, videos: list, kept_video: np.ndarray) -> dict:
    """DETAD's per-annotation characteristics, when every kept annotation has them: name -> (N,)
    over all annotations in file order (NaN where a video is not kept)."""
    out = {}
    for field in DETAD_FIELDS:
        values, ok = [], True
        for name, keep in zip(videos, kept_video.tolist()):
            for ann in database[name]["annotations"]:
                value = ann.get(field)
                if keep and (isinstance(value, bool) or not isinstance(value, (int, float))):
                    ok = False
                values.append(float(value) if keep and ok else np.nan)
        if ok:
            out[field] = np.array(values)
    return out


def read_inputs(ground_truth: str | Path, predictions: str | Path, subset: str | None,
                protocol: Protocol, durations_path: str | Path | None = None,
                hierarchy_path: str | Path | None = None) -> Inputs:
    """The arrays of one diagnosis, with the protocol's choices of ground truths and N."""
    gt = read_ground_truth(ground_truth)
    pred = read_predictions(predictions)
    database = read_json(ground_truth)["database"]
    notes = []
    if subset is None:
        kept_video = np.ones(len(gt.videos), dtype=bool)
    else:
        kept_video = np.array([s == subset for s in gt.subsets], dtype=bool)
        if not kept_video.any():
            raise InputError(f"{ground_truth}: no video of subset {subset!r}")
    kept = kept_video[gt.video]                                           # (N,)
    if not kept.any():
        raise InputError(f"{ground_truth}: no annotation to diagnose")
    start, end = gt.segment[:, 0], gt.segment[:, 1]
    length = end - start                                                  # (N,)
    count = np.bincount(gt.video[kept], minlength=len(gt.videos))
    chars = {"length": length, "num-instances": count[gt.video].astype(np.float64)}
    durations = _durations(durations_path, database)
    duration = np.array([durations.get(v, np.nan) for v in gt.videos])[gt.video]
    if not np.isnan(duration[kept]).any():
        chars["coverage"] = length / duration
    fields = _annotation_fields(database, gt.videos, kept_video) if protocol.detad else {}
    chars.update(fields)
    if "coverage" not in chars:
        notes.append("coverage left out: no `duration` for every ground-truth video (give "
                     "--durations FILE)")
    if fields:
        notes.append("characteristics " + ", ".join(sorted(fields)) +
                     " read from the annotations (DETAD's fields)")

    # Classes: the ground truth's labels in the kept videos (DETAD's activity index).
    subset_labels = np.unique(gt.label[kept])
    if protocol.detad:
        # DETAD drops ground truths with coverage > 1 or that do not end after they start.
        good = kept & (start < end)
        if "coverage" in chars:
            good &= chars["coverage"] <= 1.0
        if (kept & ~good).any():
            notes.append(f"{int((kept & ~good).sum())} ground truths with coverage > 1 or length "
                         "<= 0 dropped (as DETAD does)")
        kept = good
    n = kept.sum() / len(subset_labels)

    index = {name: i for i, name in enumerate(gt.labels)}
    label_lut = np.array([index.get(name, -1) for name in pred.labels], dtype=np.int64)
    pred_label = label_lut[pred.label]
    known = pred_label >= 0
    if (~known).any():
        warnings.warn(f"{predictions}: {int((~known).sum())} predictions with labels the ground "
                      "truth never uses are ignored", DataWarning)
    video_index = {name: i for i, name in enumerate(gt.videos)}
    extra = [name for name in pred.videos if name not in video_index]
    video_index.update({name: len(gt.videos) + i for i, name in enumerate(extra)})
    pred_video = np.array([video_index[name] for name in pred.videos], dtype=np.int64)[pred.video]
    name_rank = {name: i for i, name in enumerate(sorted(video_index))}
    video_key = np.array([name_rank[name] for name in pred.videos], dtype=np.int64)[pred.video]

    coarse_of = coarse_names = None
    if hierarchy_path is not None:
        mapping = read_hierarchy(hierarchy_path)
        missing = [name for name in gt.labels if name not in mapping]
        if missing:
            raise InputError(f"{hierarchy_path}: no coarse label for the ground-truth label "
                             f"{json.dumps(missing[0])}")
        coarse_names = sorted({mapping[name] for name in gt.labels})
        coarse_index = {name: i for i, name in enumerate(coarse_names)}
        coarse_of = np.array([coarse_index[mapping[name]] for name in gt.labels], dtype=np.int64)

    classes = subset_labels if protocol.detad else np.unique(gt.label[kept])
    data = DiagnosisData(
        gt_video=gt.video[kept], gt_label=gt.label[kept], gt_segment=gt.segment[kept],
        pred_video=pred_video[known], pred_label=pred_label[known],
        pred_segment=pred.segment[known], pred_score=pred.score[known],
        pred_video_key=video_key[known], class_names=list(gt.labels), n=float(n),
        classes=classes, characteristics={k: v[kept] for k, v in chars.items()})
    return Inputs(data=data, notes=notes, coarse_of=coarse_of, coarse_names=coarse_names,
                  ground_truth=gt, predictions=pred)
