"""Decoding a video with PyAV (whose wheel ships FFmpeg), streaming: one source frame at a time.

Frames are resampled to a fixed rate by their timestamps, which handles variable frame rates:
output frame k stands for the interval [k / fps, (k + 1) / fps) after the first frame and shows
the source frame on screen at the interval's middle, i.e. the last source frame j whose slot
round((t_j - t_0) * fps) is at most k (halves round up; what FFmpeg's `fps` filter does). A
source frame whose slot a later frame takes as well is dropped; a gap repeats the frame before
it. A video that decodes to much less than its container's duration is truncated: an error.
The video lasts D = (end of the last frame) - t_0 seconds, the last frame lasting one
frame of the stream's average rate (else the interval before it; stored frame durations are
not used: with B-frames they come in decoding order), and has round(D * fps) output frames (at
least one). Timestamps are exact fractions, so a 10 s, 30 fps video gives 240 frames at 24 fps.

Each output frame is resized so that its shorter side is `resize` pixels (bilinear, aspect
ratio kept) and centre-cropped to `crop` x `crop`: (crop, crop, 3) uint8 RGB. Only the frames
that are used are converted.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from haan.errors import DataWarning, InputError

INSTALL_HINT = "pip install 'haan[video]'"
# A video that decodes to less than this share of its container's duration, and over a second
# less, is truncated (a cut download or copy): an error, not features of its first part.
TRUNCATED = 0.9


def import_av() -> Any:
    """The `av` module, or one InputError line saying how to install it."""
    try:
        import av
    except ImportError:
        raise InputError(f"PyAV is not installed (haan extract needs it): {INSTALL_HINT}") from None
    return av


def exact_rate(fps: float) -> Fraction:
    """`fps` as the fraction its decimal form says (29.97 -> 2997/100), for exact slot arithmetic."""
    return Fraction(repr(float(fps)))


def round_half_up(x: Fraction) -> int:
    return math.floor(x + Fraction(1, 2))


def resized_size(width: int, height: int, shorter: int) -> tuple[int, int]:
    """(width, height) with the shorter side `shorter` and the aspect ratio kept."""
    if width <= height:
        return shorter, max(1, round(height * shorter / width))
    return max(1, round(width * shorter / height)), shorter


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text.strip().splitlines()[0][:200]


class VideoFrames:
    """The frames of the video at `path`, resampled to `fps`, resized and centre-cropped, as an
    iterable of (crop, crop, 3) uint8 arrays (see the module's docstring). After a complete
    iteration `frames` is the number of output frames and `duration` the video's seconds;
    `expected_frames` is the container's estimate, known once iteration has begun (or None)."""

    def __init__(self, path: str | Path, fps: float, resize: int = 256, crop: int = 224):
        if crop > resize:
            raise InputError(f"crop {crop} is larger than the resized shorter side {resize}")
        self.path = Path(path)
        self.fps = exact_rate(fps)
        self.resize, self.crop = resize, crop
        self.frames = 0
        self.duration = 0.0
        self.expected_frames: int | None = None

    def _to_array(self, frame: Any) -> np.ndarray:  # (crop, crop, 3) uint8
        width, height = resized_size(frame.width, frame.height, self.resize)
        image = frame.to_ndarray(width=width, height=height, format="rgb24",
                                 interpolation="BILINEAR")
        top, left = (height - self.crop) // 2, (width - self.crop) // 2
        return image[top:top + self.crop, left:left + self.crop]

    def _open(self, av: Any) -> Any:
        if not self.path.exists():
            raise InputError(f"{self.path}: no such file")
        if self.path.is_dir():
            raise InputError(f"{self.path}: is a folder, not a video file")
        if self.path.stat().st_size == 0:
            raise InputError(f"{self.path}: an empty file (0 bytes), not a video")
        try:
            return av.open(str(self.path))
        except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{self.path}: not a readable video ({_reason(exc)})") from None

    def __iter__(self) -> Iterator[np.ndarray]:
        av = import_av()
        with self._open(av) as container:
            if not container.streams.video:
                kinds = sorted({s.type for s in container.streams}) or ["no"]
                raise InputError(f"{self.path}: has no video stream ({' and '.join(kinds)} "
                                 "streams only)")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"  # frame threads: faster, and the same frames
            seconds = (float(stream.duration * stream.time_base) if stream.duration
                       else container.duration / 1e6 if container.duration else None)
            self.expected_frames = round(seconds * self.fps) if seconds else None
            yield from self._resample(av, container, stream)
            if seconds and self.duration < TRUNCATED * seconds and seconds - self.duration > 1:
                raise InputError(f"{self.path}: truncated: {self.duration:.2f} s of video could "
                                 f"be decoded, its container says {seconds:.2f} s")

    def _resample(self, av: Any, container: Any, stream: Any) -> Iterator[np.ndarray]:
        # Sequential by nature: each frame's fate depends on the timestamp of the next one.
        start = last_time = last_interval = None
        held, held_array = None, None
        emitted = skipped = 0
        try:
            for frame in container.decode(stream):
                if frame.pts is None:  # no timestamp: one nominal frame after the last
                    step = 1 / Fraction(stream.average_rate or self.fps)
                    time = Fraction(0) if last_time is None else last_time + step
                else:
                    time = frame.pts * Fraction(frame.time_base or stream.time_base)
                if start is None:
                    start = time
                elif time <= last_time:
                    skipped += 1
                    continue
                slot = round_half_up((time - start) * self.fps)
                while emitted < slot:  # `held` is on screen until this frame's slot
                    if held_array is None:
                        held_array = self._to_array(held)
                    yield held_array
                    emitted += 1
                if last_time is not None:
                    last_interval = time - last_time
                held, held_array, last_time = frame, None, time
        except av.error.FFmpegError as exc:
            after = f" after {float(last_time - start):.2f} s" if last_time is not None else ""
            raise InputError(f"{self.path}: cannot decode the video{after} ({_reason(exc)})") from None
        if held is None:
            raise InputError(f"{self.path}: no video frame could be decoded")
        if skipped:
            warnings.warn(f"{self.path}: {skipped} frames whose timestamps do not increase were "
                          "skipped", DataWarning, stacklevel=2)
        last_length = (1 / Fraction(stream.average_rate) if stream.average_rate
                       else last_interval or 1 / self.fps)
        duration = last_time + last_length - start
        total = max(1, round_half_up(duration * self.fps))
        while emitted < total:
            if held_array is None:
                held_array = self._to_array(held)
            yield held_array
            emitted += 1
        self.frames, self.duration = total, float(duration)


__all__ = ["INSTALL_HINT", "VideoFrames", "exact_rate", "import_av", "resized_size",
           "round_half_up"]
