"""TV-L1 optical flow for the flow stream: direction and size of the motion, clipping and
scaling to [-1, 1], one flow frame per RGB frame, and the error when OpenCV lacks TV-L1."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from haan.errors import InputError
from haan.video.flow import create_tvl1, scale_flow, with_flow

cv2 = pytest.importorskip("cv2")


def test_scale_flow_clips_at_20_pixels():
    flow = np.array([[[0.0, 10.0], [-5.0, 20.0], [25.0, -40.0]]], dtype=np.float64)  # (1, 3, 2)
    scaled = scale_flow(flow)
    assert scaled.dtype == np.float32
    assert scaled.tolist() == [[[0.0, 0.5], [-0.25, 1.0], [1.0, -1.0]]]


def moving_texture(n: int, dx: int, dy: int, size: int = 48) -> list[np.ndarray]:
    """n RGB frames of a smooth random texture moving (dx, dy) pixels per frame."""
    rng = np.random.default_rng(0)
    big = cv2.GaussianBlur(rng.integers(0, 256, (size + 40, size + 40), dtype=np.uint8), (7, 7), 2)
    frames = []
    for i in range(n):
        y, x = 20 - i * dy, 20 - i * dx  # content at (x, y) moves to (x + dx, y + dy)
        frames.append(np.repeat(big[y:y + size, x:x + size, None], 3, axis=2))
    return frames


def test_flow_of_a_moving_texture():
    frames = moving_texture(4, dx=2, dy=-1)
    pairs = list(with_flow(frames))
    assert len(pairs) == 4  # one flow frame per RGB frame
    for (rgb, flow), frame in zip(pairs, frames):
        assert rgb is frame and flow.shape == (48, 48, 2) and flow.dtype == np.float32
    inner = pairs[0][1][8:-8, 8:-8]
    # 2 px right and 1 px up per frame, scaled by 1/20: x first, then y
    assert np.median(inner[..., 0]) == pytest.approx(2 / 20, abs=0.01)
    assert np.median(inner[..., 1]) == pytest.approx(-1 / 20, abs=0.01)
    assert np.abs(pairs[0][1]).max() <= 1.0
    assert np.array_equal(pairs[3][1], pairs[2][1])  # the last frame repeats the flow before it


def test_still_and_single_frames():
    frame = moving_texture(1, 0, 0)[0]
    (rgb, flow), = with_flow([frame])
    assert rgb is frame and np.array_equal(flow, np.zeros((48, 48, 2), np.float32))
    pairs = list(with_flow([frame, frame, frame]))
    assert len(pairs) == 3 and np.abs(pairs[0][1]).max() < 1e-3
    assert list(with_flow([])) == []


def test_missing_tvl1_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", types.SimpleNamespace(__version__="5.0.0"))
    with pytest.raises(InputError, match=r"^OpenCV 5.0.0 has no TV-L1 optical flow .*"
                                         "install opencv-contrib-python-headless"):
        create_tvl1()
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(InputError, match=r"^OpenCV is not installed .*pip install 'haan\[video\]'$"):
        create_tvl1()
