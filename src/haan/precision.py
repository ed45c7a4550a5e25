"""Matmul precision of the networks: "fp32" (the paper's) or "bf16" ([haan] precision).

In bf16 the blocks' matmuls run under torch.autocast (bf16 inputs, fp32 accumulation: AMX on
recent Intel CPUs, tensor cores on GPUs) while the weights, the optimizer and every loss and
detection stay fp32: the blocks' outputs are cast back before anything else reads them. oneDNN
builds a kernel for each new number of rows it sees, and the clips of a batch or chunk come in
every count: the rows are padded to a multiple of ROW_MULTIPLE (the padding is cut off again,
and dropout draws no mask for it), so the kernels repeat.
"""

from __future__ import annotations

from typing import Callable, TypeVar

import torch
import torch.nn.functional as F

PRECISIONS = ("fp32", "bf16")
ROW_MULTIPLE = 64

T = TypeVar("T")


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


__all__ = ["PRECISIONS", "ROW_MULTIPLE", "autocast", "on_rows"]
