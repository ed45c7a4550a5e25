"""`haan diagnose`, top to bottom: read the files (diagnose_inputs), run each section, write
DIR/diagnosis.json and the figures.

A section is one function `(context) -> (dict or None, {figure file name: Figure})`; SECTIONS lists
them in the JSON's order, under their key. Under a detad protocol, DETAD's three analyses are
nested in the top-level `detad` object instead. `operating_points` (precision, recall and F1
against the score threshold, with the F1 of given thresholds) and `recall` (AR@AN, recall vs tIoU)
come from haan.evaluation.operating_report; `--choose-thresholds FILE` writes the best-F1
threshold of each class (haan.evaluation.thresholds) for `haan predict --thresholds`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from haan import fileio
from haan.errors import InputError
from haan.evaluation.activitynet import DEFAULT_TIOU_THRESHOLDS
from haan.evaluation.diagnosis import analyses, hierarchy
from haan.evaluation.diagnosis.protocol import ERROR_TYPES, PROTOCOLS, Protocol
from haan.evaluation.operating_report import (
    choose_thresholds_file,
    operating_points_section,
    recall_section,
)
from haan.evaluation.thresholds import ThresholdsFile, read_thresholds, write_thresholds
from haan.recipes.diagnose_inputs import Inputs, read_inputs
from haan.viz import diagnosis as figures
from haan.viz.operating_points import plot_operating_points, plot_recall

REPORT = "diagnosis.json"
FIGURES = ("false_positives.png", "false_negatives.png", "sensitivity.png", "hierarchy.png",
           "operating_points.png", "recall.png")
OPERATING_TIOU = 0.5      # the tIoU of the operating points (THUMOS14's usual one)
CURVE_POINTS = 500        # points kept per P/R/F1 curve in the JSON (the best F1 is exact)
DETAD_SECTIONS = ("false_positives", "false_negatives", "sensitivity")


@dataclass(frozen=True)
class Context:
    inputs: Inputs
    protocol: Protocol
    tiou_thresholds: tuple
    shared: dict          # arrays one section leaves for another (the error types)
    subset: str | None = None
    operating_tiou: float = OPERATING_TIOU
    thresholds: ThresholdsFile | None = None   # --thresholds: report the F1 they reach


def false_positives_section(ctx: Context):
    section, arrays = analyses.false_positive_analysis(ctx.inputs.data, ctx.protocol,
                                                       ctx.tiou_thresholds)
    ctx.shared.update(arrays)
    return section, {"false_positives.png": figures.plot_false_positives(section)}


def _full_matching(ctx: Context):
    if "full" not in ctx.shared:
        ctx.shared["full"] = analyses.full_matching(ctx.inputs.data, ctx.tiou_thresholds)
    return ctx.shared["full"]


def false_negatives_section(ctx: Context):
    section = analyses.false_negative_analysis(ctx.inputs.data, ctx.protocol, ctx.tiou_thresholds,
                                               ctx.protocol.bins, _full_matching(ctx))
    return section, {"false_negatives.png": figures.plot_false_negatives(section)}


def sensitivity_section(ctx: Context):
    section = analyses.sensitivity_analysis(ctx.inputs.data, ctx.protocol, ctx.tiou_thresholds,
                                            ctx.protocol.bins, _full_matching(ctx))
    return section, {"sensitivity.png": figures.plot_sensitivity(section)}


def hierarchy_section(ctx: Context):
    """Label errors of the false-positive analysis, sibling vs stranger (needs --hierarchy)."""
    inputs = ctx.inputs
    if inputs.coarse_of is None:
        return None, {}
    data, codes, best, keep = (inputs.data, ctx.shared["codes"], ctx.shared["best"],
                               ctx.shared["keep"])
    best_label = np.where(best >= 0, data.gt_label[np.maximum(best, 0)], -1)
    split = hierarchy.label_error_split(codes[:, keep], best_label[keep], data.pred_label[keep],
                                        inputs.coarse_of, data.num_classes)
    sib, strange = split["sibling"], split["stranger"]                  # (M, C)
    total = sib.sum(axis=1) + strange.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = sib.sum(axis=1) / total
    lowest = int(np.argmin(ctx.tiou_thresholds))
    matrix = hierarchy.confusion_matrix(codes[lowest, keep], best_label[keep],
                                        data.pred_label[keep], data.num_classes)
    order = np.lexsort((np.arange(data.num_classes), inputs.coarse_of))  # grouped by coarse
    names = data.class_names
    section = {
        "tiou_thresholds": [float(t) for t in ctx.tiou_thresholds],
        "sibling": sib.sum(axis=1).tolist(), "stranger": strange.sum(axis=1).tolist(),
        "sibling_share": [None if np.isnan(v) else float(v) for v in share],
        "per_class": {names[c]: {"coarse": inputs.coarse_names[inputs.coarse_of[c]],
                                 "sibling": sib[:, c].tolist(), "stranger": strange[:, c].tolist()}
                      for c in range(data.num_classes)},
        "confusion_matrix": {"tiou_threshold": float(ctx.tiou_thresholds[lowest]),
                             "rows": "predicted class", "columns": "class of the best ground truth",
                             "classes": [names[c] for c in order.tolist()],
                             "coarse": [inputs.coarse_names[inputs.coarse_of[c]] for c in order.tolist()],
                             "counts": matrix[np.ix_(order, order)].tolist()},
    }
    return section, {"hierarchy.png": figures.plot_hierarchy(section)}


def operating_points_report(ctx: Context):
    """Precision, recall and F1 against the score threshold, per class and overall."""
    gt = ctx.inputs.ground_truth
    section = operating_points_section(gt, ctx.inputs.predictions, list(gt.labels),
                                       ctx.operating_tiou, ctx.thresholds, subset=ctx.subset,
                                       max_points=CURVE_POINTS)
    return section, {"operating_points.png": plot_operating_points(section)}


def recall_report(ctx: Context):
    """AR@AN and recall vs tIoU (ActivityNet's proposal protocol, class-agnostic)."""
    section = recall_section(ctx.inputs.ground_truth, ctx.inputs.predictions, subset=ctx.subset)
    return section, {"recall.png": plot_recall(section)}


SECTIONS: Sequence[tuple[str, Callable]] = (
    ("false_positives", false_positives_section),
    ("false_negatives", false_negatives_section),
    ("sensitivity", sensitivity_section),
    ("hierarchy", hierarchy_section),
    ("operating_points", operating_points_report),
    ("recall", recall_report),
)


def summary(report: dict) -> dict:
    """The headline figures, name -> number (percent), for the report's table."""
    d = report.get("detad", report)
    fp, fn, se = d["false_positives"], d["false_negatives"], d["sensitivity"]
    out = {"average-mAP_N, top-10G predictions (%)": 100 * fp["average_mAP_N"],
           "average-mAP_N, all predictions (%)": 100 * se["average_mAP_N"]}
    for name in ERROR_TYPES:
        out[f"{name} share of top-10G predictions (%)"] = 100 * fp["all"][name]["average"]
    for name, value in fp["removal"].items():
        out[f"average-mAP_N gain without {name} errors (points)"] = 100 * value["gain"]
    out["ground truths missed (%)"] = 100 * fn["miss_rate_all"]["average"]
    best = report["operating_points"]["overall"]["best"]
    if best is not None:
        out[f"best F1 over one score threshold at tIoU {report['operating_points']['tiou']} (%)"] = (
            100 * best["f1"])
    chosen = report["operating_points"].get("thresholds")
    if chosen is not None:
        out["F1 of the given per-class thresholds (%)"] = 100 * chosen["overall"]["f1"]
    out["AR@100 (%)"] = 100 * report["recall"]["ar_at"]["100"]
    h = report.get("hierarchy")
    if h is not None:
        shares = [v for v in h["sibling_share"] if v is not None]
        if shares:
            out["label errors within the coarse class (%)"] = 100 * float(np.mean(shares))
    return out


def output_paths(out: str | Path) -> list[Path]:
    return [Path(out) / name for name in (REPORT, *FIGURES)]


def run_diagnose(ground_truth: str, predictions: str, out: str, subset: str | None = None,
                 protocol: str = "haan", tiou_thresholds: Sequence[float] | None = None,
                 durations: str | None = None, hierarchy_path: str | None = None,
                 overwrite: bool = False, operating_tiou: float = OPERATING_TIOU,
                 thresholds: str | None = None, choose_thresholds: str | None = None) -> dict:
    """Diagnose a predictions file; writes DIR/diagnosis.json and the PNGs, returns the report.
    `thresholds`: a thresholds file whose F1 to report; `choose_thresholds`: write the best-F1
    threshold of each class at `operating_tiou` there."""
    chosen = PROTOCOLS[protocol]
    if chosen.detad and tiou_thresholds is not None:
        raise InputError(f"--tiou-thresholds: --protocol {protocol} fixes them "
                         f"({', '.join(str(t) for t in chosen.tiou_thresholds)})")
    thr = tuple(chosen.tiou_thresholds or tiou_thresholds or DEFAULT_TIOU_THRESHOLDS)
    if not 0 < operating_tiou <= 1:
        raise InputError(f"--operating-tiou {operating_tiou}: expected a tIoU in (0, 1]")
    if not overwrite:
        fileio.refuse_to_replace(output_paths(out) + ([Path(choose_thresholds)]
                                                      if choose_thresholds else []))
    given = read_thresholds(thresholds) if thresholds is not None else None
    inputs = read_inputs(ground_truth, predictions, subset, chosen, durations, hierarchy_path)
    ctx = Context(inputs=inputs, protocol=chosen, tiou_thresholds=thr, shared={}, subset=subset,
                  operating_tiou=operating_tiou, thresholds=given)
    report: dict = {"protocol": protocol, "ground_truth": str(ground_truth),
                    "predictions": str(predictions), "subset": subset,
                    "tiou_thresholds": list(thr), "N": inputs.data.n,
                    "num_ground_truths": int(len(inputs.data.gt_label)),
                    "num_predictions": int(len(inputs.data.pred_label)),
                    "notes": list(inputs.notes), "summary": {}}
    drawn = {}
    for key, section in SECTIONS:
        value, figs = section(ctx)
        if value is None:
            continue
        target = report.setdefault("detad", {}) if chosen.detad and key in DETAD_SECTIONS else report
        target[key] = value
        drawn.update(figs)
    report["summary"] = summary(report)
    folder = fileio.output_folder(out)
    for name, fig in drawn.items():
        figures.save_figure(fig, folder / name)
    fileio.write_json(folder / REPORT, report)
    if choose_thresholds is not None:
        gt = inputs.ground_truth
        write_thresholds(choose_thresholds, choose_thresholds_file(
            gt, inputs.predictions, list(gt.labels), operating_tiou, subset=subset))
    return report


def format_summary(report: dict) -> str:
    """The summary as text lines."""
    width = max(len(k) for k in report["summary"])
    lines = [f"haan diagnose ({report['protocol']}): {report['num_ground_truths']} ground truths, "
             f"{report['num_predictions']} predictions"]
    lines += [f"  {k:<{width}}  {v:7.2f}" for k, v in report["summary"].items()]
    lines += [f"  note: {n}" for n in report["notes"]]
    return "\n".join(lines)

