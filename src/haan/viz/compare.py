"""`haan compare`: runs and seed summaries side by side.

Each input is a run folder of `haan train` (one seed), a folder of `haan train --seeds` or its
summary.json (haan.engine.seeds.load_results). The comparison is a Markdown table per result (the best
epoch on the selection set, the last epoch, and the test set at the best validation epoch where a
run has a validation split): a row per input, mAP (%) at each report threshold and the average,
mean ± std over the seeds (n - 1); then the settings in which each input's config differs from the
first one's. The figure is mAP against tIoU with error bars (haan.viz.compare_figure) of the test
result when every input has one, else of the best epoch.

No torch here: the inputs are read from their CSV, JSON and TOML files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from haan import fileio
from haan.config import SECTION_TYPES, flatten, with_defaults
from haan.engine.seeds import RESULT_KINDS, RESULT_TITLES, Summary, format_mean_std, load_results
from haan.errors import InputError


@dataclass(frozen=True)
class Comparison:
    names: list[str]  # one per input, unique
    summaries: list[Summary]
    differences: list[list[str]]  # per input: `section.key=value` where it differs from the first


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(map(_show, value)) + "]"
    return str(value)


def setting_differences(reference: dict, other: dict) -> list[str]:
    """`section.key=value` (other's value) for each setting where two config dicts differ, in
    section order; an optional section a config leaves out counts as its defaults."""
    a, b = flatten(with_defaults(reference)), flatten(with_defaults(other))
    order = {name: i for i, name in enumerate(SECTION_TYPES)}
    keys = sorted(set(a) | set(b), key=lambda k: (order.get(k.split(".")[0], len(order)), k))
    return [f"{k}={_show(b[k]) if k in b else 'unset'}" for k in keys if a.get(k) != b.get(k)]


def _unique(names: list[str], paths: Sequence[str | Path]) -> list[str]:
    """The folder names, or the paths as given where two folders share a name."""
    return [str(p) if names.count(n) > 1 else n for n, p in zip(names, paths)]


def compare(paths: Sequence[str | Path]) -> Comparison:
    if not paths:
        raise InputError("compare: no run or summary given")
    summaries = [load_results(p) for p in paths]
    first = summaries[0]
    for path, summary in zip(paths, summaries):
        if summary.columns != first.columns:
            raise InputError(f"{path}: other results columns than {paths[0]} "
                             f"({', '.join(summary.columns)} vs {', '.join(first.columns)})")
    names = [(Path(p).resolve().parent if Path(p).is_file() else Path(p).resolve()).name
             for p in paths]
    return Comparison(names=_unique(names, paths), summaries=summaries,
                      differences=[setting_differences(first.config, s.config) for s in summaries])


def _method(summary: Summary) -> str:
    return with_defaults(summary.config)["model"]["method"]


def _title(kind: str, summaries: list[Summary]) -> str:
    sets = {s.selection_set for s in summaries}
    title = RESULT_TITLES[kind]
    return title.replace("selection", sets.pop()) if len(sets) == 1 else title


def format_comparison(comparison: Comparison) -> str:
    """The Markdown tables."""
    summaries, columns = comparison.summaries, comparison.summaries[0].columns
    lines: list[str] = []
    for kind in RESULT_KINDS:
        if not any(kind in s.results for s in summaries):
            continue
        lines += [f"mAP (%), {_title(kind, summaries)}: mean ± std over the seeds", "",
                  "| run | method | seeds | " + " | ".join(columns) + " |",
                  "| --- | --- | ---: | " + " | ".join("---:" for _ in columns) + " |"]
        for name, s in zip(comparison.names, summaries):
            cells = (["—"] * len(columns) if kind not in s.results else
                     [format_mean_std(m, d) for m, d in zip(s.mean(kind), s.std(kind))])
            lines.append(f"| {name} | {_method(s)} | {len(s.seeds)} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += [f"Settings that differ from {comparison.names[0]}'s:", "",
              "| run | settings |", "| --- | --- |"]
    for i, (name, diff) in enumerate(zip(comparison.names, comparison.differences)):
        shown = "(the reference)" if i == 0 else ", ".join(f"`{d}`" for d in diff) or "none"
        lines.append(f"| {name} | {shown} |")
    return "\n".join(lines) + "\n"


def plotted_result(comparison: Comparison) -> str:
    """The result the figure shows: the test set when every input has one, else the best epoch."""
    return "test" if all("test" in s.results for s in comparison.summaries) else "best"


def comparison_figure(comparison: Comparison):
    from haan.viz.compare_figure import plot_compare

    kind = plotted_result(comparison)
    columns = comparison.summaries[0].columns
    try:
        thresholds = np.array([float(c.removeprefix("mAP@")) for c in columns[:-1]])
    except ValueError:
        raise InputError(f"compare: columns {', '.join(columns)} are not mAP@<tIoU>") from None
    runs = {n: s.values(kind)[:, :-1] / 100 for n, s in zip(comparison.names, comparison.summaries)}
    averages = {n: s.values(kind)[:, -1] / 100
                for n, s in zip(comparison.names, comparison.summaries)}
    return plot_compare(thresholds, runs, title=f"mAP against tIoU: {_title(kind, comparison.summaries)}",
                        averages=averages)


def run_compare(paths: Sequence[str | Path], out: str | Path | None = None,
                plot: str | Path | None = None, overwrite: bool = False) -> tuple[Comparison, str]:
    """`haan compare`: the comparison and its tables; the tables written to `out` and the figure
    to `plot` when given (an existing file is replaced only with `overwrite`)."""
    if not overwrite:
        fileio.refuse_to_replace([p for p in (out, plot) if p is not None])
    if plot is not None:
        from haan.viz.figures import figure_format

        figure_format(plot)  # an unknown format fails before any work
    comparison = compare(paths)
    text = format_comparison(comparison)
    if out is not None:
        fileio.write_text(out, text)
    if plot is not None:
        from haan.viz.figures import save_figure

        save_figure(comparison_figure(comparison), plot)
    return comparison, text


__all__ = ["Comparison", "compare", "comparison_figure", "format_comparison", "plotted_result",
           "run_compare", "setting_differences"]
