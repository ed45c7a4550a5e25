"""Datasets in the paper's format: annotations, features (three layouts plus our memory-mapped
store), validation, the train/validation/test split and padded batches.

CONTRACT (implemented by issue 3; other modules code against exactly this):

    load_dataset(config: Config) -> Dataset            # validates; InputError / DataWarning

    class Dataset:
        config: Config
        video_names: np.ndarray          # (N,) str
        labels: list[np.ndarray]         # N items, (n_i, 2) int64 rows [coarse_id, fine_id]
        segments: list[np.ndarray]       # N items, (n_i, 2) float64 rows [start_s, end_s]
        sec2clip_ratios: np.ndarray      # (N,) float64
        fine_to_coarse: np.ndarray       # (C,) int64, coarse id of each fine id
        features: FeatureStore
        lengths: np.ndarray              # (N,) int64, clips per video (== features.lengths)
        train_indices: np.ndarray        # (N_train,) int64, training videos (minus validation)
        val_indices: np.ndarray          # (N_val,) int64, empty unless haan.validation_fraction > 0
        test_indices: np.ndarray         # (N_test,) int64, videos num_training_videos..N-1
        num_videos: int                  # N
        num_fine_classes: int            # C  (config stats)
        num_coarse_classes: int          # G  (config stats)
        feature_size: int                # D

        def video_features(self, i: int) -> np.ndarray          # (T_i, D), may be a memmap view
        def padded_batch(self, indices) -> tuple[np.ndarray, np.ndarray]
            # features (B, T_max, D) float32 zero-padded, lengths (B,) int64
        def fine_multi_hot(self, indices) -> np.ndarray          # (B, C) float32
        def coarse_multi_hot(self, indices) -> np.ndarray        # (B, G) float32

    class FeatureStore:                  # read-only, never loads a dense file whole
        num_videos: int; feature_size: int; dtype: np.dtype; lengths: np.ndarray (N,) int64
        def __getitem__(self, i: int) -> np.ndarray              # (T_i, D)

Beyond the contract: `Dataset.clips(indices)` ((sum T_i, D) float32, the videos' clips one after
another), `Dataset.instances(indices)`, `dataset_info`, `format_info`, `convert_features`, `write_store`.

Feature layouts, chosen by what `[features] features_path` is on disk:
  * a .npy file holding an object array of (T_i, D) arrays (FineGym): loaded whole (it is a pickle);
  * a .npy file holding a dense (N, T, D) array (FineAction): never read whole; every video has
    T clips (there is no padding information, as in the paper);
  * a folder with `store.json`: the store written by `haan data convert` (a flat (sum T_i, D)
    `features.npy` plus `offsets.npy`), never read whole;
  * any other folder: one `<video_name>.npy` file of shape (T_i, D) per video.
The two large layouts are read like a memmap, by offset, but with plain reads of just the videos
asked for: pages read do not stay mapped, so resident memory is bounded by the batch even after
an epoch has visited the whole file (`memmap()` gives the memory-mapped array itself).

NaN/inf: with `haan.check_features = true` (the default) `load_dataset` scans every video once,
streaming through the file in chunks of `SCAN_CHUNK_BYTES`, except for a store written by
`haan data convert`, which checked every video as it wrote it. Without a scan, each video is
checked whenever it is read (`video_features`, `padded_batch`, `clips`: cheap next to a forward
pass). Either way a non-finite value raises
`InputError("<features>: video '<name>' has NaN or inf features")` before training sees it.
`haan data info` always scans.
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from haan.config import Config, FeaturesSection
from haan.errors import DataWarning, InputError

STORE_FORMAT = "haan-feature-store"
STORE_VERSION = 1
STORE_FILES = ("features.npy", "offsets.npy", "video_names.npy", "store.json")
# Reads of a NaN/inf scan: bounded memory whatever the file's size.
SCAN_CHUNK_BYTES = 32 << 20

Indices = Sequence[int] | np.ndarray


# ----------------------------------------------------------------------------------------------
# .npy helpers


def _npy_header(path: Path) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """(shape, fortran_order, dtype, data offset) of a .npy file, reading only its header."""
    fmt = np.lib.format
    try:
        with open(path, "rb") as f:
            version = fmt.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = fmt.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = fmt.read_array_header_2_0(f)
            else:  # 3.0 differs from 2.0 only in the header's text encoding
                shape, fortran, dtype = fmt._read_array_header(f, version)
            return tuple(shape), bool(fortran), np.dtype(dtype), f.tell()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (ValueError, EOFError) as exc:
        raise InputError(f"{path}: not a .npy file ({exc})") from None


def _load_npy(path: Path, mmap: bool = False) -> np.ndarray:
    try:
        if mmap:
            return np.load(path, mmap_mode="r")
        return np.load(path, allow_pickle=True)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except Exception as exc:  # pickle and format errors of a damaged file
        raise InputError(f"{path}: not a readable .npy file ({type(exc).__name__}: "
                         f"{exc})") from None


def save_npy_atomic(path: Path, array: np.ndarray) -> None:
    """np.save to a temporary name, then rename: a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.save(f, array, allow_pickle=array.dtype.hasobject)
    os.replace(tmp, path)


