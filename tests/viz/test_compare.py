"""haan.viz.compare: `haan compare` of seed summaries and single runs, tables and figure."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from matplotlib.container import ErrorbarContainer

from haan.cli import main
from haan.config import load_config
from haan.viz.compare import compare, comparison_figure, setting_differences

EPOCHS = ["--set", "hyperparameters.epochs=2", "--quiet"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """On tiny: HAAN over seeds 1 and 2, one W-TALC run, one HAAN run without L_coarse."""
    from haan.data.synth import generate

    base = tmp_path_factory.mktemp("compare")
    config = generate(base / "tiny", "tiny", seed=0)
    common = ["train", "--config", str(config), *EPOCHS, "--output-dir", str(base)]
    assert main([*common, "--exp-name", "haan", "--seeds", "1-2"]) == 0
    assert main([*common, "--exp-name", "wtalc", "--set", 'model.method="wtalc"']) == 0
    assert main([*common, "--exp-name", "no_coarse", "--set", "hyperparameters.lambda_4=0"]) == 0
    folder = base / load_config(config).dataset.name
    return folder / "haan", folder / "wtalc", folder / "no_coarse"


def results(path: Path) -> list[list[float]]:
    with open(path, newline="") as f:
        return [[float(v) for v in r] for r in list(csv.reader(f))[1:]]


def best(rows: list[list[float]]) -> list[float]:
    top = rows[0]
    for row in rows[1:]:
        if row[-1] > top[-1]:
            top = row
    return top


def test_compare_table_holds_each_inputs_numbers(runs, tmp_path, capsys):
    haan, wtalc, no_coarse = runs
    out, figure = tmp_path / "table.md", tmp_path / "compare.png"
    capsys.readouterr()
    assert main(["compare", str(haan / "summary.json"), str(wtalc), str(no_coarse),
                 "--out", str(out), "--plot", str(figure)]) == 0
    printed = capsys.readouterr().out
    text = out.read_text()
    assert printed.startswith(text)
    best_table = text.split("\n\n")[1].splitlines()
    assert best_table[0] == ("| run | method | seeds | mAP@0.1 | mAP@0.2 | mAP@0.3 | mAP@0.4 | "
                             "mAP@0.5 | avg.mAP |")
    seeds = [best(results(haan / f"seed_{s}" / "results.csv"))[1:] for s in (1, 2)]
    cells = []
    for a, b in zip(*seeds):
        mean = (a + b) / 2
        std = math.sqrt(((a - mean) ** 2 + (b - mean) ** 2) / 1)
        cells.append(f"{mean:.2f} ± {std:.2f}")
    assert best_table[2] == "| haan | haan | 2 | " + " | ".join(cells) + " |"
    single = best(results(wtalc / "results.csv"))[1:]
    assert best_table[3] == "| wtalc | wtalc | 1 | " + " | ".join(f"{v:.2f}" for v in single) + " |"
    assert "mAP (%), last epoch, on the test set" in text
    assert "test set, best validation epoch" not in text  # no run has a validation split
    assert text.rstrip().endswith(
        "| haan | (the reference) |\n| wtalc | `model.method=wtalc` |\n"
        "| no_coarse | `hyperparameters.lambda_4=0.0` |")
    assert figure.stat().st_size > 0
    # Nothing is replaced without --overwrite.
    assert main(["compare", str(haan), "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["compare", str(haan), "--out", str(out), "--overwrite"]) == 0


def test_compare_figure_has_the_tables_means_and_spreads(runs):
    haan, wtalc, _ = runs
    comparison = compare([haan, wtalc])
    fig = comparison_figure(comparison)
    bars = [c for c in fig.axes[0].containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 2
    seeds = np.array([best(results(haan / f"seed_{s}" / "results.csv"))[1:-1] for s in (1, 2)])
    line, _, (segments,) = bars[0].lines
    np.testing.assert_allclose(line.get_xdata(), [0.1, 0.2, 0.3, 0.4, 0.5])
    np.testing.assert_allclose(line.get_ydata(), seeds.mean(axis=0))
    spread = np.array(segments.get_segments())[:, :, 1]  # (K, 2): mean - std, mean + std
    np.testing.assert_allclose(spread[:, 1] - spread[:, 0], 2 * seeds.std(axis=0, ddof=1),
                               atol=1e-9)
    average = [best(results(haan / f"seed_{s}" / "results.csv"))[-1] for s in (1, 2)]
    legend = fig.axes[0].get_legend().get_texts()[0].get_text()
    assert legend.startswith(f"haan: average {np.mean(average):.2f} ± "
                             f"{np.std(average, ddof=1):.2f} (2 seeds)")


def test_setting_differences_fill_left_out_sections_with_defaults():
    haan = load_config("synthetic").to_dict()
    wtalc = load_config("synthetic", ['model.method="wtalc"', "wtalc.learning_rate=0.001"])
    assert setting_differences(haan, wtalc.to_dict()) == ["model.method=wtalc",
                                                          "wtalc.learning_rate=0.001"]
    assert setting_differences(wtalc.to_dict(), haan) == ["model.method=haan",
                                                          "wtalc.learning_rate=0.0001"]
    assert setting_differences(haan, haan) == []


def test_compare_errors_are_one_line(runs, tmp_path, capsys):
    haan, _, _ = runs
    assert main(["compare", str(tmp_path / "missing")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text('{"format": "something else"}')
    assert main(["compare", str(tmp_path / "bad.json")]) == 2
    assert "not a seed summary" in capsys.readouterr().err
    seeds_only = tmp_path / "seeds_only"
    (seeds_only / "seed_1").mkdir(parents=True)
    assert main(["compare", str(seeds_only)]) == 2
    assert "seed runs without summary.json" in capsys.readouterr().err
    assert main(["compare", str(haan), "--plot", str(tmp_path / "x.gif")]) == 2
    assert "unknown figure format" in capsys.readouterr().err
