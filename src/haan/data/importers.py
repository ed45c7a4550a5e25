"""Other datasets become haan datasets: an ActivityNet-style annotation JSON plus one feature file
per video are written as the paper's five files, a feature store, `class_names.json` and a
`config.toml`, so that every haan command works on them (`haan data import activitynet`).

The annotation JSON: `{"database": {video: {"subset": ..., "duration": seconds, "annotations":
[{"segment": [start, end], "label": name}, ...]}}, "taxonomy": [{"nodeId", "nodeName",
"parentId", "parentName"}, ...]}`. `duration` and `taxonomy` are optional, and segment bounds and
durations may be numbers or numeric strings (THUMOS14 as weakly-supervised repositories ship it).

Videos: those of the training subset in file order, then those of the test subset (the paper's
split: the first `num_training_videos` train); other subsets are left out and counted.

Classes: fine classes are the labels the kept videos use, coarse classes what the hierarchy maps
them to; both numbered in sorted name order. Hierarchies: `taxonomy` (each label's parent in the
file's taxonomy), `taxonomy:DEPTH` (its ancestor at that depth, the root being depth 0), a
`MAPPING.json` file `{"fine label": "coarse label"}`, or `flat` (each label its own coarse class).

Features: `<id>.npy` (a (T, D) array) or `<id>.csv` (one row per clip, an optional header line),
with or without a `v_` prefix. The clip grid, clips per second of each video, is
`--clips-per-second R`, or `--clips-per-video T` for features resampled to T clips (R = T /
duration), or else the `<id>.json` clip-grid file that `haan extract` writes beside a feature
file (`clips_per_second`, `duration`). When every video's clip-grid file names the same extraction
grid (fps, clip_frames, stride, streams) and that is the grid used, it is recorded in
`clip_grid.json` (`[haan] clip_grid_path`), so that `haan predict` extracts the features of new
video files the same way.
"""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from haan import fileio
from haan.config import (
    Config,
    HaanSection,
    apply_overrides,
    config_from_dict,
    dumps_toml,
    load_config,
)
from haan.data.annotations import (
    ANNOTATION_FILES,
    CLASS_NAMES_FILE,
    annotations_section,
    write_annotations,
)
from haan.data.dataset import Dataset, load_dataset
from haan.data.features import STORE_FILES, load_npy, npy_header
from haan.data.store import STORE_FOLDER, prepare_output, write_store
from haan.errors import DataWarning, InputError

TEMPLATES = ("fine_gym", "fine_action")
# The extraction grid shared by every video, for `haan predict` on video files ([haan]
# clip_grid_path): written only when every video's clip-grid file names the same one.
CLIP_GRID_FILE = "clip_grid.json"
# A video's clip count may differ from duration x clips per second by rounding and by how the
# extractor treats the last partial clip; more than this many clips is suspicious.
CLIP_SLACK = 2


# ----------------------------------------------------------------------------------------------
# The annotation file


@dataclass(frozen=True)
class GroundTruthVideo:
    name: str
    subset: str | None
    duration: float | None      # seconds; None where the file gives none
    labels: list[str]           # (n,) label of each instance
    segments: np.ndarray        # (n, 2) float64 seconds


