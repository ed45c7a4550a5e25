"""Clip scores -> temporal detections (spec section 5), vectorized over classes.

For one video with clip class scores s (T, C):
1. video score c_s = mean of the top ceil(T / kmax_mod_factor) values of each column; columns with
   c_s <= 0 are zeroed (so they yield nothing);
2. per class, thr = mean(x) + alpha * (max(x) - min(x)); every maximal run [a, b) of clips with
   x > thr is a detection [a / ratio, b / ratio] seconds with score max(x[a:b]) + 0.5 * c_s;
3. no NMS.

Arithmetic is done in the scores' own dtype with the same numpy reductions as the paper (it feeds
float32 network outputs), so thresholds and scores are bit-identical to its evaluator's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class VideoDetections:
    label: np.ndarray    # (P,) int64 class
    start: np.ndarray    # (P,) float64 seconds
    end: np.ndarray      # (P,) float64 seconds
    score: np.ndarray    # (P,) float64


@dataclass(frozen=True)
class Detections:
    video: np.ndarray    # (P,) int64 index into the list of videos
    label: np.ndarray    # (P,) int64
    start: np.ndarray    # (P,) float64 seconds
    end: np.ndarray      # (P,) float64 seconds
    score: np.ndarray    # (P,) float64

    def __len__(self) -> int:
        return len(self.label)


def video_scores(scores: np.ndarray, kmax_mod_factor: float) -> np.ndarray:
    """c_s (C,): mean of the top ceil(T / kmax_mod_factor) clip scores of each class."""
    k = int(np.ceil(scores.shape[0] / kmax_mod_factor))
    # The paper's exact expression: the same reduction gives the same float32 rounding.
    return np.mean(-np.sort(-scores, axis=0)[:k, :], axis=0)


def detect(scores: np.ndarray, sec2clip_ratio: float, alpha: float,
           kmax_mod_factor: float) -> VideoDetections:
    """Detections of one video from its clip scores (T, C), ordered by class, then start.

    sec2clip_ratio: clips per second (clip index = seconds x ratio). A video with no clip has no
    detection.
    """
    scores = np.asarray(scores)
    if scores.ndim != 2:
        raise ValueError(f"scores must be (T, C), got shape {scores.shape}")
    if not np.issubdtype(scores.dtype, np.floating):
        scores = scores.astype(np.float64)
    if not kmax_mod_factor > 0:
        raise ValueError(f"kmax_mod_factor must be > 0, got {kmax_mod_factor}")
    if not sec2clip_ratio > 0:
        raise ValueError(f"sec2clip_ratio must be > 0, got {sec2clip_ratio}")
    num_clips, num_classes = scores.shape
    if num_clips == 0:
        empty = np.zeros(0)
        return VideoDetections(np.zeros(0, dtype=np.int64), empty, empty.copy(), empty.copy())
    alpha = float(alpha)  # a Python float keeps float32 arithmetic float32 (a np.float64 would not)

    c_s = video_scores(scores, kmax_mod_factor)                         # (C,)
    # Class-major and contiguous: each row reduces like the paper's 1-D column (pairwise sum).
    x = np.ascontiguousarray((scores * (c_s > 0.0)).T)                  # (C, T)
    thr = np.mean(x, axis=1) + (np.max(x, axis=1) - np.min(x, axis=1)) * alpha   # (C,)
    above = x > thr[:, None]                                            # (C, T) strict, as the paper

    # Run boundaries: +1 where a run starts, -1 one past where it ends.
    padded = np.zeros((num_classes, num_clips + 2), dtype=np.int8)      # (C, T+2)
    padded[:, 1:-1] = above
    step = np.diff(padded, axis=1)                                      # (C, T+1)
    label, start = np.nonzero(step == 1)                                # (P,) each, by class then clip
    _, end = np.nonzero(step == -1)                                     # (P,) paired with start
    if len(label) == 0:
        empty = np.zeros(0)
        return VideoDetections(label.astype(np.int64), empty, empty.copy(), empty.copy())

    # Run maxima: outside the runs is -inf, so each segment [start_i, start_{i+1}) of the flat
    # array has the max of run i (it never reaches into the next run).
    masked = np.where(above, x, -np.inf).ravel()                        # (C*T,)
    run_max = np.maximum.reduceat(masked, label * num_clips + start)    # (P,)
    score = run_max + 0.5 * c_s[label]                                  # scores' dtype
    ratio = float(sec2clip_ratio)
    return VideoDetections(label=label.astype(np.int64), start=start / ratio, end=end / ratio,
                           score=score.astype(np.float64))


def detect_videos(scores_list: Sequence[np.ndarray], ratios: Sequence[float], alpha: float,
                  kmax_mod_factor: float) -> Detections:
    """`detect` on each video; the detections of all videos, by video, then class, then start."""
    if len(scores_list) != len(ratios):
        raise ValueError(f"{len(scores_list)} score matrices but {len(ratios)} ratios")
    per_video = [detect(s, r, alpha, kmax_mod_factor) for s, r in zip(scores_list, ratios)]
    counts = [len(d.label) for d in per_video]
    return Detections(
        video=np.repeat(np.arange(len(per_video), dtype=np.int64), counts),
        label=_concat([d.label for d in per_video], np.int64),
        start=_concat([d.start for d in per_video], np.float64),
        end=_concat([d.end for d in per_video], np.float64),
        score=_concat([d.score for d in per_video], np.float64),
    )


def concat_detections(parts: Sequence[Detections]) -> Detections:
    """The detections of several groups of videos, one after another."""
    return Detections(
        video=_concat([d.video for d in parts], np.int64),
        label=_concat([d.label for d in parts], np.int64),
        start=_concat([d.start for d in parts], np.float64),
        end=_concat([d.end for d in parts], np.float64),
        score=_concat([d.score for d in parts], np.float64),
    )


def _concat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)
