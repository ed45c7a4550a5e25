"""Other datasets become haan datasets: an ActivityNet-style annotation JSON plus one feature file
per video are written as the paper's five files, a feature store, `class_names.json` and a
`config.toml`, so that every haan command works on them (`haan data import activitynet`). This
module owns the import's steps; the file's reader and hierarchies are `haan.data.ground_truth`'s,
the feature files `haan.data.feature_files`', the clip-rate rule `haan.data.clip_rates`'.

Videos: those of the training subset in file order, then those of the test subset (the paper's
split: the first `num_training_videos` train); other subsets are left out and counted.

Classes: fine classes are the labels the kept videos use, coarse classes what the hierarchy maps
them to (see haan.data.ground_truth); both numbered in sorted name order.

Features: `<id>.npy` (a (T, D) array) or `<id>.csv` (one row per clip, an optional header line),
with or without a `v_` prefix. The clip grid, clips per second of each video, follows
`haan.data.clip_rates`' rule, the one `haan predict` follows: `--clips-per-second R`, or
`--clips-per-video T` for features resampled to T clips (R = T / duration), or else the `<id>.json`
clip-grid file that `haan extract` writes beside a feature file (`clips_per_second`, `duration`).
With --clips-per-second, a feature length that differs from duration x R by more than 2 clips is a
counted warning (the annotation file's durations are not a rate here, only a check). When every
video's clip-grid file names the same extraction grid (fps, clip_frames, stride, streams) and that
is the grid used, it is recorded in `clip_grid.json` (`[haan] clip_grid_path`), so that `haan
predict` extracts the features of new video files the same way.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

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
from haan.data.clip_rates import (
    CLIP_GRID_FILE,
    CLIP_SLACK,
    check_clips_per_second,
    common_extraction_grid,
    resolve_clip_rates,
)
from haan.data.contract import CONTRACT_KEY, FeatureContract
from haan.data.dataset import Dataset, load_dataset
from haan.data.dataset_contract import common_contract, contract_fits
from haan.data.feature_files import (
    FeatureFiles,
    feature_shape,
    find_feature_files,
    read_features,
)
from haan.data.features import STORE_FILES
from haan.data.ground_truth import (
    ClassTable,
    GroundTruthVideo,
    class_table,
    coarse_classes,
    describe_hierarchy,
    read_activitynet,
)
from haan.data.sizing import fit_hyperparameters
from haan.data.store import STORE_FOLDER, prepare_output, write_store
from haan.errors import DataWarning, InputError

TEMPLATES = ("fine_gym", "fine_action")
# What an import writes into OUT, relative to it.
OUTPUTS = [*(f"{STORE_FOLDER}/{name}" for name in STORE_FILES), *ANNOTATION_FILES.values(),
           CLASS_NAMES_FILE, CLIP_GRID_FILE, "config.toml"]


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
    sizing: list[str]           # the size-bound settings fitted to the data, with reasons
    contract: FeatureContract | None  # the features' contract (None: unknown, not recorded)
    contract_note: str          # "recorded", else why not


@dataclass(frozen=True)
class _Videos:
    """The kept videos: the training subset's, then the test subset's."""

    videos: list[GroundTruthVideo]
    num_train: int
    left_out: dict[str, int]    # subset -> videos left out
    taxonomy: list | None


# ----------------------------------------------------------------------------------------------
# The steps, in the order the import runs them


def check_grid_options(clips_per_second: float | None, clips_per_video: int | None) -> None:
    """--clips-per-second R or --clips-per-video T, or neither."""
    if clips_per_second is not None and clips_per_video is not None:
        raise InputError("--clips-per-second and --clips-per-video: give one of them")
    check_clips_per_second(clips_per_second)
    if clips_per_video is not None and clips_per_video < 1:
        raise InputError(f"--clips-per-video {clips_per_video}: expected an integer >= 1")


def _check_options(clips_per_second: float | None, clips_per_video: int | None, template: str,
                   train_subset: str, test_subset: str) -> None:
    check_grid_options(clips_per_second, clips_per_video)
    if template not in TEMPLATES:
        raise InputError(f"--template {template}: expected one of {', '.join(TEMPLATES)}")
    if train_subset == test_subset:
        raise InputError(f"--train-subset and --test-subset are both {train_subset!r}")


def _choose_videos(annotations: Path, train_subset: str, test_subset: str) -> _Videos:
    """Read the ground truth and keep the two subsets' videos."""
    all_videos, taxonomy = read_activitynet(annotations)
    train = [v for v in all_videos if v.subset == train_subset]
    test = [v for v in all_videos if v.subset == test_subset]
    left_out = dict(Counter("(none)" if v.subset is None else v.subset for v in all_videos
                            if v.subset not in (train_subset, test_subset)))
    if not train:
        subsets = ", ".join(sorted({str(v.subset) for v in all_videos})) or "none"
        raise InputError(f"{annotations}: no video of subset {train_subset!r} (subsets: "
                         f"{subsets}); choose --train-subset")
    return _Videos(train + test, len(train), left_out, taxonomy)