def _number(value: Any) -> float | None:
    """A finite number from a JSON number or a numeric string; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None


def read_activitynet(path: str | Path) -> tuple[list[GroundTruthVideo], list | None]:
    """The videos of an ActivityNet-style file, in file order, and its taxonomy (None if absent)."""
    data = fileio.read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("database"), dict):
        raise InputError(f'{path}: expected a JSON object with a "database" object (video -> '
                         '{"subset", "annotations"})')
    videos = []
    for name, entry in data["database"].items():
        where = f"{path}: database[{name!r}]"
        if not isinstance(entry, dict):
            raise InputError(f"{where}: expected an object")
        subset = entry.get("subset")
        if subset is not None and not isinstance(subset, str):
            raise InputError(f'{where}: "subset" must be a string, got {subset!r:.40}')
        duration = None
        if entry.get("duration") is not None:
            duration = _number(entry["duration"])
            if duration is None or duration <= 0:
                raise InputError(f'{where}: "duration" must be a positive number, got '
                                 f'{entry["duration"]!r:.40}')
        items = entry.get("annotations", [])
        if not isinstance(items, list):
            raise InputError(f'{where}: "annotations" must be a list')
        labels, segments = [], []
        for k, item in enumerate(items):  # a loop over the file's instances: parsing, once
            seg = item.get("segment") if isinstance(item, dict) else None
            bounds = [_number(x) for x in seg] if isinstance(seg, list) else []
            if len(bounds) != 2 or None in bounds:
                raise InputError(f'{where}["annotations"][{k}]: "segment" must be [start, end] '
                                 f"numbers or numeric strings, got {seg!r:.60}")
            if not isinstance(item.get("label"), str):
                raise InputError(f'{where}["annotations"][{k}]: "label" must be a string, got '
                                 f'{item.get("label")!r:.40}')
            labels.append(item["label"])
            segments.append(bounds)
        videos.append(GroundTruthVideo(name, subset, duration, labels,
                                       np.array(segments, dtype=np.float64).reshape(-1, 2)))
    taxonomy = data.get("taxonomy")
    if taxonomy is not None and not isinstance(taxonomy, list):
        raise InputError(f'{path}: "taxonomy" must be a list of nodes')
    return videos, taxonomy


# ----------------------------------------------------------------------------------------------
# Hierarchy: the coarse class of each fine label


def _taxonomy_parents(path: Path, taxonomy: list) -> tuple[dict, dict, dict]:
    """(node id -> name, node id -> parent id or None, name -> node id). Where several nodes
    share a name, the name means the one without children (a label is a leaf)."""
    names, parents = {}, {}
    for k, node in enumerate(taxonomy):
        if not (isinstance(node, dict) and isinstance(node.get("nodeName"), str)
                and "nodeId" in node and not isinstance(node["nodeId"], (dict, list))):
            raise InputError(f'{path}: taxonomy[{k}]: expected {{"nodeId", "nodeName", '
                             f'"parentId"}}, got {node!r:.80}')
        if node["nodeId"] in names:
            raise InputError(f"{path}: taxonomy[{k}]: node id {node['nodeId']!r} occurs twice")
        names[node["nodeId"]] = node["nodeName"]
        parents[node["nodeId"]] = node.get("parentId")
    has_children = {p for p in parents.values() if p is not None}
    by_name: dict[str, Any] = {}
    for node_id, name in names.items():
        if name not in by_name or (by_name[name] in has_children and node_id not in has_children):
            by_name[name] = node_id
    return names, parents, by_name


def _ancestors(path: Path, node: Any, parents: dict) -> list:
    """[node, its parent, ..., the top]: the chain ends at a node without a known parent."""
    chain = [node]
    while parents.get(chain[-1]) in parents:
        chain.append(parents[chain[-1]])
        if len(chain) > len(parents):
            raise InputError(f"{path}: the taxonomy has a cycle through node {node!r}")
    return chain


def coarse_classes(hierarchy: str, labels: Sequence[str], annotations: Path,
                   taxonomy: list | None) -> dict[str, str]:
    """The coarse label of each of `labels` under `hierarchy` (see the module's docstring)."""
    if hierarchy == "flat":
        return {label: label for label in labels}
    if hierarchy == "taxonomy" or hierarchy.startswith("taxonomy:"):
        depth = None
        if hierarchy != "taxonomy":
            text = hierarchy.split(":", 1)[1]
            if not text.isdigit() or int(text) < 1:
                raise InputError(f"--hierarchy {hierarchy}: DEPTH must be an integer >= 1 (the "
                                 "root is depth 0)")
            depth = int(text)
        if taxonomy is None:
            raise InputError(f'{annotations}: no "taxonomy" in the file (needed by --hierarchy '
                             f"{hierarchy}); use --hierarchy flat or MAPPING.json")
        names, parents, by_name = _taxonomy_parents(annotations, taxonomy)
        unknown = [label for label in labels if label not in by_name]
        if unknown:
            raise InputError(f"{annotations}: {len(unknown)} labels are not in the file's taxonomy "
                             f"(first: {unknown[0]!r})")
        chains = {label: _ancestors(annotations, by_name[label], parents) for label in labels}
        if depth is None:
            orphans = [label for label in labels if len(chains[label]) < 2]
            if orphans:
                raise InputError(f"{annotations}: {len(orphans)} labels have no parent in the "
                                 f"taxonomy (first: {orphans[0]!r}); use taxonomy:DEPTH, flat or "
                                 "MAPPING.json")
            return {label: names[chains[label][1]] for label in labels}
        # chain[k] lies at depth len(chain) - 1 - k; labels at or above DEPTH are their own class.
        shallow = [label for label in labels if len(chains[label]) - 1 <= depth]  # label order
        if shallow:
            warnings.warn(f"{annotations}: {len(shallow)} labels lie at depth {depth} or above in "
                          f"the taxonomy and are their own coarse class (first: {shallow[0]!r}, "
                          f"depth {len(chains[shallow[0]]) - 1})", DataWarning, stacklevel=3)
        return {label: (label if len(chains[label]) - 1 <= depth
                        else names[chains[label][len(chains[label]) - 1 - depth]])
                for label in labels}
    mapping = fileio.read_json(hierarchy)
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise InputError(f'{hierarchy}: expected an object {{"fine label": "coarse label", ...}}')
    unknown = [label for label in labels if label not in mapping]
    if unknown:
        raise InputError(f"{hierarchy}: no coarse class for {len(unknown)} labels of "
                         f"{annotations} (first: {unknown[0]!r})")
    return {label: mapping[label] for label in labels}


# ----------------------------------------------------------------------------------------------
# Feature files


def _feature_file(folder: Path, files: set[str], name: str) -> Path | None:
    """`<id>.npy` or `<id>.csv`, with or without a `v_` prefix."""
    stems = [name, f"v_{name}"] + ([name[2:]] if name.startswith("v_") else [])
    for stem in stems:
        for ext in (".npy", ".csv"):
            if stem + ext in files:
                return folder / (stem + ext)
    return None


def _csv_lines(path: Path) -> list[str]:
    """The data lines of a CSV feature file: non-blank lines, less a header line if the first
    line is not all numbers."""
    try:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        cause = fileio.describe_os_error(exc) if isinstance(exc, OSError) else "not UTF-8 text"
        raise InputError(f"{path}: cannot read ({cause})") from None
    if lines and any(_number(x) is None for x in lines[0].split(",")):
        return lines[1:]
    return lines


def feature_shape(path: Path) -> tuple[int, int]:
    """(T, D) of a feature file, without reading a .npy's data."""
    if path.suffix == ".npy":
        shape, _fortran, dtype, _offset = npy_header(path)
        if len(shape) != 2 or dtype.kind not in "fiu":
            raise InputError(f"{path}: a {dtype} array of shape {shape}, expected (T, D) numbers")
        return int(shape[0]), int(shape[1])
    lines = _csv_lines(path)
    return len(lines), (lines[0].count(",") + 1 if lines else 0)


def read_features(path: Path) -> np.ndarray:
    """(T, D) features of one video."""
    if path.suffix == ".npy":
        return np.asarray(load_npy(path))
    try:
        return np.loadtxt(_csv_lines(path), delimiter=",", dtype=np.float32, ndmin=2)
    except ValueError as exc:
        raise InputError(f"{path}: not a CSV of numbers ({exc})") from None


def _grid_file(path: Path, feature_file: Path) -> dict:
    """The clip-grid file beside a feature file: its clips_per_second and duration (if any), and
    the extraction grid (fps, clip_frames, stride, streams) where it names one."""
    grid = fileio.read_json(path)
    if not isinstance(grid, dict):
        raise InputError(f"{path}: expected a clip-grid object (clips_per_second, duration, ...)")
    out: dict[str, Any] = {}
    for key in ("clips_per_second", "duration"):
        if grid.get(key) is not None:
            value = _number(grid[key])
            if value is None or value <= 0:
                raise InputError(f"{path}: {key!r} must be a positive number, got "
                                 f"{grid[key]!r:.40} (the clip grid of {feature_file.name})")
            out[key] = value
    fps = _number(grid.get("fps"))
    frames = [grid.get(key) for key in ("clip_frames", "stride")]
    if (fps is not None and fps > 0 and isinstance(grid.get("streams"), str)
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in frames)):
        out["extraction"] = (fps, frames[0], frames[1], grid["streams"])
    return out


