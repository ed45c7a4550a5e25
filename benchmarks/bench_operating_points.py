"""Operating points and proposal recall at THUMOS14 size (210 videos, 20 classes, ~3,400 ground
truths, ~9,000 detections), in one run against two baselines measured on the same input:

  * haan's own detection mAP (`evaluate_detections`, 10 tIoU thresholds): what one evaluation
    costs, for scale;
  * AR@AN the official way: ActivityNet's `eval_proposal.average_recall_vs_avg_nr_proposals`
    algorithm written here plainly (a loop per video, a loop per tIoU and per point), with a check
    that haan's recall matrix is equal to it.

haan: `choose_thresholds_file` + `operating_points_section` (with the thresholds) +
`recall_section`, the sections a diagnosis holds, from the files' GroundTruth / Predictions.

    python benchmarks/bench_operating_points.py               # best of 3
    python benchmarks/bench_operating_points.py --figures DIR # also draw the two figures
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

from haan.evaluation.activitynet import (  # noqa: E402
    DEFAULT_TIOU_THRESHOLDS,
    read_ground_truth,
    read_predictions,
)
from haan.evaluation.metrics import evaluate_detections  # noqa: E402
from haan.evaluation.operating_points import PROPOSAL_TIOU_THRESHOLDS  # noqa: E402
from haan.evaluation.operating_report import (  # noqa: E402
    choose_thresholds_file,
    operating_points_section,
    recall_section,
)


def make_files(folder: Path, seed: int = 0) -> tuple[Path, Path]:
    """210 videos, ~16 ground truths each over 20 classes; ~2.6 jittered detections per ground
    truth (score falling with the jitter, 15% with a wrong class) plus background ones."""
    rng = np.random.default_rng(seed)
    classes = [f"class{c:02d}" for c in range(20)]
    database, results = {}, {}
    for v in range(210):
        name, duration = f"video_test_{v:07d}", float(rng.uniform(60, 400))
        count = int(rng.integers(4, 30))
        start = rng.uniform(0, duration - 20, count)
        end = start + rng.uniform(1, 20, count)
        label = rng.choice(20, count)
        database[name] = {"subset": "test", "annotations": [
            {"segment": [float(s), float(e)], "label": classes[c]}
            for s, e, c in zip(start, end, label)]}
        dets = []
        for s, e, c in zip(start, end, label):
            for _ in range(int(rng.integers(1, 5))):
                jitter = float(abs(rng.normal(0, 0.25)))
                length = e - s
                ds = s + rng.normal(0, jitter * length)
                de = e + rng.normal(0, jitter * length)
                c2 = c if rng.random() > 0.15 else int(rng.integers(20))
                dets.append({"segment": [float(ds), float(max(de, ds + 0.1))],
                             "label": classes[c2],
                             "score": float(np.clip(rng.normal(0.8 - jitter, 0.15), 0, 1))})
        for _ in range(int(rng.integers(0, 8))):
            s = float(rng.uniform(0, duration - 10))
            dets.append({"segment": [s, s + float(rng.uniform(1, 10))],
                         "label": classes[int(rng.integers(20))],
                         "score": float(rng.uniform(0, 0.6))})
        results[name] = dets
    gt, pred = folder / "gt.json", folder / "pred.json"
    gt.write_text(json.dumps({"database": database}))
    pred.write_text(json.dumps({"results": results}))
    return gt, pred


def plain_tiou(target, candidates):
    inter = (np.minimum(target[1], candidates[:, 1]) - np.maximum(target[0], candidates[:, 0])).clip(0)
    union = (candidates[:, 1] - candidates[:, 0]) + (target[1] - target[0]) - inter
    return inter / union


def official_recall(gt_video, gt_segment, prop_video, prop_segment, prop_score, max_avg=100.0):
    """eval_proposal's algorithm, loops as it has them: recall (T, 100)."""
    thresholds = PROPOSAL_TIOU_THRESHOLDS
    videos = list(dict.fromkeys(gt_video.tolist()))
    ratio = max_avg * float(len(videos)) / len(prop_video)
    scores, total = [], 0
    for v in videos:
        truth = gt_segment[gt_video == v]
        mine = np.flatnonzero(prop_video == v)
        if len(mine) == 0:
            scores.append(np.zeros((len(truth), 1)))
            continue
        props = prop_segment[mine][np.argsort(prop_score[mine])[::-1]]
        kept = min(int(len(props) * ratio), len(props))
        total += kept
        tiou = np.empty((len(truth), kept))
        for i in range(kept):
            tiou[:, i] = plain_tiou(props[i], truth)
        scores.append(tiou)
    pcn = np.arange(1, 101) / 100.0 * (max_avg * float(len(videos)) / total)
    recall = np.empty((len(thresholds), 100))
    for r, t in enumerate(thresholds):
        matches, positives = np.zeros((len(videos), 100)), np.zeros(len(videos))
        for i, s in enumerate(scores):
            positives[i] = s.shape[0]
            hit = s >= t
            for j, k in enumerate(np.minimum((s.shape[1] * pcn).astype(int), s.shape[1])):
                matches[i, j] = np.count_nonzero(hit[:, :k].sum(axis=1))
        recall[r] = matches.sum(axis=0) / positives.sum()
    return recall


