"""What `haan predict` writes in words: a video's detections as SubRip subtitles, and the summary
table it prints (a line per video)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from haan.evaluation.postprocess import VideoDetections
from haan.predict.detection import VideoSummary


def srt_time(seconds: float) -> str:
    """`HH:MM:SS,mmm` of a time in seconds (rounded to the millisecond)."""
    ms = max(0, round(seconds * 1000))
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def srt_text(detections: VideoDetections, class_names: Sequence[str]) -> str:
    """SubRip subtitles of one video's detections: one cue per detection, `label (score)`, by
    start (then highest score first). Cues may overlap: players show them stacked."""
    order = np.lexsort((-detections.score, detections.start))
    cues = [f"{n}\n{srt_time(detections.start[k])} --> {srt_time(detections.end[k])}\n"
            f"{class_names[detections.label[k]]} ({detections.score[k]:.2f})\n"
            for n, k in enumerate(order.tolist(), start=1)]  # output formatting, per detection
    return "\n".join(cues)


def format_summary(summaries: Sequence[VideoSummary], class_names: Sequence[str]) -> str:
    """One line per video: its name, clips, seconds, detections, its top classes by video
    score (the c_s of detection)."""
    header = ("video", "clips", "seconds", "detections", "top classes (video score)")
    rows = [(s.name, str(s.clips), f"{s.seconds:.1f}", str(s.detections),
             ", ".join(f"{class_names[c]} ({score:.2f})" for c, score in s.top_classes))
            for s in summaries]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    return "\n".join(f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  "
                     f"{r[3]:>{widths[3]}}  {r[4]}".rstrip() for r in [header, *rows])


__all__ = ["format_summary", "srt_text", "srt_time"]
