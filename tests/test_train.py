"""End-to-end training and evaluation on the generated tiny dataset: output files in the paper's
layout, determinism, resume, the evaluate command and the paper's command line."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from haan.cli import main
from haan.config import load_config
from haan.data import load_dataset
from haan.evaluate import evaluate_model
from haan.model import CHECKPOINT_FILES, HAAN
from haan.train import PseudoLabelState

REPO = Path(__file__).resolve().parents[1]
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
    for name in CHECKPOINT_FILES.values():
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


def test_evaluate_reproduces_the_best_epoch(tiny_dataset, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["train", "--config", str(tiny_dataset), *EPOCHS, "--output-dir", str(out),
                 "--exp-name", "e", "--quiet"]) == 0
    run = out / load_config(tiny_dataset).dataset.name / "e"
    rows = read_csv(run / "results.csv")[1:]
    best = max(rows, key=lambda r: float(r[-1]))
    ev = tmp_path / "ev"
    assert main(["evaluate", "--config", str(tiny_dataset), "--models-dir", str(run),
                 "--output-dir", str(ev), "--quiet"]) == 0
    got = read_csv(ev / "results.csv")[1]
    assert np.allclose([float(v) for v in got[1:]], [float(v) for v in best[1:]], atol=1e-9)
    detections = json.loads((ev / "detections.json").read_text())["results"]
    config = load_config(tiny_dataset)
    dataset = load_dataset(config)
    assert set(detections) == {str(n) for n in dataset.video_names[dataset.test_indices]}
    report = json.loads((ev / "per_class_ap.json").read_text())
    assert report["average_mAP"] == pytest.approx(float(got[-1]) / 100)
    assert "avg" in capsys.readouterr().out


def test_evaluate_needs_checkpoints(tiny_dataset, tmp_path, capsys):
    assert main(["evaluate", "--config", str(tiny_dataset), "--models-dir", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "encoder.pkl" in err[0]


def test_papers_command_line(tiny_dataset, tmp_path):
    env_cmd = [sys.executable, str(REPO / "main.py"), "--dataset", "FineGym", "--config", str(tiny_dataset)]
    done = subprocess.run([*env_cmd, "--exp-name", "p", "--output-dir", str(tmp_path), "--device", "cpu"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr
    run = tmp_path / "FineGym" / "p"  # the paper's folder: OUTPUT_DIR/<--dataset>/EXP_NAME
    assert (run / "encoder.pkl").is_file() and (run / "results.csv").is_file()
    done = subprocess.run([*env_cmd, "--evaluation-only", "--input-models-dir", str(run), "--exp-name", "q",
                           "--output-dir", str(tmp_path), "--device", "cpu"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "FineGym" / "q" / "results.csv").is_file()
    done = subprocess.run([*env_cmd, "--evaluation-only"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2 and "--input-models-dir" in done.stderr


def test_pseudo_label_padding():
    # videos of 3, 1 and 2 clips; labels 10..15 laid end to end
    state = PseudoLabelState(labels=torch.arange(10, 16), offsets=torch.tensor([0, 3, 4, 6]),
                             weights=torch.ones(4), inertia=0.0)
    got = state.padded(torch.tensor([1, 0, 2]), 3)
    assert got.tolist() == [[13, 0, 0], [10, 11, 12], [14, 15, 0]]


def test_evaluation_matches_a_loop_reference(tiny_dataset):
    """The batched inference + detection + AP equals the spec written as plain loops, for a random
    model on the tiny dataset's test videos."""
    config = load_config(tiny_dataset)
    dataset = load_dataset(config)
    torch.manual_seed(0)
    model = HAAN.from_config(config)
    result = evaluate_model(model, dataset, dataset.test_indices, config, torch.device("cpu"))
    ev = config.evaluation
    thresholds = list(ev.tiou_thresholds)
    C = dataset.num_fine_classes
    dets = {c: [] for c in range(C)}
    model.eval()
    with torch.no_grad():
        for v, i in enumerate(dataset.test_indices):
            s = model.clip_scores(torch.tensor(np.asarray(dataset.video_features(int(i)), np.float32))).numpy()
            T = s.shape[0]
            k = int(np.ceil(T / ev.kmax_mod_factor))
            for c in range(C):
                col = sorted(s[:, c].tolist(), reverse=True)
                cs = sum(col[:k]) / k
                x = s[:, c] if cs > 0 else np.zeros(T, np.float32)
                thr = x.mean() + ev.alpha * (x.max() - x.min())
                t = 0
                while t < T:
                    if x[t] > thr:
                        a = t
                        while t < T and x[t] > thr:
                            t += 1
                        ratio = dataset.sec2clip_ratios[i]
                        dets[c].append((max(x[a:t]) + 0.5 * cs, v, a / ratio, t / ratio))
                    else:
                        t += 1
    inst = dataset.instances(dataset.test_indices)
    gv = np.searchsorted(dataset.test_indices, inst.video)  # test indices are sorted
    gl, gs = inst.fine, inst.segments
    for c in range(C):
        gts = [(gv[j], gs[j][0], gs[j][1]) for j in range(len(gl)) if gl[j] == c]
        if not gts:
            continue
        order = sorted(dets[c], key=lambda d: -d[0])
        for m, thr in enumerate(thresholds):
            used = set()
            tp = []
            for score, v, s0, e0 in order:
                best, best_j = -1.0, None
                for j, (gvid, gs0, ge0) in enumerate(gts):
                    if gvid != v or j in used:
                        continue
                    inter = max(0.0, min(e0, ge0) - max(s0, gs0))
                    iou = inter / ((e0 - s0) + (ge0 - gs0) - inter)
                    if iou > best:
                        best, best_j = iou, j
                # with distinct tIoUs, "decreasing tIoU, skip matched, stop below thr" is this:
                if best_j is not None and best >= thr:
                    used.add(best_j)
                    tp.append(1)
                else:
                    tp.append(0)
            ap, prev_r, n = 0.0, 0.0, len(gts)
            cum = np.cumsum(tp)
            prec = [cum[q] / (q + 1) for q in range(len(tp))]
            rec = [cum[q] / n for q in range(len(tp))]
            for q in range(len(tp)):
                if rec[q] != prev_r:
                    ap += (rec[q] - prev_r) * max(prec[q:])
                    prev_r = rec[q]
            assert result.metrics.per_class_ap[c, m] == pytest.approx(ap, abs=1e-6), (c, thr)


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
    from haan.model import load_checkpoints

    load_checkpoints(model, run)
    on_val = evaluate_model(model, dataset, dataset.val_indices, config, torch.device("cpu"))
    assert on_val.metrics.average_mAP * 100 == pytest.approx(float(best[-1]), abs=1e-9)
    test_row = read_csv(run / "test_results.csv")[1]
    assert int(test_row[0]) == int(best[0])
    on_test = evaluate_model(model, dataset, dataset.test_indices, config, torch.device("cpu"))
    assert on_test.metrics.average_mAP * 100 == pytest.approx(float(test_row[-1]), abs=1e-9)
