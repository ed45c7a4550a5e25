"""How a process ends (haan.runtime.launch.exit_process): a torchrun worker with peers leaves
without finalizing the interpreter (so no gloo worker thread meets a finalizing interpreter),
its standard streams flushed; any other process exits normally."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SCRIPT = """
import atexit, sys
from haan.runtime.launch import exit_process
atexit.register(lambda: print("finalized", end=""))
print("out ", end="")
print("err", end="", file=sys.stderr)
exit_process(3)
"""


@pytest.mark.parametrize("world_size, finalized", [(None, True), ("1", True), ("2", False)])
def test_exit_process(world_size, finalized):
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    if world_size is not None:
        env |= {"RANK": "0", "WORLD_SIZE": world_size, "LOCAL_RANK": "0"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env)
    assert done.returncode == 3
    assert done.stdout == ("out finalized" if finalized else "out ")  # flushed either way
    assert done.stderr == "err"
