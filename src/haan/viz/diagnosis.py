"""The figures of `haan diagnose`, each drawn from its section of diagnosis.json: the error types
by rank slice and the gain of removing each (`plot_false_positives`), the miss rate per bin
(`plot_false_negatives`), AP_N per bin (`plot_sensitivity`), and the label errors split by the
hierarchy with the confusion matrix grouped by coarse class (`plot_hierarchy`).

Percent on every axis; the sections hold fractions. Values are averaged over the tIoU thresholds.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from haan.viz.figures import save_figure, shorten

# DETAD's colours for its six error types, so that the figures read alike.
ERROR_COLORS = ("#33a02c", "#b2df8a", "#1f78b4", "#fb9a99", "#e31a1c", "#a6cee3")
CHARACTERISTIC_COLORS = {"coverage": "#386cb0", "length": "#f0027f", "num-instances": "#bf5b17"}
CHARACTERISTICS = ("coverage", "length", "num-instances")

__all__ = ["plot_false_negatives", "plot_false_positives", "plot_hierarchy", "plot_sensitivity",
           "save_figure"]


def plot_false_positives(section: dict) -> Figure:
    """Stacked error shares for each rank slice (1G..10G) and all the top predictions, beside the
    average-mAP_N gained by removing each error type."""
    types = list(section["all"])
    rows = section["rank_slices"] + [{"slice": "all", **section["all"]}]
    fig = Figure(figsize=(11, 4.4), layout="constrained")
    share_ax, gain_ax = fig.subplots(1, 2, width_ratios=[3, 2])
    x = np.arange(len(rows))
    bottom = np.zeros(len(rows))
    for k, name in enumerate(types):
        values = np.array([100 * np.nan_to_num(r[name]["average"]) for r in rows])
        share_ax.bar(x, values, bottom=bottom, color=ERROR_COLORS[k], label=name, width=0.8)
        bottom += values
    share_ax.set_xticks(x, [r["slice"] for r in rows])
    share_ax.set_xlabel("top predictions of each class (G = its ground-truth count)")
    share_ax.set_ylabel("share of predictions (%)")
    share_ax.set_ylim(0, 100)
    share_ax.legend(fontsize=7, ncol=3, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    thr = section["tiou_thresholds"]
    at = f"tIoU {thr[0]:g}" if len(thr) == 1 else f"averaged over {len(thr)} tIoU thresholds"
    share_ax.set_title(f"false-positive profile ({at})", fontsize=9, loc="left", pad=40)
    gains = [(name, 100 * v["gain"]) for name, v in section["removal"].items()]
    bars = gain_ax.bar(np.arange(len(gains)), [g for _, g in gains], color=ERROR_COLORS[1:])
    for bar, (_, g) in zip(bars, gains):
        gain_ax.annotate(f"{g:.1f}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                         ha="center", va="bottom", fontsize=8)
    gain_ax.set_xticks(np.arange(len(gains)), [n for n, _ in gains], rotation=30, ha="right",
                       fontsize=8)
    gain_ax.set_ylabel("average-mAP$_N$ gain (points)")
    gain_ax.set_title(f"removing each error type (average-mAP$_N$ "
                      f"{100 * section['average_mAP_N']:.1f})", fontsize=9, loc="left")
    gain_ax.grid(axis="y", alpha=0.3)
    return fig


def _bin_axes(fig: Figure, section: dict, value_of, ylabel: str, title: str, base=None) -> Figure:
    """One group of bars per characteristic in the section, a bar per bin."""
    present = [c for c in CHARACTERISTICS if c in section]
    ax = fig.subplots(1, 1)
    ticks, labels, x0 = [], [], 0
    for name in present:
        values = np.array([np.nan if v is None else 100 * v for v in value_of(section[name])],
                          dtype=np.float64)
        x = x0 + np.arange(len(values))
        bars = ax.bar(x, np.nan_to_num(values), color=CHARACTERISTIC_COLORS[name], label=name)
        for bar, v in zip(bars, values):
            ax.annotate("n/a" if np.isnan(v) else f"{v:.1f}",
                        (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center",
                        va="bottom", fontsize=7)
        ticks += x.tolist()
        labels += section[name]["bins"]
        x0 += len(values) + 1
    if base is not None:
        ax.axhline(100 * base, color="k", linestyle="--", linewidth=1,
                   label=f"all ground truths ({100 * base:.1f})")
    ax.set_xticks(ticks, labels, fontsize=7, rotation=45 if len(ticks) > 16 else 0)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 105)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title(title, fontsize=9, loc="left")
    return fig


def plot_false_negatives(section: dict) -> Figure:
    """The share of ground truths missed, per bin of each characteristic."""
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    missed = 100 * section["miss_rate_all"]["average"]
    return _bin_axes(fig, section, lambda s: [m["average"] for m in s["miss_rate"]],
                     "ground truths missed (%)",
                     f"false negatives by characteristic ({missed:.1f}% of all missed)")


def plot_sensitivity(section: dict) -> Figure:
    """average-mAP_N per bin of each characteristic, against all ground truths."""
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    spans = ", ".join(f"{c} {section[c]['relative_change']['min']:.2f}-"
                      f"{section[c]['relative_change']['max']:.2f}"
                      for c in CHARACTERISTICS if c in section)
    return _bin_axes(fig, section, lambda s: s["average_mAP_N"], "average-mAP$_N$ (%)",
                     f"sensitivity (lowest-highest bin over all: {spans})",
                     base=section["average_mAP_N"])


def plot_hierarchy(section: dict) -> Figure:
    """Label errors of each predicted class, sibling (same coarse class) vs stranger, and the
    confusion matrix between fine classes, grouped by coarse class."""
    classes = section["confusion_matrix"]["classes"]
    coarse = section["confusion_matrix"]["coarse"]
    counts = np.array(section["confusion_matrix"]["counts"], dtype=np.float64)
    n = len(classes)
    size = min(14, 5 + 0.12 * n)
    fig = Figure(figsize=(6 + size, size), layout="constrained")
    bar_ax, mat_ax = fig.subplots(1, 2, width_ratios=[1, 1.6])
    sib = np.array([np.mean(section["per_class"][c]["sibling"]) for c in classes])
    strange = np.array([np.mean(section["per_class"][c]["stranger"]) for c in classes])
    y = np.arange(n)
    bar_ax.barh(y, sib, color="#1f78b4", label="sibling (same coarse class)")
    bar_ax.barh(y, strange, left=sib, color="#e31a1c", label="stranger (other coarse class)")
    fontsize = 8 if n <= 40 else 5
    labels = [shorten(c, 24) for c in classes]
    bar_ax.set_yticks(y, labels, fontsize=fontsize)
    bar_ax.invert_yaxis()
    bar_ax.set_xlabel("label errors (wrong label + confusion)")
    bar_ax.legend(fontsize=7, loc="lower right")
    shares = [s for s in section["sibling_share"] if s is not None]
    share = f"{100 * np.mean(shares):.1f}% among siblings" if shares else "no label error"
    bar_ax.set_title(f"label errors by predicted class ({share})", fontsize=9, loc="left")
    mat_ax.imshow(np.log1p(counts), cmap="Blues", aspect="auto")
    mat_ax.set_xticks(y, labels, fontsize=fontsize, rotation=90)
    mat_ax.set_yticks(y, labels, fontsize=fontsize)
    edges = [i for i in range(1, n) if coarse[i] != coarse[i - 1]]
    for e in edges:
        mat_ax.axhline(e - 0.5, color="k", linewidth=0.6)
        mat_ax.axvline(e - 0.5, color="k", linewidth=0.6)
    mat_ax.set_xlabel("class of the best ground truth")
    mat_ax.set_ylabel("predicted class")
    thr = section["confusion_matrix"]["tiou_threshold"]
    mat_ax.set_title(f"label errors at tIoU {thr:g} (log colour), grouped by coarse class",
                     fontsize=9, loc="left")
    return fig
