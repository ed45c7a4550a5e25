"""Peak resident memory of one HAAN epoch (pseudo labels, training, evaluation) at FineAction's
size, with the paper's FineAction settings, next to what the paper's layout needs.

The data is the `fineaction-like` synthetic store (12,614 videos x 100 clips x 4096 float16, 8,440
training videos), written once with

    haan synth --preset fineaction-like --out /tmp/fineaction_like        # ~10 GB, ~2 min

Each measurement runs one epoch in a fresh process on the first fraction f of the training and
of the test videos, and reads that process's peak resident set size (ru_maxrss: anonymous and
touched file-mapped pages; the store is read with plain reads, so the page cache does not count).
The paper's code holds the whole (N, T, D) float32 array and a padded copy of the training videos.

    python benchmarks/bench_memory.py --data /tmp/fineaction_like [--fractions 0.25,0.5,1]
    python benchmarks/bench_memory.py --quick          # generates a small store and runs it
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

CHILD = """
import dataclasses, json, resource, sys, time
from pathlib import Path
import numpy as np, torch
from haan.config import load_config
from haan.data import load_dataset
from haan.engine.loop import train

config_path, fraction, out, threads = sys.argv[1], float(sys.argv[2]), sys.argv[3], int(sys.argv[4])
torch.set_num_threads(threads)
config = load_config(config_path, ["hyperparameters.epochs=1", "haan.save_training_state=false",
                                   *json.loads(sys.argv[5])])
d = load_dataset(config)
d = dataclasses.replace(
    d, train_indices=d.train_indices[: max(1, round(fraction * len(d.train_indices)))],
    test_indices=d.test_indices[: max(1, round(fraction * len(d.test_indices)))])
t0 = time.perf_counter()
result = train(config, d, Path(out), seed=1, progress=False)
seconds = time.perf_counter() - t0
print(json.dumps({
    "fraction": fraction, "train_videos": len(d.train_indices), "test_videos": len(d.test_indices),
    "train_clips": int(d.lengths[d.train_indices].sum()), "seconds": seconds,
    "avg_mAP": result.best_average_mAP,
    "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def paper_layout_bytes(num_videos: int, num_train: int, clips: int, dim: int) -> tuple[int, int]:
    """The paper's code: the whole (N, T, D) float32 array, and a padded copy of the training
    videos (every FineAction video has T = 100 clips, so the copy is N_train x T x D)."""
    return num_videos * clips * dim * 4, num_train * clips * dim * 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("/tmp/fineaction_like"),
                        help="folder written by haan synth --preset fineaction-like")
    parser.add_argument("--fractions", default="0.25,0.5,1")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true",
                        help="generate a 400-video fineaction-like store and measure 0.5 and 1")
    args = parser.parse_args()
    fractions = [float(f) for f in args.fractions.split(",")]
    overrides: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data
        if args.quick:
            from haan.data.synth import generate

            data = Path(tmp) / "fa"
            generate(data, "fineaction-like", seed=0, num_videos=400)
            fractions = [0.5, 1.0]
            overrides = ["hyperparameters.num_visual_concepts=64"]  # a sample of ~200 clips
        config = data / "config.toml"
        if not config.is_file():
            sys.exit(f"{config}: not found; write it with: haan synth --preset fineaction-like "
                     f"--out {data}")
        import numpy as np

        from haan.config import load_config

        c = load_config(config)

        num_videos = len(np.load(c.annotations.video_names_path, allow_pickle=True))
        whole, padded = paper_layout_bytes(num_videos, c.stats.num_training_videos,
                                           c.stats.max_clips_per_video, c.hyperparameters.feature_size)
        print(f"data: {data} ({num_videos} videos, {c.stats.num_training_videos} training, "
              f"T = {c.stats.max_clips_per_video}, D = {c.hyperparameters.feature_size}); "
              f"{args.threads} threads")
        print(f"paper's layout: {whole / 1e9:.1f} GB (N x T x D float32) + {padded / 1e9:.1f} GB "
              f"(padded training copy) = {(whole + padded) / 1e9:.1f} GB")
        rows = []
        for f in fractions:
            t0 = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", CHILD, str(config), str(f),
                                   str(Path(tmp) / f"run_{f}"), str(args.threads),
                                   json.dumps(overrides)],
                                  capture_output=True, text=True, cwd=REPO)
            if done.returncode != 0:
                sys.exit(done.stderr)
            row = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(f"  fraction {f:>4}: {row['train_videos']:>5} training + {row['test_videos']:>5} "
                  f"test videos, {row['train_clips']:>7} training clips: peak RSS "
                  f"{row['peak_rss_bytes'] / 2**30:.2f} GiB, epoch {row['seconds']:.0f} s "
                  f"(process {time.perf_counter() - t0:.0f} s)", flush=True)
        full = rows[-1]["peak_rss_bytes"]
        print(f"peak RSS of the whole epoch: {full / 2**30:.2f} GiB, "
              f"{(whole + padded) / full:.0f}x less than the paper's layout needs")
        if len(rows) >= 2:
            a, b = rows[-2], rows[-1]
            grow = b["peak_rss_bytes"] - a["peak_rss_bytes"]
            # per clip: a pseudo label and its place in the k-means sample (int64 each); per
            # video: multi-hot labels, offsets and a few flags.
            per_clip = 16 * (b["train_clips"] - a["train_clips"])
            print(f"growth from fraction {a['fraction']} to {b['fraction']}: {grow / 2**20:+.1f} MiB "
                  f"(per-clip arrays account for {per_clip / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
