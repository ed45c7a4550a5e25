"""ActivityNet detection AP on a FineGym-sized case: haan against a baseline that runs the paper's
evaluator algorithm the paper's way, in one run.

Baseline (written here from the algorithm of the paper's `eval_detection.py` / `evaluation.py`):
one pandas DataFrame per class, detections ranked with `argsort()[::-1]`, a row-by-row `iterrows`
loop, the video's ground truths fetched with `groupby(...).get_group`, a nested loop over
thresholds and ground truths, and a Python loop for the interpolated AP. Its JSON side reads the
files ActivityNet's way: `json.load`, then one Python row per detection into a DataFrame.
haan: (a) `haan.evaluation.metrics.evaluate_detections` on the same arrays; (b) the whole
`python -m haan eval-detections` process (interpreter start-up, imports, JSON, metric, report).

It checks that both give the same per-class AP (max abs diff < 1e-9) and prints the ratios
baseline / haan. Ratios only: the machines are shared and noisy.

    python benchmarks/bench_eval.py              # 1,193 videos, 99 classes, ~8k GTs, ~60k detections
    python benchmarks/bench_eval.py --quick      # ~200 videos, a few seconds
    python benchmarks/bench_eval.py --repeat 3   # best of 3 for every timing
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

from haan.evaluation.metrics import evaluate_detections  # noqa: E402

THRESHOLDS = np.round(np.linspace(0.1, 0.5, 9), 2)   # FineGym's 0.1:0.05:0.5


# ----------------------------------------------------------------------------------------------
# The synthetic case


def make_case(num_videos: int, num_classes: int, seed: int) -> dict[str, np.ndarray]:
    """Ground truths (~6.7 per video) and detections: ~5 jittered copies of each ground truth
    (10% with a wrong class) plus ~2.5 x as many random ones as ground truths."""
    rng = np.random.default_rng(seed)
    duration = rng.integers(60, 310, num_videos) / 1.5                      # (V,) seconds
    gt_video = np.repeat(np.arange(num_videos), rng.poisson(6.7, num_videos))  # (N,)
    gt_label = rng.integers(0, num_classes, len(gt_video))
    length = rng.uniform(0.5, 8.0, len(gt_video))
    start = rng.uniform(0, duration[gt_video] - length)
    gt_segment = np.stack([start, start + length], axis=1)                   # (N, 2)

    src = np.repeat(np.arange(len(gt_video)), rng.poisson(5.0, len(gt_video)))  # near copies
    jitter = rng.normal(0, 0.25, (len(src), 2)) * length[src, None]
    near_segment = np.sort(gt_segment[src] + jitter, axis=1)
    near_label = np.where(rng.random(len(src)) < 0.9, gt_label[src], rng.integers(0, num_classes, len(src)))
    num_random = int(2.5 * len(gt_video))
    rand_video = rng.integers(0, num_videos, num_random)
    rand_length = rng.uniform(0.5, 10.0, num_random)
    rand_start = rng.uniform(0, duration[rand_video] - rand_length)
    return {
        "gt_video": gt_video, "gt_label": gt_label, "gt_segment": gt_segment,
        "pred_video": np.concatenate([gt_video[src], rand_video]),
        "pred_label": np.concatenate([near_label, rng.integers(0, num_classes, num_random)]),
        "pred_segment": np.concatenate([near_segment, np.stack([rand_start, rand_start + rand_length], 1)]),
        "pred_score": np.concatenate([rng.uniform(0.2, 1.0, len(src)), rng.uniform(0.0, 0.8, num_random)]),
    }


def write_json(case: dict[str, np.ndarray], num_videos: int, folder: Path) -> tuple[Path, Path]:
    names = [f"video_{i:05d}" for i in range(num_videos)]
    database = {name: {"subset": "test", "annotations": []} for name in names}
    for v, c, (s, e) in zip(case["gt_video"].tolist(), case["gt_label"].tolist(),
                            case["gt_segment"].tolist()):
        database[names[v]]["annotations"].append({"segment": [s, e], "label": f"class_{c:03d}"})
    results: dict[str, list] = {name: [] for name in names}
    for v, c, (s, e), x in zip(case["pred_video"].tolist(), case["pred_label"].tolist(),
                               case["pred_segment"].tolist(), case["pred_score"].tolist()):
        results[names[v]].append({"segment": [s, e], "label": f"class_{c:03d}", "score": x})
    gt_path, pred_path = folder / "gt.json", folder / "pred.json"
    gt_path.write_text(json.dumps({"database": database}))
    pred_path.write_text(json.dumps({"results": results}))
    return gt_path, pred_path


# ----------------------------------------------------------------------------------------------
# Baseline: the paper's evaluator algorithm, pandas row by row


def baseline_tiou(target: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    inter = (np.minimum(target[1], candidates[:, 1]) - np.maximum(target[0], candidates[:, 0])).clip(0)
    union = (candidates[:, 1] - candidates[:, 0]) + (target[1] - target[0]) - inter
    return inter / union


def baseline_class_ap(gt: pd.DataFrame, pred: pd.DataFrame, thresholds: np.ndarray) -> np.ndarray:
    m = len(thresholds)
    if pred.empty:
        return np.zeros(m)
    taken = -np.ones((m, len(gt)))
    pred = pred.loc[pred["score"].values.argsort()[::-1]].reset_index(drop=True)
    tp, fp = np.zeros((m, len(pred))), np.zeros((m, len(pred)))
    by_video = gt.groupby("video-id")
    for i, row in pred.iterrows():
        try:
            video_gt = by_video.get_group(row["video-id"]).reset_index()
        except KeyError:
            fp[:, i] = 1
            continue
        tiou = baseline_tiou(row[["t-start", "t-end"]].values.astype(float),
                             video_gt[["t-start", "t-end"]].values.astype(float))
        visit = tiou.argsort()[::-1]
        for t, thr in enumerate(thresholds):
            for j in visit:
                if tiou[j] < thr:
                    fp[t, i] = 1
                    break
                g = int(video_gt.loc[j]["index"])
                if taken[t, g] >= 0:
                    continue
                tp[t, i] = 1
                taken[t, g] = i
                break
            if tp[t, i] == 0 and fp[t, i] == 0:
                fp[t, i] = 1
    tp_cum, fp_cum = np.cumsum(tp, axis=1), np.cumsum(fp, axis=1)
    recall, precision = tp_cum / len(gt), tp_cum / (tp_cum + fp_cum)
    ap = np.zeros(m)
    for t in range(m):
        mprec = np.hstack([[0], precision[t], [0]])
        mrec = np.hstack([[0], recall[t], [1]])
        for k in range(len(mprec) - 2, -1, -1):
            mprec[k] = max(mprec[k], mprec[k + 1])
        changed = np.where(mrec[1:] != mrec[:-1])[0] + 1
        ap[t] = np.sum((mrec[changed] - mrec[changed - 1]) * mprec[changed])
    return ap


def baseline_load(gt_path: Path, pred_path: Path) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """ActivityNet's reading: json.load, one Python row per item, then DataFrames."""
    with open(gt_path) as f:
        database = json.load(f)["database"]
    rows = []
    for video, entry in database.items():
        for ann in entry["annotations"]:
            rows.append((video, ann["segment"][0], ann["segment"][1], ann["label"]))
    gt = pd.DataFrame(rows, columns=["video-id", "t-start", "t-end", "label"])
    with open(pred_path) as f:
        results = json.load(f)["results"]
    rows = []
    for video, dets in results.items():
        for det in dets:
            rows.append((video, det["segment"][0], det["segment"][1], det["label"], det["score"]))
    pred = pd.DataFrame(rows, columns=["video-id", "t-start", "t-end", "label", "score"])
    return gt, pred, sorted(gt["label"].unique())


