"""The clips per second of each feature video `haan predict` scores: `haan.data.clip_rates`' rule
(the one `haan data import` follows) over its clip-grid file, `--clips-per-second` and the
durations of `--durations` / `--annotations`, then the run's dataset rate as the fallback
(`haan.data.dataset_card.dataset_rate`, re-exported here)."""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np

from haan.config import Config
from haan.data.clip_rates import resolve_clip_rates
from haan.data.dataset_card import dataset_rate
from haan.data.ground_truth import lookup
from haan.errors import InputError
from haan.predict.inputs import FeatureVideo


def clip_rates(videos: Sequence[FeatureVideo], config: Config,
               clips_per_second: float | None = None,
               durations: Mapping[str, float] | None = None,
               durations_source: str = "--durations",
               durations_option: str = "--durations",
               training_rate: Callable[[], tuple[float | None, str]] | None = None
               ) -> np.ndarray:
    """(V,) clips per second of each video by the rules of haan.predict's docstring;
    `durations_source` (the file) and `durations_option` name the durations in messages.
    `training_rate`: the fallback, the training dataset's one rate or None and why
    (`Predictor.dataset_rate()`); by default read from the config's dataset files."""
    seconds = None
    if durations is not None:
        seconds = np.array([np.nan if (d := lookup(durations, v.name)) is None else d
                            for v in videos], dtype=np.float64)  # (V,) NaN: not listed
    rates = resolve_clip_rates(
        [v.name for v in videos], [v.source for v in videos],
        np.array([v.num_clips for v in videos]), clips_per_second=clips_per_second,
        durations=seconds, durations_option=durations_option,
        grid_rates=np.array([np.nan if v.grid_rate is None else v.grid_rate for v in videos]),
        grid_files=[v.grid_file for v in videos])                                # (V,)
    missing = np.flatnonzero(np.isnan(rates))
    if len(missing):
        rate, why = training_rate() if training_rate is not None else dataset_rate(config)
        if rate is None:
            v = videos[int(missing[0])]
            in_durations = f", it is not in {durations_source}" if durations is not None else ""
            raise InputError(
                f"{v.source}: no clip rate for video '{v.name}' ({len(missing)} such videos): no "
                f"clip-grid file {v.name}.json beside it, no --clips-per-second{in_durations}, and "
                f"{why}; give --clips-per-second R (e.g. 25 fps / 16 frames = 1.5625) or "
                "--durations FILE.json")
        rates[missing] = rate
    return rates


__all__ = ["clip_rates", "dataset_rate"]
