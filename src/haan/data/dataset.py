"""A dataset as training and evaluation see it: annotations and features validated together, the
paper's train/validation/test split, padded batches and multi-hot labels.

    load_dataset(config, scan_features=None, progress=False) -> Dataset

    Dataset
        video_names (N,) str; labels: N x (n_i, 2) int64 [coarse_id, fine_id];
        segments: N x (n_i, 2) float64 [start_s, end_s]; sec2clip_ratios (N,) float64;
        fine_to_coarse (C,) int64; fine_names (C,), coarse_names (G,) str;
        features: FeatureStore; lengths (N,) int64 clips per video; has_segments (N,) bool
        (False: video-level labels only, segments NaN; `with_segments(indices)` keeps the others);
        train_indices / val_indices / test_indices int64; num_videos, num_fine_classes (C),
        num_coarse_classes (G), feature_size (D)
        video_features(i) (T_i, D) float32; padded_batch(indices) -> ((B, T_max, D) float32
        zero-padded, (B,) lengths); clips(indices) (sum T_i, D) float32;
        fine_multi_hot / coarse_multi_hot(indices) (B, C) / (B, G) float32; instances(indices)

Features are checked for values no training could use (NaN, inf, magnitudes beyond
`MAX_FEATURE_MAGNITUDE`): with `haan.check_features = true` (the default) `load_dataset` scans every
video once, streaming, except for a store that was checked video by video when it was written.
Without a scan, each video is checked whenever it is read (cheap next to a forward pass). Either
way the error names the video before training sees it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from haan.config import Config
from haan.data.annotations import (
    check_labels,
    fine_to_coarse_ids,
    load_annotations,
    load_class_names,
    warn_segments,
)
from haan.data.features import (
    MAX_FEATURE_MAGNITUDE,
    FeatureStore,
    FlatStoreFeatures,
    Indices,
    check_magnitudes,
    open_features,
    row_magnitudes,
    video_magnitude,
)
from haan.errors import DataWarning, InputError


@dataclass(frozen=True)
class Instances:
    """Action instances of some videos, flattened: one row per instance."""

    video: np.ndarray     # (M,) int64 video index
    coarse: np.ndarray    # (M,) int64
    fine: np.ndarray      # (M,) int64
    segments: np.ndarray  # (M, 2) float64 seconds


@dataclass(frozen=True, eq=False)
class Dataset:
    config: Config
    video_names: np.ndarray      # (N,) str
    labels: list[np.ndarray]     # N items, (n_i, 2) int64 [coarse_id, fine_id]
    segments: list[np.ndarray]   # N items, (n_i, 2) float64 [start_s, end_s]
    sec2clip_ratios: np.ndarray  # (N,) float64
    fine_to_coarse: np.ndarray   # (C,) int64
    features: FeatureStore
    train_indices: np.ndarray    # (N_train,) int64
    val_indices: np.ndarray      # (N_val,) int64
    test_indices: np.ndarray     # (N_test,) int64
    features_checked: bool       # every video was scanned at load
    fine_hot: np.ndarray         # (N, C) bool, video has an instance of fine class c
    coarse_hot: np.ndarray       # (N, G) bool
    fine_names: list[str]        # C names ([haan] class_names_path; the ids as strings without)
    coarse_names: list[str]      # G names
    # (N,) bool: the video's segments are known (False: video-level labels only, its segments
    # NaN); only such videos are scored (`with_segments`)
    has_segments: np.ndarray

    def with_segments(self, indices: Indices) -> np.ndarray:
        """Those of `indices` whose segments are known: the videos evaluation can score."""
        idx = np.asarray(indices, dtype=np.int64)
        return idx[self.has_segments[idx]]

    @property
    def lengths(self) -> np.ndarray:  # (N,) int64
        return self.features.lengths

    @property
    def num_videos(self) -> int:
        return len(self.video_names)

    @property
    def num_fine_classes(self) -> int:
        return self.config.stats.num_fine_classes

    @property
    def num_coarse_classes(self) -> int:
        return self.config.stats.num_coarse_classes

    @property
    def feature_size(self) -> int:
        return self.features.feature_size

    def _checked(self, x: np.ndarray, videos: np.ndarray) -> np.ndarray:
        """x, read from `videos`, unless the load scan was off and one of them is unusable."""
        if self.features_checked or x.size == 0:
            return x
        if not row_magnitudes(x.reshape(1, -1))[0] <= MAX_FEATURE_MAGNITUDE:
            # Find the video from the stored values (a float64 1e300 is inf once in float32).
            magnitudes = np.array([video_magnitude(self.features[int(i)]) for i in videos])
            check_magnitudes(magnitudes, self.video_names[videos], self.features.path, warn=False)
        return x

    def video_features(self, i: int) -> np.ndarray:
        """(T_i, D) float32; a view of the stored array when it is float32."""
        with np.errstate(over="ignore"):  # a value beyond float32 is reported by _checked
            x = np.asarray(self.features[int(i)], dtype=np.float32)
        return self._checked(x, np.array([i]))

    def clips(self, indices: Indices) -> np.ndarray:
        """(sum T_i, D) float32: these videos' clips one after another (no padding)."""
        idx = np.asarray(indices, dtype=np.int64)
        with np.errstate(over="ignore"):
            x = self.features.gather(idx).astype(np.float32, copy=False)
        return self._checked(x, idx)

    def padded_batch(self, indices: Indices) -> tuple[np.ndarray, np.ndarray]:
        """Features (B, T_max, D) float32, zero after each video's end; lengths (B,) int64.
        Reads only these videos."""
        idx = np.asarray(indices, dtype=np.int64)
        lengths = self.lengths[idx]
        out = np.zeros((len(idx), int(lengths.max(initial=0)), self.feature_size),
                       dtype=np.float32)  # (B, T_max, D)
        with np.errstate(over="ignore"):
            for b, i in enumerate(idx):  # a loop over the batch's videos, each copied whole
                out[b, : lengths[b]] = self.features[int(i)]
        return self._checked(out, idx), lengths.copy()

    def fine_multi_hot(self, indices: Indices) -> np.ndarray:  # (B, C) float32
        return self.fine_hot[np.asarray(indices, dtype=np.int64)].astype(np.float32)

    def coarse_multi_hot(self, indices: Indices) -> np.ndarray:  # (B, G) float32
        return self.coarse_hot[np.asarray(indices, dtype=np.int64)].astype(np.float32)

    def instances(self, indices: Indices) -> Instances:
        idx = np.asarray(indices, dtype=np.int64)
        counts = np.array([len(self.labels[i]) for i in idx], dtype=np.int64)
        rows = [self.labels[i] for i in idx] + [np.zeros((0, 2), dtype=np.int64)]
        segs = [self.segments[i] for i in idx] + [np.zeros((0, 2))]
        labels = np.concatenate(rows)
        return Instances(np.repeat(idx, counts), labels[:, 0], labels[:, 1], np.concatenate(segs))


