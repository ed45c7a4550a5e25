"""HAAN, its ablations and W-TALC over several seeds on a synthetic preset: the `haan compare` table.

    python benchmarks/bench_methods.py --threads 1             # small, 5 seeds each (~6 min)
    python benchmarks/bench_methods.py --preset finegym-like --set hyperparameters.epochs=20
    python benchmarks/bench_methods.py --quick                  # tiny, 2 seeds: a smoke run

Generates the preset (seed 0) into OUT/data unless it is there, trains every setting below with
`haan train --seeds` (haan.engine.seeds: finished seeds are not trained again, so a broken benchmark
continues where it stopped) into OUT/<setting>/, then writes `haan compare` of all of them:
OUT/compare.md and OUT/compare.png, and prints the table. Each setting uses the preset's config
(its default epochs; `--set` changes every setting's config).

Settings:
- haan: HAAN as the paper (all four losses)
- mil: L_mil only (lambda_2 = lambda_3 = lambda_4 = 0: no k-means at all)
- mil_pseudo: L_mil + L_pseudo
- mil_pseudo_concept: L_mil + L_pseudo + L_concept (no L_coarse)
- no_pseudo: all but L_pseudo
- wtalc: W-TALC at the authors' published settings ([wtalc] defaults)
- wtalc_lr1e-3: W-TALC with learning rate 1e-3, the rate the synthetic configs give HAAN for
  their short schedule (the authors' 1e-4 is meant for 100,000 iterations)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import torch  # noqa: E402

from haan.config import load_config  # noqa: E402
from haan.data import load_dataset  # noqa: E402
from haan.data.synth import generate  # noqa: E402
from haan.engine.seeds import format_summary, parse_seeds, train_seeds  # noqa: E402
from haan.viz.compare import run_compare  # noqa: E402

OFF = "hyperparameters.lambda_{}=0"
SETTINGS: dict[str, list[str]] = {
    "haan": [],
    "mil": [OFF.format(2), OFF.format(3), OFF.format(4)],
    "mil_pseudo": [OFF.format(3), OFF.format(4)],
    "mil_pseudo_concept": [OFF.format(4)],
    "no_pseudo": [OFF.format(2)],
    "wtalc": ['model.method="wtalc"'],
    "wtalc_lr1e-3": ['model.method="wtalc"', "wtalc.learning_rate=1e-3"],
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", choices=("tiny", "small", "finegym-like"), default="small")
    ap.add_argument("--seeds", default="1-5", help="seeds of every setting (default 1-5)")
    ap.add_argument("--out", default=None, metavar="DIR",
                    help="default: benchmark_out/methods_<preset>")
    ap.add_argument("--set", dest="overrides", action="append", default=[],
                    metavar="SECTION.KEY=VALUE", help="a config change for every setting")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--only", default=None, metavar="A,B", help="these settings only")
    ap.add_argument("--quick", action="store_true", help="the tiny preset with seeds 1-2")
    args = ap.parse_args()
    if args.quick:
        args.preset, args.seeds = "tiny", "1-2"
    if args.threads:
        torch.set_num_threads(args.threads)
    seeds = parse_seeds(args.seeds)
    names = list(SETTINGS) if args.only is None else args.only.split(",")
    out = Path(args.out or f"benchmark_out/methods_{args.preset}")
    data = out / "data"
    if not (data / "config.toml").is_file():
        t0 = time.perf_counter()
        generate(data, args.preset, seed=0)
        print(f"generated {args.preset} in {data} ({time.perf_counter() - t0:.0f} s)")

    started = time.perf_counter()
    for name in names:
        config = load_config(data / "config.toml", [*SETTINGS[name], *args.overrides])
        dataset = load_dataset(config)
        t0 = time.perf_counter()
        summary = train_seeds(config, dataset, out / name, seeds, progress=False,
                              report=lambda m: print(m) if m.startswith("seed") else None)
        print(format_summary(summary))
        print(f"{name}: {time.perf_counter() - t0:.0f} s for {len(seeds)} seeds "
              f"({torch.get_num_threads()} threads)\n")
    _, table = run_compare([out / n for n in names], out=out / "compare.md",
                           plot=out / "compare.png", overwrite=True)
    print(table)
    print(f"all settings: {time.perf_counter() - started:.0f} s; {out / 'compare.md'}, "
          f"{out / 'compare.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
