"""`haan predict` on feature files: are they of the kind the run was trained on? The run's
feature contract (`Predictor.contract`: run.json's "feature_contract", haan.data.contract)
against each input's dimension and clip rate, and, where the input's clip-grid file carries a
contract of its own, every field of it. A mismatch is one line naming the field, the run's
value and the input's; `--ignore-contract` turns a mismatch of anything but the dimension
(which no model can take) into a warning. A run without a contract: a warning that it is
unknown, and no check.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from haan.data.clip_rates import RATE_TOLERANCE, read_grid_file
from haan.data.contract import FeatureContract, differences, mismatch_message
from haan.errors import DataWarning, InputError
from haan.predict.inputs import FeatureVideo


def _input_differences(run: FeatureContract, video: FeatureVideo,
                       rate: float) -> list[tuple[str, Any, Any]]:
    """(field, the run's value, the input's) for one input: its D and rate first, then the other
    fields of its own contract where its clip-grid file has one."""
    found = []
    if video.feature_size != run.feature_dim:
        found.append(("feature_dim", run.feature_dim, video.feature_size))
    if not math.isclose(rate, run.clips_per_second, rel_tol=RATE_TOLERANCE):
        found.append(("clips_per_second", run.clips_per_second, rate))
    if video.grid_file.is_file():
        own = read_grid_file(video.grid_file, video.source).get("contract")
        if own is not None:
            named = {field for field, _, _ in found}
            found += [d for d in differences(run, own)
                      if d[0] not in named and d[0] not in ("feature_dim", "clips_per_second")]
    return found


def check_feature_contract(videos: Sequence[FeatureVideo], rates: np.ndarray,
                           contract: FeatureContract | None, run: Path,
                           ignore: bool = False) -> None:
    """Every feature input against the run's contract (see the module's docstring)."""
    if not videos:
        return
    if contract is None:
        warnings.warn(f"{run}: the run records no feature contract (trained before haan recorded "
                      "one, or on features haan extract did not make): the inputs' extraction "
                      "cannot be checked, only their dimension", DataWarning, stacklevel=3)
        return
    mismatches = [(v, found) for v, rate in zip(videos, rates.tolist())
                  if (found := _input_differences(contract, v, rate))]  # per video, a few fields
    if not mismatches:
        return
    video, found = next(((v, f) for v, f in mismatches if f[0][0] == "feature_dim"),
                        mismatches[0])
    where = f"{video.source}" + ("" if video.source.stem == video.name else f" '{video.name}'")
    line = (mismatch_message(where, found[0])
            + (f" ({len(mismatches)} videos differ)" if len(mismatches) > 1 else ""))
    if found[0][0] == "feature_dim":
        raise InputError(line)  # no flag makes a model take another dimension
    if not ignore:
        raise InputError(f"{line}; --ignore-contract predicts anyway")
    warnings.warn(f"{line}; predicting anyway (--ignore-contract)", DataWarning, stacklevel=3)


__all__ = ["check_feature_contract"]
