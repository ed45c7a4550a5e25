"""What every figure shares: the file formats and writing them, the check of an output path before
any work, and the drawing helpers of more than one figure (class colours, shortened labels, the
mAP-against-tIoU axes).

The figure functions of haan.viz take arrays and dicts and return a matplotlib `Figure`. They never
touch pyplot, so there is no global figure state and no display backend: they work headless, leak
no figures in a long process, and leave a notebook's backend alone (PNG is rendered by Agg).
`save_figure` writes a figure as PNG, SVG or PDF by the path's extension, through haan.fileio.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
from matplotlib import colormaps, rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from haan.errors import InputError
from haan.fileio import atomic_write, refuse_to_replace

FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
# No creation date in SVG and PDF files, so that the same data gives the same bytes.
_METADATA = {"png": {}, "svg": {"Date": None}, "pdf": {"CreationDate": None}}
DPI = 100


def figure_format(path: str | Path) -> str:
    """The format a figure path asks for, from its extension (.png, .svg, .pdf)."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        shown = f"'{suffix}'" if suffix else "no extension"
        raise InputError(f"{path}: unknown figure format ({shown}); use .png, .svg or .pdf")
    return FORMATS[suffix]


def save_figure(fig: Figure, path: str | Path) -> None:
    """PNG, SVG or PDF by the extension; the same figure gives the same bytes in every format."""
    fmt = figure_format(path)
    # A fixed salt: SVG element ids are otherwise random.
    with rc_context({"svg.hashsalt": "haan"}), atomic_write(path, "wb") as f:
        fig.savefig(f, format=fmt, dpi=DPI, metadata=_METADATA[fmt])


def check_output(path: str | Path, overwrite: bool) -> None:
    """Fail before any work: a format we cannot write, or a file we must not replace."""
    figure_format(path)
    if not overwrite:
        refuse_to_replace([path])


def shorten(name: str, width: int) -> str:
    """A class name cut to `width` characters (with "..."), for tick labels and legends."""
    return textwrap.shorten(name, width=width, placeholder="...") if len(name) > width else name


def class_colors(n: int) -> list:
    """`n` distinguishable colours (tab10, or tab20 beyond 10; repeating beyond 20)."""
    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def draw_tiou_axes(ax: Axes, tiou_thresholds: np.ndarray, ylabel: str) -> None:
    """The axes of an mAP-against-tIoU plot: a tick at every threshold, mAP from 0."""
    ax.set_xlabel("tIoU threshold")
    ax.set_ylabel(ylabel)
    ax.set_xticks(tiou_thresholds)
    ax.tick_params(axis="x", labelsize=7)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)


__all__ = ["DPI", "FORMATS", "check_output", "class_colors", "draw_tiou_axes", "figure_format",
           "save_figure", "shorten"]
