"""What a trained model must know of its training dataset to score new videos: the class names,
the class hierarchy, the clip rate its videos share and the clip grid its features were extracted
on. `haan train` records it in run.json under "dataset" (`dataset_card(config)`), so that a run
folder predicts on its own, on another machine or after the dataset has moved; `haan predict`
reads it back (`read_run_card`). Runs recorded before the card existed read the same facts from
their dataset's files (`dataset_rate`, `recorded_grid`, and `haan.data.annotations`).

    card = dataset_card(config)          # from the dataset's files, at training
    record["dataset"] = card.to_json()   # in run.json
    card = read_run_card(run_dir)        # None: a run recorded before the card existed
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from haan import fileio
from haan.config import Config
from haan.data.annotations import load_class_names, load_fine_to_coarse
from haan.data.features import load_npy
from haan.errors import InputError

RUN_CARD_KEY = "dataset"  # run.json's key of the card
# the keys of a recorded extraction grid (clip_grid.json, and the card's "clip_grid")
GRID_KINDS: dict[str, Any] = {"fps": (int, float), "clip_frames": int, "stride": int,
                              "streams": str}


@dataclass(frozen=True)
class DatasetCard:
    fine_names: tuple[str, ...]        # (C,) the ids as strings where the dataset names none
    coarse_names: tuple[str, ...]      # (G,)
    fine_to_coarse: tuple[int, ...]    # (C,) coarse id of each fine id
    clips_per_second: float | None     # the rate every video shares; None: several, or unknown
    # GRID_KINDS' keys -> values: the grid `haan data import` recorded; None: none recorded.
    # Read-only (a copy is kept).
    clip_grid: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if len(self.fine_to_coarse) != len(self.fine_names):
            raise InputError(f"{len(self.fine_to_coarse)} coarse ids for "
                             f"{len(self.fine_names)} fine classes")
        if any(not 0 <= g < len(self.coarse_names) for g in self.fine_to_coarse):
            raise InputError(f"a coarse id outside [0, {len(self.coarse_names)})")
        if self.clips_per_second is not None and not (math.isfinite(self.clips_per_second)
                                                      and self.clips_per_second > 0):
            raise InputError(f"clips_per_second {self.clips_per_second}: expected a positive "
                             "number or null")
        if self.clip_grid is not None:
            object.__setattr__(self, "clip_grid", check_grid(self.clip_grid, "clip_grid"))

    def to_json(self) -> dict[str, Any]:
        return {"fine_names": list(self.fine_names), "coarse_names": list(self.coarse_names),
                "fine_to_coarse": list(self.fine_to_coarse),
                "clips_per_second": self.clips_per_second,
                "clip_grid": None if self.clip_grid is None else dict(self.clip_grid)}

    @classmethod
    def from_json(cls, data: Any, source: str) -> DatasetCard:
        """The card of a JSON object, checked: one InputError line naming `source` and the key."""
        if not isinstance(data, dict):
            raise InputError(f"{source}: expected a JSON object")
        kinds = {"fine_names": list, "coarse_names": list, "fine_to_coarse": list,
                 "clips_per_second": (int, float, type(None)), "clip_grid": (dict, type(None))}
        for key, kind in kinds.items():
            if key not in data:
                raise InputError(f"{source}: no '{key}'")
            if isinstance(data[key], bool) or not isinstance(data[key], kind):
                raise InputError(f"{source}: '{key}' is {data[key]!r}")
        for key, kind in (("fine_names", str), ("coarse_names", str), ("fine_to_coarse", int)):
            if not all(isinstance(x, kind) and not isinstance(x, bool) for x in data[key]):
                raise InputError(f"{source}: '{key}' must be a list of {kind.__name__}")
        rate = data["clips_per_second"]
        try:
            return cls(tuple(data["fine_names"]), tuple(data["coarse_names"]),
                       tuple(data["fine_to_coarse"]), None if rate is None else float(rate),
                       data["clip_grid"])
        except InputError as exc:
            raise InputError(f"{source}: {exc}") from None


def check_grid(grid: Any, source: str, note: str = "") -> dict[str, Any]:
    """GRID_KINDS' entries of a recorded grid, checked: one InputError line naming `source`."""
    if not isinstance(grid, dict) or any(
            isinstance(grid.get(k), bool) or not isinstance(grid.get(k), t)
            for k, t in GRID_KINDS.items()):
        raise InputError(f"{source}: expected {{\"fps\", \"clip_frames\", \"stride\", "
                         f"\"streams\"}}{note}")
    return {k: grid[k] for k in GRID_KINDS}


def dataset_rate(config: Config) -> tuple[float | None, str]:
    """The clips per second of every video of the config's dataset, when they all share one;
    else None and why (for an error message)."""
    path = Path(config.annotations.sec2clip_ratios_path)
    if not path.is_file():
        return None, f"the run's dataset rates are not there ({path})"
    ratios = np.asarray(load_npy(path), dtype=np.float64).reshape(-1)
    distinct = np.unique(ratios)
    if len(distinct) == 1 and distinct[0] > 0:
        return float(distinct[0]), ""
    return None, f"the run's dataset has {len(distinct)} clip rates ({path})"


def recorded_grid(config: Config) -> dict[str, Any] | None:
    """The extraction grid of the config's dataset (`[haan] clip_grid_path`), None if none."""
    path = config.haan.clip_grid_path
    if not path:
        return None
    return check_grid(fileio.read_json(path), path, " (config [haan] clip_grid_path)")


def dataset_card(config: Config) -> DatasetCard:
    """The card of the config's dataset, from its files (which training has already checked)."""
    fine_names, coarse_names = load_class_names(config)
    rate, _ = dataset_rate(config)
    return DatasetCard(tuple(fine_names), tuple(coarse_names),
                       tuple(int(g) for g in load_fine_to_coarse(config).tolist()), rate,
                       recorded_grid(config))


def read_run_card(run_dir: str | Path) -> DatasetCard | None:
    """The card a run folder's run.json records; None where it has none (no run.json, or a run
    recorded before the card existed)."""
    path = Path(run_dir) / "run.json"
    if not path.is_file():
        return None
    data = fileio.read_json(path)
    if not isinstance(data, dict) or data.get(RUN_CARD_KEY) is None:
        return None
    return DatasetCard.from_json(data[RUN_CARD_KEY], source=f"{path}: {RUN_CARD_KEY}")


__all__ = ["DatasetCard", "GRID_KINDS", "RUN_CARD_KEY", "check_grid", "dataset_card",
           "dataset_rate", "read_run_card", "recorded_grid"]
