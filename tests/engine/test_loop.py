"""Training end to end on the generated tiny dataset: output files in the paper's layout,
determinism, resume, validation split, and a pinned loss curve."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from haan.cli import main
from haan.config import load_config
from haan.data import load_dataset
from haan.engine.checkpoints import checkpoint_file, load_checkpoints
from haan.evaluation.evaluate import evaluate_model
from haan.models.haan import BLOCK_NAMES, HAAN
from haan.models.pseudo_labels import PseudoLabelState

EPOCHS = ["--set", "hyperparameters.epochs=3"]


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_train_writes_the_paper_outputs(tiny_dataset, tmp_path):
    out = tmp_path / "out"
    assert main(["train", "--config", str(tiny_dataset), *EPOCHS, "--output-dir", str(out),
                 "--exp-name", "e1", "--seed", "3", "--quiet"]) == 0
    config = load_config(tiny_dataset)
    run = out / config.dataset.name / "e1"
    for name in map(checkpoint_file, BLOCK_NAMES):
        assert (run / name).is_file() and (run / "last" / name).is_file()
    rows = read_csv(run / "results.csv")
    assert rows[0] == ["epoch"] + [f"mAP@{t}" for t in config.evaluation.report_thresholds] + ["avg.mAP"]
    assert [int(r[0]) for r in rows[1:]] == [0, 1, 2]
    for r in rows[1:]:
        values = [float(v) for v in r[1:]]
        assert all(0 <= v <= 100 for v in values)
    log = read_csv(run / "log.csv")
    assert log[0][:6] == ["epoch", "loss", "l_mil", "l_pseudo", "l_concept", "l_coarse"]
    assert len(log) == 4 and all(np.isfinite(float(v)) for v in log[1][1:6])
    assert load_config(run / "config.toml") == load_config(tiny_dataset, EPOCHS[1:])
    assert json.loads((run / "run.json").read_text())["seed"] == 3


def test_same_seed_same_results_and_resume_is_exact(tiny_dataset, tmp_path):
    args = ["train", "--config", str(tiny_dataset), *EPOCHS, "--seed", "7", "--quiet"]
    assert main([*args, "--output-dir", str(tmp_path / "a"), "--exp-name", "r"]) == 0
    assert main([*args, "--output-dir", str(tmp_path / "b"), "--exp-name", "r"]) == 0
    name = load_config(tiny_dataset).dataset.name
    a = (tmp_path / "a" / name / "r" / "results.csv").read_text()
    assert a == (tmp_path / "b" / name / "r" / "results.csv").read_text()
    # interrupted after 2 epochs, then resumed to 3: the same results as the uninterrupted run
    two = ["train", "--config", str(tiny_dataset), "--set", "hyperparameters.epochs=2", "--seed", "7",
           "--quiet", "--output-dir", str(tmp_path / "c"), "--exp-name", "r"]
    assert main(two) == 0
    assert main([*args, "--output-dir", str(tmp_path / "c"), "--exp-name", "r", "--resume"]) == 0
    assert (tmp_path / "c" / name / "r" / "results.csv").read_text() == a


def test_resume_refuses_another_config(tiny_dataset, tmp_path, capsys):
    base = ["train", "--config", str(tiny_dataset), "--set", "hyperparameters.epochs=1", "--quiet",
            "--output-dir", str(tmp_path), "--exp-name", "r"]
    assert main(base) == 0
    capsys.readouterr()
    assert main([*base, "--set", "hyperparameters.learning_rate=0.1", "--resume"]) == 2
    assert "another config" in capsys.readouterr().err


def test_pseudo_label_padding():
    # videos of 3, 1 and 2 clips; labels 10..15 laid end to end
    state = PseudoLabelState(labels=torch.arange(10, 16), offsets=torch.tensor([0, 3, 4, 6]),
                             weights=torch.ones(4), inertia=0.0)
    got = state.padded(torch.tensor([1, 0, 2]), 3)
    assert got.tolist() == [[13, 0, 0], [10, 11, 12], [14, 15, 0]]


def test_validation_split_selects_on_held_out_videos(tiny_dataset, tmp_path):
    """With a validation split, results.csv scores the held-out training videos, and the best
    checkpoint is evaluated once on the test set (test_results.csv = haan evaluate's row)."""
    split = ["--set", "haan.validation_fraction=0.25"]
    assert main(["train", "--config", str(tiny_dataset), *EPOCHS, *split, "--output-dir", str(tmp_path),
                 "--exp-name", "v", "--quiet"]) == 0
    run = tmp_path / load_config(tiny_dataset).dataset.name / "v"
    config = load_config(tiny_dataset, [*EPOCHS[1:], split[1]])
    dataset = load_dataset(config)
    assert len(dataset.val_indices) > 0
    rows = read_csv(run / "results.csv")[1:]
    best = max(rows, key=lambda r: float(r[-1]))
    model = HAAN.from_config(config)
    load_checkpoints(model, run)
    on_val = evaluate_model(model, dataset, dataset.val_indices, config, torch.device("cpu"))
    assert on_val.metrics.average_mAP * 100 == pytest.approx(float(best[-1]), abs=1e-9)
    test_row = read_csv(run / "test_results.csv")[1]
    assert int(test_row[0]) == int(best[0])
    on_test = evaluate_model(model, dataset, dataset.test_indices, config, torch.device("cpu"))
    assert on_test.metrics.average_mAP * 100 == pytest.approx(float(test_row[-1]), abs=1e-9)


# Three epochs on tiny (seed 0 data, seed 5 run, pseudo labels every epoch): loss, l_mil,
# l_pseudo, l_concept, l_coarse, k-means inertia, avg.mAP per epoch.
PINNED_CURVES = {
    # nn.Dropout's masks: the numbers of this code as it was checked against the paper's.
    "torch": [
        [1.204622459411621, 1.1139267563819886, 0.5017787516117096, 3.470472574234009,
         0.5548924207687378, 112.26877038303738, 4.592592592592593],
        [1.205733871459961, 1.11507328748703, 0.47973801493644713, 3.385343909263611,
         0.563274222612381, 107.67907974129957, 4.558404558404558],
        [1.201302742958069, 1.110823118686676, 0.4857919216156006, 3.4076677322387696,
         0.5591716527938843, 111.64607252217432, 4.497354497354497],
    ],
    # the default, fast masks: the same up to the dropout stream (epoch 0's k-means is the same)
    "fast": [
        [1.203444814682007, 1.11295428276062, 0.498716676235199, 3.409105968475342,
         0.5590070128440857, 112.26877038303738, 2.5974025974025974],
        [1.2046871185302734, 1.1146494030952454, 0.47618440389633176, 3.386536884307861,
         0.5569615244865418, 108.11630862766606, 3.1884057971014492],
        [1.1982191801071167, 1.1094165563583374, 0.5043427526950837, 3.2739889144897463,
         0.5555838942527771, 115.47467739214233, 4.639694041867955],
    ],
}


@pytest.mark.parametrize("masks", ["torch", "fast"])
def test_a_short_loss_curve_is_pinned(tiny_dataset, tmp_path, monkeypatch, masks):
    """Any silent change in the losses, k-means, detection or AP shows here. k-means runs fp32
    so the numbers do not depend on whether the CPU has fast bf16."""
    import haan.models.kmeans

    monkeypatch.setattr(haan.models.kmeans, "has_native_bf16", lambda device: False)
    assert main(["train", "--config", str(tiny_dataset), *EPOCHS, "--set",
                 "haan.pseudo_label_interval=1", "--set", f'haan.dropout_masks="{masks}"',
                 "--output-dir", str(tmp_path), "--exp-name", "p", "--seed", "5", "--quiet"]) == 0
    run = tmp_path / load_config(tiny_dataset).dataset.name / "p"
    log = read_csv(run / "log.csv")
    assert log[0][:8] == ["epoch", "loss", "l_mil", "l_pseudo", "l_concept", "l_coarse",
                          "kmeans_inertia", "eval_avg_mAP"]
    got = np.array([[float(v) for v in row[1:8]] for row in log[1:]])
    pinned = np.array(PINNED_CURVES[masks])
    np.testing.assert_allclose(got[:, :6], pinned[:, :6], rtol=1e-4)
    np.testing.assert_allclose(got[:, 6], pinned[:, 6], atol=0.01)


def test_pseudo_labels_in_bounded_memory_are_the_labels_of_all_clips_at_once(tiny_dataset,
                                                                           monkeypatch):
    """make_pseudo_labels draws the sample first and labels chunk by chunk (re-encoding when the
    clips would not fit): the labels, weights and inertia of encoding every clip, holding them
    all and clustering them with generate_pseudo_labels."""
    import haan.engine.pseudo_labelling
    import haan.evaluation.evaluate
    from haan.engine.pseudo_labelling import make_pseudo_labels
    from haan.evaluation.evaluate import chunk_clips, video_chunks
    from haan.models.pseudo_labels import generate_pseudo_labels

    monkeypatch.setattr(haan.evaluation.evaluate, "MAX_CHUNK_CLIPS", 64)  # tiny's clips in many chunks
    config = load_config(tiny_dataset)
    dataset = load_dataset(config)
    h = config.hyperparameters
    torch.manual_seed(0)
    model = HAAN.from_config(config).eval()
    idx = dataset.train_indices
    chunks = video_chunks(dataset.lengths[idx], chunk_clips(dataset.feature_size))
    assert len(chunks) > 3
    with torch.no_grad():
        clips = torch.cat([model.encoder(torch.from_numpy(dataset.clips(idx[c])))[1]
                           for c in chunks])
    expected = generate_pseudo_labels(clips, h.num_visual_concepts, h.clustering_sample_rate,
                                      generator=torch.Generator().manual_seed(3))
    for cache_bytes in (0, 1 << 30):  # encoded twice, or held between the passes
        monkeypatch.setattr(haan.engine.pseudo_labelling, "PSEUDO_LABEL_CACHE_BYTES", cache_bytes)
        got = make_pseudo_labels(model, dataset, config, torch.device("cpu"),
                                 torch.Generator().manual_seed(3))
        assert torch.equal(got.labels, expected.labels)
        assert torch.equal(got.weights, expected.weights)
        assert got.inertia == expected.inertia