def write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _read_block(path: Path, offset: int, dtype: np.dtype, start: int, count: int) -> np.ndarray:
    """`count` items of a C-ordered array in a file, from item `start`: a plain read of just those
    bytes. Unlike a memmap, the pages read do not stay mapped into the process, so resident
    memory is bounded by what the caller holds, however much of the file is visited."""
    x = np.fromfile(path, dtype=dtype, count=count, offset=offset + start * dtype.itemsize)
    if len(x) != count:
        raise InputError(f"{path}: file is shorter than its header says")
    return x


def _runs(indices: np.ndarray) -> list[np.ndarray]:
    """Split indices into runs of consecutive values, each of which is one contiguous read."""
    return np.split(indices, np.flatnonzero(np.diff(indices) != 1) + 1) if len(indices) else []


def _scan_rows(path: Path, offset: int, dtype: np.dtype, num_rows: int, row_size: int
               ) -> np.ndarray:
    """(num_rows,) bool, True where a row of a C-ordered array in a file is all finite.

    Plain reads into one reusable buffer rather than a memmap, so that neither anonymous nor
    mapped memory grows with the file.
    """
    ok = np.ones(num_rows, dtype=bool)
    rows_per_chunk = max(1, SCAN_CHUNK_BYTES // max(1, row_size * dtype.itemsize))
    buf = np.empty(min(rows_per_chunk, num_rows) * row_size, dtype=dtype)
    with open(path, "rb") as f:
        f.seek(offset)
        for start in range(0, num_rows, rows_per_chunk):
            n = min(rows_per_chunk, num_rows - start)
            chunk = buf[: n * row_size]
            if f.readinto(memoryview(chunk).cast("B")) != chunk.nbytes:
                raise InputError(f"{path}: file is shorter than its header says")
            ok[start:start + n] = np.isfinite(chunk).reshape(n, row_size).all(axis=1)
    return ok


# ----------------------------------------------------------------------------------------------
# Feature stores


class FeatureStore:
    """Read-only per-video features; subclasses are the layouts on disk.

    `__getitem__` returns (T_i, D) in the stored dtype: the loaded item of an object array, or
    a fresh array read from disk for the other layouts.
    """

    layout: str
    path: Path
    num_videos: int
    feature_size: int
    dtype: np.dtype
    lengths: np.ndarray  # (N,) int64

    def __len__(self) -> int:
        return self.num_videos

    def __getitem__(self, i: int) -> np.ndarray:  # (T_i, D)
        raise NotImplementedError

    @property
    def num_clips(self) -> int:
        return int(self.lengths.sum())

    @property
    def nbytes(self) -> int:
        return self.num_clips * self.feature_size * self.dtype.itemsize

    def gather(self, indices: Indices) -> np.ndarray:
        """(sum T_i, D) in the stored dtype: these videos' clips one after another."""
        parts = [self[int(i)] for i in indices]
        if not parts:
            return np.zeros((0, self.feature_size), dtype=self.dtype)
        return np.concatenate(parts, axis=0)

    def finite_videos(self) -> np.ndarray:
        """(N,) bool, False for the videos with a NaN or inf. Bounded memory: video by video."""
        return np.array([bool(np.isfinite(self[i]).all()) for i in range(self.num_videos)],
                        dtype=bool)


class ObjectArrayFeatures(FeatureStore):
    """An (N,) object array of (T_i, D) arrays, as the paper's FineGym file. Loaded whole."""

    layout = "object"

    def __init__(self, path: Path, items: np.ndarray):
        self.path = path
        videos = [np.asarray(x) for x in items]  # loop over videos: items are separate objects
        for i, x in enumerate(videos):
            if x.ndim != 2 or x.dtype.kind not in "fiu":
                raise InputError(f"{path}: item {i} is a {x.dtype} array of shape {x.shape}, "
                                 "expected a (T, D) array of floats")
        sizes = np.array([x.shape[1] for x in videos], dtype=np.int64)
        if len(videos) and (sizes != sizes[0]).any():
            i = int(np.flatnonzero(sizes != sizes[0])[0])
            raise InputError(f"{path}: item {i} has {sizes[i]} values per clip, item 0 has "
                             f"{sizes[0]}")
        self._videos = videos
        self.num_videos = len(videos)
        self.feature_size = int(sizes[0]) if len(videos) else 0
        self.dtype = np.result_type(*[x.dtype for x in videos]) if videos else np.dtype("float32")
        self.lengths = np.array([x.shape[0] for x in videos], dtype=np.int64)

    def __getitem__(self, i: int) -> np.ndarray:
        return self._videos[i]


class DenseFeatures(FeatureStore):
    """A dense (N, T, D) .npy array, never read whole: only the videos asked for are read, by
    offset (`memmap()` gives the memory-mapped array itself)."""

    layout = "dense"

    def __init__(self, path: Path, shape: tuple[int, ...], dtype: np.dtype, offset: int):
        self.path = path
        self._offset = offset
        self.num_videos, self._clips, self.feature_size = shape
        self.dtype = dtype
        self.lengths = np.full(self.num_videos, self._clips, dtype=np.int64)
        expected = offset + self.num_videos * self._clips * self.feature_size * dtype.itemsize
        if path.stat().st_size < expected:
            raise InputError(f"{path}: file is shorter than its header says")

    def memmap(self) -> np.ndarray:  # (N, T, D), read-only
        return _load_npy(self.path, mmap=True)

    def __getitem__(self, i: int) -> np.ndarray:
        video = self._clips * self.feature_size
        return _read_block(self.path, self._offset, self.dtype, int(i) * video,
                           video).reshape(self._clips, self.feature_size)

    def gather(self, indices: Indices) -> np.ndarray:
        video = self._clips * self.feature_size
        parts = [_read_block(self.path, self._offset, self.dtype, int(r[0]) * video,
                             len(r) * video) for r in _runs(np.asarray(indices, dtype=np.int64))]
        if not parts:
            return np.zeros((0, self.feature_size), dtype=self.dtype)
        return np.concatenate(parts).reshape(-1, self.feature_size)

    def finite_videos(self) -> np.ndarray:
        row = int(self.lengths[0]) * self.feature_size if self.num_videos else 0
        return _scan_rows(self.path, self._offset, self.dtype, self.num_videos, row)


class FolderFeatures(FeatureStore):
    """A folder of `<video_name>.npy` files of shape (T_i, D); each is read when asked for."""

    layout = "folder"

    def __init__(self, path: Path, video_names: np.ndarray):
        self.path = path
        self._files = [path / f"{name}.npy" for name in video_names]
        shapes, dtypes = [], []
        for name, file in zip(video_names, self._files):  # headers only
            if not file.is_file():
                raise InputError(f"{file}: no such file (features of video '{name}'; [features] "
                                 "features_path is a folder of per-video files)")
            shape, _fortran, dtype, _offset = _npy_header(file)
            if len(shape) != 2 or dtype.kind not in "fiu":
                raise InputError(f"{file}: a {dtype} array of shape {shape}, expected a (T, D) "
                                 "array of floats")
            shapes.append(shape)
            dtypes.append(dtype)
        sizes = np.array([s[1] for s in shapes], dtype=np.int64)
        if len(shapes) and (sizes != sizes[0]).any():
            i = int(np.flatnonzero(sizes != sizes[0])[0])
            raise InputError(f"{self._files[i]}: {sizes[i]} values per clip, but "
                             f"{self._files[0].name} has {sizes[0]}")
        self.num_videos = len(shapes)
        self.feature_size = int(sizes[0]) if len(shapes) else 0
        self.dtype = np.result_type(*dtypes) if dtypes else np.dtype("float32")
        self.lengths = np.array([s[0] for s in shapes], dtype=np.int64)

    def __getitem__(self, i: int) -> np.ndarray:
        return np.asarray(_load_npy(self._files[i]))


class FlatStoreFeatures(FeatureStore):
    """The store of `haan data convert`: a flat (sum T_i, D) array plus (N+1,) offsets, never
    read whole."""

    layout = "store"

    def __init__(self, path: Path):
        self.path = path
        meta_path = path / "store.json"
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"{meta_path}: cannot read the store's description ({exc})") from None
        if not isinstance(meta, dict) or meta.get("format") != STORE_FORMAT:
            raise InputError(f"{meta_path}: not a {STORE_FORMAT} description")
        if meta.get("version") != STORE_VERSION:
            raise InputError(f"{meta_path}: store version {meta.get('version')!r}, this haan "
                             f"reads version {STORE_VERSION}")
        for name in STORE_FILES:
            if not (path / name).is_file():
                raise InputError(f"{path / name}: no such file (part of the feature store)")
        shape, fortran, dtype, self._offset = _npy_header(path / "features.npy")
        if len(shape) != 2 or fortran or dtype.kind != "f":
            raise InputError(f"{path / 'features.npy'}: a {dtype} array of shape {shape}, "
                             "expected a C-ordered (clips, D) float array")
        size = self._offset + shape[0] * shape[1] * dtype.itemsize
        if (path / "features.npy").stat().st_size < size:
            raise InputError(f"{path / 'features.npy'}: file is shorter than its header says")
        self.offsets = np.asarray(_load_npy(path / "offsets.npy"), dtype=np.int64)  # (N+1,)
        self.video_names = np.asarray(_load_npy(path / "video_names.npy")).astype(str)
        self.verified_finite = meta.get("finite") is True  # checked video by video when written
        o = self.offsets
        if (o.ndim != 1 or len(o) != len(self.video_names) + 1 or o[0] != 0
                or o[-1] != shape[0] or (np.diff(o) < 0).any()):
            raise InputError(f"{path / 'offsets.npy'}: expected {len(self.video_names) + 1} "
                             f"non-decreasing offsets from 0 to {shape[0]}")
        self.num_videos = len(self.video_names)
        self.feature_size = int(shape[1])
        self.dtype = dtype
        self.lengths = np.diff(o)

    def memmap(self) -> np.ndarray:  # (sum T_i, D), read-only
        return _load_npy(self.path / "features.npy", mmap=True)

    def __getitem__(self, i: int) -> np.ndarray:
        start, stop = int(self.offsets[i]), int(self.offsets[i + 1])
        return self._read(start, stop)

    def _read(self, start: int, stop: int) -> np.ndarray:  # clips [start, stop) -> (n, D)
        D = self.feature_size
        return _read_block(self.path / "features.npy", self._offset, self.dtype, start * D,
                           (stop - start) * D).reshape(stop - start, D)

    def gather(self, indices: Indices) -> np.ndarray:
        parts = [self._read(int(self.offsets[r[0]]), int(self.offsets[r[-1] + 1]))
                 for r in _runs(np.asarray(indices, dtype=np.int64))]
        if not parts:
            return np.zeros((0, self.feature_size), dtype=self.dtype)
        return np.concatenate(parts)

    def finite_videos(self) -> np.ndarray:
        ok_rows = _scan_rows(self.path / "features.npy", self._offset, self.dtype,
                             int(self.offsets[-1]), self.feature_size)
        bad_rows = np.flatnonzero(~ok_rows)
        ok = np.ones(self.num_videos, dtype=bool)
        ok[np.searchsorted(self.offsets, bad_rows, side="right") - 1] = False
        return ok


