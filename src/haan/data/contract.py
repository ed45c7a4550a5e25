"""The feature contract: how a set of clip features was made, so that a run's features and the
features (or videos) given to it later can be checked to be of the same kind.

    contract = FeatureContract(extractor="haan-i3d", streams="rgb", fps=25.0, clip_frames=16,
                               stride=16, feature_dim=1024, weights_sha256={"rgb": "9f86..."})
    contract.to_json()        # the "contract" object of a clip-grid file, a run, `data info`
    FeatureContract.from_json(data, source="feats/a.json")   # checked; InputError names the key
    differences(run_contract, input_contract)                # [(field, run's value, input's)]

`haan extract` writes it into each video's `<id>.json` under the key "contract"; `haan data
import` and `haan train` record it in the dataset and the run; `haan predict` compares. A weights
entry is the SHA-256 of the weights file a stream was made with (the source file, before any
conversion), or "random" for `--random-weights`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from haan.errors import InputError

CONTRACT_KEY = "contract"  # the key of the contract in a clip-grid file or a run's record
STREAMS = ("rgb", "rgb+flow")
FIELDS = ("extractor", "weights_sha256", "streams", "fps", "clip_frames", "stride", "feature_dim",
          "clips_per_second")


@dataclass(frozen=True)
class FeatureContract:
    extractor: str                     # the network and its code, e.g. "haan-i3d"
    streams: str                       # "rgb" or "rgb+flow"
    fps: float                         # frames per second the video was resampled to
    clip_frames: int                   # frames per clip
    stride: int                        # frames between clip starts
    feature_dim: int                   # D of the (T, D) features
    # stream -> SHA-256 hex of its weights file, or "random"; read-only (a copy is kept)
    weights_sha256: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.streams not in STREAMS:
            raise InputError(f"streams {self.streams!r}: expected one of {', '.join(STREAMS)}")
        if not (math.isfinite(self.fps) and self.fps > 0):
            raise InputError(f"fps {self.fps}: expected a positive number")
        for name in ("clip_frames", "stride", "feature_dim"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} {getattr(self, name)}: expected a positive integer")
        expected = set(self.streams.split("+"))
        if set(self.weights_sha256) != expected:
            raise InputError(f"weights_sha256 names {sorted(self.weights_sha256)}, expected one "
                             f"entry per stream: {sorted(expected)}")
        object.__setattr__(self, "weights_sha256", dict(self.weights_sha256))

    @property
    def clips_per_second(self) -> float:
        return self.fps / self.stride

    def to_json(self) -> dict[str, Any]:
        return {"extractor": self.extractor, "weights_sha256": dict(self.weights_sha256),
                "streams": self.streams, "fps": float(self.fps), "clip_frames": self.clip_frames,
                "stride": self.stride, "feature_dim": self.feature_dim,
                "clips_per_second": self.clips_per_second}

    @classmethod
    def from_json(cls, data: Any, source: str) -> FeatureContract:
        """The contract of a JSON object, checked: one InputError line naming `source` and the
        key when a key is missing or has the wrong type."""
        if not isinstance(data, dict):
            raise InputError(f"{source}: the feature contract must be a JSON object")
        kinds = {"extractor": str, "weights_sha256": dict, "streams": str, "fps": (int, float),
                 "clip_frames": int, "stride": int, "feature_dim": int}
        for key, kind in kinds.items():
            if key not in data:
                raise InputError(f"{source}: the feature contract has no '{key}'")
            if isinstance(data[key], bool) or not isinstance(data[key], kind):
                raise InputError(f"{source}: feature contract '{key}' is {data[key]!r}")
        if not all(isinstance(k, str) and isinstance(v, str)
                   for k, v in data["weights_sha256"].items()):
            raise InputError(f"{source}: feature contract 'weights_sha256' must map stream names "
                             "to SHA-256 strings")
        try:
            return cls(data["extractor"], data["streams"], float(data["fps"]), data["clip_frames"],
                       data["stride"], data["feature_dim"], data["weights_sha256"])
        except InputError as exc:
            raise InputError(f"{source}: feature contract {exc}") from None


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=0.0)
    return a == b


def differences(run: FeatureContract, given: FeatureContract,
                fields: tuple[str, ...] = FIELDS) -> list[tuple[str, Any, Any]]:
    """(field, the run's value, the input's value) for each of `fields` that differs, in the
    order of `fields`."""
    out = []
    for name in fields:
        a, b = getattr(run, name), getattr(given, name)
        if not _same(a, b):
            out.append((name, a, b))
    return out


def mismatch_message(source: str, difference: tuple[str, Any, Any]) -> str:
    """One line for one difference: names the field, the run's value and the input's."""
    name, run_value, given_value = difference
    return (f"{source}: feature contract: {name} is {given_value!r} here but the run was "
            f"trained on {run_value!r}")


__all__ = ["CONTRACT_KEY", "FIELDS", "FeatureContract", "differences", "mismatch_message"]
