"""Decoding with PyAV: which source frames the timestamp resampling takes (constant and
variable frame rates), how many frames a video has, resizing and cropping, and the one-line
errors of files that are not videos."""

from __future__ import annotations

import math
import sys
from fractions import Fraction

import numpy as np
import pytest

from haan.errors import InputError
from haan.video.decode import VideoFrames, import_av, resized_size

from video_helpers import constant_rate, read_index, write_audio, write_video

av = pytest.importorskip("av")


def on_screen_at_middles(times: list[Fraction], fps: Fraction, n: int) -> list[int]:
    """For each output frame k, the source frame on screen just before the middle of
    [k / fps, (k + 1) / fps) after the first frame: the last one that started strictly earlier."""
    picks = []
    for k in range(n):
        middle = times[0] + Fraction(2 * k + 1, 2) / fps
        picks.append(max(j for j, t in enumerate(times) if t < middle))
    return picks


def decoded_indices(path, fps, size=64) -> tuple[list[int], VideoFrames]:
    frames = VideoFrames(path, fps, resize=size, crop=size)
    arrays = list(frames)
    assert all(a.shape == (size, size, 3) and a.dtype == np.uint8 for a in arrays)
    return [read_index(a) for a in arrays], frames


def test_constant_rate_30_to_24_fps(tmp_path):
    path = constant_rate(tmp_path / "cfr.mp4", seconds=10, fps=30)
    indices, frames = decoded_indices(path, 24.0, size=32)
    assert frames.frames == len(indices) == 240  # 10 s x 24 fps, exactly
    assert frames.duration == pytest.approx(10.0)
    expected = on_screen_at_middles([Fraction(i, 30) for i in range(300)], Fraction(24), 240)
    assert indices == expected
    # by hand: every 4th source frame of 5 is dropped, frame 2 of 0..4 is one of them
    assert indices[:8] == [0, 1, 3, 4, 5, 6, 8, 9]
    assert frames.expected_frames == 240


def test_ties_and_upsampling(tmp_path):
    # 50 -> 25 fps: frame 2k+1 starts exactly at the middle of output frame k, which shows 2k
    indices, frames = decoded_indices(constant_rate(tmp_path / "a.mp4", 1, 50), 25.0, size=32)
    assert indices == list(range(0, 50, 2)) and frames.frames == 25
    # 10 -> 24 fps: frames repeat, as on screen
    indices, frames = decoded_indices(constant_rate(tmp_path / "b.mp4", 1, 10), 24.0, size=32)
    assert frames.frames == 24
    assert indices == on_screen_at_middles([Fraction(i, 10) for i in range(10)], Fraction(24), 24)
    assert indices[:6] == [0, 0, 1, 1, 1, 2]  # middles at 0.5/24, 1.5/24, ... s


def test_variable_frame_rate(tmp_path):
    rng = np.random.default_rng(3)
    steps = rng.integers(15, 90, size=39).tolist()
    steps[20] = 400  # a long still: the frame repeats
    times = [Fraction(0)] + [Fraction(int(t), 1000) for t in np.cumsum(steps)]
    path = write_video(tmp_path / "vfr.mp4", times)
    with av.open(str(path)) as container:
        rate = Fraction(container.streams.video[0].average_rate)
    for fps in (Fraction(24), Fraction(10), Fraction(2997, 100)):
        indices, frames = decoded_indices(path, float(fps), size=32)
        duration = times[-1] + 1 / rate  # the last frame lasts one frame at the average rate
        n = math.floor(duration * fps + Fraction(1, 2))
        assert frames.frames == len(indices) == n
        assert frames.duration == pytest.approx(float(duration))
        assert indices == on_screen_at_middles(times, fps, n)
    assert indices.count(20) == 12  # frame 20 stays on screen for 0.4 s: 12 frames at 29.97 fps


def test_a_video_not_starting_at_zero(tmp_path):
    times = [Fraction(5, 2) + Fraction(i, 10) for i in range(10)]
    indices, frames = decoded_indices(write_video(tmp_path / "late.mp4", times), 10.0, size=32)
    assert indices == list(range(10)) and frames.frames == 10  # times count from the first frame


def test_resize_and_centre_crop_of_odd_sizes(tmp_path):
    def halves(width: int, height: int, axis: int):
        def image(_i: int) -> np.ndarray:
            x = np.full((height, width, 3), 25, dtype=np.uint8)
            if axis == 1:
                x[:, width // 2 + 1:] = 230  # light right of the centre column
            else:
                x[height // 2 + 1:] = 230
            return x
        return image

    assert resized_size(75, 45, 32) == (53, 32) and resized_size(45, 75, 32) == (32, 53)
    for width, height, axis in ((75, 45, 1), (45, 75, 0)):
        path = write_video(tmp_path / f"{width}x{height}.mp4", [Fraction(i, 10) for i in range(3)],
                           height=height, width=width, image=halves(width, height, axis),
                           pix_fmt="yuv444p")
        frames = list(VideoFrames(path, 10.0, resize=32, crop=32))
        assert len(frames) == 3 and frames[0].shape == (32, 32, 3)
        # the edge at the video's centre is at the crop's centre (16.5 of 0..31)
        profile = frames[0][..., 0].astype(float).mean(axis=1 - axis)
        assert profile[:14].max() < 70 and profile[19:].min() > 180


def test_default_size_is_224_from_a_shorter_side_of_256(tmp_path):
    path = write_video(tmp_path / "wide.mp4", [0, Fraction(1, 10)], height=48, width=96)
    frames = list(VideoFrames(path, 10.0))
    assert [f.shape for f in frames] == [(224, 224, 3)] * 2


def one_line_error(path, match: str) -> str:
    with pytest.raises(InputError) as info:
        list(VideoFrames(path, 24.0, resize=32, crop=32))
    message = str(info.value)
    assert message.startswith(f"{path}: ") and match in message and "\n" not in message
    return message


def test_errors_of_files_that_are_not_videos(tmp_path):
    one_line_error(tmp_path / "missing.mp4", "no such file")
    one_line_error(tmp_path, "is a folder")
    (tmp_path / "noise.mp4").write_bytes(np.random.default_rng(0).bytes(5000))
    one_line_error(tmp_path / "noise.mp4", "not a readable video")
    (tmp_path / "empty.mp4").write_bytes(b"")
    one_line_error(tmp_path / "empty.mp4", "an empty file (0 bytes), not a video")
    whole = constant_rate(tmp_path / "whole.mp4", 1, 30).read_bytes()
    (tmp_path / "truncated.mp4").write_bytes(whole[: len(whole) // 2])  # no index at the end
    one_line_error(tmp_path / "truncated.mp4", "not a readable video")
    message = one_line_error(write_audio(tmp_path / "audio.wav"), "has no video stream")
    assert message.endswith("(audio streams only)")


def test_missing_pyav_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "av", None)  # `import av` raises ImportError
    with pytest.raises(InputError, match=r"^PyAV is not installed .*pip install 'haan\[video\]'$"):
        import_av()
