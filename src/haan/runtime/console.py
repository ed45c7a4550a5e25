"""What the commands print as they run: lines above any progress bar."""

from __future__ import annotations

import sys


def say(message: str) -> None:
    from tqdm import tqdm

    tqdm.write(message)  # above any progress bar, not through it
    sys.stdout.flush()


__all__ = ["say"]
