"""Scoring and detection of feature videos with a Predictor: `haan.evaluation.evaluate.
detect_chunks`, the code `haan evaluate` runs, chunk by chunk, with a summary line's facts per
video."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from haan.evaluation.evaluate import chunk_clips, detect_chunks
from haan.evaluation.postprocess import Detections, VideoDetections, concat_detections, video_scores
from haan.predict.inputs import FeatureVideo
from haan.predict.predictor import Predictor

# The classes a video's summary line names, by video score.
SUMMARY_TOP_CLASSES = 3


@dataclass(frozen=True)
class VideoSummary:
    name: str
    clips: int
    seconds: float
    detections: int
    top_classes: list[tuple[int, float]]  # (class, video score), highest first


@dataclass(frozen=True)
class Prediction:
    names: list[str]              # (V,) the videos
    rates: np.ndarray             # (V,) clips per second
    detections: Detections        # video = position in names; seconds
    summaries: list[VideoSummary]
    dropped: int = 0              # detections under their class's threshold (min_scores)


def keep_above(d: Detections, min_scores: np.ndarray) -> Detections:
    """The detections with `score >= min_scores[label]`, in their order; min_scores (C,)."""
    keep = d.score >= min_scores[d.label]                                 # (P,)
    return Detections(d.video[keep], d.label[keep], d.start[keep], d.end[keep], d.score[keep])


def video_detections(d: Detections, video: int) -> VideoDetections:
    """One video's detections out of many."""
    mine = d.video == video
    return VideoDetections(d.label[mine], d.start[mine], d.end[mine], d.score[mine])


def predict_videos(predictor: Predictor, videos: Sequence[FeatureVideo], rates: np.ndarray,
                   each_video: Callable[[int, np.ndarray, VideoDetections], None] | None = None,
                   progress: bool = False, min_scores: np.ndarray | None = None) -> Prediction:
    """Score and detect every video, streaming chunk by chunk
    (`haan.evaluation.evaluate.detect_chunks`); `each_video(position, (T, C) scores, detections)`
    is called for each video as its chunk is done (to write its scores, figure, subtitles).
    With min_scores (C,), only the detections with `score >= min_scores[label]` are kept (a
    thresholds file's, `haan.evaluation.thresholds`): in the summaries and each_video too."""
    ev = predictor.config.evaluation
    lengths = np.array([v.num_clips for v in videos], dtype=np.int64)   # (V,)
    rates = np.asarray(rates, dtype=np.float64)

    def clips(positions: np.ndarray) -> np.ndarray:  # (sum T_i, D) float32
        return np.concatenate([videos[int(j)].features() for j in positions])

    parts, summaries, dropped = [], [], 0
    max_clips = chunk_clips(predictor.config.hyperparameters.feature_size)
    for _, positions, scores, found in detect_chunks(predictor.model, clips, lengths, rates, ev,
                                                     predictor.device, progress=progress,
                                                     max_clips=max_clips,
                                                     precision=predictor.config.haan.precision):
        if min_scores is not None:
            kept = keep_above(found, min_scores)
            dropped += len(found) - len(kept)
            found = kept
        parts.append(found)
        for j, s in zip(positions.tolist(), scores):  # per video of the chunk
            mine = video_detections(found, j)
            c_s = video_scores(s, ev.kmax_mod_factor)                     # (C,)
            top = np.argsort(-c_s, kind="stable")[:SUMMARY_TOP_CLASSES]
            summaries.append(VideoSummary(videos[j].name, int(lengths[j]),
                                          float(lengths[j] / rates[j]), len(mine.label),
                                          [(int(c), float(c_s[c])) for c in top]))
            if each_video is not None:
                each_video(j, s, mine)
    return Prediction([v.name for v in videos], rates, concat_detections(parts), summaries,
                      dropped)


__all__ = ["Prediction", "VideoSummary", "keep_above", "predict_videos", "video_detections"]
