"""What `haan predict` reads besides the model: the videos of its feature inputs (files, folders
of files, feature stores; only headers read until scored), each with its clip-grid file's rate,
and the durations and ground truth of `--durations` / `--annotations`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from haan import fileio
from haan.config import Config
from haan.data.clip_rates import read_grid_file
from haan.data.feature_files import FEATURE_EXTENSIONS, feature_shape, read_features
from haan.data.features import FlatStoreFeatures, check_magnitudes, video_magnitude
from haan.data.ground_truth import lookup, read_activitynet
from haan.errors import InputError

# File name extensions taken as video files (anything FFmpeg reads can be renamed to one).
VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts",
                    ".wmv", ".flv", ".3gp", ".ogv")


@dataclass(frozen=True)
class FeatureVideo:
    """One video's clip features, read when needed."""

    name: str                  # `<id>`: the file name without its extension, or the store's name
    source: Path               # the feature file, store folder or video file
    num_clips: int             # T
    feature_size: int          # D
    grid_rate: float | None    # clips per second of its clip grid, where one is known
    read: Callable[[], np.ndarray] = field(repr=False)  # (T, D) as stored

    def features(self) -> np.ndarray:
        """(T, D) float32; NaN, inf or impossible magnitudes are an error naming the video."""
        with np.errstate(over="ignore"):  # a value beyond float32 is reported below
            x = np.asarray(self.read(), dtype=np.float32)
        if x.shape != (self.num_clips, self.feature_size):
            raise InputError(f"{self.source}: video '{self.name}' has features of shape "
                             f"{x.shape}, expected ({self.num_clips}, {self.feature_size})")
        check_magnitudes(np.array([video_magnitude(x)]), [self.name], self.source)
        return x

    @property
    def grid_file(self) -> Path:
        """Where its clip-grid file `<id>.json` is (or would be): beside a feature file, in a
        store's folder."""
        folder = self.source.parent if self.source.suffix in FEATURE_EXTENSIONS else self.source
        return folder / f"{self.name}.json"


def _grid_rate(grid_file: Path, video: str) -> float | None:
    """The clips per second of a clip-grid file, read as `haan data import` reads it."""
    if not grid_file.is_file():
        return None
    return read_grid_file(grid_file, Path(video)).get("clips_per_second")


def _feature_file(path: Path) -> FeatureVideo:
    T, D = feature_shape(path)
    return FeatureVideo(path.stem, path, T, D, _grid_rate(path.with_suffix(".json"), path.name),
                        lambda: read_features(path))


def _store_videos(path: Path) -> list[FeatureVideo]:
    store = FlatStoreFeatures(path)
    return [FeatureVideo(str(name), path, int(store.lengths[i]), store.feature_size,
                         _grid_rate(path / f"{name}.json", str(name)), lambda i=i: store[i])
            for i, name in enumerate(store.video_names)]  # per video: a handful of fields


def is_video_file(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


def _folder_videos(path: Path) -> list[FeatureVideo]:
    """A feature store, or every feature file of a folder in name order."""
    if (path / "store.json").exists():
        return _store_videos(path)
    if (path / "offsets.npy").exists():
        raise InputError(f"{path}: an unfinished feature store (no store.json); write it again")
    files = sorted(p for p in path.iterdir() if p.suffix in FEATURE_EXTENSIONS and p.is_file())
    if not files:
        raise InputError(f"{path}: no .npy or .csv feature files in the folder")
    return [_feature_file(p) for p in files]


def feature_videos(paths: Sequence[str | Path]) -> list[FeatureVideo]:
    """The videos of feature PATHs (files, folders of files, stores), in order; only headers are
    read (a .csv is read whole to count its rows)."""
    videos: list[FeatureVideo] = []
    for path in map(Path, paths):
        if path.is_dir():
            videos += _folder_videos(path)
        elif not path.exists():
            raise InputError(f"{path}: no such file or folder")
        elif path.suffix in FEATURE_EXTENSIONS:
            videos.append(_feature_file(path))
        else:
            raise InputError(f"{path}: not a feature file (.npy, .csv), a folder of them, a "
                             f"feature store or a video file ({', '.join(VIDEO_EXTENSIONS)})")
    return videos


def check_videos(videos: Sequence[FeatureVideo], config: Config) -> None:
    """Every video has clips, the model's feature size and a name of its own."""
    seen: dict[str, Path] = {}
    D = config.hyperparameters.feature_size
    for v in videos:  # per video, a few comparisons
        if v.num_clips == 0:
            raise InputError(f"{v.source}: video '{v.name}' has no clips")
        if v.feature_size != D:
            raise InputError(f"{v.source}: {v.feature_size} values per clip, but the model takes "
                             f"[hyperparameters] feature_size = {D} ({config.source})")
        if v.name in seen:
            raise InputError(f"{v.source}: a second video named '{v.name}' (the first is from "
                             f"{seen[v.name]}); names are file names without their extension")
        seen[v.name] = v.source


# ----------------------------------------------------------------------------------------------
# Durations and ground truth


def read_durations(path: str | Path) -> dict[str, float]:
    """`{"id": seconds}` of a durations file."""
    data = fileio.read_json(path)
    if not isinstance(data, dict):
        raise InputError(f'{path}: expected an object {{"video id": seconds, ...}}')
    for name, value in data.items():
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or not math.isfinite(value) or value <= 0):
            raise InputError(f"{path}: video '{name}': the duration must be a positive number "
                             f"of seconds, got {value!r:.40}")
    return {str(k): float(v) for k, v in data.items()}


@dataclass(frozen=True)
class GroundTruthFile:
    """What an ActivityNet-style annotation file says of each video: durations (where given) and
    annotations (label names, (n, 2) segments)."""

    path: Path
    durations: dict[str, float]
    annotations: dict[str, tuple[list[str], np.ndarray]]


def read_ground_truth_file(path: str | Path) -> GroundTruthFile:
    videos, _taxonomy = read_activitynet(path)
    return GroundTruthFile(Path(path), {v.name: v.duration for v in videos if v.duration},
                           {v.name: (v.labels, v.segments) for v in videos})


__all__ = ["FEATURE_EXTENSIONS", "VIDEO_EXTENSIONS", "FeatureVideo", "GroundTruthFile",
           "check_videos", "feature_videos", "is_video_file", "lookup", "read_durations",
           "read_ground_truth_file"]
