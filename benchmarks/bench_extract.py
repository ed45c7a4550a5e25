"""The cost of `haan extract` on this machine: clips per second of extraction and seconds per
minute of video, for RGB and RGB+flow, with random weights (they cost what real ones cost).

    flock /tmp/haan-cpu.lock python benchmarks/bench_extract.py            # 20 s RGB, 4 s RGB+flow
    python benchmarks/bench_extract.py --quick                              # 4 s RGB, 1 s RGB+flow
    python benchmarks/bench_extract.py --rgb-seconds 60 --flow-seconds 10 --device cuda

It writes a 640x360, 30 fps H.264 video of a moving texture (so that decoding and optical flow
have real work), extracts it at --fps 24, 16-frame clips every 16 frames (FineGym's grid: 1.5
clips per second, 90 clips per minute of video) at 224x224, and times, each on its own:
decoding with resizing and cropping (frames per second), TV-L1 flow (frame pairs per second),
the whole RGB extraction and the whole RGB+flow extraction (clips per second, and seconds per
minute of 24 fps video = 90 / clips per second).
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from haan.errors import DataWarning
from haan.video.decode import VideoFrames
from haan.video.extract import ClipBatch, build_network, extract_video
from haan.video.flow import with_flow
from haan.video.grid import GridSpec

GRID = GridSpec(fps=24.0, clip_frames=16, stride=16)


def write_test_video(path: Path, seconds: float, fps: int = 30, width: int = 640,
                     height: int = 360) -> Path:
    """A smooth random texture panning 3 px right and 1 px down per frame, H.264 yuv420p."""
    import av
    import cv2

    frames = round(seconds * fps)
    rng = np.random.default_rng(0)
    pad = 4 * frames + 8
    texture = rng.integers(0, 256, (height + pad, width + 3 * pad, 3), dtype=np.uint8)
    texture = cv2.GaussianBlur(texture, (9, 9), 3)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            x0, y0 = 3 * (frames - i), (frames - i)
            image = np.ascontiguousarray(texture[y0:y0 + height, x0:x0 + width])
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rgb-seconds", type=float, default=20.0, help="video length for RGB")
    parser.add_argument("--flow-seconds", type=float, default=4.0, help="video length for RGB+flow")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="4 s RGB and 1 s RGB+flow")
    args = parser.parse_args()
    if args.quick:
        args.rgb_seconds, args.flow_seconds = 4.0, 1.0

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads; device {args.device}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        rgb = build_network("rgb", random_weights=True)
        both = build_network("rgb+flow", random_weights=True)
    with tempfile.TemporaryDirectory() as tmp:
        rgb_video = write_test_video(Path(tmp) / "rgb.mp4", args.rgb_seconds)
        flow_video = write_test_video(Path(tmp) / "flow.mp4", args.flow_seconds)

        seconds, frames = timed(lambda: list(VideoFrames(rgb_video, GRID.fps)))
        print(f"decode + resize + crop: {len(frames)} frames at 24 fps in {seconds:.2f} s = "
              f"{len(frames) / seconds:.0f} frames/s")
        flow_frames = list(VideoFrames(flow_video, GRID.fps))
        seconds, pairs = timed(lambda: list(with_flow(flow_frames)))
        print(f"TV-L1 flow at 224x224: {len(pairs)} frames in {seconds:.2f} s = "
              f"{len(pairs) / seconds:.2f} frames/s ({seconds / len(pairs):.3f} s a frame)")

        rows = []
        for name, network, video, length in (("rgb", rgb, rgb_video, args.rgb_seconds),
                                             ("rgb+flow", both, flow_video, args.flow_seconds)):
            warm_up = ClipBatch(np.zeros((1, 16, 224, 224, 3), np.uint8),
                                np.zeros((1, 16, 224, 224, 2), np.float32))
            network.to(torch.device(args.device)).features(warm_up, torch.device(args.device))
            seconds, (features, grid) = timed(lambda: extract_video(
                video, GRID, network, args.device, batch_size=args.batch_size))
            rate = grid.num_clips / seconds
            per_minute = 60 * GRID.clips_per_second / rate
            rows.append((name, length, grid.num_clips, seconds, rate, per_minute))
    print()
    print(f"{'streams':<9} {'video s':>7} {'clips':>5} {'time s':>7} {'clips/s':>8} "
          f"{'s per min of video':>18}")
    for name, length, clips, seconds, rate, per_minute in rows:
        print(f"{name:<9} {length:>7.1f} {clips:>5} {seconds:>7.2f} {rate:>8.2f} {per_minute:>18.0f}")


if __name__ == "__main__":
    main()
