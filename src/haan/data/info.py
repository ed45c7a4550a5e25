"""The figures of a dataset (`haan data info`): counts per split and class, percentiles of clip
counts, instance counts and durations, the feature layout; as a JSON-ready dict and as a table."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from haan.data.dataset import Dataset
from haan.data.dataset_contract import dataset_contract_json, describe_contract


def _percentiles(x: np.ndarray, ps: Sequence[int] = (0, 5, 25, 50, 75, 95, 100)) -> dict:
    if len(x) == 0:
        return {}
    values = np.percentile(x, ps)
    return {("min" if p == 0 else "max" if p == 100 else f"p{p}"): float(v)
            for p, v in zip(ps, values)} | {"mean": float(np.mean(x))}


def dataset_info(d: Dataset) -> dict[str, Any]:
    """The dataset's figures as a JSON-ready dict. `num_training_videos` is the paper's split
    (validation videos included); `num_validation_videos` says how many of them are held out."""
    n_train = d.config.stats.num_training_videos
    train_all = np.arange(n_train)
    tr, te = d.instances(train_all), d.instances(d.test_indices)
    val = d.instances(d.val_indices)
    allinst = d.instances(np.arange(d.num_videos))
    durations = allinst.segments[:, 1] - allinst.segments[:, 0]
    durations = durations[np.isfinite(durations)]  # labels-only videos have no segments
    per_video = np.array([len(x) for x in d.labels])
    C, G = d.num_fine_classes, d.num_coarse_classes
    fine_train = np.bincount(tr.fine, minlength=C)
    fine_test = np.bincount(te.fine, minlength=C)
    return {
        "num_videos": d.num_videos,
        "num_training_videos": n_train,
        "num_test_videos": len(d.test_indices),
        "num_instances_train": len(tr.fine),
        "num_instances_test": len(te.fine),
        "num_fine_classes": C,
        "num_coarse_classes": G,
        "num_clips": d.features.num_clips,
        "feature_size": d.feature_size,
        "num_validation_videos": len(d.val_indices),
        "num_instances_validation": len(val.fine),
        "num_clips_train": int(d.lengths[train_all].sum()),
        "num_clips_test": int(d.lengths[d.test_indices].sum()),
        "dataset": d.config.dataset.name,
        "features_path": str(d.features.path),
        "features_layout": d.features.layout,
        "dtype": str(d.features.dtype),
        "feature_bytes": d.features.nbytes,
        "clips_per_video": _percentiles(d.lengths),
        "instances_per_video": _percentiles(per_video),
        "instance_duration_s": _percentiles(durations),
        "sec2clip_ratio": _percentiles(d.sec2clip_ratios),
        "instances_per_fine_class_train": fine_train.tolist(),
        "instances_per_fine_class_test": fine_test.tolist(),
        "instances_per_coarse_class_train": np.bincount(tr.coarse, minlength=G).tolist(),
        "instances_per_coarse_class_test": np.bincount(te.coarse, minlength=G).tolist(),
        "fine_classes_without_training_instances": int((fine_train == 0).sum()),
        "fine_classes_without_test_instances": int((fine_test == 0).sum()),
        "fine_classes_per_coarse_class": np.bincount(d.fine_to_coarse, minlength=G).tolist(),
        "max_clips_per_video": int(d.lengths.max(initial=0)),
        "features_checked_finite": d.features_checked,
        "num_videos_labels_only": int((~d.has_segments).sum()),
        "feature_contract": dataset_contract_json(d.config),  # None: unknown
    }


def format_info(info: dict[str, Any]) -> str:
    """A human-readable table of `dataset_info`'s figures."""
    def pct(p: dict, fmt: str = "{:.0f}") -> str:
        if not p:
            return "-"
        keys = ("min", "p5", "p50", "p95", "max")
        return ", ".join(f"{k} {fmt.format(p[k])}" for k in keys) + f" (mean {p['mean']:.2f})"

    fine_tr = np.array(info["instances_per_fine_class_train"] or [0])
    rows = [
        ("dataset", info["dataset"]),
        ("videos", f"{info['num_videos']} ({info['num_training_videos']} training, of which "
                   f"{info['num_validation_videos']} validation; {info['num_test_videos']} test)"),
        ("instances", f"{info['num_instances_train']} training, {info['num_instances_test']} test"),
        ("classes", f"{info['num_fine_classes']} fine, {info['num_coarse_classes']} coarse"),
        ("instances per fine class (train)",
         f"min {fine_tr.min()}, median {np.median(fine_tr):.0f}, "
         f"max {fine_tr.max(initial=0)}; {info['fine_classes_without_training_instances']} "
         "classes without any"),
        ("clips", f"{info['num_clips']} ({info['num_clips_train']} training, "
                  f"{info['num_clips_test']} test)"),
        ("clips per video", pct(info["clips_per_video"])),
        ("instances per video", pct(info["instances_per_video"])),
        ("instance duration (s)", pct(info["instance_duration_s"], "{:.2f}")),
        ("features", f"{info['features_path']} ({info['features_layout']}, {info['dtype']}, "
                     f"D = {info['feature_size']}, {info['feature_bytes'] / 2**20:.1f} MiB)"),
        ("feature contract", describe_contract(info["feature_contract"])),
    ]
    if info["num_videos_labels_only"]:
        rows.insert(2, ("labels only", f"{info['num_videos_labels_only']} videos have "
                                       "video-level labels and no segments (never scored)"))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


__all__ = ["dataset_info", "format_info"]
