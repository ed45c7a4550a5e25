"""The settings of a diagnosis: DETAD's for THUMOS14 and for ActivityNet, read from its scripts'
`main()`, and haan's own.

Bins follow `pandas.cut(values, edges, include_lowest=True)` as DETAD uses it: (lo, hi], the first
one [lo, hi].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHARACTERISTICS = ("coverage", "length", "num-instances")
ERROR_TYPES = ("true positive", "double detection", "wrong label", "localization", "confusion",
               "background")


@dataclass(frozen=True)
class Bins:
    edges: tuple[float, ...]       # (K+1,) ascending
    names: tuple[str, ...]         # (K,)

    def __post_init__(self):
        if len(self.edges) != len(self.names) + 1 or list(self.edges) != sorted(self.edges):
            raise ValueError("Bins needs K+1 ascending edges for K names")


@dataclass(frozen=True)
class Protocol:
    name: str
    tiou_thresholds: tuple[float, ...] | None   # None: the user's (or ActivityNet's default)
    bins: dict                                   # characteristic -> Bins
    # the false-positive analysis keeps each class's top limit_factor x (its ground truths)
    limit_factor: int = 10
    # below a tIoU threshold but at least this: localization or confusion, not background
    min_tiou: float = 0.1
    # false-negative analysis: matches whose normalized precision is at most this are undone
    fn_min_normalized_precision: float = 0.0
    # DETAD's exact quirks (see docs/diagnose.md): ties by input order, characteristics read from
    # the annotations, ground truths with coverage > 1 or length <= 0 dropped, N over the subset's
    # labels, sensitivity filter across all thresholds, a video without ground truth reusing the
    # previous video's ground truth in the error typing
    detad: bool = False


_XS_XL = ("XS", "S", "M", "L", "XL")
THUMOS14_BINS = {
    "coverage": Bins((0, 0.02, 0.04, 0.06, 0.08, 1), _XS_XL),
    "length": Bins((0, 3, 6, 12, 18, np.inf), _XS_XL),
    "num-instances": Bins((-1, 1, 40, 80, np.inf), ("XS", "S", "M", "L")),
}
ACTIVITYNET_BINS = {
    "coverage": Bins(tuple(float(e) for e in np.linspace(0, 1.0, 6)), _XS_XL),   # 0.6000000000000001
    "length": Bins((0, 30, 60, 120, 180, np.inf), _XS_XL),
    "num-instances": Bins((-1, 1, 4, 8, np.inf), ("XS", "S", "M", "L")),
}
# haan's: the union of DETAD's two settings, so that short (FineGym) and long actions both spread
# over several bins.
HAAN_BINS = {
    "coverage": Bins((0, 0.02, 0.04, 0.06, 0.08, 0.2, 0.4, 0.6, 0.8, 1.0),
                     ("<=2%", "2-4%", "4-6%", "6-8%", "8-20%", "20-40%", "40-60%", "60-80%",
                      "80-100%")),
    "length": Bins((0, 3, 6, 12, 18, 30, 60, 120, 180, np.inf),
                   ("<=3s", "3-6s", "6-12s", "12-18s", "18-30s", "30-60s", "1-2min", "2-3min",
                    ">3min")),
    "num-instances": Bins((-1, 1, 4, 8, 40, 80, np.inf),
                          ("1", "2-4", "5-8", "9-40", "41-80", ">80")),
}

PROTOCOLS = {
    "haan": Protocol("haan", None, HAAN_BINS),
    "detad-thumos14": Protocol("detad-thumos14", (0.5,), THUMOS14_BINS,
                               fn_min_normalized_precision=0.05, detad=True),
    "detad-activitynet": Protocol("detad-activitynet",
                                  tuple(float(t) for t in np.linspace(0.5, 0.95, 10)),
                                  ACTIVITYNET_BINS, fn_min_normalized_precision=0.05, detad=True),
}


def bin_index(values: np.ndarray, bins: Bins) -> np.ndarray:
    """Bin of each value (N,) -> (N,) int, -1 outside the edges (or NaN); pandas.cut's
    (lo, hi] bins with the first one closed, as DETAD cuts."""
    edges = np.asarray(bins.edges, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    idx = np.searchsorted(edges, values, side="left") - 1      # (N,) lo < v <= hi
    idx[values == edges[0]] = 0
    idx[(values < edges[0]) | (values > edges[-1]) | np.isnan(values)] = -1
    return idx
