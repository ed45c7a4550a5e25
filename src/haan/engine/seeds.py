"""One experiment over several seeds: `haan train --seeds 1,2,3` (or `1-5`).

Each seed trains its own run in `EXP/seed_<s>/` (EXP = OUTPUT_DIR/DATASET/EXP_NAME); then
`EXP/summary.csv` and `EXP/summary.json` hold, for every results.csv column (mAP at each report
threshold, avg.mAP; percent), each seed's value and their mean and standard deviation (n - 1; none
for one seed), for three results of a run:

- `best`: the best epoch on the selection set (the run's results.csv row of the epoch training
  kept: the highest avg.mAP, the earliest on ties; the last epoch when none is a number);
- `last`: the last epoch, on the same set (no selection at all);
- `test`: the best validation epoch on the test set (test_results.csv), with a validation split.

A seed whose run finished (its config.toml is the config, its last epoch's checkpoints are
complete, and so is test_results.csv where it belongs) is not trained again; `resume` continues
a seed that stopped (`--resume auto` of haan.engine.loop: from its saved state, or again from the start);
`overwrite` trains every seed again. Under torchrun the seeds run one after another, each on all
processes.

summary.json: {"format": "haan-seed-summary", "name", "seeds": [...], "selection_set",
"columns": [...], "config": {...}, "results": {"best" | "last" | "test": {"mean": [...],
"std": [...] (null for one seed), "seeds": {"<seed>": {"epoch": e, "values": [...]}}}}}.

Reading runs and summaries (`read_run`, `read_summary`, `load_results`) needs neither torch nor
a dataset: `haan compare` uses them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from haan import fileio
from haan.config import Config, load_config
from haan.errors import InputError

if TYPE_CHECKING:
    import torch

    from haan.data import Dataset
    from haan.runtime.distributed import Processes

SUMMARY_CSV = "summary.csv"
SUMMARY_JSON = "summary.json"
SUMMARY_FORMAT = "haan-seed-summary"
RESULT_KINDS = ("best", "last", "test")
RESULT_TITLES = {"best": "best epoch, on the selection set", "last": "last epoch, on the selection set",
                 "test": "test set, best validation epoch"}
MAX_SEEDS = 1000


def parse_seeds(text: str) -> list[int]:
    """`1,2,3`, `1-5` or a mix (`1-3,7`) -> the seeds in the order given, each once."""
    seeds: list[int] = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*(-?\d+)\s*(?:-\s*(-?\d+)\s*)?", part)
        if not match:
            raise InputError(f"--seeds {text}: expected whole numbers and ranges such as 1,2,3 "
                             "or 1-5")
        first = int(match.group(1))
        last = first if match.group(2) is None else int(match.group(2))
        if last < first:
            raise InputError(f"--seeds {text}: the range {part.strip()} is empty")
        if last - first >= MAX_SEEDS:
            raise InputError(f"--seeds {text}: more than {MAX_SEEDS} seeds")
        seeds.extend(range(first, last + 1))
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:
        raise InputError(f"--seeds {text}: seed {repeated[0]} is named twice")
    return seeds


def seed_folder(exp_dir: str | Path, seed: int) -> Path:
    return Path(exp_dir) / f"seed_{seed}"


# ----------------------------------------------------------------------------------------------
# One run's numbers, from its folder


@dataclass(frozen=True)
class RunResults:
    """A finished run's results (percent), read from its files."""

    columns: list[str]  # results.csv's columns after the epoch: mAP@<t>..., avg.mAP
    results: dict[str, tuple[int, list[float]]]  # kind -> (epoch, values); "test" when it has one
    seed: int | None  # from run.json
    config: dict  # the run's config.toml, as Config.to_dict()


def _read_csv(path: Path) -> tuple[list[str], list[list[float]]]:
    header, values = fileio.read_numeric_csv(path)
    if header[0] != "epoch" or header[-1] != "avg.mAP":
        raise InputError(f"{path}: expected the header epoch,mAP@...,avg.mAP")
    return header, values.tolist()


def best_row(rows: Sequence[Sequence[float]]) -> Sequence[float]:
    """The row training keeps: the highest avg.mAP (last column), the earliest on ties, never
    NaN; the last row when no avg.mAP is a number (haan.engine.loop's rule)."""
    average = np.array([row[-1] for row in rows], dtype=np.float64)
    finite = np.isfinite(average)
    if not finite.any():
        return rows[-1]
    return rows[int(np.argmax(np.where(finite, average, -np.inf)))]