def _check_clips_per_video(clips_per_video: int, found: FeatureFiles, durations: np.ndarray,
                           videos: Sequence[GroundTruthVideo], annotations: Path) -> None:
    """--clips-per-video T: every video has T clips and a duration."""
    lengths, paths = found.lengths, found.paths
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


def import_clip_rates(videos: Sequence[GroundTruthVideo], found: FeatureFiles, features: Path,
                annotations: Path, clips_per_second: float | None,
                clips_per_video: int | None) -> tuple[np.ndarray, str]:
    """(N,) clips per second of each video by haan.data.clip_rates' rule, and the grid in words."""
    lengths, paths = found.lengths, found.paths
    durations = np.array([v.duration if v.duration is not None else g.get("duration", np.nan)
                          for v, g in zip(videos, found.grids)])  # (N,) seconds, NaN: unknown
    if clips_per_video is not None:
        _check_clips_per_video(clips_per_video, found, durations, videos, annotations)
    rates = resolve_clip_rates(
        [v.name for v in videos], paths, lengths, clips_per_second=clips_per_second,
        durations=durations if clips_per_video is not None else None,
        durations_option="--clips-per-video",
        grid_rates=np.array([g.get("clips_per_second", np.nan) for g in found.grids]),
        grid_files=[p.with_suffix(".json") for p in paths])                      # (N,)
    if clips_per_video is not None:
        return rates, (f"--clips-per-video {clips_per_video}: clips per second = "
                       f"{clips_per_video} / duration, {rates.min():.4g} to {rates.max():.4g} "
                       f"(median {np.median(rates):.4g})")
    if clips_per_second is None:
        if np.isnan(rates).any():
            i = int(np.flatnonzero(np.isnan(rates))[0])
            raise InputError(f"{paths[i].with_suffix('.json')}: no clip grid for video "
                             f"'{videos[i].name}' ({int(np.isnan(rates).sum())} such videos); "
                             "give --clips-per-second R or --clips-per-video T")
        return rates, f"the clip-grid files: {_describe_rates(rates)}"
    off = np.abs(lengths - durations * rates) > CLIP_SLACK  # False where NaN
    if off.any():
        i = int(np.flatnonzero(off)[0])
        warnings.warn(f"{features}: {int(off.sum())} videos have a feature length that "
                      f"disagrees with duration x clips per second by more than {CLIP_SLACK} "
                      f"clips (first: '{videos[i].name}': {lengths[i]} clips, "
                      f"{durations[i]:g} s x {rates[i]:g} = {durations[i] * rates[i]:.1f})",
                      DataWarning, stacklevel=3)
    return rates, f"--clips-per-second {clips_per_second:g} for all {len(videos)} videos"


def _describe_rates(rates: np.ndarray) -> str:
    values, counts = np.unique(np.round(rates, 6), return_counts=True)
    order = np.argsort(-counts, kind="stable")[:3]
    shown = ", ".join(f"{values[k]:g} clips/s ({counts[k]} videos)" for k in order)
    return shown + (f", ... ({len(values)} rates)" if len(values) > 3 else "")


def _warn_unannotated(annotations: Path, videos: Sequence[GroundTruthVideo]) -> None:
    empty = [v.name for v in videos if not v.labels]
    if empty:
        warnings.warn(f"{annotations}: {len(empty)} kept videos have no annotations (first: "
                      f"'{empty[0]}'); they train as videos without any class", DataWarning,
                      stacklevel=3)


def dataset_config(o: Path, num_train: int, classes: ClassTable, found: FeatureFiles,
                   extraction: dict | None, template: str, overrides: Sequence[str],
                   source: str, haan: Mapping[str, Any] = {}) -> tuple[Config, list[str]]:
    """The dataset's config: the template's [hyperparameters] with the size-bound settings fitted
    to the data (haan.data.sizing), its [evaluation], `haan` settings, then --set; and the fitted
    settings' reasons."""
    template_tables = load_config(template).to_dict()
    hyperparameters, sizing = fit_hyperparameters(
        template_tables["hyperparameters"], feature_dim=found.feature_dim,
        num_training_clips=int(found.lengths[:num_train].sum()), num_training_videos=num_train)
    tables = {
        "dataset": {"name": o.resolve().name or "imported"},
        "stats": {"num_training_videos": num_train,
                  "num_coarse_classes": len(classes.coarse_names),
                  "num_fine_classes": len(classes.fine_names),
                  "max_clips_per_video": int(found.lengths.max())},
        "features": {"features_path": str(o / STORE_FOLDER)},
        "annotations": annotations_section(o),
        "hyperparameters": hyperparameters,
        "evaluation": template_tables["evaluation"],
        "haan": {"class_names_path": str(o / CLASS_NAMES_FILE),
                 "clip_grid_path": str(o / CLIP_GRID_FILE) if extraction else "", **haan},
    }
    return config_from_dict(apply_overrides(tables, overrides, source), source), sizing


