"""Where torch runs: the device a command asked for and torch's CPU threads."""

from __future__ import annotations

import os

import torch

from haan.errors import InputError


def set_threads(threads: int | None) -> None:
    """Torch's intra-op threads: `threads`, else $HAAN_THREADS, else what torch picks. On a
    loaded machine, spinning threads that wait for a core can make an epoch ~50x slower."""
    if threads is None:
        text = os.environ.get("HAAN_THREADS", "").strip()
        if not text:
            return
        if not text.isdigit() or int(text) < 1:
            raise InputError(f"HAAN_THREADS={text}: expected a whole number >= 1")
        threads = int(text)
    if threads < 1:
        raise InputError(f"--threads {threads}: expected a whole number >= 1")
    torch.set_num_threads(threads)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InputError(f"--device {name}: expected auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"--device {name}: CUDA is not available on this machine (use cpu or auto)")
    return device


def device_memory(device: torch.device) -> int:
    """Bytes of memory the device has (a CPU: the machine's RAM)."""
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


__all__ = ["device_memory", "resolve_device", "set_threads"]
