"""haan.data.clip_rates: the one clip-rate rule of `haan data import` and `haan predict`, case by
case on one video (T = 100 clips): what is given (--clips-per-second, a duration), what the
clip-grid file records, and which rate wins, with the warning or the error."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from haan.data.clip_rates import resolve_clip_rates
from haan.errors import DataWarning, InputError

T = 100
NAN = math.nan
# (case, --clips-per-second, duration (s) given as the rate, clip-grid rate) -> rate, or
# "warn" (the given rate used, a counted warning) or "error".
CASES = [
    ("nothing known: none", None, None, None, NAN, None),
    ("the clip-grid file alone", None, None, 1.5, 1.5, None),
    ("--clips-per-second alone", 2.0, None, None, 2.0, None),
    ("T / duration alone", None, 50.0, None, 2.0, None),
    ("R and a grid within 0.1%: R", 2.0, None, 2.001, 2.0, None),
    ("R and a grid beyond 0.1%: R, warned", 2.0, None, 2.003, 2.0, "warn"),
    ("R and another grid: R, warned", 2.0, None, 1.5, 2.0, "warn"),
    ("a duration and a grid within 2 clips: the grid's exact rate", None, 66.0, 1.5, 1.5, None),
    ("a duration and a grid beyond 2 clips: T / duration, warned", None, 50.0, 1.5, 2.0, "warn"),
    ("R and a duration within 2 clips: R", 2.0, 51.0, None, 2.0, None),
    ("R and a duration beyond 2 clips: an error", 2.0, 52.0, None, None, "error"),
    ("R and a duration agree, the grid does not: R, warned", 2.0, 50.0, 1.5, 2.0, "warn"),
]


@pytest.mark.parametrize("case, clips_per_second, duration, grid_rate, rate, outcome", CASES,
                         ids=[c[0] for c in CASES])
def test_the_rule(case, clips_per_second, duration, grid_rate, rate, outcome):
    def resolve() -> np.ndarray:
        return resolve_clip_rates(
            ["v"], [Path("f/v.npy")], np.array([T]), clips_per_second=clips_per_second,
            durations=None if duration is None else np.array([duration]),
            grid_rates=np.array([NAN if grid_rate is None else grid_rate]),
            grid_files=[Path("f/v.json")])

    if outcome == "error":
        with pytest.raises(InputError):
            resolve()
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = resolve()
    assert [issubclass(w.category, DataWarning) for w in caught] == (
        [True] if outcome == "warn" else [])
    np.testing.assert_array_equal(got, [rate])


def test_messages_name_the_video_and_both_values():
    names = ["a", "b", "c"]
    sources = [Path("f") / f"{n}.npy" for n in names]
    grid_files = [Path("f") / f"{n}.json" for n in names]
    T3 = np.array([100, 60, 30])
    with pytest.warns(DataWarning) as caught:
        rates = resolve_clip_rates(names, sources, T3, durations=np.array([50.0, 40.0, NAN]),
                                   durations_option="--clips-per-video",
                                   grid_rates=np.array([1.5, 1.25, 1.0]), grid_files=grid_files)
    assert rates.tolist() == [2.0, 1.5, 1.0]  # T / duration, T / duration, the grid file's
    assert [str(w.message) for w in caught] == [
        "f: 2 videos have a clip-grid file that disagrees with --clips-per-video (first: 'a': "
        "1.5 clips/s in a.json, 2 from the option); the option is used"]
    with pytest.raises(InputError) as err:
        resolve_clip_rates(names, sources, T3, clips_per_second=1.5,
                           durations=np.array([NAN, 60.0, 10.0]), durations_option="--durations")
    assert str(err.value) == (
        "f/b.npy: video 'b' has 60 clips, but --clips-per-second 1.5 and its duration 60 s "
        "(--durations) make 90.0 (2 such videos); give one of them")
    with pytest.raises(InputError, match=r"^--clips-per-second -1.0: expected a positive number$"):
        resolve_clip_rates(names, sources, T3, clips_per_second=-1.0)