def open_features(features_path: str, video_names: np.ndarray) -> FeatureStore:
    """The layout is what is on disk at `features_path` (see the module's docstring)."""
    path = Path(features_path)
    if path.is_dir():
        if (path / "store.json").exists():
            return FlatStoreFeatures(path)
        return FolderFeatures(path, video_names)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder (config [features] features_path)")
    shape, fortran, dtype, offset = _npy_header(path)
    if dtype.hasobject:
        items = _load_npy(path)
        if items.ndim != 1:
            raise InputError(f"{path}: an object array of shape {items.shape}, expected (N,) "
                             "items of shape (T_i, D)")
        return ObjectArrayFeatures(path, items)
    if len(shape) == 3 and dtype.kind in "fiu":
        if fortran:
            raise InputError(f"{path}: a Fortran-ordered array; re-save it C-ordered "
                             "(np.save(path, np.ascontiguousarray(x)))")
        return DenseFeatures(path, shape, dtype, offset)
    raise InputError(f"{path}: a {dtype} array of shape {shape}, expected an object array of "
                     "(T_i, D) arrays or a dense (N, T, D) array")


# ----------------------------------------------------------------------------------------------
# Annotations


@dataclass(frozen=True)
class Annotations:
    video_names: np.ndarray      # (N,) str
    labels: list[np.ndarray]     # N items, (n_i, 2) int64 [coarse_id, fine_id]
    segments: list[np.ndarray]   # N items, (n_i, 2) float64 [start_s, end_s]
    sec2clip_ratios: np.ndarray  # (N,) float64
    mapping: dict[int, int]      # fine id -> coarse id, as in the JSON file