def best_of(repeat: int, fn):
    times, value = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t)
    return min(times), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="best of N for every timing")
    parser.add_argument("--figures", metavar="DIR", help="draw the two figures into DIR")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        gt_path, pred_path = make_files(Path(tmp))
        gt, pred = read_ground_truth(gt_path), read_predictions(pred_path)
    names = gt.labels
    print(f"{len(gt.videos)} videos, {len(names)} classes, {len(gt.label)} ground truths, "
          f"{len(pred.score)} detections")

    def ours():
        chosen = choose_thresholds_file(gt, pred, names, 0.5)
        return (operating_points_section(gt, pred, names, 0.5, chosen), recall_section(gt, pred))

    t_ours, (section, recall) = best_of(args.repeat, ours)
    video_lut = np.array([gt.videos.index(v) for v in pred.videos])
    label_lut = np.array([names.index(n) for n in pred.labels])
    t_map, _ = best_of(args.repeat, lambda: evaluate_detections(
        gt.video, gt.label, gt.segment, video_lut[pred.video], label_lut[pred.label],
        pred.segment, pred.score, len(names), DEFAULT_TIOU_THRESHOLDS))
    t_official, reference = best_of(1, lambda: official_recall(
        gt.video, gt.segment, video_lut[pred.video], pred.segment, pred.score))
    same = np.array_equal(reference, np.array(recall["recall"]))
    t_recall, _ = best_of(args.repeat, lambda: recall_section(gt, pred))

    print(f"haan: thresholds + operating points + recall sections {t_ours * 1000:.0f} ms "
          f"(recall section alone {t_recall * 1000:.0f} ms)")
    print(f"haan's mAP at 10 tIoU thresholds on the same input: {t_map * 1000:.0f} ms "
          f"(sections / mAP = {t_ours / t_map:.2f})")
    print(f"AR@AN the official way: {t_official * 1000:.0f} ms; haan's recall section is "
          f"{t_official / t_recall:.0f}x faster (it also computes recall vs tIoU); "
          f"recall matrices equal: {same}")
    best = section["overall"]["best"]
    print(f"overall best F1 {best['f1']:.3f} at {best['threshold']:.3f}; thresholds applied: "
          f"micro F1 {section['thresholds']['overall']['f1']:.3f}; AR@100 "
          f"{recall['ar_at']['100']:.3f}, AUC {recall['area_under_curve']:.2f}")
    if args.figures:
        from haan.viz.figures import save_figure
        from haan.viz.operating_points import plot_operating_points, plot_recall

        folder = Path(args.figures)
        folder.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        save_figure(plot_operating_points(section), folder / "operating_points.png")
        save_figure(plot_recall(recall), folder / "recall.png")
        print(f"two figures in {folder}: {time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    main()
