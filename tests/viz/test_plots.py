"""`haan plot` end to end on a trained tiny run, its help, no matplotlib at the CLI's import, and
haan.viz.plots still exporting every figure function under its old name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from haan.cli import main
from haan.viz import plots

from viz_helpers import MAGIC

REPO = Path(__file__).resolve().parents[2]


def test_plots_exports_every_figure_function_from_the_module_that_has_it_now():
    from haan.viz import ap, compare_figure, figures, training, video

    modules = [ap, compare_figure, figures, training, video]
    for name in plots.__all__:
        (home,) = [m for m in modules if name in m.__all__]
        assert getattr(plots, name) is getattr(home, name), name


def test_plot_commands_end_to_end_on_a_trained_run(tiny_dataset, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["train", "--config", str(tiny_dataset), "--set", "hyperparameters.epochs=3",
                 "--set", "haan.eval_interval=2", "--output-dir", str(out), "--exp-name", "r",
                 "--quiet"]) == 0
    run = next(out.glob("*/r"))
    evaluated = tmp_path / "evaluated"
    assert main(["evaluate", "--config", str(tiny_dataset), "--models-dir", str(run),
                 "--output-dir", str(evaluated), "--quiet"]) == 0
    capsys.readouterr()

    figure = tmp_path / "training.pdf"
    assert main(["plot", "training", str(run), "--out", str(figure)]) == 0
    assert capsys.readouterr().out == f"wrote {figure}\n"
    assert figure.read_bytes().startswith(MAGIC["pdf"])
    curves = plots.read_training_curves(run)
    assert curves.epochs.tolist() == [0, 1, 2] and curves.eval_epochs.tolist() == [1, 2]
    assert np.isnan(float((run / "log.csv").read_text().splitlines()[1].split(",")[7]))

    assert main(["plot", "ap", str(evaluated / "eval_report.json"), "--out", str(tmp_path / "ap.png")]) == 0
    assert (tmp_path / "ap.png").read_bytes().startswith(MAGIC["png"])

    # Nothing replaced without --overwrite; errors are one line with exit status 2.
    before = figure.read_bytes()
    for argv, message in [
        (["plot", "training", str(run), "--out", str(figure)], "already exists; pass --overwrite"),
        (["plot", "training", str(run), "--out", str(tmp_path / "t.jpg")], "unknown figure format"),
        (["plot", "training", str(tmp_path / "nope"), "--out", str(tmp_path / "t.png")], "not a folder"),
        (["plot", "ap", str(run / "log.csv"), "--out", str(tmp_path / "a.svg")], "invalid JSON"),
        (["plot", "ap", str(run / "x.json"), "--out", str(tmp_path / "a.svg")], "no such file"),
    ]:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("haan: error: ") and message in err and err.count("\n") == 1
    assert figure.read_bytes() == before
    assert not (tmp_path / "t.png").exists() and not (tmp_path / "a.svg").exists()
    assert main(["plot", "training", str(run), "--out", str(figure), "--overwrite"]) == 0


def test_plot_help_and_no_matplotlib_at_cli_import():
    with pytest.raises(SystemExit) as info:
        main(["plot", "--help"])
    assert info.value.code == 0
    with pytest.raises(SystemExit) as info:
        main(["plot"])
    assert info.value.code == 2
    code = "import sys, haan.cli; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env={"PYTHONPATH": str(REPO / "src")})
    assert result.stdout.strip() == "False"
