"""Detection on a set of videos and its evaluation (spec sections 5 and 6).

Only the encoder and the fine-level classifier are used. The clip MLPs have no temporal context,
so the valid clips of many videos are concatenated and scored in one pass (no padding wasted).
"""

from __future__ import annotations

import csv
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from haan.config import Config
from haan.data import Dataset
from haan.metrics import DetectionMetrics, evaluate_detections
from haan.model import HAAN
from haan.postprocess import Detections, detect_videos

# Clips scored per forward pass at inference: bounds memory, big enough for efficient matmuls.
CLIPS_PER_CHUNK = 8192


def video_chunks(lengths: np.ndarray, max_clips: int) -> list[np.ndarray]:
    """Split positions 0..len(lengths)-1 into consecutive runs of at most max_clips clips (a run
    always holds at least one video, however long)."""
    chunks, start, total = [], 0, 0
    for pos, length in enumerate(lengths.tolist()):  # per video, not per clip: cheap
        if pos > start and total + length > max_clips:
            chunks.append(np.arange(start, pos))
            start, total = pos, 0
        total += length
    if start < len(lengths):
        chunks.append(np.arange(start, len(lengths)))
    return chunks


@torch.no_grad()
def predict_scores(
    model: HAAN, dataset: Dataset, indices: np.ndarray, device: torch.device, progress: bool = False
) -> list[np.ndarray]:
    """Clip class scores (T_i, C) float32 for each video, every block in eval mode."""
    from tqdm import tqdm

    model.eval()
    lengths = dataset.lengths[indices]
    scores: list[np.ndarray] = []
    chunks = video_chunks(lengths, CLIPS_PER_CHUNK)
    for chunk in tqdm(chunks, desc="evaluate", unit="chunk", disable=not progress, leave=False):
        x = torch.from_numpy(dataset.clips(indices[chunk])).to(device)  # (M, D)
        s = model.clip_scores(x).float().cpu().numpy()  # (M, C)
        scores.extend(np.split(s, np.cumsum(lengths[chunk])[:-1]))
    return scores


@dataclass(frozen=True)
class EvaluationResult:
    metrics: DetectionMetrics
    detections: Detections  # video = position in `indices`
    indices: np.ndarray  # (V,) dataset indices of the evaluated videos


def evaluate_scores(
    scores: Sequence[np.ndarray], dataset: Dataset, indices: np.ndarray, config: Config
) -> EvaluationResult:
    ev = config.evaluation
    detections = detect_videos(
        list(scores), dataset.sec2clip_ratios[indices], ev.alpha, ev.kmax_mod_factor
    )
    indices = np.asarray(indices, dtype=np.int64)
    gt = dataset.instances(indices)
    position = np.zeros(dataset.num_videos, dtype=np.int64)
    position[indices] = np.arange(len(indices))  # dataset index -> position in `indices`
    metrics = evaluate_detections(
        position[gt.video], gt.fine, gt.segments,
        detections.video, detections.label,
        np.stack([detections.start, detections.end], axis=1), detections.score,
        num_classes=dataset.num_fine_classes, tiou_thresholds=np.asarray(ev.tiou_thresholds),
    )
    return EvaluationResult(metrics=metrics, detections=detections, indices=indices)


def evaluate_model(
    model: HAAN, dataset: Dataset, indices: np.ndarray, config: Config, device: torch.device,
    progress: bool = False,
) -> EvaluationResult:
    scores = predict_scores(model, dataset, indices, device, progress=progress)
    return evaluate_scores(scores, dataset, indices, config)


# ----------------------------------------------------------------------------------------------
# Reports in the paper's formats


def results_header(config: Config) -> list[str]:
    return ["epoch"] + [f"mAP@{t}" for t in config.evaluation.report_thresholds] + ["avg.mAP"]


def results_row(epoch: int, metrics: DetectionMetrics, config: Config) -> list[float]:
    """`epoch, mAP@<report thresholds>..., avg.mAP`, in percent as the paper's results.csv."""
    thresholds = np.asarray(config.evaluation.tiou_thresholds)
    row: list[float] = [epoch]
    for t in config.evaluation.report_thresholds:
        j = int(np.argmin(np.abs(thresholds - t)))
        row.append(float(metrics.mAP[j]) * 100)
    row.append(float(metrics.average_mAP) * 100)
    return row


def write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file in the same folder, then rename: never half-written."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_results_csv(path: Path, header: list[str], rows: Sequence[Sequence[float]]) -> None:
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([int(row[0])] + [repr(float(v)) for v in row[1:]])
    write_atomic(path, buf.getvalue())


def format_table(metrics: DetectionMetrics, title: str = "") -> str:
    """The mAP table in percent, one threshold a line, and the average."""
    lines = [title] if title else []
    lines.append(f"{'tIoU':>6}  {'mAP (%)':>8}")
    for t, m in zip(metrics.tiou_thresholds, metrics.mAP):
        lines.append(f"{t:>6.2f}  {m * 100:>8.2f}")
    lines.append(f"{'avg':>6}  {metrics.average_mAP * 100:>8.2f}")
    n_eval = int(metrics.has_ground_truth.sum())
    n_left = int((~metrics.has_ground_truth).sum())
    lines.append(f"classes evaluated: {n_eval}, left out (no ground truth): {n_left}")
    return "\n".join(lines)


def detections_json(result: EvaluationResult, dataset: Dataset) -> dict:
    """ActivityNet results JSON; labels are the fine class ids as strings."""
    d = result.detections
    names = dataset.video_names[result.indices]
    results: dict[str, list[dict]] = {str(n): [] for n in names}
    order = np.lexsort((-d.score, d.video))
    for k in order.tolist():  # output formatting, once per run
        results[str(names[d.video[k]])].append({
            "label": str(int(d.label[k])),
            "score": float(d.score[k]),
            "segment": [float(d.start[k]), float(d.end[k])],
        })
    return {"version": "haan", "results": results, "external_data": {}}


def per_class_ap_json(metrics: DetectionMetrics) -> dict:
    return {
        "tiou_thresholds": [float(t) for t in metrics.tiou_thresholds],
        "mAP": [float(m) for m in metrics.mAP],
        "average_mAP": float(metrics.average_mAP),
        "per_class_ap": {
            str(c): [float(v) for v in metrics.per_class_ap[c]]
            for c in range(len(metrics.per_class_ap)) if metrics.has_ground_truth[c]
        },
        "classes_without_ground_truth": [
            str(c) for c in range(len(metrics.has_ground_truth)) if not metrics.has_ground_truth[c]
        ],
    }
