"""The clip grid: the number of clips, their frames and seconds, the <id>.json schema."""

from __future__ import annotations

import json

import numpy as np
import pytest

from haan.errors import InputError
from haan.video.extract import clips_of
from haan.video.grid import ClipGrid, GridSpec, read_grid


def clips_by_hand(frames: int, clip_frames: int, stride: int) -> list[tuple[int, int]]:
    """Every [start, end) window of clip_frames frames every stride frames that fits."""
    out, start = [], 0
    while start + clip_frames <= frames:
        out.append((start, start + clip_frames))
        start += stride
    return out


@pytest.mark.parametrize("clip_frames,stride", [(16, 16), (16, 8), (16, 4), (8, 16), (1, 1), (5, 3)])
def test_number_of_clips_and_their_frames(clip_frames, stride):
    spec = GridSpec(24.0, clip_frames, stride)
    for frames in range(clip_frames, 200):
        expected = clips_by_hand(frames, clip_frames, stride)
        assert spec.count_clips(frames) == len(expected) == (frames - clip_frames) // stride + 1
        grid = spec.for_video(frames, frames / 24)
        assert grid.clip_frame_ranges().tolist() == [list(r) for r in expected]
        # clips_of cuts a stream of frames exactly there
        assert [c for c in clips_of(range(frames), spec)] == [list(range(a, b)) for a, b in expected]


def test_finegym_example_ten_seconds_at_24_fps():
    grid = GridSpec(24.0, 16, 16).for_video(240, 10.0)
    assert grid.num_clips == 15 == (240 - 16) // 16 + 1
    assert grid.clips_per_second == 1.5
    seconds = grid.clip_seconds()
    assert seconds.shape == (15, 2)
    for t in range(15):  # clip t: frames [16t, 16t + 16) at 24 fps
        assert seconds[t, 0] == pytest.approx(16 * t / 24)
        assert seconds[t, 1] == pytest.approx((16 * t + 16) / 24)
    assert seconds[-1].tolist() == pytest.approx([224 / 24, 240 / 24])  # 9.333 .. 10.0 s
    # a clip index converts to seconds by dividing by clips_per_second (the sec2clip ratio)
    assert np.allclose(seconds[:, 0], np.arange(15) / grid.clips_per_second)


@pytest.mark.parametrize("fps,stride,per_second", [(24, 16, 1.5), (25, 16, 1.5625), (30, 16, 1.875),
                                                   (24, 8, 3.0)])
def test_clips_per_second(fps, stride, per_second):
    assert GridSpec(fps, 16, stride).clips_per_second == per_second


def test_a_video_shorter_than_one_clip_has_one_padded_clip():
    spec = GridSpec(24.0, 16, 16)
    assert spec.count_clips(0) == 0
    for frames in range(1, 16):
        assert spec.count_clips(frames) == 1
        assert list(clips_of(range(frames), spec)) == [list(range(frames)) + [frames - 1] * (16 - frames)]
        assert spec.for_video(frames, frames / 24).clip_seconds().tolist() == [[0.0, 16 / 24]]
    assert list(clips_of([], spec)) == []


@pytest.mark.parametrize("kwargs,flag", [({"fps": 0.0}, "--fps"), ({"fps": float("nan")}, "--fps"),
                                         ({"clip_frames": 0}, "--clip-frames"), ({"stride": 0}, "--stride")])
def test_bad_specs(kwargs, flag):
    with pytest.raises(InputError, match=f"^{flag} "):
        GridSpec(**kwargs)


def test_json_schema_and_read_back(tmp_path):
    grid = ClipGrid(24.0, 16, 16, 240, 10.0)
    data = grid.to_json(2048, "rgb+flow", "videos/a.mp4", {"rgb": "rgb_imagenet.pt", "flow": "random"})
    assert data == {"fps": 24.0, "clip_frames": 16, "stride": 16, "clips_per_second": 1.5,
                    "duration": 10.0, "frames": 240, "num_clips": 15, "feature_dim": 2048,
                    "streams": "rgb+flow", "source": "videos/a.mp4",
                    "weights": {"rgb": "rgb_imagenet.pt", "flow": "random"}}
    path = tmp_path / "a.json"
    path.write_text(json.dumps(data))
    assert read_grid(path) == grid


@pytest.mark.parametrize("change,message", [
    ({"num_clips": 14}, "num_clips is 14, but 240 frames make 15 clips"),
    ({"clips_per_second": 1.0}, "clips_per_second is 1.0, but fps / stride is 1.5"),
    ({"frames": "240"}, "'frames' is '240', expected a number (an integer)"),
    ({"stride": 0}, "--stride 0: must be at least 1"),
    ({"fps": None}, "'fps' is None, expected a number"),
])
def test_read_grid_errors(tmp_path, change, message):
    data = ClipGrid(24.0, 16, 16, 240, 10.0).to_json(1024, "rgb", "a.mp4", {"rgb": "random"})
    path = tmp_path / "a.json"
    path.write_text(json.dumps(data | change))
    with pytest.raises(InputError) as info:
        read_grid(path)
    assert str(info.value).startswith(f"{path}: {message}")
    assert "\n" not in str(info.value)
    del data["duration"]
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match="no 'duration'"):
        read_grid(path)
