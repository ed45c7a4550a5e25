"""Video-level labels become a haan dataset (`haan data import labels`): weakly-supervised
training needs only which classes each training video shows, never where. The import writes the
same files as `haan data import activitynet` (haan.data.importers, whose steps it reuses), with
the training videos' segments left empty: `[]` in segments.npy, a video with labels only.

The labels file: a CSV with the header `video,label` and one row per (video, class) (a video
with several classes has several rows), or a JSON object `{"video": ["class", ...]}`. A row naming
a video without a feature file, an empty label or a (video, class) pair already given is a bad
row; every bad row is reported, one line each with its row number (the CSV's line number, the
header being line 1; `["video"][k]` in a JSON file), and nothing is written.

`--annotations GT.json` (ActivityNet format, with segments) names the videos to evaluate on: each
is a test video, whatever its subset says; a video both there and in the labels file is a test
video (its labels-file rows are not used, a warning counts them). Training videos are the labels
file's, in the order they first appear; then the test videos, in the file's order.

Classes: the labels of both files, sorted; coarse classes from `--hierarchy MAPPING.json`
(`{"fine label": "coarse label"}`), else one coarse class for all (`single`).

Model selection: no training video has segments, so no held-out training video can score an
epoch; the config says `[haan] select_epoch = "last"`: the run keeps its last epoch and scores the
test set once, after training (haan.engine.loop.selection_rule).
"""

from __future__ import annotations

import csv
import io
import os
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from haan import fileio
from haan.config import load_config
from haan.data.clip_rates import CLIP_GRID_FILE
from haan.data.dataset import load_dataset
from haan.data.feature_files import find_feature_file, find_feature_files
from haan.data.ground_truth import (
    GroundTruthVideo,
    class_table,
    describe_hierarchy,
    read_activitynet,
)
from haan.data.importers import (
    OUTPUTS,
    TEMPLATES,
    ImportSummary,
    check_grid_options,
    config_text,
    dataset_config,
    import_clip_rates,
    recorded_grid,
    write_dataset,
)
from haan.errors import DataWarning, InputError

SOURCE = "haan data import labels"


