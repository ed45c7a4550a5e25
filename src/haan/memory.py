"""Giving freed memory back to the system between the phases of an epoch.

The phases that stream a dataset (encoding for pseudo labels, evaluation) allocate and free
chunk-sized buffers; glibc's allocator keeps much of what was freed mapped in its heaps, so the
resident size creeps up with the number of chunks even though nothing live grows (measured at
FineAction's size: ~0.6 GB held after pseudo labelling). `malloc_trim` returns it; elsewhere than
glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.cache
def _libc_trim():
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None


def release_freed_memory() -> None:
    trim = _libc_trim()
    if trim is not None:
        trim(0)


__all__ = ["release_freed_memory"]