def baseline_evaluate(gt: pd.DataFrame, pred: pd.DataFrame, classes: list[str]) -> np.ndarray:
    gt_by_label, pred_by_label = gt.groupby("label"), pred.groupby("label")
    ap = np.zeros((len(classes), len(THRESHOLDS)))
    for c, name in enumerate(classes):
        class_gt = gt_by_label.get_group(name).reset_index(drop=True)
        try:
            class_pred = pred_by_label.get_group(name).reset_index(drop=True)
        except KeyError:
            continue
        ap[c] = baseline_class_ap(class_gt, class_pred, THRESHOLDS)
    return ap


# ----------------------------------------------------------------------------------------------


def best_of(repeat: int, fn):
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="~200 videos instead of 1,193")
    parser.add_argument("--repeat", type=int, default=1, help="best of N for every timing (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    num_videos, num_classes = (200 if args.quick else 1193), 99
    case = make_case(num_videos, num_classes, args.seed)
    print(f"case: {num_videos} videos, {num_classes} classes, {len(case['gt_video'])} ground truths, "
          f"{len(case['pred_video'])} detections, tIoU {THRESHOLDS.tolist()}")

    with tempfile.TemporaryDirectory() as tmp:
        gt_path, pred_path = write_json(case, num_videos, Path(tmp))
        report_path = Path(tmp) / "report.json"

        t_load, (gt_df, pred_df, classes) = best_of(args.repeat, lambda: baseline_load(gt_path, pred_path))
        t_base, base_ap = best_of(args.repeat, lambda: baseline_evaluate(gt_df, pred_df, classes))
        t_haan, metrics = best_of(args.repeat, lambda: evaluate_detections(
            **{k: case[k] for k in ("gt_video", "gt_label", "gt_segment", "pred_video", "pred_label",
                                    "pred_segment", "pred_score")},
            num_classes=num_classes, tiou_thresholds=THRESHOLDS))
        command = [sys.executable, "-m", "haan", "eval-detections", "--ground-truth", str(gt_path),
                   "--predictions", str(pred_path), "--output", str(report_path),
                   "--tiou-thresholds", ",".join(map(str, THRESHOLDS.tolist()))]
        # The process finds haan as installed, else in this checkout's src/.
        path = os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(SRC)]))
        env = {**os.environ, "PYTHONPATH": path}
        t_proc, _ = best_of(args.repeat,
                            lambda: subprocess.run(command, check=True, capture_output=True, env=env))
        report = json.loads(report_path.read_text())

    # Every class of the case has ground truth (~80 each), so rows line up with class ids.
    assert classes == [f"class_{c:03d}" for c in range(num_classes)], "a class without ground truth"
    diff_fn = float(np.abs(base_ap - metrics.per_class_ap).max())
    diff_cli = float(np.abs(base_ap - np.array([report["per_class_ap"][c] for c in classes])).max())
    print(f"max |AP baseline - AP haan|: function {diff_fn:.1e}, process {diff_cli:.1e}")
    if max(diff_fn, diff_cli) >= 1e-9:
        sys.exit("MISMATCH: haan and the baseline disagree")

    print(f"(a) metric on arrays:   baseline / haan.metrics = {t_base / t_haan:7.1f}x")
    print(f"(b) whole evaluation:   baseline (JSON + metric, in-process) / `python -m haan "
          f"eval-detections` process = {(t_load + t_base) / t_proc:7.1f}x")
    print(f"    this machine, best of {args.repeat}: baseline JSON {t_load:.2f}s + metric {t_base:.2f}s; "
          f"haan.evaluation.metrics {t_haan:.3f}s; haan process {t_proc:.3f}s")


if __name__ == "__main__":
    main()