def split_indices(num_videos: int, num_training_videos: int, validation_fraction: float,
                  validation_seed: int, source: str = "<config>"
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, val, test): the paper's split (the first num_training_videos videos train), with a
    seeded fraction of the training videos held out for validation."""
    train = np.arange(num_training_videos, dtype=np.int64)
    test = np.arange(num_training_videos, num_videos, dtype=np.int64)
    num_val = 0
    if validation_fraction > 0:
        num_val = max(1, round(validation_fraction * num_training_videos))
    if num_val >= num_training_videos and num_val > 0:
        raise InputError(f"{source}: [haan] validation_fraction = {validation_fraction} leaves "
                         f"no training video of {num_training_videos}")
    rng = np.random.default_rng(validation_seed)
    val = np.sort(rng.choice(num_training_videos, size=num_val, replace=False)).astype(np.int64)
    return np.setdiff1d(train, val), val, test


def load_dataset(config: Config, scan_features: bool | None = None,
                 progress: bool = False) -> Dataset:
    """Annotations and features as the config says, validated; see the module's docstring.
    `scan_features`: scan every video now (True), never (False), or as `haan.check_features`
    says, skipping stores that were checked when written (None). `progress`: bars while an
    object-array feature file loads and during the scan."""
    a = load_annotations(config)
    n = len(a.video_names)
    names_path = config.annotations.video_names_path
    if config.stats.num_training_videos > n:
        raise InputError(f"{config.source}: [stats] num_training_videos = "
                         f"{config.stats.num_training_videos} is larger than the number of videos "
                         f"({n} in {names_path})")
    fine_to_coarse = fine_to_coarse_ids(config, a.mapping)
    check_labels(config, a, fine_to_coarse)
    fine_names, coarse_names = load_class_names(config)

    features = open_features(config.features.features_path, a.video_names, progress=progress)
    fpath = config.features.features_path
    if features.num_videos != n:
        raise InputError(f"{fpath}: features of {features.num_videos} videos, but {names_path} has "
                         f"{n} videos")
    if isinstance(features, FlatStoreFeatures) and (features.video_names != a.video_names).any():
        i = int(np.flatnonzero(features.video_names != a.video_names)[0])
        raise InputError(f"{fpath}: video {i} is '{features.video_names[i]}' in the store but "
                         f"'{a.video_names[i]}' in {names_path}; convert this dataset again")
    if features.feature_size != config.hyperparameters.feature_size:
        raise InputError(f"{fpath}: features have {features.feature_size} values per clip, but "
                         f"[hyperparameters] feature_size = {config.hyperparameters.feature_size}")
    if features.dtype.kind not in "f":
        warnings.warn(f"{fpath}: {features.dtype} features, read as float32", DataWarning,
                      stacklevel=2)
    empty = np.flatnonzero(features.lengths == 0)
    if len(empty):
        raise InputError(f"{fpath}: video '{a.video_names[empty[0]]}' has no clips"
                         + (f" ({len(empty)} such videos)" if len(empty) > 1 else ""))
    if scan_features is None:
        scan_features = config.haan.check_features and not (
            isinstance(features, FlatStoreFeatures) and features.verified_finite)
    if scan_features:
        check_magnitudes(features.magnitudes(progress), a.video_names, fpath)

    warn_segments(config, a, features.lengths)
    longest = int(features.lengths.max(initial=0))
    if longest > config.stats.max_clips_per_video:
        warnings.warn(f"{fpath}: the longest video has {longest} clips, more than [stats] "
                      f"max_clips_per_video = {config.stats.max_clips_per_video} (batches are "
                      "padded to their longest video, so this is harmless here)", DataWarning,
                      stacklevel=2)
    unique, counts = np.unique(a.video_names, return_counts=True)
    if (counts > 1).any():
        warnings.warn(f"{names_path}: {int((counts > 1).sum())} video names occur more than once "
                      f"(first: '{unique[counts > 1][0]}')", DataWarning, stacklevel=2)

    train, val, test = split_indices(n, config.stats.num_training_videos,
                                     config.haan.validation_fraction, config.haan.validation_seed,
                                     config.source)
    if len(test) == 0:
        warnings.warn(f"{config.source}: [stats] num_training_videos = {n} leaves no test video",
                      DataWarning, stacklevel=2)
    counts = np.array([len(x) for x in a.labels], dtype=np.int64)
    video = np.repeat(np.arange(n), counts)
    rows = np.concatenate(a.labels + [np.zeros((0, 2), dtype=np.int64)])
    fine_hot = np.zeros((n, config.stats.num_fine_classes), dtype=bool)
    fine_hot[video, rows[:, 1]] = True
    coarse_hot = np.zeros((n, config.stats.num_coarse_classes), dtype=bool)
    coarse_hot[video, rows[:, 0]] = True
    return Dataset(
        config=config, video_names=a.video_names, labels=a.labels, segments=a.segments,
        sec2clip_ratios=a.sec2clip_ratios, fine_to_coarse=fine_to_coarse, features=features,
        train_indices=train, val_indices=val, test_indices=test,
        features_checked=scan_features, fine_hot=fine_hot, coarse_hot=coarse_hot,
        fine_names=fine_names, coarse_names=coarse_names, has_segments=a.has_segments,
    )


__all__ = ["Dataset", "Instances", "load_dataset", "split_indices"]
