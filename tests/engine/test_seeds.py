"""haan.engine.seeds: `haan train --seeds`, its summary against the seeds' own files, skipping finished
seeds, continuing a stopped one."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from haan.cli import main
from haan.config import load_config
from haan.engine.seeds import format_mean_std, load_results, parse_seeds
from haan.errors import InputError

# Two epochs on tiny with a validation split (so each seed also has a test result).
SETTINGS = ["--set", "hyperparameters.epochs=2", "--set", "haan.validation_fraction=0.25",
            "--quiet"]


def rows_of(path: Path) -> tuple[list[str], list[list[float]]]:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], [[float(v) for v in r] for r in rows[1:]]


def seeds_args(config: Path, out: Path, seeds: str, *extra: str) -> list[str]:
    return ["train", "--config", str(config), *SETTINGS, "--output-dir", str(out), "--exp-name",
            "exp", "--seeds", seeds, *extra]


def test_parse_seeds():
    assert parse_seeds("1,2,3") == [1, 2, 3]
    assert parse_seeds("1-5") == [1, 2, 3, 4, 5]
    assert parse_seeds(" 7, 1-3 ") == [7, 1, 2, 3]
    assert parse_seeds("0") == [0]
    for text, message in [("a", "expected whole numbers"), ("3-1", "the range 3-1 is empty"),
                          ("1,2,1", "seed 1 is named twice"), ("1-2000", "more than 1000"),
                          ("1,,2", "expected whole numbers")]:
        with pytest.raises(InputError, match=message):
            parse_seeds(text)


@pytest.fixture(scope="module")
def seeds_run(tmp_path_factory):
    from haan.data.synth import generate

    base = tmp_path_factory.mktemp("seeds")
    config = generate(base / "tiny", "tiny", seed=0)
    assert main(seeds_args(config, base / "out", "1-3")) == 0
    return config, base / "out" / load_config(config).dataset.name / "exp"


def test_the_summary_is_the_seeds_numbers(seeds_run):
    _, exp = seeds_run
    summary_header, summary = rows_of_summary(exp / "summary.csv")
    data = json.loads((exp / "summary.json").read_text())
    assert data["seeds"] == [1, 2, 3] and data["selection_set"] == "validation"
    columns = data["columns"]
    assert summary_header == ["result", "seed", "epoch", *columns]
    for kind in ("best", "last", "test"):
        per_seed = []
        for seed in (1, 2, 3):
            header, rows = rows_of(exp / f"seed_{seed}" / "results.csv")
            assert header[1:] == columns
            if kind == "best":  # the highest avg.mAP, the earliest on ties
                row = rows[0]
                for r in rows[1:]:
                    if r[-1] > row[-1]:
                        row = r
            elif kind == "last":
                row = rows[-1]
            else:
                row = rows_of(exp / f"seed_{seed}" / "test_results.csv")[1][0]
            per_seed.append(row[1:])
            assert summary[(kind, str(seed))] == [row[0], *row[1:]]
            assert data["results"][kind]["seeds"][str(seed)] == {"epoch": int(row[0]),
                                                                  "values": row[1:]}
        for j in range(len(columns)):
            values = [v[j] for v in per_seed]
            mean = sum(values) / 3
            std = math.sqrt(sum((v - mean) ** 2 for v in values) / 2)
            assert summary[(kind, "mean")][1 + j] == pytest.approx(mean, rel=1e-12, abs=1e-12)
            assert summary[(kind, "std")][1 + j] == pytest.approx(std, rel=1e-12, abs=1e-12)
            assert data["results"][kind]["mean"][j] == pytest.approx(mean, rel=1e-12, abs=1e-12)
            assert data["results"][kind]["std"][j] == pytest.approx(std, rel=1e-12, abs=1e-12)
    # The summary reads back as it was written (what haan compare reads).
    again = load_results(exp)
    assert again.seeds == [1, 2, 3] and again.kinds == ["best", "last", "test"]
    assert format_mean_std(again.mean("test")[-1], again.std("test")[-1]) == (
        f"{data['results']['test']['mean'][-1]:.2f} ± {data['results']['test']['std'][-1]:.2f}")


def rows_of_summary(path: Path) -> tuple[list[str], dict[tuple[str, str], list[float]]]:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], {(r[0], r[1]): [float(v) if v else math.nan for v in r[2:]] for r in rows[1:]}


def test_finished_seeds_are_not_trained_again(seeds_run, capsys):
    config, exp = seeds_run
    states = {s: (exp / f"seed_{s}" / "training_state.pt").stat().st_mtime_ns for s in (1, 2, 3)}
    summary = (exp / "summary.csv").read_text()
    capsys.readouterr()
    assert main(seeds_args(config, exp.parent.parent, "1-4")) == 0
    out = capsys.readouterr().out
    assert out.count("not trained again") == 3 and "seed 4 (4/4): training" in out
    assert {s: (exp / f"seed_{s}" / "training_state.pt").stat().st_mtime_ns
            for s in (1, 2, 3)} == states
    assert "± " in out and "test set, best validation epoch" in out
    # The four seeds' summary holds the first three's rows as they were.
    assert set(summary.splitlines()) - {line for line in summary.splitlines()
                                        if ",mean," in line or ",std," in line} <= set(
        (exp / "summary.csv").read_text().splitlines())


def test_a_stopped_seed_is_continued_with_resume(seeds_run, tmp_path, capsys):
    config, full = seeds_run
    name = load_config(config).dataset.name
    # Seed 2 stopped after its first epoch (its state says so).
    assert main(["train", "--config", str(config), *SETTINGS, "--set", "hyperparameters.epochs=1",
                 "--output-dir", str(tmp_path), "--exp-name", "exp/seed_2", "--seed", "2"]) == 0
    capsys.readouterr()
    assert main(seeds_args(config, tmp_path, "1-3")) == 2  # seed 1 trains, seed 2 is refused
    assert "seed_2: already holds a run (config.toml); pass --resume" in capsys.readouterr().err
    assert main(seeds_args(config, tmp_path, "1-3", "--resume")) == 0
    out = capsys.readouterr().out
    assert "seed 1 (1/3): finished" in out and "resuming" in out
    exp = tmp_path / name / "exp"
    for seed in (1, 2, 3):  # a continued run computes what an uninterrupted one does
        for file in ("results.csv", "test_results.csv"):
            assert (exp / f"seed_{seed}" / file).read_text() == (
                full / f"seed_{seed}" / file).read_text()


def test_seed_and_seeds_together_are_refused(tiny_dataset, tmp_path, capsys):
    assert main(["train", "--config", str(tiny_dataset), "--seed", "1", "--seeds", "1-2",
                 "--output-dir", str(tmp_path)]) == 2
    assert "--seed and --seeds: choose one" in capsys.readouterr().err
