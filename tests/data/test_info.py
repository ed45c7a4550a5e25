"""haan.data.info: every figure of `dataset_info`, counted again from the raw files with plain
loops, and the table of `format_info`."""

from __future__ import annotations

import numpy as np

from haan.data import dataset_info, format_info

from helpers import load, tiny_files


def percentiles(values: list[float]) -> dict:
    x = np.array(values, dtype=np.float64)
    out = {"min": float(x.min()), "max": float(x.max()), "mean": float(x.mean())}
    for p in (5, 25, 50, 75, 95):
        out[f"p{p}"] = float(np.percentile(x, p))
    return out


def test_figures_against_plain_counts(tiny_dataset):
    raw = tiny_files(tiny_dataset)
    info = dataset_info(load(tiny_dataset, "haan.validation_fraction=0.25"))
    train, test = range(18), range(18, 24)
    fine_train, fine_test = [0] * 4, [0] * 4
    coarse_train, coarse_test = [0] * 2, [0] * 2
    for i in train:
        for c, f in raw["labels"][i]:
            fine_train[f] += 1
            coarse_train[c] += 1
    for i in test:
        for c, f in raw["labels"][i]:
            fine_test[f] += 1
            coarse_test[c] += 1
    lengths = [len(x) for x in raw["features"]]
    durations = [e - s for segs in raw["segments"] for s, e in segs]
    per_class = [0, 0]
    for f in range(4):
        per_class[raw["mapping"][str(f)]] += 1
    d = load(tiny_dataset, "haan.validation_fraction=0.25")
    val_instances = sum(len(raw["labels"][i]) for i in d.val_indices)
    assert info == {
        "num_videos": 24, "num_training_videos": 18, "num_test_videos": 6,
        "num_instances_train": sum(fine_train), "num_instances_test": sum(fine_test),
        "num_fine_classes": 4, "num_coarse_classes": 2,
        "num_clips": sum(lengths), "feature_size": 32,
        "num_validation_videos": round(0.25 * 18), "num_instances_validation": val_instances,
        "num_clips_train": sum(lengths[:18]), "num_clips_test": sum(lengths[18:]),
        "dataset": "Synthetic", "features_path": str(tiny_dataset.parent / "features.npy"),
        "features_layout": "object", "dtype": "float32", "feature_bytes": sum(lengths) * 32 * 4,
        "clips_per_video": percentiles(lengths),
        "instances_per_video": percentiles([len(x) for x in raw["labels"]]),
        "instance_duration_s": percentiles(durations),
        "sec2clip_ratio": percentiles(list(raw["ratios"])),
        "instances_per_fine_class_train": fine_train, "instances_per_fine_class_test": fine_test,
        "instances_per_coarse_class_train": coarse_train,
        "instances_per_coarse_class_test": coarse_test,
        "fine_classes_without_training_instances": fine_train.count(0),
        "fine_classes_without_test_instances": fine_test.count(0),
        "fine_classes_per_coarse_class": per_class,
        "max_clips_per_video": max(lengths), "features_checked_finite": True,
        "num_videos_labels_only": 0, "feature_contract": None,
    }


def test_table(tiny_dataset):
    info = dataset_info(load(tiny_dataset))
    lines = format_info(info).splitlines()
    assert [line.split("  ")[0] for line in lines] == [
        "dataset", "videos", "instances", "classes", "instances per fine class (train)", "clips",
        "clips per video", "instances per video", "instance duration (s)", "features",
        "feature contract"]
    width = len("instances per fine class (train)") + 2
    assert lines[1] == "videos".ljust(width) + "24 (18 training, of which 0 validation; 6 test)"
    fine = np.array(info["instances_per_fine_class_train"])
    assert lines[4][width:] == (f"min {fine.min()}, median {np.median(fine):.0f}, "
                                f"max {fine.max()}; 0 classes without any")
    assert lines[10][width:].startswith("unknown (the features were not made by haan extract")
    c = info["clips_per_video"]
    assert lines[6][width:] == (f"min {c['min']:.0f}, p5 {c['p5']:.0f}, p50 {c['p50']:.0f}, "
                                f"p95 {c['p95']:.0f}, max {c['max']:.0f} (mean {c['mean']:.2f})")
