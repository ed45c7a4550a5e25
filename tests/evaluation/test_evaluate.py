"""Evaluation of a model on a dataset's videos: batched inference, detection and AP against the
spec written as loops, and the `haan evaluate` command."""

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
from haan.evaluation.evaluate import evaluate_model
from haan.models.haan import HAAN

EPOCHS = ["--set", "hyperparameters.epochs=3"]


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="") as f:
        return list(csv.reader(f))


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
    got = read_csv(ev / "eval_results.csv")[1]
    assert np.allclose([float(v) for v in got[1:]], [float(v) for v in best[1:]], atol=1e-9)
    detections = json.loads((ev / "eval_detections.json").read_text())["results"]
    config = load_config(tiny_dataset)
    dataset = load_dataset(config)
    assert set(detections) == {str(n) for n in dataset.video_names[dataset.test_indices]}
    report = json.loads((ev / "eval_report.json").read_text())
    assert report["average_mAP"] == pytest.approx(float(got[-1]) / 100)
    assert "avg" in capsys.readouterr().out


def test_evaluate_needs_checkpoints(tiny_dataset, tmp_path, capsys):
    assert main(["evaluate", "--config", str(tiny_dataset), "--models-dir", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "encoder.pkl" in err[0]


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


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_evaluate_is_eval_detections_on_the_file_it_writes_ties_included(tiny_dataset, tmp_path,
                                                                         seed):
    """Scores from a grid of four values make ties everywhere (within a class, across classes
    of one coarse class): their rank comes from a sort that is not stable and whose tie order
    differs between CPUs (numpy's vectorized sorts). evaluate and eval-detections must still
    agree exactly, fine and coarse, because the file lists what was scored in the order it was
    scored: the same arrays in, the same numbers out, whatever the CPU."""
    from haan.data import ground_truth_json
    from haan.evaluation import activitynet
    from haan.evaluation.evaluate import score_coarse, score_detections
    from haan.evaluation.postprocess import Detections
    from haan.evaluation.reports import detections_json

    config = load_config(tiny_dataset)
    d = load_dataset(config)
    rng = np.random.default_rng(seed)
    video, label, start, end = [], [], [], []
    for v, i in enumerate(d.test_indices):  # evaluate's order: by video, class, start
        duration = d.lengths[i] / d.sec2clip_ratios[i]
        for c in range(d.num_fine_classes):
            starts = np.sort(rng.uniform(0, duration, size=int(rng.integers(0, 6))))
            video += [v] * len(starts)
            label += [c] * len(starts)
            start += starts.tolist()
            end += (starts + rng.uniform(0.1, duration / 2, size=len(starts))).tolist()
    detections = Detections(np.array(video), np.array(label), np.array(start), np.array(end),
                            rng.choice([0.25, 0.5, 0.75, 1.0], size=len(video)))
    assert len(np.unique(detections.score)) == 4 and len(video) > 50
    fine = score_detections(detections, d, d.test_indices, config)
    coarse = score_coarse(fine, d, config)

    (tmp_path / "pred.json").write_text(json.dumps(detections_json(
        detections, d.video_names[d.test_indices], d.fine_names)))
    (tmp_path / "gt.json").write_text(json.dumps(ground_truth_json(d, "test")))
    (tmp_path / "groups.json").write_text(json.dumps(
        {f: d.coarse_names[d.fine_to_coarse[k]] for k, f in enumerate(d.fine_names)}))
    report = activitynet.evaluate_files(
        tmp_path / "gt.json", tmp_path / "pred.json", subset="test",
        tiou_thresholds=config.evaluation.tiou_thresholds,
        hierarchy_path=tmp_path / "groups.json")
    assert report.class_names == d.fine_names and report.coarse_names == d.coarse_names
    np.testing.assert_array_equal(report.metrics.per_class_ap, fine.metrics.per_class_ap)
    np.testing.assert_array_equal(report.metrics.mAP, fine.metrics.mAP)
    np.testing.assert_array_equal(report.coarse.per_class_ap, coarse.per_class_ap)
    np.testing.assert_array_equal(report.coarse.mAP, coarse.mAP)
    assert fine.metrics.average_mAP > 0
