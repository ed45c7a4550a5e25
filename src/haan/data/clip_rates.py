"""The clip rate of each video (clips per second, what turns clip indices into seconds): the
clip-grid files `haan extract` writes beside features, the one rule that settles a video's rate
from what is known of it (`resolve_clip_rates`, used by `haan data import activitynet` and `haan
predict` alike), and the extraction grid an import records for `haan predict` on video files.

The rule, per video. What may be known of its rate:
  given     what the user asks for: `--clips-per-second R`, or T / duration where the command
            takes durations as the rate (`haan data import --clips-per-video`: the annotation
            file's duration, else the clip-grid file's; `haan predict --durations` or
            `--annotations`);
  recorded  its clip-grid file `<id>.json` (`clips_per_second`), the record of how its features
            were extracted;
  fallback  the caller's own (`haan predict`: the run's dataset rate, when all its videos share
            one).
1. Two given sources must agree; if they do not, that is an error naming the video and both
   values.
2. A given rate is used, never replaced by a file: R; else T / duration, except where the
   clip-grid file agrees with it: that file's rate is then used, the exact value of the same grid.
3. A clip-grid file that disagrees with the given rate is a counted warning naming the first
   such video and both rates; the given rate is used.
4. Nothing given: the clip-grid file's rate; else none (NaN), for the caller's fallback or its
   error.
Agreeing: two rates within RATE_TOLERANCE (0.1%) of each other; a rate r and a duration d when
T is within CLIP_SLACK (2) clips of d x r.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from haan import fileio
from haan.data.contract import CONTRACT_KEY, FeatureContract
from haan.data.ground_truth import parse_number
from haan.errors import DataWarning, InputError

# The extraction grid shared by every video, for `haan predict` on video files ([haan]
# clip_grid_path): written only when every video's clip-grid file names the same one.
CLIP_GRID_FILE = "clip_grid.json"
# Two clip rates within 0.1% of each other are the same grid (a rate written with 4 digits).
RATE_TOLERANCE = 1e-3
# A video's clip count may differ from duration x clips per second by rounding and by how the
# extractor treats the last partial clip; more than this many clips is a disagreement.
CLIP_SLACK = 2


def check_clips_per_second(clips_per_second: float | None) -> None:
    """`--clips-per-second R`: a positive finite number, if given."""
    if clips_per_second is not None and not (math.isfinite(clips_per_second)
                                             and clips_per_second > 0):
        raise InputError(f"--clips-per-second {clips_per_second}: expected a positive number")


# ----------------------------------------------------------------------------------------------
# Clip-grid files


def read_grid_file(path: Path, feature_file: Path) -> dict[str, Any]:
    """The clip-grid file beside a feature file: its clips_per_second and duration (if any), the
    extraction grid (fps, clip_frames, stride, streams) where it names one, and its feature
    contract ("contract": a FeatureContract) where `haan extract` wrote one."""
    grid = fileio.read_json(path)
    if not isinstance(grid, dict):
        raise InputError(f"{path}: expected a clip-grid object (clips_per_second, duration, ...)")
    out: dict[str, Any] = {}
    for key in ("clips_per_second", "duration"):
        if grid.get(key) is not None:
            value = parse_number(grid[key])
            if value is None or value <= 0:
                raise InputError(f"{path}: {key!r} must be a positive number, got "
                                 f"{grid[key]!r:.40} (the clip grid of {feature_file.name})")
            out[key] = value
    fps = parse_number(grid.get("fps"))
    frames = [grid.get(key) for key in ("clip_frames", "stride")]
    if (fps is not None and fps > 0 and isinstance(grid.get("streams"), str)
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in frames)):
        out["extraction"] = (fps, frames[0], frames[1], grid["streams"])
    if grid.get(CONTRACT_KEY) is not None:  # how haan extract made the features
        contract = FeatureContract.from_json(grid[CONTRACT_KEY], source=str(path))
        out["contract"] = contract
        out.setdefault("clips_per_second", contract.clips_per_second)
        out.setdefault("extraction", (contract.fps, contract.clip_frames, contract.stride,
                                      contract.streams))
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
# The rule


def _given_sources_agree(names: Sequence[str], sources: Sequence[Path | str], T: np.ndarray,
                         clips_per_second: float, seconds: np.ndarray,
                         durations_option: str) -> None:
    """Rule 1: --clips-per-second and the durations that give the rate, video by video."""
    with np.errstate(invalid="ignore"):
        off = np.abs(T - seconds * clips_per_second) > CLIP_SLACK  # (V,) False where no duration
    if off.any():
        i = int(np.flatnonzero(off)[0])
        raise InputError(f"{sources[i]}: video '{names[i]}' has {int(T[i])} clips, but "
                         f"--clips-per-second {clips_per_second:g} and its duration "
                         f"{seconds[i]:g} s ({durations_option}) make "
                         f"{seconds[i] * clips_per_second:.1f} ({int(off.sum())} such videos); "
                         "give one of them")


def _warn_grid_files_disagree(names: Sequence[str], grid_files: Sequence[Path | None],
                              grid: np.ndarray, given: np.ndarray, disagree: np.ndarray,
                              option: str) -> None:
    """Rule 3: one counted warning, naming the first video and both rates."""
    i = int(np.flatnonzero(disagree)[0])
    grid_file = Path(grid_files[i] if grid_files[i] is not None else f"{names[i]}.json")
    warnings.warn(f"{grid_file.parent}: {int(disagree.sum())} videos have a clip-grid file that "
                  f"disagrees with {option} (first: '{names[i]}': {grid[i]:g} clips/s in "
                  f"{grid_file.name}, {given[i]:.4g} from the option); the option is used",
                  DataWarning, stacklevel=4)


def resolve_clip_rates(names: Sequence[str], sources: Sequence[Path | str],
                       num_clips: np.ndarray, *, clips_per_second: float | None = None,
                       durations: np.ndarray | None = None, durations_option: str = "--durations",
                       grid_rates: np.ndarray | None = None,
                       grid_files: Sequence[Path | None] | None = None) -> np.ndarray:
    """(V,) clips per second of each video by the rule of the module's docstring; NaN where
    nothing is known (the caller's fallback or its error).

    names, sources: (V,) the videos and their feature files, for messages; num_clips: (V,) T;
    clips_per_second: `--clips-per-second R`; durations: (V,) seconds, NaN where unknown, given
    only where the command takes durations as the rate (`durations_option` names it in
    messages); grid_rates: (V,) the clip-grid files' clips per second, NaN where none;
    grid_files: (V,) those files, for messages."""
    check_clips_per_second(clips_per_second)
    T = np.asarray(num_clips, dtype=np.float64)                                      # (V,)
    unknown = np.full(len(T), np.nan)
    seconds = unknown if durations is None else np.asarray(durations, dtype=np.float64)  # (V,)
    grid = unknown if grid_rates is None else np.asarray(grid_rates, dtype=np.float64)   # (V,)
    if clips_per_second is not None:
        _given_sources_agree(names, sources, T, clips_per_second, seconds, durations_option)
        given = np.full(len(T), float(clips_per_second))                             # (V,)
        grid_agrees = np.isclose(grid, given, rtol=RATE_TOLERANCE, atol=0)  # False where NaN
        option = "--clips-per-second"
    else:
        given = T / seconds                                          # (V,) NaN: no duration
        with np.errstate(invalid="ignore"):
            grid_agrees = np.abs(T - seconds * grid) <= CLIP_SLACK  # False where either is NaN
        option = durations_option
    has_given, has_grid = ~np.isnan(given), ~np.isnan(grid)
    disagree = has_given & has_grid & ~grid_agrees
    if disagree.any():
        _warn_grid_files_disagree(names, grid_files or [None] * len(T), grid, given, disagree,
                                  option)
    # R is exact; a clip-grid file's rate is exact where T / duration is rounded.
    use_grid = has_grid & ~disagree & (clips_per_second is None)
    return np.where(use_grid, grid, given)


__all__ = ["CLIP_GRID_FILE", "CLIP_SLACK", "RATE_TOLERANCE", "check_clips_per_second",
           "common_extraction_grid", "read_grid_file", "resolve_clip_rates"]