def _annotation_path(config: Config, key: str) -> Path:
    path = Path(getattr(config.annotations, key))
    if not path.is_file():
        raise InputError(f"{path}: no such file (config [annotations] {key})")
    return path


def _rows(item: Any, dtype: type, path: Path, name: str) -> np.ndarray:
    """One video's list of pairs -> (n, 2) array; [] -> (0, 2)."""
    try:
        x = np.asarray(item, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{path}: video '{name}': expected a list of pairs of numbers, got "
                         f"{item!r:.80}") from None
    if x.size == 0:
        return np.zeros((0, 2), dtype=dtype)
    if x.ndim != 2 or x.shape[1] != 2:
        raise InputError(f"{path}: video '{name}': expected a list of pairs, got shape {x.shape}")
    if dtype is np.int64:
        if not (np.isfinite(x).all() and (x == np.round(x)).all()):
            raise InputError(f"{path}: video '{name}': class ids must be integers, got "
                             f"{x.tolist()!r:.80}")
    elif not np.isfinite(x).all():
        raise InputError(f"{path}: video '{name}': segments must be finite numbers")
    return x.astype(dtype)


def load_annotations(config: Config) -> Annotations:
    """The five annotation files, checked for shape and agreement with each other."""
    names_path = _annotation_path(config, "video_names_path")
    names = np.asarray(_load_npy(names_path))
    if names.ndim != 1:
        raise InputError(f"{names_path}: shape {names.shape}, expected (N,) video names")
    names = np.array([x.decode() if isinstance(x, bytes) else str(x) for x in names])
    n = len(names)

    def per_video(key: str) -> tuple[Path, np.ndarray]:
        path = _annotation_path(config, key)
        x = _load_npy(path)
        if x.ndim == 0 or len(x) != n:
            count = "a scalar" if x.ndim == 0 else f"{len(x)} videos"
            raise InputError(f"{path}: {count}, but {names_path} has {n} videos")
        return path, x

    labels_path, raw_labels = per_video("labels_path")
    segments_path, raw_segments = per_video("segments_path")
    ratios_path, raw_ratios = per_video("sec2clip_ratios_path")

    labels = [_rows(x, np.int64, labels_path, v) for x, v in zip(raw_labels, names)]
    segments = [_rows(x, np.float64, segments_path, v) for x, v in zip(raw_segments, names)]
    counts = np.array([len(x) for x in labels])
    seg_counts = np.array([len(x) for x in segments])
    if (counts != seg_counts).any():
        i = int(np.flatnonzero(counts != seg_counts)[0])
        raise InputError(f"{segments_path}: video '{names[i]}' has {seg_counts[i]} segments, but "
                         f"{labels_path} gives it {counts[i]} labels")

    try:
        ratios = np.asarray(raw_ratios, dtype=np.float64).reshape(n)
    except (TypeError, ValueError):
        raise InputError(f"{ratios_path}: expected {n} numbers (clips per second)") from None
    if not (np.isfinite(ratios) & (ratios > 0)).all():
        i = int(np.flatnonzero(~(np.isfinite(ratios) & (ratios > 0)))[0])
        raise InputError(f"{ratios_path}: video '{names[i]}' has ratio {ratios[i]}, expected a "
                         "positive number (clips per second)")

    mapping_path = _annotation_path(config, "fine_to_coarse_mappings_path")
    try:
        raw_mapping = json.loads(mapping_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{mapping_path}: cannot read as JSON ({exc})") from None
    if not isinstance(raw_mapping, dict):
        raise InputError(f"{mapping_path}: expected an object {{\"<fine_id>\": coarse_id, ...}}")
    mapping = {}
    for key, value in raw_mapping.items():
        if not (isinstance(key, str) and key.strip().lstrip("-").isdigit()) or (
                isinstance(value, bool) or not isinstance(value, int)):
            raise InputError(f"{mapping_path}: entry {key!r}: {value!r}, expected "
                             "\"<fine_id>\": <coarse_id> with integer ids")
        mapping[int(key)] = value
    return Annotations(names, labels, segments, ratios, mapping)


def _fine_to_coarse(config: Config, a: Annotations) -> np.ndarray:
    """(C,) coarse id of each fine id, checked against the config's class counts."""
    path = config.annotations.fine_to_coarse_mappings_path
    num_fine, num_coarse = config.stats.num_fine_classes, config.stats.num_coarse_classes
    fine_ids = np.array(sorted(a.mapping), dtype=np.int64)
    coarse_ids = np.array([a.mapping[f] for f in fine_ids.tolist()], dtype=np.int64)
    if len(fine_ids) and fine_ids.max() >= num_fine:
        raise InputError(f"{config.source}: [stats] num_fine_classes = {num_fine} is smaller than "
                         f"the classes used ({path} maps fine ids up to {fine_ids.max()})")
    if len(coarse_ids) and coarse_ids.max() >= num_coarse:
        raise InputError(f"{config.source}: [stats] num_coarse_classes = {num_coarse} is smaller "
                         f"than the classes used ({path} maps to coarse ids up to "
                         f"{coarse_ids.max()})")
    if len(fine_ids) and fine_ids.min() < 0:
        raise InputError(f"{path}: fine id {fine_ids.min()} is negative, expected "
                         f"0..{num_fine - 1}")
    if len(coarse_ids) and coarse_ids.min() < 0:
        raise InputError(f"{path}: coarse id {coarse_ids.min()} is negative, expected "
                         f"0..{num_coarse - 1}")
    missing = np.setdiff1d(np.arange(num_fine), fine_ids)
    if len(missing):
        shown = ", ".join(map(str, missing[:10])) + (", ..." if len(missing) > 10 else "")
        raise InputError(f"{path}: no coarse class for fine ids {shown} (expected keys \"0\".."
                         f"\"{num_fine - 1}\", one per fine class)")
    out = np.empty(num_fine, dtype=np.int64)
    out[fine_ids] = coarse_ids
    return out


def _check_labels(config: Config, a: Annotations, fine_to_coarse: np.ndarray) -> None:
    path = config.annotations.labels_path
    num_fine, num_coarse = config.stats.num_fine_classes, config.stats.num_coarse_classes
    counts = np.array([len(x) for x in a.labels], dtype=np.int64)
    video = np.repeat(np.arange(len(counts)), counts)  # (M,) video of each instance
    rows = np.concatenate(a.labels) if len(video) else np.zeros((0, 2), dtype=np.int64)  # (M, 2)
    first_row = np.concatenate([[0], np.cumsum(counts)])[video]  # instance number in its video
    for col, kind, size, key in ((1, "fine", num_fine, "num_fine_classes"),
                                 (0, "coarse", num_coarse, "num_coarse_classes")):
        bad = np.flatnonzero((rows[:, col] < 0) | (rows[:, col] >= size))
        if len(bad):
            j = bad[0]
            raise InputError(f"{path}: video '{a.video_names[video[j]]}' instance "
                             f"{j - first_row[j]} has {kind} id {rows[j, col]}, outside "
                             f"[0, {size}) ([stats] {key} = {size})")
    bad = np.flatnonzero(fine_to_coarse[rows[:, 1]] != rows[:, 0])
    if len(bad):
        j = bad[0]
        raise InputError(f"{path}: video '{a.video_names[video[j]]}' instance {j - first_row[j]} "
                         f"is [{rows[j, 0]}, {rows[j, 1]}], but "
                         f"{config.annotations.fine_to_coarse_mappings_path} maps fine "
                         f"{rows[j, 1]} to coarse {fine_to_coarse[rows[j, 1]]}")


def _warn_segments(config: Config, a: Annotations, lengths: np.ndarray) -> None:
    """Reversed segments and segments past the video's end: suspicious, not fatal."""
    path = config.annotations.segments_path
    counts = np.array([len(x) for x in a.segments], dtype=np.int64)
    if counts.sum() == 0:
        return
    video = np.repeat(np.arange(len(counts)), counts)
    seg = np.concatenate(a.segments)  # (M, 2)
    # One clip of slack: the clip count is the duration times the ratio, rounded.
    video_end = (lengths[video] + 1) / a.sec2clip_ratios[video]
    for bad, what in ((seg[:, 1] < seg[:, 0], "end before they start"),
                      (seg[:, 1] > video_end, "end after the video's last clip")):
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            warnings.warn(f"{path}: {int(bad.sum())} segments {what} (first: video "
                          f"'{a.video_names[video[j]]}' [{seg[j, 0]:g}, {seg[j, 1]:g}] s, "
                          f"{lengths[video[j]]} clips at {a.sec2clip_ratios[video[j]]:g} "
                          "clips/s)", DataWarning, stacklevel=3)


# ----------------------------------------------------------------------------------------------
# The dataset


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
    features_checked: bool       # every video was scanned for NaN/inf at load
    fine_hot: np.ndarray         # (N, C) bool, video has an instance of fine class c
    coarse_hot: np.ndarray       # (N, G) bool

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
        if not self.features_checked and not np.isfinite(x).all():
            ok = [bool(np.isfinite(self.features[int(i)]).all()) for i in videos]
            name = self.video_names[videos[ok.index(False)]]
            raise InputError(f"{self.features.path}: video '{name}' has NaN or inf features")
        return x

    def video_features(self, i: int) -> np.ndarray:
        """(T_i, D) float32; a view of the stored array when it is float32."""
        x = np.asarray(self.features[int(i)], dtype=np.float32)
        return self._checked(x, np.array([i]))

    def clips(self, indices: Indices) -> np.ndarray:
        """(sum T_i, D) float32: these videos' clips one after another (no padding)."""
        idx = np.asarray(indices, dtype=np.int64)
        return self._checked(self.features.gather(idx).astype(np.float32, copy=False), idx)

    def padded_batch(self, indices: Indices) -> tuple[np.ndarray, np.ndarray]:
        """Features (B, T_max, D) float32, zero after each video's end; lengths (B,) int64.
        Reads only these videos."""
        idx = np.asarray(indices, dtype=np.int64)
        lengths = self.lengths[idx]
        out = np.zeros((len(idx), int(lengths.max(initial=0)), self.feature_size),
                       dtype=np.float32)  # (B, T_max, D)
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


def load_dataset(config: Config, scan_features: bool | None = None) -> Dataset:
    """Annotations and features as the config says, validated; see the module's docstring.
    `scan_features`: scan every video for NaN/inf now (True), never (False), or as
    `haan.check_features` says, skipping stores that `haan data convert` verified (None)."""
    a = load_annotations(config)
    n = len(a.video_names)
    names_path = config.annotations.video_names_path
    if config.stats.num_training_videos > n:
        raise InputError(f"{config.source}: [stats] num_training_videos = "
                         f"{config.stats.num_training_videos} is larger than the number of videos "
                         f"({n} in {names_path})")
    fine_to_coarse = _fine_to_coarse(config, a)
    _check_labels(config, a, fine_to_coarse)

    features = open_features(config.features.features_path, a.video_names)
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
        ok = features.finite_videos()
        if not ok.all():
            raise InputError(f"{fpath}: video '{a.video_names[np.flatnonzero(~ok)[0]]}' has NaN "
                             "or inf features" + (f" ({int((~ok).sum())} such videos)"
                                                  if (~ok).sum() > 1 else ""))

    _warn_segments(config, a, features.lengths)
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
    )