def read_run(run_dir: str | Path) -> RunResults:
    """results.csv (best and last epoch), test_results.csv when there is one, config.toml and
    the seed in run.json."""
    run_dir = Path(run_dir)
    if not (run_dir / "results.csv").is_file():
        raise InputError(f"{run_dir}: no results.csv (not a run folder of haan train)")
    header, rows = _read_csv(run_dir / "results.csv")
    if not rows:
        raise InputError(f"{run_dir / 'results.csv'}: no evaluated epoch yet")
    results = {"best": best_row(rows), "last": rows[-1]}
    if (run_dir / "test_results.csv").is_file():
        test_header, test_rows = _read_csv(run_dir / "test_results.csv")
        if test_header != header or len(test_rows) != 1:
            raise InputError(f"{run_dir / 'test_results.csv'}: expected one row with "
                             "results.csv's header")
        results["test"] = test_rows[0]
    metadata = run_dir / "run.json"
    seed = fileio.read_json(metadata).get("seed") if metadata.is_file() else None
    return RunResults(columns=header[1:],
                      results={k: (int(row[0]), [float(v) for v in row[1:]])
                               for k, row in results.items()},
                      seed=seed if isinstance(seed, int) else None,
                      config=load_config(run_dir / "config.toml").to_dict())


# ----------------------------------------------------------------------------------------------
# Several runs' numbers


@dataclass(frozen=True)
class Summary:
    """Seeds of one experiment (or one run, as one seed). Values in percent."""

    name: str
    seeds: list[int]
    columns: list[str]
    config: dict
    results: dict[str, dict[int, tuple[int, list[float]]]]  # kind -> seed -> (epoch, values)

    def values(self, kind: str) -> np.ndarray:
        """(S, K) each seed's values of a result, seeds in order."""
        return np.array([self.results[kind][s][1] for s in self.seeds], dtype=np.float64)

    def mean(self, kind: str) -> np.ndarray:
        return self.values(kind).mean(axis=0)

    def std(self, kind: str) -> np.ndarray:
        """Sample standard deviation (n - 1); NaN for a single seed."""
        values = self.values(kind)
        if len(values) < 2:
            return np.full(values.shape[1], np.nan)
        return values.std(axis=0, ddof=1)

    @property
    def kinds(self) -> list[str]:
        return [k for k in RESULT_KINDS if k in self.results]

    @property
    def selection_set(self) -> str:
        return "validation" if "test" in self.results else "test"


def summarize(name: str, runs: dict[int, RunResults]) -> Summary:
    """The seeds' runs as one summary; they must share their columns and kinds of result."""
    seeds = list(runs)
    first = runs[seeds[0]]
    for seed, run in runs.items():
        if run.columns != first.columns or set(run.results) != set(first.results):
            raise InputError(f"{name}: seed {seed} has other results than seed {seeds[0]} "
                             "(columns or a test set)")
    return Summary(name=name, seeds=seeds, columns=first.columns, config=first.config,
                   results={k: {s: runs[s].results[k] for s in seeds} for k in first.results})


def summary_json(summary: Summary) -> dict:
    return {
        "format": SUMMARY_FORMAT, "name": summary.name, "seeds": summary.seeds,
        "selection_set": summary.selection_set, "columns": summary.columns,
        "config": summary.config,
        "results": {k: {"mean": summary.mean(k).tolist(), "std": summary.std(k).tolist(),
                        "seeds": {str(s): {"epoch": e, "values": v}
                                  for s, (e, v) in summary.results[k].items()}}
                    for k in summary.kinds},
    }


def summary_rows(summary: Summary) -> list[list]:
    """summary.csv's rows: per result, one row per seed, then its mean and std."""
    rows: list[list] = []
    for kind in summary.kinds:
        rows += [[kind, s, e, *v] for s, (e, v) in summary.results[kind].items()]
        rows.append([kind, "mean", "", *summary.mean(kind).tolist()])
        rows.append([kind, "std", "", *summary.std(kind).tolist()])
    return rows


def write_summary(exp_dir: Path, summary: Summary) -> None:
    fileio.write_csv(exp_dir / SUMMARY_CSV, ["result", "seed", "epoch", *summary.columns],
                     summary_rows(summary))
    fileio.write_json(exp_dir / SUMMARY_JSON, summary_json(summary))


def read_summary(path: str | Path) -> Summary:
    """A summary.json back (the seeds' values; mean and std are recomputed from them)."""
    path = Path(path)
    data = fileio.read_json(path)
    try:
        if data["format"] != SUMMARY_FORMAT:
            raise KeyError("format")
        seeds = [int(s) for s in data["seeds"]]
        results = {kind: {int(s): (int(r["epoch"]), [math.nan if v is None else float(v)
                                                     for v in r["values"]])
                          for s, r in entry["seeds"].items()}
                   for kind, entry in data["results"].items() if kind in RESULT_KINDS}
        summary = Summary(name=str(data["name"]), seeds=seeds, columns=list(data["columns"]),
                          config=dict(data["config"]), results=results)
        for kind in results:
            summary.values(kind)  # every seed present, as many values as columns
            if summary.values(kind).shape[1] != len(summary.columns):
                raise ValueError("values")
    except (KeyError, TypeError, ValueError, AttributeError):
        raise InputError(f"{path}: not a seed summary of haan train --seeds") from None
    return summary


