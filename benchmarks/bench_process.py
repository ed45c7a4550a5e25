"""Whole training processes: `haan train` (fp32 and bf16) against the paper's own code, on the
same FineGym-shaped data (bench_train.py's: FineGym's clip counts, 2048-d, C = 99, K = 500), in
one run. The paper's code is not part of haan: give a checkout of its public repository.

    git clone https://github.com/lizhi1104/HAAN /tmp/HAAN
    python benchmarks/bench_process.py --paper-code /tmp/HAAN [--epochs 4]

Each program runs a 1-epoch and an --epochs-epoch process with the same threads: the first gives
the whole-process time (start-up, loading, one epoch); in the second, the time between the lines
each program prints at the end of an epoch (after its evaluation) gives the cost of each further
epoch, and the median of those intervals is reported (one perturbed epoch on a shared machine
moves it little; the difference of two process times moved with every perturbation of either).
haan's processes run both before and after the paper's code's, which take a quarter of an hour,
and its figures are over both (the mean of its two one-epoch processes, the median of all its
intervals): the shared machine's speed drifts over such a span, and the paper's code's epoch has
measured anywhere from 115 s to 171 s here. The paper's code runs from a temporary copy (its
config file is where its code reads it), on the CPU, with numpy 2's removed `np.float` put back
for it (its evaluator uses it) and `tomli` served by the standard library's `tomllib` if missing;
nothing of it is changed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_train import write_dataset  # noqa: E402

from haan.config import dumps_toml, load_config  # noqa: E402

# Run in the paper's processes before its code: numpy 2 removed np.float.
SITECUSTOMIZE = """
import numpy as np
np.float = float
try:
    import tomli  # noqa: F401
except ImportError:
    import sys, tomllib
    sys.modules["tomli"] = tomllib
"""


# The line each program prints once an epoch is evaluated.
EPOCH_END = {"paper": re.compile(r"^average mAP = "), "haan": re.compile(r"^epoch \d+: ")}
PAPER = "paper's code"
HAAN_RUNS = (("haan train, fp32", "fp32"), ("haan train, bf16", "bf16"))


def timed(command: list[str], cwd: Path, env: dict,
          epoch_end: re.Pattern) -> tuple[float, list[float]]:
    """The process's wall time and the times (from its start) of its end-of-epoch lines."""
    t = time.perf_counter()
    ends = []
    with tempfile.TemporaryFile("w+") as err:
        with subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=err,
                              text=True) as process:
            for line in process.stdout:
                if epoch_end.match(line):
                    ends.append(time.perf_counter() - t)
        if process.returncode != 0:
            err.seek(0)
            sys.exit(f"{' '.join(command)} failed:\n{err.read()[-3000:]}")
    return time.perf_counter() - t, ends


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--paper-code", type=Path, required=True, help="a checkout of lizhi1104/HAAN")
    ap.add_argument("--epochs", type=int, default=4,
                    help="epochs of the second process (>= 3: at least two intervals)")
    ap.add_argument("--train-videos", type=int, default=150)
    ap.add_argument("--test-videos", type=int, default=50)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = ap.parse_args()
    if args.epochs < 3:
        sys.exit("--epochs: at least 3")
    if not (args.paper_code / "main.py").is_file():
        sys.exit(f"{args.paper_code}: not a checkout of the paper's code (no main.py)")
    # Unbuffered: the end-of-epoch lines must reach the pipe when they are printed.
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "HAAN_THREADS": str(args.threads),
           "PYTHONUNBUFFERED": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "data").mkdir()
        config = write_dataset(tmp / "data", args.train_videos, args.test_videos, 2048, 99, 14,
                               500, 0)
        paper = tmp / "paper"
        shutil.copytree(args.paper_code, paper, ignore=shutil.ignore_patterns(".git", "output"))
        (tmp / "site").mkdir()
        (tmp / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE)
        paper_env = {**env, "PYTHONPATH": str(tmp / "site")}
        # (program, epochs) -> [(wall s, end-of-epoch times)], one entry per process
        times: dict[tuple[str, int], list[tuple[float, list[float]]]] = {}

        def haan_processes() -> None:
            for name, precision in HAAN_RUNS:
                for epochs in (1, args.epochs):
                    times.setdefault((name, epochs), []).append(timed(
                        [sys.executable, "-m", "haan", "train", "--config", str(config), "--set",
                         f"hyperparameters.epochs={epochs}", "--set",
                         f'haan.precision="{precision}"', "--output-dir", str(tmp / "haan_out"),
                         "--exp-name", f"{precision}{epochs}", "--overwrite", "--quiet",
                         "--device", "cpu"],
                        REPO, {**env, "PYTHONPATH": str(REPO / "src")}, EPOCH_END["haan"]))

        haan_processes()
        print("  haan's processes done (before)", flush=True)
        for epochs in (1, args.epochs):
            tables = load_config(config).to_dict()
            tables["hyperparameters"]["epochs"] = epochs
            tables.pop("haan", None)  # the paper's schema
            (paper / "config" / "fine_gym.toml").write_text(dumps_toml(tables))
            times[(PAPER, epochs)] = [timed(
                [sys.executable, "main.py", "--dataset", "FineGym", "--exp-name", f"e{epochs}",
                 "--output-dir", str(tmp / "paper_out"), "--device", "cpu"], paper, paper_env,
                EPOCH_END["paper"])]
            print(f"  the paper's code's {epochs}-epoch process done", flush=True)
        haan_processes()
        print("  haan's processes done (after)", flush=True)

    def intervals(name: str) -> list[float]:
        """Between consecutive end-of-epoch lines, over the program's longer processes."""
        out = []
        for _, ends in times[(name, args.epochs)]:
            if len(ends) != args.epochs:
                sys.exit(f"{name}: {len(ends)} end-of-epoch lines for {args.epochs} epochs")
            out += [b - a for a, b in zip(ends, ends[1:])]
        return out

    def process_seconds(name: str) -> float:
        return statistics.mean(wall for wall, _ in times[(name, 1)])

    base_process, base_epoch = process_seconds(PAPER), statistics.median(intervals(PAPER))
    print(f"{args.train_videos} training + {args.test_videos} test videos, FineGym shape, "
          f"{args.threads} threads; haan's processes ran before and after the paper's code's")
    print(f"{'':<20}{'1-epoch process s':>20}{'ratio':>8}{'per epoch s':>14}{'ratio':>8}"
          f"   {'the intervals s (median reported)'}")
    for name in (PAPER, *(name for name, _ in HAAN_RUNS)):
        between = intervals(name)
        process, epoch = process_seconds(name), statistics.median(between)
        walls = ", ".join(f"{wall:.1f}" for wall, _ in times[(name, 1)])
        shown = " ".join(f"{t:.1f}" for t in between)
        print(f"{name:<20}{process:>20.1f}{base_process / process:>7.1f}x{epoch:>14.1f}"
              f"{base_epoch / epoch:>7.1f}x   {shown}" + (f"   (1-epoch processes {walls} s)"
                                                          if len(times[(name, 1)]) > 1 else ""))


if __name__ == "__main__":
    main()
