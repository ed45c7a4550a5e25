"""The report's data, from a detections file and optionally ground truth, a hierarchy, a folder of
videos and a diagnosis folder.

The page gets one JSON object (`report_data`):

    title, classes [C] (the ground truth's labels, sorted, then the other predicted ones in order
    of first appearance), thresholds [M] (tIoU), score_range [min, max],
    videos: [{"name", "src" (relative URL or null), "duration" (seconds or null), "subset",
              "det": [[class, start, end, score(, tp bits)], ...] (file order),
              "gt": [[class, start, end], ...]}],
    evaluation: null or {"subset", "num_ground_truths", "num_predictions", "ignored_labels",
                         "fine": level, "coarse": level or null}
        level: {"names", "ap" [K][M], "has_gt" [K], "num_gt" [K], "map" [M] (null: NaN), "average"}
    diagnosis: null or {"images": [[file name, data URI]], "summary": [[name, number or null]]}

With ground truth, each detection scored by the evaluation carries the bits of the thresholds at
which it is a true positive (bit m for thresholds[m]), from `detection_true_positives`: the very
matching that gives its class's AP. Detections the evaluation leaves out (labels the ground truth
never uses; other subsets with drop) carry -1.

Times are rounded to the millisecond and scores to 6 significant digits in the page (its sizes);
everything computed (the evaluation, the flags) uses the exact values.
"""

from __future__ import annotations

import base64
import os
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from haan import fileio
from haan.data.ground_truth import id_variants, lookup
from haan.errors import InputError
from haan.evaluation import activitynet
from haan.evaluation.metrics import DetectionMetrics, detection_true_positives

# Video files a browser may play, in order of preference when a folder holds several of one id.
BROWSER_VIDEO_EXTENSIONS = (".mp4", ".webm", ".m4v", ".ogv", ".mov", ".mkv")
# JavaScript reads the flags as one number per detection: exact integers up to 2**53.
MAX_THRESHOLDS = 53
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class ReportOptions:
    ground_truth: str | Path | None = None    # ActivityNet ground truth: lanes (and evaluation)
    subset: str | None = None                 # keep the ground-truth videos of this subset
    hierarchy: str | Path | None = None       # {"fine": "coarse"}: also the coarse mAP
    videos_dir: str | Path | None = None      # video files named by id
    video_files: Mapping[str, str | Path] = field(default_factory=dict)  # id -> file, first
    durations: Mapping[str, float] = field(default_factory=dict)          # id -> seconds
    tiou_thresholds: Sequence[float] = activitynet.DEFAULT_TIOU_THRESHOLDS
    other_subsets: str = "false-positive"
    evaluate: bool = True                     # False: ground-truth lanes only
    diagnosis_dir: str | Path | None = None   # PNG figures and diagnosis.json's "summary"
    title: str | None = None


@dataclass(frozen=True)
class ReportSummary:
    out: Path
    num_videos: int
    num_detections: int
    num_video_files: int                      # videos with a file found
    num_bytes: int
    evaluation: activitynet.EvaluationReport | None


def _round_time(x: np.ndarray) -> list:
    return np.round(x, 3).tolist()


def _round_score(x: np.ndarray) -> list:
    return [float(f"{v:.6g}") for v in x.tolist()]


def _video_folder_index(folder: Path) -> dict[str, Path]:
    """id -> video file of a folder (not recursive), by the preference of the extensions."""
    if not folder.is_dir():
        raise InputError(f"{folder}: --videos must be a folder of video files "
                         f"({'not a folder' if folder.exists() else 'no such folder'})")
    rank = {ext: k for k, ext in enumerate(BROWSER_VIDEO_EXTENSIONS)}
    found: dict[str, Path] = {}
    for entry in sorted(folder.iterdir()):
        ext = entry.suffix.lower()
        if ext in rank and entry.is_file():
            best = found.get(entry.stem)
            if best is None or rank[ext] < rank[best.suffix.lower()]:
                found[entry.stem] = entry
    return found


def relative_url(target: Path, page_folder: Path) -> str:
    """The URL of `target` relative to a page in `page_folder` (percent-encoded, `/`-separated)."""
    rel = os.path.relpath(Path(target).resolve(), Path(page_folder).resolve())
    return "/".join(urllib.parse.quote(part) for part in Path(rel).parts)


def _video_sources(names: Sequence[str], options: ReportOptions, page_folder: Path
                   ) -> list[str | None]:
    """Each video's file as a URL relative to the page: `video_files` first, then `videos_dir`,
    each trying the id with and without a `v_` prefix."""
    index = _video_folder_index(Path(options.videos_dir)) if options.videos_dir else {}
    given = {k: Path(v) for k, v in options.video_files.items()}
    sources = []
    for name in names:
        variants = id_variants(name)
        path = next((given[v] for v in variants if v in given), None)
        path = path or next((index[v] for v in variants if v in index), None)
        sources.append(None if path is None else relative_url(path, page_folder))
    return sources


