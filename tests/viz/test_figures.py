"""haan.viz.figures: each file format by extension, the same bytes for the same figure, and an
unknown format as a one-line error."""

from __future__ import annotations

import numpy as np
import pytest

from haan.errors import InputError
from haan.viz.compare_figure import plot_compare
from haan.viz.figures import save_figure

from viz_helpers import MAGIC


@pytest.mark.parametrize("ext", ["png", "svg", "pdf"])
def test_each_format_by_extension_and_the_same_figure_gives_the_same_bytes(tmp_path, ext):
    thresholds = np.array([0.1, 0.3, 0.5])
    for name in ["a", "b"]:
        fig = plot_compare(thresholds, {"m": np.array([[0.3, 0.2, 0.1], [0.32, 0.18, 0.1]])})
        save_figure(fig, tmp_path / f"{name}.{ext.upper() if name == 'b' else ext}")
    a = (tmp_path / f"a.{ext}").read_bytes()
    assert a.startswith(MAGIC[ext]) and len(a) > 1000
    assert a == (tmp_path / f"b.{ext.upper()}").read_bytes()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporaries left


@pytest.mark.parametrize("name", ["x.jpg", "x", "x.png.txt"])
def test_an_unknown_extension_is_a_one_line_error(tmp_path, name):
    with pytest.raises(InputError, match="unknown figure format.*use .png, .svg or .pdf"):
        save_figure(plot_compare([0.5], {"m": [[0.1]]}), tmp_path / name)
    assert list(tmp_path.iterdir()) == []

