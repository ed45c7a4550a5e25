"""Detection on a set of videos and its evaluation (spec sections 5 and 6). The reports (results.csv,
the mAP table, the JSON files) are in `haan.evaluation.reports`.

Only the encoder and the fine-level classifier are used. The clip MLPs have no temporal context,
so the valid clips of many videos are concatenated and scored in one pass (no padding wasted).
Videos are scored chunk by chunk and turned into detections at once, so memory holds one chunk's
scores, never a dataset's. In a distributed run each process scores whole chunks of the
one-process chunking, and the detections are gathered: every process gets the same metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import torch

from haan.config import Config, EvaluationSection
from haan.data import Dataset
from haan.evaluation.metrics import DetectionMetrics, coarse_detection_metrics, evaluate_detections
from haan.evaluation.postprocess import Detections, concat_detections, detect_videos
from haan.models.haan import HAAN
from haan.runtime.distributed import SINGLE, Processes, all_gather_objects, merge_chunks, my_chunks
from haan.runtime.memory import release_freed_memory
from haan.runtime.precision import on_rows

# Clips per forward pass at inference: at most 8192 and 64 MiB of float32 features (FineGym's
# 2048-d clips: 8192, FineAction's 4096-d: 4096). Bounds memory, big enough for efficient matmuls.
MAX_CHUNK_CLIPS = 8192
CHUNK_ELEMENTS = 1 << 24


def chunk_clips(feature_size: int) -> int:
    return max(1, min(MAX_CHUNK_CLIPS, CHUNK_ELEMENTS // max(1, feature_size)))


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
def chunk_scores(model: HAAN, clips: Callable[[np.ndarray], np.ndarray], lengths: np.ndarray,
                 device: torch.device, chunks: list[int] | None = None, progress: bool = False,
                 max_clips: int = MAX_CHUNK_CLIPS, precision: str = "fp32",
                 ) -> Iterator[tuple[int, np.ndarray, list[np.ndarray]]]:
    """(chunk id, positions, [(T_i, C) float32 scores of each video]) for the chunks of
    `video_chunks(lengths, max_clips)` (all of them, or those listed), every block in eval mode,
    the matmuls in `precision` (haan.runtime.precision). `clips(positions)` gives those videos' clips
    one after another, (sum T_i, D)."""
    from tqdm import tqdm

    model.eval()
    all_chunks = video_chunks(lengths, max_clips)
    ids = range(len(all_chunks)) if chunks is None else chunks
    for i in tqdm(ids, desc="evaluate", unit="chunk", disable=not progress, leave=False):
        positions = all_chunks[i]
        x = torch.from_numpy(clips(positions)).to(device)  # (M, D)
        s = on_rows(model.clip_scores, x, precision).float().cpu().numpy()  # (M, C)
        del x
        yield i, positions, np.split(s, np.cumsum(lengths[positions])[:-1])
        release_freed_memory()


def detect_chunks(model: HAAN, clips: Callable[[np.ndarray], np.ndarray], lengths: np.ndarray,
                  ratios: np.ndarray, evaluation: EvaluationSection, device: torch.device,
                  chunks: list[int] | None = None, progress: bool = False,
                  max_clips: int = MAX_CHUNK_CLIPS, precision: str = "fp32",
                  ) -> Iterator[tuple[int, np.ndarray, list[np.ndarray], Detections]]:
    """`chunk_scores` turned into detections (spec section 5, the config's alpha and
    kmax_mod_factor): (chunk id, positions, each video's (T_i, C) scores, the chunk's detections
    with video = position). ratios (V,): clips per second of each video. `haan evaluate` and
    `haan predict` both detect through here, so they give the same detections."""
    for i, positions, scores in chunk_scores(model, clips, lengths, device, chunks, progress,
                                             max_clips, precision):
        found = detect_videos(scores, ratios[positions], evaluation.alpha,
                              evaluation.kmax_mod_factor)
        yield i, positions, scores, Detections(
            video=positions[found.video], label=found.label, start=found.start, end=found.end,
            score=found.score)


@dataclass(frozen=True)
class EvaluationResult:
    metrics: DetectionMetrics
    detections: Detections  # video = position in `indices`
    indices: np.ndarray  # (V,) dataset indices of the evaluated videos


def _ground_truth(dataset: Dataset, indices: np.ndarray) -> tuple[np.ndarray, ...]:
    """The instances of these videos: video (position in `indices`) (M,), fine label (M,),
    segment (M, 2)."""
    gt = dataset.instances(indices)
    position = np.zeros(dataset.num_videos, dtype=np.int64)
    position[indices] = np.arange(len(indices))  # dataset index -> position in `indices`
    return position[gt.video], gt.fine, gt.segments


def _predicted(d: Detections) -> tuple[np.ndarray, ...]:
    return d.video, d.label, np.stack([d.start, d.end], axis=1), d.score


def score_detections(detections: Detections, dataset: Dataset, indices: np.ndarray,
                     config: Config) -> EvaluationResult:
    """AP of detections (video = position in `indices`) against those videos' ground truth."""
    indices = np.asarray(indices, dtype=np.int64)
    metrics = evaluate_detections(
        *_ground_truth(dataset, indices), *_predicted(detections),
        num_classes=dataset.num_fine_classes,
        tiou_thresholds=np.asarray(config.evaluation.tiou_thresholds),
    )
    return EvaluationResult(metrics=metrics, detections=detections, indices=indices)


def score_coarse(result: EvaluationResult, dataset: Dataset, config: Config) -> DetectionMetrics:
    """Coarse-level AP of an evaluation's detections: each fine detection and ground truth
    relabelled with its coarse class (the dataset's fine_to_coarse), at the same thresholds.

    The detections go in the order the fine level scored them, which is the order the detections
    file lists them (`detections_json`), so `haan eval-detections --hierarchy` on that file gives
    exactly these numbers on any CPU."""
    return coarse_detection_metrics(
        *_ground_truth(dataset, result.indices), *_predicted(result.detections),
        fine_to_coarse=dataset.fine_to_coarse, num_coarse=dataset.num_coarse_classes,
        tiou_thresholds=np.asarray(config.evaluation.tiou_thresholds),
    )


def evaluate_model(
    model: HAAN, dataset: Dataset, indices: np.ndarray, config: Config, device: torch.device,
    progress: bool = False, procs: Processes = SINGLE,
) -> EvaluationResult:
    """Score, detect and evaluate those of these videos whose segments are known (a video with
    video-level labels only has nothing to score detections against), streaming chunk by chunk
    (split over `procs`); the result's `indices` are the videos scored."""
    indices = dataset.with_segments(indices)
    lengths = dataset.lengths[indices]
    max_clips = chunk_clips(dataset.feature_size)
    chunks = my_chunks(len(video_chunks(lengths, max_clips)), procs)
    mine = {i: found for i, _, _, found in detect_chunks(
        model, lambda p: dataset.clips(indices[p]), lengths, dataset.sec2clip_ratios[indices],
        config.evaluation, device, chunks, progress and procs.main, max_clips,
        config.haan.precision)}
    release_freed_memory()
    detections = concat_detections(merge_chunks(all_gather_objects(mine, procs)))
    return score_detections(detections, dataset, indices, config)


__all__ = ["EvaluationResult", "chunk_clips", "chunk_scores", "detect_chunks",
           "evaluate_model", "score_coarse", "score_detections", "video_chunks"]
