"""The paper's five annotation files, read and checked: shapes, agreement with each other and
with the config's class counts, and the label hierarchy.

| file | content |
| `video_names.npy` | (N,) names |
| `labels.npy` | (N,) object array of `[[coarse_id, fine_id], ...]`, one pair per instance |
| `segments.npy` | (N,) object array of `[[start_s, end_s], ...]`, aligned with the labels; `[]` for a video with labels only |
| `sec2clip_ratios.npy` | (N,) clips per second |
| `fine_to_coarse_mappings.json` | `{"<fine_id>": coarse_id}` covering 0..C-1 |

Class names are an optional sixth file (`[haan] class_names_path`): `{"fine": [C names],
"coarse": [G names]}`, names of ids 0..C-1 and 0..G-1; without it, the names are the ids.

Wrong input is an `InputError` naming the file and video; segments that are suspicious but
usable (reversed, empty, starting before 0 s, ending after the video) give one counted
`DataWarning` per kind. `write_annotations` writes the five files (the synthetic generator and the
importers use it).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from haan import fileio
from haan.config import Config
from haan.data.features import load_npy
from haan.errors import DataWarning, InputError

# The [annotations] keys and the file names haan writes for them.
ANNOTATION_FILES = {
    "video_names_path": "video_names.npy",
    "labels_path": "labels.npy",
    "segments_path": "segments.npy",
    "sec2clip_ratios_path": "sec2clip_ratios.npy",
    "fine_to_coarse_mappings_path": "fine_to_coarse_mappings.json",
}
CLASS_NAMES_FILE = "class_names.json"


@dataclass(frozen=True)
class Annotations:
    video_names: np.ndarray      # (N,) str
    labels: list[np.ndarray]     # N items, (n_i, 2) int64 [coarse_id, fine_id]
    segments: list[np.ndarray]   # N items, (n_i, 2) float64 [start_s, end_s]
    sec2clip_ratios: np.ndarray  # (N,) float64
    mapping: dict[int, int]      # fine id -> coarse id, as in the JSON file
    # (N,) bool: False for a video with labels but no segment (video-level labels only)
    has_segments: np.ndarray


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
    names = np.asarray(load_npy(names_path))
    if names.ndim != 1:
        raise InputError(f"{names_path}: shape {names.shape}, expected (N,) video names")
    names = np.array([x.decode() if isinstance(x, bytes) else str(x) for x in names])
    n = len(names)

    def per_video(key: str) -> tuple[Path, np.ndarray]:
        path = _annotation_path(config, key)
        x = load_npy(path)
        if x.ndim == 0 or len(x) != n:
            count = "a scalar" if x.ndim == 0 else f"{len(x)} videos"
            raise InputError(f"{path}: {count}, but {names_path} has {n} videos")
        return path, x

    labels_path, raw_labels = per_video("labels_path")
    segments_path, raw_segments = per_video("segments_path")
    ratios_path, raw_ratios = per_video("sec2clip_ratios_path")

    labels = [_rows(x, np.int64, labels_path, v) for x, v in zip(raw_labels, names)]
    segments = [_rows(x, np.float64, segments_path, v) for x, v in zip(raw_segments, names)]
    counts = np.array([len(x) for x in labels], dtype=np.int64)
    seg_counts = np.array([len(x) for x in segments], dtype=np.int64)
    # No segment at all for a video with labels: video-level labels only (`haan data import
    # labels`); its segments are NaN in memory, so instances stay aligned with their labels.
    has_segments = (seg_counts > 0) | (counts == 0)
    if (has_segments & (counts != seg_counts)).any():
        i = int(np.flatnonzero(has_segments & (counts != seg_counts))[0])
        raise InputError(f"{segments_path}: video '{names[i]}' has {seg_counts[i]} segments, but "
                         f"{labels_path} gives it {counts[i]} labels")
    for i in np.flatnonzero(~has_segments).tolist():  # labels-only videos, a few fields each
        segments[i] = np.full((counts[i], 2), np.nan)

    try:
        ratios = np.asarray(raw_ratios, dtype=np.float64).reshape(n)
    except (TypeError, ValueError):
        raise InputError(f"{ratios_path}: expected {n} numbers (clips per second)") from None
    if not (np.isfinite(ratios) & (ratios > 0)).all():
        i = int(np.flatnonzero(~(np.isfinite(ratios) & (ratios > 0)))[0])
        raise InputError(f"{ratios_path}: video '{names[i]}' has ratio {ratios[i]}, expected a "
                         "positive number (clips per second)")

    return Annotations(names, labels, segments, ratios, read_mapping(config), has_segments)


def read_mapping(config: Config) -> dict[int, int]:
    """fine id -> coarse id, as `fine_to_coarse_mappings.json` gives it (integer ids)."""
    mapping_path = _annotation_path(config, "fine_to_coarse_mappings_path")
    raw_mapping = fileio.read_json(mapping_path)
    if not isinstance(raw_mapping, dict):
        raise InputError(f"{mapping_path}: expected an object {{\"<fine_id>\": coarse_id, ...}}")
    mapping = {}
    for key, value in raw_mapping.items():
        if not (isinstance(key, str) and key.strip().lstrip("-").isdigit()) or (
                isinstance(value, bool) or not isinstance(value, int)):
            raise InputError(f"{mapping_path}: entry {key!r}: {value!r}, expected "
                             "\"<fine_id>\": <coarse_id> with integer ids")
        mapping[int(key)] = value
    return mapping


def load_class_names(config: Config) -> tuple[list[str], list[str]]:
    """(fine names (C,), coarse names (G,)) from `[haan] class_names_path`, or the ids as strings
    when it is ""."""
    num_fine, num_coarse = config.stats.num_fine_classes, config.stats.num_coarse_classes
    if not config.haan.class_names_path:
        return [str(c) for c in range(num_fine)], [str(g) for g in range(num_coarse)]
    path = Path(config.haan.class_names_path)
    if not path.is_file():
        raise InputError(f"{path}: no such file (config [haan] class_names_path)")
    names = fileio.read_json(path)
    if not isinstance(names, dict) or set(names) != {"fine", "coarse"}:
        raise InputError(f'{path}: expected {{"fine": [names], "coarse": [names]}}')
    out = []
    for key, count in (("fine", num_fine), ("coarse", num_coarse)):
        items = names[key]
        if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
            raise InputError(f'{path}: "{key}" must be a list of strings')
        if len(items) != count:
            raise InputError(f'{path}: {len(items)} {key} names, but [stats] num_{key}_classes = '
                             f"{count}")
        if len(set(items)) != len(items):
            twice = next(x for x in items if items.count(x) > 1)  # only on this error path
            raise InputError(f'{path}: the {key} name {twice!r} occurs more than once')
        out.append(items)
    return out[0], out[1]


def annotations_section(folder: str | Path) -> dict[str, str]:
    """The config's [annotations] table for the five files in `folder` (paths as given)."""
    return {key: str(Path(folder) / name) for key, name in ANNOTATION_FILES.items()}