# ----------------------------------------------------------------------------------------------
# Figures (`haan data info`)


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
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


# ----------------------------------------------------------------------------------------------
# Writing a store (`haan data convert`, and `haan synth` for large presets)


def write_store(out_dir: str | Path, video_names: np.ndarray, lengths: np.ndarray,
                feature_size: int, videos: Iterable[np.ndarray], dtype: str = "float32",
                source: str = "features") -> Path:
    """Write the flat memory-mappable store, streaming: one video in memory at a time.

    `videos` yields (T_i, D) arrays in order. The data goes to `features.npy.tmp` with plain
    sequential writes (bounded memory, whatever the size) and every file is renamed into place
    only when all of them are complete; store.json, written last, marks a finished store.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dt = np.dtype(dtype)
    lengths = np.asarray(lengths, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)  # (N+1,)
    tmp = out / "features.npy.tmp"
    header = {"descr": np.lib.format.dtype_to_descr(dt), "fortran_order": False,
              "shape": (int(offsets[-1]), int(feature_size))}
    try:
        with open(tmp, "wb") as f:
            np.lib.format.write_array_header_2_0(f, header)
            count = 0
            for i, x in enumerate(videos):
                if i >= len(lengths):
                    raise InputError(f"{source}: more than the {len(lengths)} videos expected")
                name = video_names[i]
                x = np.asarray(x)
                if x.shape != (lengths[i], feature_size):
                    raise InputError(f"{source}: video '{name}' has features of shape {x.shape}, "
                                     f"expected ({lengths[i]}, {feature_size})")
                if not np.isfinite(x).all():
                    raise InputError(f"{source}: video '{name}' has NaN or inf features")
                with np.errstate(over="ignore"):  # overflow is reported just below
                    y = np.ascontiguousarray(x, dtype=dt)
                if not np.isfinite(y).all():
                    raise InputError(f"{source}: video '{name}' has values beyond {dt}'s range "
                                     f"(largest magnitude {np.finfo(dt).max:g}); use --dtype "
                                     "float32")
                f.write(y.tobytes())
                count += 1
            if count != len(lengths):
                raise InputError(f"{source}: features of {count} videos, expected {len(lengths)}")
        os.replace(tmp, out / "features.npy")
    finally:
        if tmp.exists():
            tmp.unlink()
    save_npy_atomic(out / "offsets.npy", offsets)
    save_npy_atomic(out / "video_names.npy", np.asarray(video_names).astype(str))
    meta = {"format": STORE_FORMAT, "version": STORE_VERSION, "dtype": dt.name,
            "num_videos": len(lengths), "num_clips": int(offsets[-1]),
            "feature_size": int(feature_size), "source": str(source),
            "finite": True}  # every video was checked above
    write_text_atomic(out / "store.json", json.dumps(meta, indent=2) + "\n")
    return out


def convert_features(config: Config, out_dir: str | Path, dtype: str = "float32") -> Path:
    """`haan data convert`: validate the dataset, stream its features into a store at out_dir and
    write `out_dir/config.toml`: the same config with features_path = out_dir (as given, so it
    resolves from the same working directory as the other paths). Returns the config's path."""
    out = Path(out_dir)
    source = Path(config.features.features_path)
    if source.exists() and out.exists() and out.resolve() == source.resolve():
        raise InputError(f"{out}: is the features_path being converted; choose another --out")
    # The streaming write below checks every video, so an up-front scan would read twice.
    d = load_dataset(config, scan_features=False)
    store = d.features
    write_store(out, d.video_names, store.lengths, store.feature_size,
                (store[i] for i in range(d.num_videos)), dtype=dtype, source=str(source))
    new = dataclasses.replace(config, features=FeaturesSection(features_path=str(out)))
    text = (f"# Written by `haan data convert` from {config.source}: the same settings, with the\n"
            f"# features in the memory-mapped store {out} ({dtype}).\n" + new.to_toml())
    write_text_atomic(out / "config.toml", text)
    return out / "config.toml"


__all__ = [
    "Annotations", "Dataset", "DenseFeatures", "FeatureStore", "FlatStoreFeatures",
    "FolderFeatures", "Instances", "ObjectArrayFeatures", "convert_features", "dataset_info",
    "format_info", "load_annotations", "load_dataset", "open_features", "save_npy_atomic",
    "split_indices", "write_store", "write_text_atomic",
]