def config_text(config: Config, source: str, inputs: Sequence[Path]) -> str:
    """The config in the paper's schema; [haan] lists only what differs from its defaults."""
    tables = config.to_dict()
    defaults = dataclasses.asdict(HaanSection())
    tables["haan"] = {k: v for k, v in tables["haan"].items() if v != defaults[k]}
    return (f"# Imported by `{source}` from {' and '.join(map(str, inputs))}.\n"
            "# Paths are relative to the working directory the import ran in.\n"
            + dumps_toml(tables))


def recorded_grid(found: FeatureFiles, names: Sequence[str], rates: np.ndarray,
                  features: Path) -> tuple[dict[str, Any] | None, FeatureContract | None, str]:
    """What clip_grid.json records (None: nothing to record), the features' contract (None:
    unknown) and, where it is not recorded, why."""
    contract = common_contract(names, [p.with_suffix(".json") for p in found.paths], found.grids)
    extraction = common_extraction_grid(found.grids, rates, found.feature_dim)
    if contract is None:
        return extraction, None, "unknown: the clip-grid files record none"
    if extraction is None or not contract_fits(contract, rates, found.feature_dim, features):
        return extraction, None, (f"not recorded: the clip grid used is not the extraction's "
                                  f"({contract.clips_per_second:g} clips/s)")
    return {**extraction, CONTRACT_KEY: contract.to_json()}, contract, "recorded"


def write_dataset(o: Path, video_names: Sequence[str], classes: ClassTable,
                  segments: Sequence[np.ndarray], found: FeatureFiles, rates: np.ndarray,
                  features: Path, overwrite: bool, progress: bool) -> None:
    """The store (streamed video by video), the annotations and the class names; a video's
    segments all NaN: it has labels only (haan.data.annotations.write_annotations)."""
    from tqdm import tqdm

    def video_features() -> Iterator[np.ndarray]:
        for path in tqdm(found.paths, desc="import features", unit="video", leave=False,
                         disable=not progress):
            yield read_features(path)

    prepare_output(o, OUTPUTS, overwrite)
    names = np.array(video_names)
    write_store(o / STORE_FOLDER, names, found.lengths, found.feature_dim, video_features(),
                source=str(features), overwrite=overwrite)
    write_annotations(o, names, classes.labels, segments, rates, classes.fine_to_coarse)
    fileio.write_json(o / CLASS_NAMES_FILE, {"fine": classes.fine_names,
                                             "coarse": classes.coarse_names})


# ----------------------------------------------------------------------------------------------
# The import


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
    annotations, features, o = Path(annotations), Path(features), Path(out)
    _check_options(clips_per_second, clips_per_video, template, train_subset, test_subset)
    if not overwrite:
        fileio.refuse_to_replace([o / name for name in OUTPUTS])
    if not features.is_dir():
        raise InputError(f"{features}: no such folder (--features: one feature file per video)")
    kept = _choose_videos(annotations, train_subset, test_subset)
    classes = class_table(kept.videos, hierarchy, annotations, kept.taxonomy)
    found = find_feature_files(features, [v.name for v in kept.videos], feature_dim, progress)
    rates, grid = import_clip_rates(kept.videos, found, features, annotations, clips_per_second,
                              clips_per_video)
    _warn_unannotated(annotations, kept.videos)
    extraction, contract, contract_note = recorded_grid(found, [v.name for v in kept.videos],
                                                        rates, features)
    source = "haan data import activitynet"
    config, sizing = dataset_config(o, kept.num_train, classes, found, extraction, template,
                                    overrides, source)

    write_dataset(o, [v.name for v in kept.videos], classes, [v.segments for v in kept.videos],
                  found, rates, features, overwrite, progress)
    if extraction:
        fileio.write_json(o / CLIP_GRID_FILE, extraction)
    config_path = o / "config.toml"
    fileio.write_text(config_path, config_text(config, source, [annotations, features]))  # last
    return ImportSummary(config_path, load_dataset(load_config(config_path)), train_subset,
                         test_subset, kept.num_train, len(kept.videos) - kept.num_train,
                         kept.left_out, describe_hierarchy(hierarchy), grid, extraction, sizing,
                         contract, contract_note)


__all__ = ["CLIP_GRID_FILE", "GroundTruthVideo", "ImportSummary", "coarse_classes",
           "common_extraction_grid", "feature_shape", "import_activitynet", "read_activitynet",
           "read_features"]
