"""`haan train --tensorboard`: the event files read back with TensorBoard's own reader hold the
numbers the run recorded in log.csv and results.csv, at one step per epoch; a resumed run continues
the curves with every step once (also after an epoch whose curves were written but whose state was
not); coarse mAP is what `haan evaluate` finds for the same checkpoints; without the package the
flag fails up front with the install command."""

from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from haan.cli import main
from haan.config import load_config
from haan.data import load_dataset
from haan.engine.board import BOARD_FOLDER, INSTALL_COMMAND

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import (  # noqa: E402
    EventAccumulator,
)

LOSSES = ["loss", "l_mil", "l_pseudo", "l_concept", "l_coarse"]


def read_rows(path: Path) -> list[dict[str, float]]:
    with open(path, newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def events(run: Path) -> EventAccumulator:
    acc = EventAccumulator(str(run / BOARD_FOLDER), size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    return acc


def curve(acc: EventAccumulator, tag: str) -> list[tuple[int, float]]:
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def f32(x: float) -> float:
    """TensorBoard stores scalars as float32."""
    return float(np.float32(x))


def train(config: Path, out: Path, *extra: str) -> int:
    return main(["train", "--config", str(config), "--output-dir", str(out), "--exp-name", "r",
                 "--quiet", "--tensorboard", *extra])


def check_curves_match_the_csv(run: Path, epochs: int, learning_rate: float = 1e-3) -> None:
    acc = events(run)
    log, results = read_rows(run / "log.csv"), read_rows(run / "results.csv")
    steps = list(range(epochs))
    for column in LOSSES:
        tag = "loss/total" if column == "loss" else f"loss/{column}"
        assert curve(acc, tag) == [(e, f32(row[column])) for e, row in zip(steps, log)], tag
    for column in results[0]:
        if column != "epoch":
            tag = "mAP/fine_avg" if column == "avg.mAP" else f"mAP/fine{column[3:]}"
            assert curve(acc, tag) == [(int(r["epoch"]), f32(r[column])) for r in results], tag
    assert curve(acc, "learning_rate") == [(e, f32(learning_rate)) for e in steps]
    assert [s for s, _ in curve(acc, "mAP/coarse_avg")] == steps
    for tag in ("throughput/videos_per_second", "throughput/clips_per_second",
                "time/epoch_seconds"):
        assert [s for s, _ in curve(acc, tag)] == steps and all(v > 0 for _, v in curve(acc, tag))


def test_the_event_files_hold_what_the_run_recorded(tiny_dataset, tmp_path):
    # pseudo labels every 2 epochs: re-clustered at epochs 0 and 2
    assert train(tiny_dataset, tmp_path / "out", "--set", "hyperparameters.epochs=3",
                 "--set", "haan.pseudo_label_interval=2") == 0
    run = next((tmp_path / "out").glob("*/r"))
    check_curves_match_the_csv(run, 3)
    acc = events(run)
    assert curve(acc, "pseudo_labels/reclustered") == [(0, 1.0), (1, 0.0), (2, 1.0)]
    log = read_rows(run / "log.csv")
    # the k-means inertia log.csv records for each epoch, at the epochs that re-clustered
    assert curve(acc, "pseudo_labels/inertia") == [(e, f32(log[e]["kmeans_inertia"]))
                                                   for e in (0, 2)]
    config = load_config(tiny_dataset)
    concepts = config.hyperparameters.num_visual_concepts
    dataset = load_dataset(config)
    videos, clips = len(dataset.train_indices), int(dataset.lengths[dataset.train_indices].sum())
    for e, mean in curve(acc, "pseudo_labels/cluster_size_mean"):
        assert mean == f32(clips / concepts)  # every training clip in one of K clusters
    sizes = acc.Histograms("pseudo_labels/cluster_sizes")
    assert [h.step for h in sizes] == [0, 2]
    assert all(h.histogram_value.num == concepts and h.histogram_value.sum == clips
               for h in sizes)
    lo = curve(acc, "pseudo_labels/cluster_size_min")
    hi = curve(acc, "pseudo_labels/cluster_size_max")
    assert all(0 <= a <= clips / concepts <= b for (_, a), (_, b) in zip(lo, hi))
    # throughput: the training pass's videos and clips over the same seconds
    for (_, v), (_, c) in zip(curve(acc, "throughput/videos_per_second"),
                              curve(acc, "throughput/clips_per_second")):
        assert c / v == pytest.approx(clips / videos, rel=1e-6)
    assert json.loads((run / "run.json").read_text())["tensorboard"] is True


def test_coarse_map_is_what_evaluate_finds_for_the_same_checkpoints(tiny_dataset, tmp_path):
    assert train(tiny_dataset, tmp_path / "out", "--set", "hyperparameters.epochs=2") == 0
    run = next((tmp_path / "out").glob("*/r"))
    # without a validation split the selection set is the test set, which evaluate scores
    assert main(["evaluate", "--models-dir", str(run / "last"), "--config", str(tiny_dataset),
                 "--set", "hyperparameters.epochs=2", "--output-dir", str(tmp_path / "ev"),
                 "--no-plots", "--quiet"]) == 0
    report = json.loads((tmp_path / "ev" / "eval_report.json").read_text())
    last = curve(events(run), "mAP/coarse_avg")[-1]
    assert last == (1, f32(report["coarse"]["average_mAP"] * 100))


def test_a_resumed_run_continues_its_curves_without_repeating_a_step(tiny_dataset, tmp_path):
    out = tmp_path / "out"
    assert train(tiny_dataset, out, "--set", "hyperparameters.epochs=2") == 0
    run = next(out.glob("*/r"))
    after_two = tmp_path / "state_after_2.pt"
    shutil.copy(run / "training_state.pt", after_two)
    # the run goes on to 3 epochs (curves up to step 2), then is set back to the state saved
    # after epoch 1, as if killed after writing epoch 2's curves but before saving its state
    assert main(["train", "--resume", str(run), "--set", "hyperparameters.epochs=3",
                 "--quiet"]) == 0
    shutil.copy(after_two, run / "training_state.pt")
    # --resume RUN_DIR takes --tensorboard from run.json: not repeated here
    assert main(["train", "--resume", str(run), "--set", "hyperparameters.epochs=4",
                 "--quiet"]) == 0
    assert len(list((run / BOARD_FOLDER).iterdir())) == 3  # one event file per invocation
    acc = events(run)
    for tag in acc.Tags()["scalars"]:
        steps = [s for s, _ in curve(acc, tag)]
        assert steps == sorted(set(steps)), tag  # each step once, in order
    check_curves_match_the_csv(run, 4)  # epoch 2's curves are those of the run that saved it
    # and they equal an uninterrupted run's
    assert train(tiny_dataset, tmp_path / "straight", "--set", "hyperparameters.epochs=4") == 0
    straight = events(next((tmp_path / "straight").glob("*/r")))
    for tag in ("loss/total", "loss/l_mil", "mAP/fine_avg", "mAP/coarse_avg"):
        assert curve(acc, tag) == curve(straight, tag), tag


def test_without_the_package_the_flag_fails_before_anything(tiny_dataset, tmp_path, capsys,
                                                           monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # `import tensorboard` fails
    assert train(tiny_dataset, tmp_path / "out") == 2
    captured = capsys.readouterr()
    assert captured.err == ("haan: error: --tensorboard: the tensorboard package is not "
                            f"installed; install it with `{INSTALL_COMMAND}` (or `pip install "
                            "tensorboard`)\n")
    assert captured.out == "" and not (tmp_path / "out").exists()


def test_overwrite_replaces_the_curves_of_the_run_it_replaces(tiny_dataset, tmp_path):
    assert train(tiny_dataset, tmp_path / "out", "--set", "hyperparameters.epochs=2") == 0
    run = next((tmp_path / "out").glob("*/r"))
    (run / BOARD_FOLDER / "notes.txt").write_text("mine")
    assert train(tiny_dataset, tmp_path / "out", "--set", "hyperparameters.epochs=1",
                 "--set", "hyperparameters.learning_rate=0.002", "--overwrite") == 0
    assert len(list((run / BOARD_FOLDER).glob("events.out.tfevents.*"))) == 1
    assert (run / BOARD_FOLDER / "notes.txt").read_text() == "mine"
    check_curves_match_the_csv(run, 1, learning_rate=0.002)


def test_a_run_killed_in_its_first_epoch_leaves_curves_the_next_start_drops(tiny_dataset,
                                                                             tmp_path):
    # what SIGKILL between epoch 0's curves and its save leaves: an event file, no run files
    assert train(tiny_dataset, tmp_path / "out", "--set", "hyperparameters.epochs=1",
                 "--set", "hyperparameters.learning_rate=0.002") == 0
    run = next((tmp_path / "out").glob("*/r"))
    for path in run.rglob("*"):
        if path.is_file() and path.parent.name != BOARD_FOLDER:
            path.unlink()
    assert train(tiny_dataset, tmp_path / "out", "--set", "hyperparameters.epochs=2",
                 "--resume", "auto") == 0
    check_curves_match_the_csv(run, 2)
