"""Helpers of the figure tests: the file formats' first bytes, bar geometry read back from the
artists, and writing a run folder's CSV files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.container import BarContainer

MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "svg": b"<?xml", "pdf": b"%PDF-"}


def bar_geometry(container: BarContainer) -> np.ndarray:
    """(n, 4) left, width, y centre, height of horizontal bars."""
    return np.array([[r.get_x(), r.get_width(), r.get_y() + r.get_height() / 2, r.get_height()]
                     for r in container.patches]).reshape(-1, 4)


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    path.write_text("\n".join(",".join(str(v) for v in r) for r in [header, *rows]) + "\n")

