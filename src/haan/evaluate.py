"""Detection on a set of videos and its evaluation (spec sections 5 and 6). The reports (results.csv,
the mAP table, the JSON files) are in `haan.reports`.

Only the encoder and the fine-level classifier are used. The clip MLPs have no temporal context,
so the valid clips of many videos are concatenated and scored in one pass (no padding wasted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from haan.config import Config
from haan.data import Dataset
from haan.fileio import write_text as write_atomic
from haan.metrics import DetectionMetrics, evaluate_detections
from haan.model import HAAN
from haan.postprocess import Detections, detect_videos
from haan.reports import (
    detections_json,
    format_table,
    report_json as per_class_ap_json,
    results_header,
    results_row,
    write_results_csv,
)

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


__all__ = [
    "CLIPS_PER_CHUNK", "EvaluationResult", "evaluate_model", "evaluate_scores", "predict_scores",
    "video_chunks",
    # re-exported from haan.reports and haan.fileio for the callers that import them from here
    "detections_json", "format_table", "per_class_ap_json", "results_header", "results_row",
    "write_atomic", "write_results_csv",
]
