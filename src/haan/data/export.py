"""A haan dataset's ground truth as an ActivityNet JSON file (`haan data export-gt`), so that
`haan eval-detections` and other tools can score any detector on it.

    {"version": ..., "taxonomy": [Root, coarse classes, fine classes],
     "database": {video: {"subset": "train" | "test", "duration": seconds,
                          "annotations": [{"segment": [start, end], "label": fine name}, ...]}}}

Labels are the fine class names (`[haan] class_names_path`; the ids as strings without). The
taxonomy puts each fine class under its coarse class, so the file imports back with
`haan data import activitynet --hierarchy taxonomy --train-subset train --test-subset test`.
Durations are clips / clips per second. Videos with video-level labels only (no segments) are
left out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from haan import fileio
from haan.config import Config
from haan.data.dataset import Dataset, load_dataset
from haan.errors import InputError

SUBSETS = ("test", "train", "all")


def ground_truth_json(d: Dataset, subset: str = "test") -> dict:
    """The ActivityNet ground truth of the dataset's `subset`: "train" (the first
    num_training_videos videos, the paper's split, validation videos included), "test" or "all"."""
    if subset not in SUBSETS:
        raise InputError(f"--subset {subset}: expected one of {', '.join(SUBSETS)}")
    num_train = d.config.stats.num_training_videos
    indices = {"train": np.arange(num_train), "test": d.test_indices,
               "all": np.arange(d.num_videos)}[subset]
    indices = d.with_segments(indices)  # a video with labels only has no ground truth to give
    G = d.num_coarse_classes
    taxonomy = [{"nodeId": 0, "nodeName": "Root", "parentId": None, "parentName": None}]
    taxonomy += [{"nodeId": 1 + g, "nodeName": name, "parentId": 0, "parentName": "Root"}
                 for g, name in enumerate(d.coarse_names)]
    taxonomy += [{"nodeId": 1 + G + c, "nodeName": name, "parentId": 1 + int(d.fine_to_coarse[c]),
                  "parentName": d.coarse_names[d.fine_to_coarse[c]]}
                 for c, name in enumerate(d.fine_names)]
    durations = d.lengths / d.sec2clip_ratios  # (N,) seconds
    database = {}
    for i in indices.tolist():  # output formatting, once per video and instance
        database[str(d.video_names[i])] = {
            "subset": "train" if i < num_train else "test",
            "duration": float(durations[i]),
            "annotations": [{"segment": [float(s), float(e)], "label": d.fine_names[f]}
                            for (s, e), f in zip(d.segments[i].tolist(),
                                                 d.labels[i][:, 1].tolist())],
        }
    return {"version": f"haan data export-gt ({d.config.dataset.name})", "taxonomy": taxonomy,
            "database": database}


def export_ground_truth(config: Config, out: str | Path, subset: str = "test",
                        overwrite: bool = False, progress: bool = False) -> tuple[int, int]:
    """Write `ground_truth_json` of the config's dataset to `out` (replaced only with
    `overwrite`); returns (videos, instances) written."""
    if subset not in SUBSETS:
        raise InputError(f"--subset {subset}: expected one of {', '.join(SUBSETS)}")
    if not overwrite:
        fileio.refuse_to_replace([out])
    gt = ground_truth_json(load_dataset(config, scan_features=False, progress=progress), subset)
    fileio.write_json(out, gt)
    return len(gt["database"]), sum(len(v["annotations"]) for v in gt["database"].values())


__all__ = ["SUBSETS", "export_ground_truth", "ground_truth_json"]