def common_extraction_grid(grids: Sequence[dict], rates: np.ndarray,
                           feature_dim: int) -> dict[str, Any] | None:
    """The extraction grid that every video's clip-grid file names (the same fps, clip_frames,
    stride and streams) and whose fps / stride is the clips per second used for every video, as
    `clip_grid.json` records it; None otherwise (mixed or missing grid files, another rate)."""
    specs = {g.get("extraction") for g in grids}
    if len(specs) != 1 or None in specs:
        return None
    fps, clip_frames, stride, streams = specs.pop()
    if not np.allclose(rates, fps / stride, rtol=1e-9, atol=0):
        return None
    return {"fps": fps, "clip_frames": clip_frames, "stride": stride, "streams": streams,
            "clips_per_second": fps / stride, "feature_dim": feature_dim}


# ----------------------------------------------------------------------------------------------
# The import


@dataclass(frozen=True)
class ImportSummary:
    config_path: Path
    dataset: Dataset
    train_subset: str
    test_subset: str
    num_train: int
    num_test: int
    left_out: dict[str, int]    # subset -> videos left out
    hierarchy: str
    grid: str                   # the clip grid used, in words
    extraction_grid: dict[str, Any] | None  # what clip_grid.json records; None: not written


def _describe_rates(rates: np.ndarray) -> str:
    values, counts = np.unique(np.round(rates, 6), return_counts=True)
    order = np.argsort(-counts, kind="stable")[:3]
    shown = ", ".join(f"{values[k]:g} clips/s ({counts[k]} videos)" for k in order)
    return shown + (f", ... ({len(values)} rates)" if len(values) > 3 else "")