def _level(metrics: DetectionMetrics, names: list[str], num_gt: np.ndarray) -> dict:
    return {"names": names, "ap": metrics.per_class_ap.tolist(),
            "has_gt": metrics.has_ground_truth.tolist(), "num_gt": num_gt.tolist(),
            "map": fileio.json_ready(metrics.mAP), "average": fileio.json_ready(metrics.average_mAP)}


def _evaluation(gt: activitynet.GroundTruth, pred: activitynet.Predictions, options: ReportOptions,
                predictions_path: str | Path) -> tuple[activitynet.EvaluationReport, np.ndarray, np.ndarray]:
    """The report, each prediction's true-positive bits (P,) int64 (-1: not scored), and each
    ground truth's kept flag (N,)."""
    hierarchy = None
    if options.hierarchy is not None:
        hierarchy = activitynet.read_hierarchy(options.hierarchy)
        activitynet.check_hierarchy(gt, hierarchy, options.hierarchy)
    scored = activitynet.select_scored(gt, pred, options.subset, options.other_subsets,
                                       options.ground_truth, predictions_path)
    report = activitynet.score(gt, scored, options.subset, options.tiou_thresholds, hierarchy)
    tp = detection_true_positives(*scored.arrays, tiou_thresholds=options.tiou_thresholds)  # (M, P')
    weights = np.left_shift(np.int64(1), np.arange(tp.shape[0], dtype=np.int64))           # (M,)
    bits = np.full(len(pred.score), -1, dtype=np.int64)                                    # (P,)
    bits[scored.used_prediction] = (tp.astype(np.int64) * weights[:, None]).sum(axis=0)
    return report, bits, scored.kept_annotation


def _evaluation_json(report: activitynet.EvaluationReport, gt: activitynet.GroundTruth,
                     kept: np.ndarray) -> dict:
    num_gt = np.bincount(gt.label[kept], minlength=len(gt.labels))                     # (C,)
    coarse = None
    if report.coarse is not None:
        coarse_index = {name: k for k, name in enumerate(report.coarse_names)}
        of = np.array([coarse_index[report.fine_to_coarse[n]] for n in gt.labels], dtype=np.int64)
        coarse_gt = np.bincount(of[gt.label[kept]], minlength=len(report.coarse_names))
        coarse = _level(report.coarse, report.coarse_names, coarse_gt)
    return {"subset": report.subset, "num_ground_truths": report.num_ground_truths,
            "num_predictions": report.num_predictions,
            "ignored_labels": report.ignored_prediction_labels,
            "fine": _level(report.metrics, report.class_names, num_gt), "coarse": coarse}


def diagnosis_data(folder: str | Path) -> dict:
    """Every `*.png` of `folder` as a data: URI (name order) and the numbers of the top-level
    "summary" object of its `diagnosis.json` (null for a value written as null, i.e. NaN)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: --diagnosis must be a folder "
                         f"({'not a folder' if folder.exists() else 'no such folder'})")
    images = []
    for path in sorted(folder.glob("*.png")):
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"{path}: cannot read the file ({fileio.describe_os_error(exc)})")
        if not data.startswith(PNG_MAGIC):
            raise InputError(f"{path}: not a PNG file")
        images.append([path.name, "data:image/png;base64," + base64.b64encode(data).decode()])
    summary: list[list] = []
    if (folder / "diagnosis.json").exists():
        path = folder / "diagnosis.json"
        content = fileio.read_json(path)
        numbers = content.get("summary", {}) if isinstance(content, dict) else None
        if not isinstance(numbers, dict):
            raise InputError(f'{path}: expected a JSON object whose "summary" maps names to numbers')
        for name, value in numbers.items():
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise InputError(f"{path}: summary[{name!r}] must be a number, got {value!r:.40}")
            summary.append([name, value])
    return {"images": images, "summary": summary}


def _video_entries(names: list[str], pred: activitynet.Predictions, class_of_pred: np.ndarray,
                   bits: np.ndarray | None, gt_rows: dict[str, list], durations: list,
                   sources: list, subsets: list) -> list[dict]:
    """Each video's entry: its detections (file order) and ground truth."""
    order = np.argsort(pred.video, kind="stable")                         # (P,) grouped by video
    ends = np.cumsum(np.bincount(pred.video, minlength=len(pred.videos)))  # (V_pred,)
    starts = ends - np.bincount(pred.video, minlength=len(pred.videos))
    columns = [class_of_pred.tolist(), _round_time(pred.segment[:, 0]),
               _round_time(pred.segment[:, 1]), _round_score(pred.score)]
    if bits is not None:
        columns.append(bits.tolist())
    rows = list(zip(*columns))
    entries = []
    for v, name in enumerate(names):
        det = ([list(rows[k]) for k in order[starts[v]:ends[v]].tolist()]
               if v < len(pred.videos) else [])
        entries.append({"name": name, "src": sources[v], "duration": durations[v],
                        "subset": subsets[v], "det": det, "gt": gt_rows.get(name, [])})
    return entries


