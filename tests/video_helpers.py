"""Tiny videos written with PyAV for the video tests: frame i carries its index in its pixels."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

BITS = 16  # a 4 x 4 grid of blocks, one bit each


def index_image(i: int, height: int = 64, width: int = 64) -> np.ndarray:
    """(H, W, 3) uint8: block b of a 4 x 4 grid is light when bit b of i is set, else dark."""
    bits = (i >> np.arange(BITS)) & 1
    blocks = np.where(bits.reshape(4, 4), 230, 25).astype(np.uint8)
    image = np.kron(blocks, np.ones((height // 4, width // 4), dtype=np.uint8))
    return np.repeat(image[:, :, None], 3, axis=2)


def read_index(frame: np.ndarray) -> int:
    """The index `index_image` wrote, read back from a (possibly lossy, resized) frame."""
    h, w = frame.shape[:2]
    means = frame[..., 0].astype(float).reshape(4, h // 4, 4, w // 4).mean(axis=(1, 3))
    return int(((means.reshape(-1) > 128) << np.arange(BITS)).sum())


def write_video(path: Path, times: Sequence[Fraction | float], height: int = 64, width: int = 64,
                image: Callable[[int], np.ndarray] | None = None,
                time_base: Fraction = Fraction(1, 1000), pix_fmt: str = "yuv420p",
                last_duration: Fraction | None = None) -> Path:
    """An H.264 video whose frame i is shown from times[i] (seconds, in `time_base` steps) and
    shows `image(i)` (default: `index_image`). `last_duration` sets how long the last frame
    lasts (default: the container's choice)."""
    import av

    image = image or (lambda i: index_image(i, height, width))
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30, options={"crf": "12"})
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.codec_context.time_base = time_base
        for i, t in enumerate(times):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image(i)), format="rgb24")
            frame.pts, frame.time_base = round(Fraction(t) / time_base), time_base
            if last_duration is not None and i == len(times) - 1:
                frame.duration = round(last_duration / time_base)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def constant_rate(path: Path, seconds: float, fps: int, **kwargs) -> Path:
    """A constant-frame-rate video of `seconds` at `fps`, lasting exactly that long."""
    n = round(seconds * fps)
    return write_video(path, [Fraction(i, fps) for i in range(n)],
                       time_base=Fraction(1, fps), **kwargs)


def write_audio(path: Path, seconds: float = 0.5) -> Path:
    """A WAV file: audio, no video stream."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, int(8000 * seconds)), np.int16),
                                           format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
