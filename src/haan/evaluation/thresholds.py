"""Per-class score thresholds for deployment: the file `haan diagnose` chooses (best F1 per class on
one subset) and `haan predict --thresholds` applies.

    {"tiou": 0.5, "subset": "validation",
     "thresholds": {"BaseballPitch": 0.41, "Billiards": 0.27, ...},
     "default": 0.35}

A detection of class c is kept when `score >= thresholds[c]`. A class the file does not list gets
`default`: a number is its threshold, null keeps every detection of it. "tiou" (the tIoU the
thresholds were chosen at, in (0, 1]) and "subset" (string or null) record where they come from.
Any other key is an error (a typo would otherwise be ignored silently). Thresholds are written
with Python's shortest round-trip repr, so a file read back gives the very floats chosen.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from haan.errors import InputError
from haan.fileio import read_json, write_json

KEYS = ("tiou", "subset", "thresholds", "default")


@dataclass(frozen=True)
class ThresholdsFile:
    tiou: float                        # the tIoU the thresholds were chosen at
    subset: str | None                 # the subset they were chosen on
    thresholds: dict[str, float]       # class name -> keep score >= threshold
    default: float | None = None       # classes not listed: threshold, or None: keep them all
    source: str = field(default="thresholds", compare=False)   # where it was read, for messages

    def to_dict(self) -> dict[str, Any]:
        return {"tiou": self.tiou, "subset": self.subset, "thresholds": dict(self.thresholds),
                "default": self.default}

    def min_scores(self, class_names: Sequence[str]) -> np.ndarray:
        """The threshold of each class: (C,) float64, -inf where every detection is kept. A class
        of the file that is not in `class_names` is an InputError naming it (a file chosen for
        another model or dataset)."""
        index = {name: c for c, name in enumerate(class_names)}
        unknown = [name for name in self.thresholds if name not in index]
        if unknown:
            shown = ", ".join(json.dumps(n) for n in unknown[:3])
            more = f" (and {len(unknown) - 3} more)" if len(unknown) > 3 else ""
            raise InputError(f"{self.source}: thresholds: {shown}{more} not among the "
                             f"{len(class_names)} classes of the model (e.g. "
                             f"{json.dumps(class_names[0]) if class_names else 'none'})")
        fill = -np.inf if self.default is None else self.default
        out = np.full(len(class_names), fill, dtype=np.float64)            # (C,)
        for name, value in self.thresholds.items():
            out[index[name]] = value
        return out


def _finite(x: Any) -> bool:
    return type(x) in (int, float) and math.isfinite(x)


def parse_thresholds(data: Any, source: str) -> ThresholdsFile:
    """A thresholds file's JSON value, validated: InputError naming `source` and the key."""
    if not isinstance(data, dict):
        raise InputError(f'{source}: expected a JSON object {{"tiou": t, "subset": s, '
                         '"thresholds": {class: score}, "default": score or null}')
    extra = [k for k in data if k not in KEYS]
    if extra:
        raise InputError(f"{source}: unknown key {json.dumps(extra[0])} (keys: {', '.join(KEYS)})")
    missing = [k for k in ("tiou", "thresholds") if k not in data]
    if missing:
        raise InputError(f"{source}: missing key {json.dumps(missing[0])}")
    tiou = data["tiou"]
    if not _finite(tiou) or not 0.0 < tiou <= 1.0:
        raise InputError(f'{source}: "tiou" must be a number in (0, 1], got {json.dumps(tiou)}')
    subset = data.get("subset")
    if subset is not None and type(subset) is not str:
        raise InputError(f'{source}: "subset" must be a string or null, got {json.dumps(subset)}')
    table = data["thresholds"]
    if not isinstance(table, dict):
        raise InputError(f'{source}: "thresholds" must be an object mapping class names to scores')
    for name, value in table.items():
        if not _finite(value):
            raise InputError(f'{source}: thresholds[{json.dumps(name)}] must be a finite number, '
                             f"got {json.dumps(value)}")
    default = data.get("default")
    if default is not None and not _finite(default):
        raise InputError(f'{source}: "default" must be a finite number or null, got '
                         f"{json.dumps(default)}")
    return ThresholdsFile(float(tiou), subset, {k: float(v) for k, v in table.items()},
                          None if default is None else float(default), source)


def read_thresholds(path: str | Path) -> ThresholdsFile:
    """Read and validate a thresholds file."""
    return parse_thresholds(read_json(path), str(path))


def write_thresholds(path: str | Path, thresholds: ThresholdsFile) -> None:
    """Write a thresholds file (through `haan.fileio`: atomic, 0644). The caller decides whether
    an existing file may be replaced (`fileio.refuse_to_replace`)."""
    write_json(path, thresholds.to_dict())


def threshold_mapping(thresholds: ThresholdsFile | Mapping[str, float]) -> ThresholdsFile:
    """A plain {class: threshold} mapping as a ThresholdsFile without a default (tIoU and subset
    unknown: NaN, None)."""
    if isinstance(thresholds, ThresholdsFile):
        return thresholds
    return ThresholdsFile(float("nan"), None, {str(k): float(v) for k, v in thresholds.items()})


__all__ = ["KEYS", "ThresholdsFile", "parse_thresholds", "read_thresholds", "threshold_mapping",
           "write_thresholds"]