def report_data(predictions_path: str | Path, page_folder: str | Path,
                options: ReportOptions = ReportOptions(),
                ) -> tuple[dict, activitynet.EvaluationReport | None]:
    """The page's data (see the module) and the evaluation report (None without one)."""
    if len(options.tiou_thresholds) > MAX_THRESHOLDS:
        raise InputError(f"--tiou-thresholds: at most {MAX_THRESHOLDS} thresholds in a report")
    pred = activitynet.read_predictions(predictions_path)
    gt = activitynet.read_ground_truth(options.ground_truth) if options.ground_truth else None
    report = bits = None
    kept = None
    if gt is not None and options.evaluate:
        report, bits, kept = _evaluation(gt, pred, options, predictions_path)
    elif gt is not None:
        kept = np.ones(len(gt.video), dtype=bool)
        if options.subset is not None:
            kept = np.array([s == options.subset for s in gt.subsets], dtype=bool)[gt.video]
    classes = list(gt.labels) if gt is not None else []
    classes += [name for name in pred.labels if name not in set(classes)]
    index = {name: k for k, name in enumerate(classes)}
    class_of_pred = np.array([index[n] for n in pred.labels], dtype=np.int64)[pred.label]

    names = list(pred.videos)
    gt_rows: dict[str, list] = {}
    gt_duration: dict[str, float | None] = {}
    subset_of: dict[str, str | None] = {}
    if gt is not None:
        # Without evaluation (predict --html), ground truth goes to the prediction video of its
        # id with or without a `v_` prefix; the evaluation matches names exactly, so does the page.
        spelled = ({} if options.evaluate else
                   {variant: n for n in reversed(names) for variant in id_variants(n)})
        gt_names = [spelled.get(n, n) for n in gt.videos]
        shown = np.unique(gt.video[kept]).tolist() if kept.any() else []
        known = set(names)
        names += [gt_names[v] for v in shown if gt_names[v] not in known]
        rows = zip(gt.video[kept].tolist(), gt.label[kept].tolist(),
                   _round_time(gt.segment[kept, 0]), _round_time(gt.segment[kept, 1]))
        for v, c, s, e in rows:
            gt_rows.setdefault(gt_names[v], []).append([c, s, e])
        gt_duration = dict(zip(gt_names, gt.durations or [None] * len(gt.videos)))
        subset_of = dict(zip(gt_names, gt.subsets))
    durations = [lookup(options.durations, n) or gt_duration.get(n) for n in names]
    sources = _video_sources(names, options, Path(page_folder))
    scores = pred.score
    data = {
        "title": options.title or Path(predictions_path).name,
        "classes": classes,
        "thresholds": list(options.tiou_thresholds) if report is not None else [],
        # from the rounded scores the page holds: the slider's ends show all and the top one
        "score_range": _round_score(np.array([scores.min(), scores.max()])) if len(scores)
        else [0.0, 1.0],
        "videos": _video_entries(names, pred, class_of_pred, bits, gt_rows, durations, sources,
                                 [subset_of.get(n) for n in names]),
        "evaluation": None if report is None else _evaluation_json(report, gt, kept),
        "diagnosis": None if options.diagnosis_dir is None else diagnosis_data(options.diagnosis_dir),
    }
    return data, report


def write_report(predictions_path: str | Path, out: str | Path,
                 options: ReportOptions = ReportOptions(), overwrite: bool = False,
                 ) -> ReportSummary:
    """Write the report page to `out` (its folder created; refused if it exists, unless
    `overwrite`)."""
    from haan.viz.report.page import render_page

    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"{out}: the report must be an .html file")
    if not overwrite:
        fileio.refuse_to_replace([out])
    data, report = report_data(predictions_path, out.parent, options)
    page = render_page(data, f"haan report: {data['title']}")
    fileio.output_folder(out.parent)
    fileio.write_text(out, page)
    videos = data["videos"]
    return ReportSummary(out, len(videos), sum(len(v["det"]) for v in videos),
                         sum(v["src"] is not None for v in videos), len(page.encode("utf-8")),
                         report)


__all__ = ["BROWSER_VIDEO_EXTENSIONS", "ReportOptions", "ReportSummary", "diagnosis_data",
           "relative_url", "report_data", "write_report"]