def load_results(path: str | Path) -> Summary:
    """What `haan compare` reads: a summary.json, a folder holding one (haan train --seeds), or
    a run folder (results.csv: one seed)."""
    path = Path(path)
    if path.is_file():
        return read_summary(path)
    if (path / SUMMARY_JSON).is_file():
        return read_summary(path / SUMMARY_JSON)
    if not path.is_dir():
        raise InputError(f"{path}: no such file or folder")
    if not (path / "results.csv").is_file() and any(path.glob("seed_*")):
        raise InputError(f"{path}: seed runs without {SUMMARY_JSON}; run the same haan train "
                         "--seeds again to write it (finished seeds are not retrained)")
    run = read_run(path)
    return summarize(path.resolve().name, {run.seed if run.seed is not None else 0: run})


def format_mean_std(mean: float, std: float) -> str:
    if math.isnan(mean):
        return "nan"
    return f"{mean:.2f}" if math.isnan(std) else f"{mean:.2f} ± {std:.2f}"


def format_summary(summary: Summary) -> str:
    """The printed table: one line per result, mean ± std of each column."""
    cells = [[RESULT_TITLES[k].replace("selection", summary.selection_set)]
             + [format_mean_std(m, s) for m, s in zip(summary.mean(k), summary.std(k))]
             for k in summary.kinds]
    header = ["result"] + summary.columns
    widths = [max(len(row[j]) for row in [header, *cells]) for j in range(len(header))]
    lines = [f"{summary.name}: {len(summary.seeds)} seed{'s' * (len(summary.seeds) > 1)} "
             f"({', '.join(map(str, summary.seeds))}), mAP (%), mean ± std (n - 1)"]
    for row in [header, *cells]:
        lines.append("  ".join(c.ljust(w) if j == 0 else c.rjust(w)
                               for j, (c, w) in enumerate(zip(row, widths))))
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# Training the seeds


def is_finished(run_dir: Path, config: Config, needs_test: bool) -> bool:
    """Whether `run_dir` holds this config's run, trained to its last epoch: the last thing a run
    writes is last/'s checkpoint set of its last epoch, then (with a validation split)
    test_results.csv."""
    from haan.engine.checkpoints import complete_epoch

    saved = run_dir / "config.toml"
    return (saved.is_file() and saved.read_text(encoding="utf-8") == config.to_toml()
            and complete_epoch(run_dir / "last") == config.hyperparameters.epochs - 1
            and complete_epoch(run_dir) is not None and (run_dir / "results.csv").is_file()
            and (not needs_test or (run_dir / "test_results.csv").is_file()))


def train_seeds(
    config: Config, dataset: Dataset, exp_dir: str | Path, seeds: Sequence[int], *,
    device: torch.device | None = None, resume: bool = False, overwrite: bool = False, progress: bool = True,
    report: Callable[[str], None] = lambda message: None, procs: Processes | None = None,
    tensorboard: bool = False,
) -> Summary:
    """Train each seed not yet finished into `seed_folder(exp_dir, seed)` (haan.engine.loop.train, on
    `device`, default the CPU), then write and return the summary of all of them. With `procs` of
    a torchrun launch every process calls this with the same arguments."""
    import torch

    from haan.engine.loop import selection_rule, train
    from haan.runtime.distributed import SINGLE, on_main

    procs = procs or SINGLE
    if not seeds:
        raise InputError("--seeds: no seed")
    exp_dir = Path(exp_dir)
    made = fileio.missing_folders(exp_dir) if procs.main else []
    on_main(procs, lambda: fileio.output_folder(exp_dir))
    say = report if procs.main else (lambda message: None)
    # test_results.csv is written where a validation split chose the epoch (selection_rule)
    needs_test = (selection_rule(config, dataset)[1] == "validation"
                  and len(dataset.test_indices) > 0)
    try:
        for i, seed in enumerate(seeds):
            run_dir = seed_folder(exp_dir, seed)
            if not overwrite and on_main(procs, lambda: is_finished(run_dir, config, needs_test)):
                say(f"seed {seed} ({i + 1}/{len(seeds)}): finished in {run_dir}, not trained "
                    "again")
                continue
            say(f"seed {seed} ({i + 1}/{len(seeds)}): training in {run_dir}")
            train(config, dataset, run_dir, seed=seed,
                  device=device if device is not None else torch.device("cpu"),
                  resume="auto" if resume else False, overwrite=overwrite, progress=progress,
                  report=report, procs=procs, tensorboard=tensorboard)
    except BaseException:
        fileio.remove_empty_folders(made)  # an experiment that never saved an epoch leaves none
        raise

    def summary() -> Summary:
        result = summarize(exp_dir.resolve().name,
                           {s: read_run(seed_folder(exp_dir, s)) for s in seeds})
        write_summary(exp_dir, result)
        return result

    return on_main(procs, summary)


__all__ = ["RESULT_KINDS", "RESULT_TITLES", "RunResults", "SUMMARY_CSV", "SUMMARY_JSON", "Summary",
           "best_row", "format_mean_std", "format_summary", "is_finished", "load_results",
           "parse_seeds", "read_run", "read_summary", "seed_folder", "summarize", "summary_json",
           "summary_rows", "train_seeds", "write_summary"]