def _csv_rows(path: Path) -> list[tuple[str, str, str]]:
    """(where, video, label) of each data row of a `video,label` CSV file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        cause = fileio.describe_os_error(exc) if isinstance(exc, OSError) else "not UTF-8 text"
        raise InputError(f"{path}: cannot read ({cause})") from None
    reader = csv.reader(io.StringIO(text))
    header = [x.strip() for x in next(reader, [])]
    if header != ["video", "label"]:
        raise InputError(f"{path}: the first line must be the header 'video,label', got "
                         f"{','.join(header)!r:.60}")
    rows = []
    for fields in reader:  # parsing, once per row
        if not any(x.strip() for x in fields):
            continue
        where = f"row {reader.line_num}"
        if len(fields) != 2:
            rows.append((where, "", f"\0{len(fields)} fields, expected 2 (video,label)"))
            continue
        rows.append((where, fields[0].strip(), fields[1].strip()))
    return rows


def _json_rows(path: Path) -> list[tuple[str, str, str]]:
    """(where, video, label) of each class of each video of a `{"video": [classes]}` file."""
    data = fileio.read_json(path)
    if not isinstance(data, dict):
        raise InputError(f'{path}: expected an object {{"video": ["class", ...], ...}}')
    rows = []
    for video, labels in data.items():  # parsing, once per video and class
        if not isinstance(labels, list):
            rows.append((f"[{video!r}]", video, "\0expected a list of class names"))
            continue
        for k, label in enumerate(labels):
            where = f"[{video!r}][{k}]"
            rows.append((where, video, label.strip() if isinstance(label, str)
                         else f"\0expected a class name, got {label!r:.40}"))
    return rows


def read_labels(path: str | Path, features: Path) -> dict[str, list[str]]:
    """video -> its classes (in the file's order), the videos in the order they first appear.
    Every bad row is collected, then one InputError with a line per bad row."""
    path = Path(path)
    rows = _json_rows(path) if path.suffix.lower() == ".json" else _csv_rows(path)
    files = set(os.listdir(features))
    videos: dict[str, list[str]] = {}
    bad = []
    for where, video, label in rows:  # per row: a set lookup or two
        if label.startswith("\0"):
            bad.append(f"{path}: {where}: {label[1:]}")
        elif not video:
            bad.append(f"{path}: {where}: empty video name")
        elif not label:
            bad.append(f"{path}: {where}: video '{video}': empty label")
        elif find_feature_file(features, files, video) is None:
            bad.append(f"{path}: {where}: unknown video '{video}': no {video}.npy or .csv in "
                       f"{features}")
        elif label in videos.get(video, ()):
            bad.append(f"{path}: {where}: video '{video}', label {label!r}: a duplicate")
        else:
            videos.setdefault(video, []).append(label)
    if bad:
        raise InputError("\n".join(bad + [f"{path}: {len(bad)} bad rows; nothing imported"]))
    if not videos:
        raise InputError(f"{path}: no (video, label) rows")
    return videos


def _videos(labels: dict[str, list[str]], annotations: Path | None,
            labels_path: Path) -> tuple[list[GroundTruthVideo], int]:
    """The training videos (labels only: NaN segments), then the test videos (their ground
    truth); and how many train."""
    test = read_activitynet(annotations)[0] if annotations is not None else []
    tested = {v.name for v in test}
    both = [name for name in labels if name in tested]
    if both:
        warnings.warn(f"{labels_path}: {len(both)} videos also have segments in {annotations} "
                      f"and are test videos; their labels-file rows are not used (first: "
                      f"'{both[0]}')", DataWarning, stacklevel=3)
    train = [GroundTruthVideo(name, "labels", None, classes, np.full((len(classes), 2), np.nan))
             for name, classes in labels.items() if name not in tested]
    if not train:
        raise InputError(f"{labels_path}: no training video (every labelled video is a test "
                         f"video of {annotations})")
    return train + test, len(train)


def import_labels(labels: str | Path, features: str | Path, out: str | Path,
                  annotations: str | Path | None = None, hierarchy: str | None = None,
                  clips_per_second: float | None = None, clips_per_video: int | None = None,
                  feature_dim: int | None = None, template: str = "fine_gym",
                  overrides: Sequence[str] = (), overwrite: bool = False,
                  progress: bool = False) -> ImportSummary:
    """Write the haan dataset of a labels file, per-video features and, optionally, the ground
    truth of test videos into `out` (see the module's docstring). Nothing is written before every
    input has been checked; an earlier dataset in `out` is replaced only with `overwrite`."""
    labels, features, o = Path(labels), Path(features), Path(out)
    annotations = Path(annotations) if annotations is not None else None
    check_grid_options(clips_per_second, clips_per_video)
    if template not in TEMPLATES:
        raise InputError(f"--template {template}: expected one of {', '.join(TEMPLATES)}")
    if not overwrite:
        fileio.refuse_to_replace([o / name for name in OUTPUTS])
    if not features.is_dir():
        raise InputError(f"{features}: no such folder (--features: one feature file per video)")
    videos, num_train = _videos(read_labels(labels, features), annotations, labels)
    hierarchy_name = hierarchy if hierarchy is not None else "single"
    classes = class_table(videos, hierarchy_name, labels, None)
    names = [v.name for v in videos]
    found = find_feature_files(features, names, feature_dim, progress)
    rates, grid = import_clip_rates(videos, found, features, annotations or labels,
                                    clips_per_second, clips_per_video)
    extraction, contract, contract_note = recorded_grid(found, names, rates, features)
    config, sizing = dataset_config(o, num_train, classes, found, extraction, template, overrides,
                                    SOURCE, haan={"select_epoch": "last"})

    write_dataset(o, names, classes, [v.segments for v in videos], found, rates, features,
                  overwrite, progress)
    if extraction:
        fileio.write_json(o / CLIP_GRID_FILE, extraction)
    config_path = o / "config.toml"
    inputs = [labels, features] + ([annotations] if annotations is not None else [])
    fileio.write_text(config_path, config_text(config, SOURCE, inputs))  # the config last
    return ImportSummary(config_path, load_dataset(load_config(config_path)), str(labels),
                         str(annotations) if annotations is not None else "(none)", num_train,
                         len(videos) - num_train, {}, describe_hierarchy(hierarchy_name), grid,
                         extraction, sizing, contract, contract_note)


__all__ = ["import_labels", "read_labels"]