def _object_array(items: list) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    for i, x in enumerate(items):  # element-wise, so numpy never stacks equal-shaped items
        out[i] = x
    return out


def _segment_rows(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64).reshape(-1, 2)


def write_annotations(folder: str | Path, video_names: np.ndarray, labels: list[np.ndarray],
                      segments: list[np.ndarray], sec2clip_ratios: np.ndarray,
                      fine_to_coarse: np.ndarray) -> None:
    """Write the five files into `folder` in the paper's format: labels and segments as object
    arrays of Python lists (`[[coarse_id, fine_id], ...]`, `[[start_s, end_s], ...]`; a video
    whose segments are all NaN has labels only and is written with `[]`)."""
    o = Path(folder)
    fileio.write_npy(o / ANNOTATION_FILES["video_names_path"], video_names)
    fileio.write_npy(o / ANNOTATION_FILES["labels_path"],
                     _object_array([np.asarray(x, dtype=np.int64).tolist() for x in labels]))
    fileio.write_npy(o / ANNOTATION_FILES["segments_path"],
                     _object_array([[] if np.isnan(x).all() else x.tolist()
                                    for x in map(_segment_rows, segments)]))
    fileio.write_npy(o / ANNOTATION_FILES["sec2clip_ratios_path"], sec2clip_ratios)
    mapping = {str(c): int(g) for c, g in enumerate(fine_to_coarse)}
    fileio.write_json(o / ANNOTATION_FILES["fine_to_coarse_mappings_path"], mapping)


def fine_to_coarse_ids(config: Config, mapping: dict[int, int]) -> np.ndarray:
    """(C,) coarse id of each fine id, checked against the config's class counts; `mapping` as
    `read_mapping` gives it (`load_fine_to_coarse` reads it)."""
    path = config.annotations.fine_to_coarse_mappings_path
    num_fine, num_coarse = config.stats.num_fine_classes, config.stats.num_coarse_classes
    fine_ids = np.array(sorted(mapping), dtype=np.int64)
    coarse_ids = np.array([mapping[f] for f in fine_ids.tolist()], dtype=np.int64)
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


def load_fine_to_coarse(config: Config) -> np.ndarray:
    """(C,) coarse id of each fine id from the config's mapping file alone (no other annotation
    file is read): what `haan predict` needs of a dataset to draw its figures."""
    return fine_to_coarse_ids(config, read_mapping(config))


def check_labels(config: Config, a: Annotations, fine_to_coarse: np.ndarray) -> None:
    """Every [coarse, fine] pair inside the class counts and agreeing with the mapping."""
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


def warn_segments(config: Config, a: Annotations, lengths: np.ndarray) -> None:
    """Suspicious segments, one counted warning per kind: reversed, zero-length, starting before
    0 s, ending after the video's last clip. Training and evaluation use them as given."""
    path = config.annotations.segments_path
    counts = np.array([len(x) for x in a.segments], dtype=np.int64)
    if counts.sum() == 0:
        return
    video = np.repeat(np.arange(len(counts)), counts)
    seg = np.concatenate(a.segments)  # (M, 2)
    # One clip of slack: the clip count is the duration times the ratio, rounded.
    video_end = (lengths[video] + 1) / a.sec2clip_ratios[video]
    for bad, what in ((seg[:, 1] < seg[:, 0], "end before they start"),
                      (seg[:, 1] == seg[:, 0], "have zero length"),
                      (seg[:, 0] < 0, "start before 0 s"),
                      (seg[:, 1] > video_end, "end after the video's last clip")):
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            warnings.warn(f"{path}: {int(bad.sum())} segments {what} (first: video "
                          f"'{a.video_names[video[j]]}' [{seg[j, 0]:g}, {seg[j, 1]:g}] s, "
                          f"{lengths[video[j]]} clips at {a.sec2clip_ratios[video[j]]:g} "
                          "clips/s)", DataWarning, stacklevel=3)


__all__ = ["ANNOTATION_FILES", "CLASS_NAMES_FILE", "Annotations", "annotations_section",
           "check_labels", "fine_to_coarse_ids", "load_annotations", "load_class_names",
           "load_fine_to_coarse", "read_mapping", "warn_segments", "write_annotations"]
