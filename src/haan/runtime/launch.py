"""How this process was started (by torchrun, in a group of several processes) and how it ends.
Standard library only, so that the command line can ask before torch is imported."""

from __future__ import annotations

import os
import sys
from typing import NoReturn


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ and "LOCAL_RANK" in os.environ


def in_process_group() -> bool:
    """A torchrun worker with peers (WORLD_SIZE > 1)."""
    return launched_by_torchrun() and int(os.environ["WORLD_SIZE"]) > 1


def exit_process(status: int) -> NoReturn:
    """End the process with `status`. A torchrun worker with peers leaves with os._exit, without
    finalizing the interpreter: DistributedDataParallel keeps the gloo process group alive past
    destroy_process_group (torch 2.13: its worker threads outlive it), and a worker thread that
    drops the last collective's tensors while the interpreter finalizes cannot take the GIL and
    aborts the process (SIGABRT, 'terminate called without an active exception', after a run
    that finished; its core shows ProcessGroupGloo::runLoop destroying an AsyncBarrierWork).
    Seen in 1 two-machine launch in 25 on a loaded machine. Everything is written and closed
    by then: only the standard streams are flushed."""
    if in_process_group():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)


__all__ = ["exit_process", "in_process_group", "launched_by_torchrun"]
