"""haan.models.methods: the two methods as the training loop, evaluation and prediction see them; W-TALC
and HAAN's ablations trained end to end on the tiny dataset."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from haan.cli import main
from haan.config import load_config
from haan.data import load_dataset
from haan.engine.checkpoints import load_checkpoints
from haan.errors import InputError
from haan.evaluation.evaluate import evaluate_model
from haan.models.haan import HAAN
from haan.models.methods import (
    ALL_BLOCK_NAMES,
    HAANMethod,
    WTALCMethod,
    build_inference_model,
    build_method,
    check_model_fits,
    inference_blocks,
)
from haan.models.wtalc import WTALC
from haan.runtime.distributed import Processes

WTALC_RUN = ["--set", "model.method=\"wtalc\""]


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_inference_model_and_blocks():
    haan = load_config("synthetic")
    wtalc = load_config("synthetic", ["model.method=\"wtalc\""])
    model = build_inference_model(haan)
    assert isinstance(model, HAAN) and not model.training
    assert inference_blocks(haan) == ("encoder", "fine_level_classifier")
    model = build_inference_model(wtalc)
    assert isinstance(model, WTALC) and not model.training
    assert inference_blocks(wtalc) == ("wtalc",)
    x = torch.randn(3, 7, haan.hyperparameters.feature_size)
    assert model.clip_scores(x).shape == (3, 7, haan.stats.num_fine_classes)
    assert set(ALL_BLOCK_NAMES) == {"encoder", "fine_level_classifier", "pseudo_label_classifier",
                                    "coarse_level_classifier", "wtalc"}


def test_epochs_of_each_method(tiny_dataset):
    config = load_config(tiny_dataset)
    dataset = load_dataset(config)
    n = len(dataset.train_indices)
    haan = build_method(config, dataset, torch.device("cpu"))
    assert isinstance(haan, HAANMethod) and haan.needs_pseudo_labels and haan.uses_every_parameter
    batches = haan.epoch_batches(torch.Generator().manual_seed(3))
    expected = torch.randperm(n, generator=torch.Generator().manual_seed(3))
    assert torch.equal(torch.cat(batches), expected)
    assert [len(b) for b in batches] == [config.hyperparameters.batch_size] * (n // 4) + (
        [n % 4] if n % 4 else [])

    config = load_config(tiny_dataset, ["model.method=\"wtalc\"", "wtalc.batch_size=8",
                                        "wtalc.num_similar=2"])
    wtalc = build_method(config, dataset, torch.device("cpu"))
    assert isinstance(wtalc, WTALCMethod) and not wtalc.needs_pseudo_labels
    labels = dataset.fine_multi_hot(dataset.train_indices)
    batches = wtalc.epoch_batches(torch.Generator().manual_seed(4))
    assert len(batches) == math.ceil(n / 8)  # an epoch draws about N_train videos
    for batch in batches:
        assert len(batch) == 8
        for p in range(2):  # each pair shares a class
            assert (labels[batch[2 * p]] * labels[batch[2 * p + 1]]).sum() > 0


@pytest.mark.parametrize("world", [1, 2, 3, 4, 5])
def test_wtalc_parts_keep_pairs_whole(tiny_dataset, world):
    config = load_config(tiny_dataset, ["model.method=\"wtalc\""])
    method = build_method(config, load_dataset(config), torch.device("cpu"))
    for size in (6, 7, 10, 12):
        parts = [method.part(size, Processes(rank=r, world_size=world)) for r in range(world)]
        assert parts[0][0] == 0 and parts[-1][1] == size
        assert all(a[1] == b[0] and a[0] <= a[1] for a, b in zip(parts, parts[1:]))
        for start, _ in parts:  # no part starts inside one of the three pairs
            assert start >= 6 or start % 2 == 0


def test_wtalc_trains_evaluates_and_resumes(tiny_dataset, tmp_path, capsys):
    base = ["train", "--config", str(tiny_dataset), *WTALC_RUN, "--seed", "2", "--quiet"]
    name = load_config(tiny_dataset).dataset.name
    assert main([*base, "--set", "hyperparameters.epochs=3", "--output-dir", str(tmp_path / "a"),
                 "--exp-name", "w"]) == 0
    run = tmp_path / "a" / name / "w"
    assert sorted(p.name for p in run.glob("*.pkl")) == ["wtalc.pkl"]
    log = read_csv(run / "log.csv")
    assert log[0] == ["epoch", "loss", "l_mil", "l_casl", "eval_avg_mAP", "seconds"]
    for row in log[1:]:
        total, mil, casl = map(float, row[1:4])
        assert total == pytest.approx(0.5 * mil + 0.5 * casl, rel=1e-6)
    assert load_config(run / "config.toml").model.method == "wtalc"

    # haan evaluate builds W-TALC from the run's config, with or without --config.
    rows = read_csv(run / "results.csv")[1:]
    best = max(rows, key=lambda r: float(r[-1]))
    capsys.readouterr()
    assert main(["evaluate", "--models-dir", str(run), "--quiet"]) == 0
    assert read_csv(run / "eval_results.csv")[1] == best
    assert main(["evaluate", "--config", str(tiny_dataset), "--models-dir", str(run), "--quiet",
                 "--output-dir", str(tmp_path / "ev")]) == 0
    assert "checkpoints are of a wtalc run" in capsys.readouterr().out
    assert read_csv(tmp_path / "ev" / "eval_results.csv")[1] == best
    config = load_config(run / "config.toml")
    model = build_inference_model(config)
    load_checkpoints(model, run, blocks=inference_blocks(config))
    dataset = load_dataset(config)
    result = evaluate_model(model, dataset, dataset.test_indices, config, torch.device("cpu"))
    assert result.metrics.average_mAP * 100 == pytest.approx(float(best[-1]), abs=1e-9)

    # Two epochs, then resumed to three: the uninterrupted run's numbers.
    assert main([*base, "--set", "hyperparameters.epochs=2", "--output-dir", str(tmp_path / "b"),
                 "--exp-name", "w"]) == 0
    assert main([*base, "--set", "hyperparameters.epochs=3", "--output-dir", str(tmp_path / "b"),
                 "--exp-name", "w", "--resume"]) == 0
    again = tmp_path / "b" / name / "w"
    assert (again / "results.csv").read_text() == (run / "results.csv").read_text()


def test_an_ablation_without_pseudo_labels_never_clusters(tiny_dataset, tmp_path, monkeypatch):
    import haan.engine.loop

    def no_clustering(*args, **kwargs):
        raise AssertionError("k-means ran although no loss needs pseudo labels")

    monkeypatch.setattr(haan.engine.loop, "make_pseudo_labels", no_clustering)
    assert main(["train", "--config", str(tiny_dataset), "--set", "hyperparameters.epochs=2",
                 "--set", "hyperparameters.lambda_2=0", "--set", "hyperparameters.lambda_3=0",
                 "--set", "hyperparameters.lambda_4=0", "--output-dir", str(tmp_path),
                 "--exp-name", "mil", "--quiet"]) == 0
    log = read_csv(tmp_path / load_config(tiny_dataset).dataset.name / "mil" / "log.csv")
    assert log[0] == ["epoch", "loss", "l_mil", "l_pseudo", "l_concept", "l_coarse",
                      "kmeans_inertia", "eval_avg_mAP", "seconds"]
    for row in log[1:]:
        assert float(row[1]) == float(row[2])  # lambda_1 = 1: the total is L_mil
        assert all(np.isnan(float(v)) for v in row[3:7])


def test_model_size_check_counts_the_parameters():
    config = load_config("fine_gym")
    check_model_fits(config, torch.device("cpu"), training=True)  # FineGym's model fits
    big = load_config("fine_gym", ["hyperparameters.encoded_feature_size=300000"])
    with pytest.raises(InputError) as err:
        check_model_fits(big, torch.device("cpu"), training=True)
    # D H + 4 H^2 + H (C + K + 1) weights, 5 H + C + K + 1 biases (spec section 2)
    d, h, c, k = 2048, 300000, 99, 500
    params = d * h + 4 * h * h + h * (c + k + 1) + 5 * h + c + k + 1
    assert f"{params:,} parameters" in str(err.value)
