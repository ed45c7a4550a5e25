"""Per-video feature files, the layout other datasets ship and `haan predict` reads: `<id>.npy` (a
(T, D) array) or `<id>.csv` (one row per clip, an optional header line), found with or without a
`v_` prefix, with the clip-grid file `<id>.json` beside each where there is one; their shape read
from the header alone, their features read whole.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from haan import fileio
from haan.data.clip_rates import read_grid_file
from haan.data.features import load_npy, npy_header
from haan.data.ground_truth import id_variants, parse_number
from haan.errors import InputError

FEATURE_EXTENSIONS = (".npy", ".csv")


def find_feature_file(folder: Path, files: set[str], name: str) -> Path | None:
    """`<id>.npy` or `<id>.csv` among `files` (the names in `folder`), with or without a `v_`
    prefix; None when there is none."""
    for stem in id_variants(name):
        for ext in FEATURE_EXTENSIONS:
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
    if lines and any(parse_number(x) is None for x in lines[0].split(",")):
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


@dataclass(frozen=True)
class FeatureFiles:
    """The feature files of a list of videos, in its order."""

    paths: list[Path]           # (N,) one per video
    lengths: np.ndarray         # (N,) int64 T
    feature_dim: int            # D
    grids: list[dict]           # (N,) their clip-grid files (read_grid_file), {} where none


def find_feature_files(folder: Path, names: Sequence[str], feature_dim: int | None,
                       progress: bool = False) -> FeatureFiles:
    """Each video's feature file in `folder`, its shape (headers only) and its clip-grid file;
    every video has one, with clips and D values per clip (`feature_dim`, else the first file's)."""
    from tqdm import tqdm

    files = set(os.listdir(folder))
    paths = [find_feature_file(folder, files, name) for name in names]
    missing = [name for name, p in zip(names, paths) if p is None]
    if missing:
        raise InputError(f"{folder}: no features for {len(missing)} of {len(names)} videos "
                         f"(first: '{missing[0]}': looked for {missing[0]}.npy, .csv, with and "
                         "without a v_ prefix)")
    shapes = np.array([feature_shape(p) for p in tqdm(paths, desc="feature shapes", unit="video",
                                                      leave=False, disable=not progress)],
                      dtype=np.int64).reshape(-1, 2)  # (N, 2) [T, D]
    lengths, dims = shapes[:, 0], shapes[:, 1]
    if (lengths == 0).any():
        i = int(np.flatnonzero(lengths == 0)[0])
        raise InputError(f"{paths[i]}: no clips (video '{names[i]}')")
    D = feature_dim if feature_dim is not None else int(dims[0])
    if (dims != D).any():
        i = int(np.flatnonzero(dims != D)[0])
        expected = f"--feature-dim {D}" if feature_dim is not None else f"{paths[0].name} has {D}"
        raise InputError(f"{paths[i]}: {dims[i]} values per clip, but {expected} "
                         f"({int((dims != D).sum())} such videos)")
    grids = [read_grid_file(p.with_suffix(".json"), p) if p.with_suffix(".json").name in files
             else {} for p in paths]
    return FeatureFiles(paths, lengths, D, grids)


__all__ = ["FEATURE_EXTENSIONS", "FeatureFiles", "feature_shape", "find_feature_file",
           "find_feature_files", "read_features"]
