"""Whole training processes: `haan train` (fp32 and bf16) against the paper's own code, on the
same FineGym-shaped data (bench_train.py's: FineGym's clip counts, 2048-d, C = 99, K = 500), in
one run. The paper's code is not part of haan: give a checkout of its public repository.

    git clone https://github.com/lizhi1104/HAAN /tmp/HAAN
    python benchmarks/bench_process.py --paper-code /tmp/HAAN [--epochs 3]

Each program runs as a fresh process twice, for 1 and for --epochs epochs, with the same threads:
the first gives the whole-process time (start-up, loading, one epoch), the difference the cost of
an epoch. The paper's code runs from a temporary copy (its config file is where its code reads
it), on the CPU, with numpy 2's removed `np.float` put back for it (its evaluator uses it) and
`tomli` served by the standard library's `tomllib` if missing; nothing of it is changed.
"""

from __future__ import annotations

import argparse
import os
import shutil
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


def timed(command: list[str], cwd: Path, env: dict) -> float:
    t = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--paper-code", type=Path, required=True, help="a checkout of lizhi1104/HAAN")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--train-videos", type=int, default=150)
    ap.add_argument("--test-videos", type=int, default=50)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = ap.parse_args()
    if not (args.paper_code / "main.py").is_file():
        sys.exit(f"{args.paper_code}: not a checkout of the paper's code (no main.py)")
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "HAAN_THREADS": str(args.threads)}
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
        times: dict[str, dict[int, float]] = {}
        for epochs in (1, args.epochs):
            tables = load_config(config).to_dict()
            tables["hyperparameters"]["epochs"] = epochs
            tables.pop("haan", None)  # the paper's schema
            (paper / "config" / "fine_gym.toml").write_text(dumps_toml(tables))
            times.setdefault("paper's code", {})[epochs] = timed(
                [sys.executable, "main.py", "--dataset", "FineGym", "--exp-name", f"e{epochs}",
                 "--output-dir", str(tmp / "paper_out"), "--device", "cpu"], paper, paper_env)
            for name, precision in (("haan train, fp32", "fp32"), ("haan train, bf16", "bf16")):
                times.setdefault(name, {})[epochs] = timed(
                    [sys.executable, "-m", "haan", "train", "--config", str(config), "--set",
                     f"hyperparameters.epochs={epochs}", "--set", f'haan.precision="{precision}"',
                     "--output-dir", str(tmp / "haan_out"), "--exp-name",
                     f"{precision}{epochs}", "--quiet", "--device", "cpu"],
                    REPO, {**env, "PYTHONPATH": str(REPO / "src")})
            print(f"  {epochs} epoch(s) done", flush=True)
    base = times["paper's code"]
    per_epoch_base = (base[args.epochs] - base[1]) / (args.epochs - 1)
    print(f"{args.train_videos} training + {args.test_videos} test videos, FineGym shape, "
          f"{args.threads} threads")
    print(f"{'':<20}{'1-epoch process s':>20}{'ratio':>8}{'per epoch s':>14}{'ratio':>8}")
    for name, t in times.items():
        epoch = (t[args.epochs] - t[1]) / (args.epochs - 1)
        print(f"{name:<20}{t[1]:>20.1f}{base[1] / t[1]:>7.1f}x{epoch:>14.1f}"
              f"{per_epoch_base / epoch:>7.1f}x")


if __name__ == "__main__":
    main()
