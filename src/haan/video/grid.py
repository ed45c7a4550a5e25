"""The clip grid: which frames, and so which seconds, each feature row of a video covers.

A video is resampled to `fps` frames per second (see `haan.video.decode`) and cut into clips of
`clip_frames` frames every `stride` frames:

    number of clips  T = floor((frames - clip_frames) / stride) + 1     (frames >= clip_frames)
    clip t covers frames [t * stride, t * stride + clip_frames)
              and seconds [t * stride / fps, (t * stride + clip_frames) / fps)
    clips per second = fps / stride

so that a clip index converts to seconds by dividing by `clips_per_second` (the paper's
sec2clip_ratio). Frames after the last whole clip are not covered. A video shorter than one clip
(0 < frames < clip_frames) is padded by repeating its last frame: it has one clip, whose seconds
are those of the formula ([0, clip_frames / fps), past the video's end).

The grid of each video is written beside its features as `<id>.json` (`ClipGrid.to_json`), and
`read_grid` reads it back; this module imports neither torch nor PyAV.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from haan.errors import InputError


@dataclass(frozen=True)
class GridSpec:
    """How videos are cut into clips: the frame rate they are resampled to, clip length, stride."""

    fps: float = 24.0
    clip_frames: int = 16
    stride: int = 16

    def __post_init__(self) -> None:
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise InputError(f"--fps {self.fps}: must be a positive number")
        if self.clip_frames < 1:
            raise InputError(f"--clip-frames {self.clip_frames}: must be at least 1")
        if self.stride < 1:
            raise InputError(f"--stride {self.stride}: must be at least 1")

    @property
    def clips_per_second(self) -> float:
        return self.fps / self.stride

    def count_clips(self, frames: int) -> int:
        """Clips of a video of `frames` frames at `fps` (the rule in the module's docstring)."""
        if frames <= 0:
            return 0
        if frames < self.clip_frames:
            return 1  # padded with its last frame
        return (frames - self.clip_frames) // self.stride + 1

    def for_video(self, frames: int, duration: float) -> ClipGrid:
        return ClipGrid(self.fps, self.clip_frames, self.stride, frames, duration)


@dataclass(frozen=True)
class ClipGrid:
    """The grid of one video: the spec plus how many frames (at `fps`) and seconds it has."""

    fps: float
    clip_frames: int
    stride: int
    frames: int
    duration: float

    def __post_init__(self) -> None:
        GridSpec(self.fps, self.clip_frames, self.stride)  # checks these three
        if self.frames < 0 or not (np.isfinite(self.duration) and self.duration >= 0):
            raise InputError(f"frames {self.frames}, duration {self.duration}: must not be "
                             "negative")

    @property
    def spec(self) -> GridSpec:
        return GridSpec(self.fps, self.clip_frames, self.stride)

    @property
    def num_clips(self) -> int:
        return self.spec.count_clips(self.frames)

    @property
    def clips_per_second(self) -> float:
        return self.fps / self.stride

    def clip_frame_ranges(self) -> np.ndarray:
        """(T, 2) int64 rows [first frame, end frame) of each clip, at `fps`."""
        start = np.arange(self.num_clips, dtype=np.int64) * self.stride
        return np.stack([start, start + self.clip_frames], axis=1)

    def clip_seconds(self) -> np.ndarray:
        """(T, 2) float64 rows [start_s, end_s) of each clip."""
        return self.clip_frame_ranges() / self.fps

    def to_json(self, feature_dim: int, streams: str, source: str,
                weights: dict[str, str]) -> dict[str, Any]:
        """The `<id>.json` written beside a video's features."""
        return {"fps": float(self.fps), "clip_frames": self.clip_frames, "stride": self.stride,
                "clips_per_second": self.clips_per_second, "duration": float(self.duration),
                "frames": self.frames, "num_clips": self.num_clips, "feature_dim": feature_dim,
                "streams": streams, "source": source, "weights": dict(weights)}


def read_grid(path: str | Path) -> ClipGrid:
    """The ClipGrid of an `<id>.json` written by `haan extract`, checked: one InputError line
    naming the file and key when a key is missing, has the wrong type, or disagrees with the
    rule (num_clips, clips_per_second)."""
    from haan.fileio import read_json

    data = read_json(path)
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object (a clip grid written by haan extract)")
    types = {"fps": (int, float), "clip_frames": int, "stride": int, "frames": int,
             "duration": (int, float), "num_clips": int, "clips_per_second": (int, float)}
    for key, kind in types.items():
        if key not in data:
            raise InputError(f"{path}: no '{key}' (a clip grid written by haan extract has it)")
        if isinstance(data[key], bool) or not isinstance(data[key], kind):
            raise InputError(f"{path}: '{key}' is {data[key]!r}, expected a number"
                             + (" (an integer)" if kind is int else ""))
    try:
        grid = ClipGrid(float(data["fps"]), data["clip_frames"], data["stride"], data["frames"],
                        float(data["duration"]))
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    if data["num_clips"] != grid.num_clips:
        raise InputError(f"{path}: num_clips is {data['num_clips']}, but {data['frames']} frames "
                         f"make {grid.num_clips} clips of {grid.clip_frames} every {grid.stride}")
    if not np.isclose(data["clips_per_second"], grid.clips_per_second, rtol=1e-9, atol=0):
        raise InputError(f"{path}: clips_per_second is {data['clips_per_second']}, but fps / "
                         f"stride is {grid.clips_per_second}")
    return grid


__all__ = ["ClipGrid", "GridSpec", "read_grid"]