def _describe_hierarchy(hierarchy: str) -> str:
    if hierarchy == "flat":
        return "flat (each class its own coarse class)"
    if hierarchy == "taxonomy":
        return "taxonomy (each label's parent)"
    if hierarchy.startswith("taxonomy:"):
        return f"{hierarchy} (each label's ancestor at depth {hierarchy.split(':', 1)[1]})"
    return f"the mapping {hierarchy}"


def _config_text(config: Config, annotations: Path, features: Path) -> str:
    """The config in the paper's schema; [haan] lists only what differs from its defaults."""
    tables = config.to_dict()
    defaults = dataclasses.asdict(HaanSection())
    tables["haan"] = {k: v for k, v in tables["haan"].items() if v != defaults[k]}
    return (f"# Imported by `haan data import activitynet` from {annotations} and {features}.\n"
            "# Paths are relative to the working directory the import ran in.\n"
            + dumps_toml(tables))


def import_activitynet(annotations: str | Path, features: str | Path, out: str | Path,
                       train_subset: str = "training", test_subset: str = "validation",
                       hierarchy: str = "taxonomy", clips_per_second: float | None = None,
                       clips_per_video: int | None = None, feature_dim: int | None = None,
                       template: str = "fine_gym", overrides: Sequence[str] = (),
                       overwrite: bool = False, progress: bool = False) -> ImportSummary:
    """Write the haan dataset of an ActivityNet-style file and per-video features into `out`
    (see the module's docstring); returns what was imported. Nothing is written before every
    input has been checked, and files of an earlier dataset in `out` are replaced only with
    `overwrite`."""
    from tqdm import tqdm

    annotations, features, o = Path(annotations), Path(features), Path(out)
    if clips_per_second is not None and clips_per_video is not None:
        raise InputError("--clips-per-second and --clips-per-video: give one of them")
    if clips_per_second is not None and not (math.isfinite(clips_per_second)
                                             and clips_per_second > 0):
        raise InputError(f"--clips-per-second {clips_per_second}: expected a positive number")
    if clips_per_video is not None and clips_per_video < 1:
        raise InputError(f"--clips-per-video {clips_per_video}: expected an integer >= 1")
    if template not in TEMPLATES:
        raise InputError(f"--template {template}: expected one of {', '.join(TEMPLATES)}")
    if train_subset == test_subset:
        raise InputError(f"--train-subset and --test-subset are both {train_subset!r}")
    outputs = [*(f"{STORE_FOLDER}/{name}" for name in STORE_FILES), *ANNOTATION_FILES.values(),
               CLASS_NAMES_FILE, CLIP_GRID_FILE, "config.toml"]
    if not overwrite:
        fileio.refuse_to_replace([o / name for name in outputs])
    if not features.is_dir():
        raise InputError(f"{features}: no such folder (--features: one feature file per video)")

    all_videos, taxonomy = read_activitynet(annotations)
    train = [v for v in all_videos if v.subset == train_subset]
    test = [v for v in all_videos if v.subset == test_subset]
    left_out = dict(Counter("(none)" if v.subset is None else v.subset for v in all_videos
                            if v.subset not in (train_subset, test_subset)))
    if not train:
        subsets = ", ".join(sorted({str(v.subset) for v in all_videos})) or "none"
        raise InputError(f"{annotations}: no video of subset {train_subset!r} (subsets: "
                         f"{subsets}); choose --train-subset")
    videos = train + test

    fine_names = sorted({label for v in videos for label in v.labels})
    coarse_of = coarse_classes(hierarchy, fine_names, annotations, taxonomy)
    coarse_names = sorted(set(coarse_of.values()))
    fine_id = {name: i for i, name in enumerate(fine_names)}
    coarse_id = {name: g for g, name in enumerate(coarse_names)}
    fine_to_coarse = np.array([coarse_id[coarse_of[f]] for f in fine_names], dtype=np.int64)

    # The feature files and their shapes (headers only), and each video's clip grid.
    files = set(os.listdir(features))
    paths = [_feature_file(features, files, v.name) for v in videos]
    missing = [v.name for v, p in zip(videos, paths) if p is None]
    if missing:
        raise InputError(f"{features}: no features for {len(missing)} of {len(videos)} videos "
                         f"(first: '{missing[0]}': looked for {missing[0]}.npy, .csv, with and "
                         "without a v_ prefix)")
    shapes = np.array([feature_shape(p) for p in tqdm(paths, desc="feature shapes", unit="video",
                                                      leave=False, disable=not progress)],
                      dtype=np.int64).reshape(-1, 2)  # (N, 2) [T, D]
    lengths, dims = shapes[:, 0], shapes[:, 1]
    if (lengths == 0).any():
        i = int(np.flatnonzero(lengths == 0)[0])
        raise InputError(f"{paths[i]}: no clips (video '{videos[i].name}')")
    D = feature_dim if feature_dim is not None else int(dims[0])
    if (dims != D).any():
        i = int(np.flatnonzero(dims != D)[0])
        expected = f"--feature-dim {D}" if feature_dim is not None else f"{paths[0].name} has {D}"
        raise InputError(f"{paths[i]}: {dims[i]} values per clip, but {expected} "
                         f"({int((dims != D).sum())} such videos)")
    grids = [_grid_file(p.with_suffix(".json"), p) if p.with_suffix(".json").name in files
             else {} for p in paths]

    durations = np.array([v.duration if v.duration is not None else g.get("duration", np.nan)
                          for v, g in zip(videos, grids)])  # (N,) seconds, NaN: unknown
    grid_rates = np.array([g.get("clips_per_second", np.nan) for g in grids])  # (N,)
    if clips_per_video is not None:
        if (lengths != clips_per_video).any():
            i = int(np.flatnonzero(lengths != clips_per_video)[0])
            raise InputError(f"{paths[i]}: {lengths[i]} clips, but --clips-per-video "
                             f"{clips_per_video} ({int((lengths != clips_per_video).sum())} such "
                             "videos)")
        if np.isnan(durations).any():
            i = int(np.flatnonzero(np.isnan(durations))[0])
            raise InputError(f"{annotations}: video '{videos[i].name}' has no duration, which "
                             f"--clips-per-video needs ({int(np.isnan(durations).sum())} such "
                             "videos); give --clips-per-second")
        rates = clips_per_video / durations
        grid = (f"--clips-per-video {clips_per_video}: clips per second = {clips_per_video} / "
                f"duration, {rates.min():.4g} to {rates.max():.4g} (median "
                f"{np.median(rates):.4g})")
    elif clips_per_second is not None:
        rates = np.full(len(videos), float(clips_per_second))
        grid = f"--clips-per-second {clips_per_second:g} for all {len(videos)} videos"
    else:
        if np.isnan(grid_rates).any():
            i = int(np.flatnonzero(np.isnan(grid_rates))[0])
            raise InputError(f"{paths[i].with_suffix('.json')}: no clip grid for video "
                             f"'{videos[i].name}' ({int(np.isnan(grid_rates).sum())} such "
                             "videos); give --clips-per-second R or --clips-per-video T")
        rates = grid_rates
        grid = f"the clip-grid files: {_describe_rates(rates)}"
    if clips_per_second is not None or clips_per_video is not None:
        differs = ~np.isnan(grid_rates) & ~np.isclose(grid_rates, rates, rtol=1e-3)
        if differs.any():
            i = int(np.flatnonzero(differs)[0])
            option = ("--clips-per-second" if clips_per_second is not None
                      else "--clips-per-video")
            warnings.warn(f"{features}: {int(differs.sum())} videos have a clip-grid file that "
                          f"disagrees with {option} (first: '{videos[i].name}': "
                          f"{grid_rates[i]:g} clips/s in {paths[i].with_suffix('.json').name}, "
                          f"{rates[i]:.4g} from the option); the option is used", DataWarning,
                          stacklevel=2)
        off = np.abs(lengths - durations * rates) > CLIP_SLACK  # False where NaN
        if clips_per_second is not None and off.any():
            i = int(np.flatnonzero(off)[0])
            warnings.warn(f"{features}: {int(off.sum())} videos have a feature length that "
                          f"disagrees with duration x clips per second by more than {CLIP_SLACK} "
                          f"clips (first: '{videos[i].name}': {lengths[i]} clips, "
                          f"{durations[i]:g} s x {rates[i]:g} = {durations[i] * rates[i]:.1f})",
                          DataWarning, stacklevel=2)
    empty = [v.name for v in videos if not v.labels]
    if empty:
        warnings.warn(f"{annotations}: {len(empty)} kept videos have no annotations (first: "
                      f"'{empty[0]}'); they train as videos without any class", DataWarning,
                      stacklevel=2)

    extraction = common_extraction_grid(grids, rates, D)
    labels = [np.array([[fine_to_coarse[fine_id[x]], fine_id[x]] for x in v.labels],
                       dtype=np.int64).reshape(-1, 2) for v in videos]
    names = np.array([v.name for v in videos])
    template_tables = load_config(template).to_dict()
    tables = {
        "dataset": {"name": o.resolve().name or "imported"},
        "stats": {"num_training_videos": len(train), "num_coarse_classes": len(coarse_names),
                  "num_fine_classes": len(fine_names),
                  "max_clips_per_video": int(lengths.max())},
        "features": {"features_path": str(o / STORE_FOLDER)},
        "annotations": annotations_section(o),
        "hyperparameters": {**template_tables["hyperparameters"], "feature_size": D},
        "evaluation": template_tables["evaluation"],
        "haan": {"class_names_path": str(o / CLASS_NAMES_FILE),
                 "clip_grid_path": str(o / CLIP_GRID_FILE) if extraction else ""},
    }
    source = "haan data import activitynet"
    config = config_from_dict(apply_overrides(tables, overrides, source), source)

    # Writing: the store (streaming), the annotations, the class names, the config last.
    prepare_output(o, outputs, overwrite)

    def video_features() -> Iterator[np.ndarray]:
        for path in tqdm(paths, desc="import features", unit="video", leave=False,
                         disable=not progress):
            yield read_features(path)

    write_store(o / STORE_FOLDER, names, lengths, D, video_features(), source=str(features),
                overwrite=overwrite)
    write_annotations(o, names, labels, [v.segments for v in videos], rates, fine_to_coarse)
    fileio.write_json(o / CLASS_NAMES_FILE, {"fine": fine_names, "coarse": coarse_names})
    if extraction:
        fileio.write_json(o / CLIP_GRID_FILE, extraction)
    config_path = o / "config.toml"
    fileio.write_text(config_path, _config_text(config, annotations, features))
    dataset = load_dataset(load_config(config_path))
    return ImportSummary(config_path, dataset, train_subset, test_subset, len(train), len(test),
                         left_out, _describe_hierarchy(hierarchy), grid, extraction)


__all__ = ["CLIP_GRID_FILE", "GroundTruthVideo", "ImportSummary", "coarse_classes",
           "common_extraction_grid", "feature_shape", "import_activitynet", "read_activitynet",
           "read_features"]
