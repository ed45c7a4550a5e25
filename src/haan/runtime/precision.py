"""Matmul precision of the networks: "fp32" (the paper's) or "bf16" ([haan] precision).

In bf16 the blocks' matmuls run under torch.autocast (bf16 inputs, fp32 accumulation: AMX on
recent Intel CPUs, tensor cores on GPUs) while the weights, the optimizer and every loss and
detection stay fp32: the blocks' outputs are cast back before anything else reads them. oneDNN
builds a kernel for each new number of rows it sees, and the clips of a batch or chunk come in
every count: the rows are padded to a multiple of ROW_MULTIPLE (the padding is cut off again,
and dropout draws no mask for it), so the kernels repeat.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Callable, TypeVar

import torch
import torch.nn.functional as F

from haan.errors import DataWarning

if TYPE_CHECKING:  # annotations only: the precision arithmetic never reads a config
    from haan.config import Config

PRECISIONS = ("fp32", "bf16")
ROW_MULTIPLE = 64

T = TypeVar("T")


def has_native_bf16(device: torch.device) -> bool:
    """Whether bf16 matmuls run natively, and so markedly faster than fp32, here: AMX or
    AVX512-BF16 on a CPU, bf16 tensor cores on a GPU. Elsewhere bf16 is emulated, and slower."""
    if device.type == "cuda":
        try:
            return torch.cuda.is_bf16_supported(including_emulation=False)
        except TypeError:  # torch < 2.5 does not count emulation as support anyway
            return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        cpu = getattr(torch, "cpu", None)
        for probe in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"):
            supported = getattr(cpu, probe, None)
            if supported is not None and supported():
                return True
    return False


def emulation_warning(device: torch.device, precision: str) -> str | None:
    """The warning for [haan] precision = "bf16" on a device without native bf16, else None."""
    if precision != "bf16" or has_native_bf16(device):
        return None
    kind, units = (("GPU", "bf16 tensor cores") if device.type == "cuda"
                   else ("CPU", "AVX512-BF16 or AMX"))
    return (f'haan.precision = "bf16": this {kind} has no native bf16 matmul ({units}): it is '
            "emulated and slower than fp32")


def autocast(device: torch.device, precision: str) -> torch.autocast:
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def on_rows(blocks: Callable[[torch.Tensor], T], x: torch.Tensor, precision: str) -> T:
    """blocks(x) for clip rows x (M, D): as it is in fp32; in bf16 under autocast, on the rows
    padded to a multiple of ROW_MULTIPLE, the outputs (a tensor or a tuple of them, M rows first)
    cut back to M rows and cast to fp32."""
    if precision != "bf16":
        return blocks(x)
    m = x.shape[0]
    with autocast(x.device, precision):
        out = blocks(F.pad(x, (0, 0, 0, (-m) % ROW_MULTIPLE)))
    if isinstance(out, torch.Tensor):
        return out[:m].float()
    return type(out)(*(None if o is None else o[:m].float() for o in out))


def warn_if_emulated(config: Config, device: torch.device) -> None:
    """[haan] precision = "bf16" where bf16 is only emulated runs, but slower than fp32: say so."""
    message = emulation_warning(device, config.haan.precision)
    if message is not None:
        warnings.warn(f"{config.source}: {message}", DataWarning)


__all__ = ["PRECISIONS", "ROW_MULTIPLE", "autocast", "emulation_warning", "has_native_bf16",
           "on_rows", "warn_if_emulated"]
