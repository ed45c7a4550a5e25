"""k-means for the pseudo labels: haan.models.kmeans (torch) against scikit-learn, the paper's choice.

    python benchmarks/bench_kmeans.py            # FineGym scale: 29,500 x 2048, K = 500
    python benchmarks/bench_kmeans.py --quick    # 3,000 x 256, K = 50
    python benchmarks/bench_kmeans.py --data blobs --sklearn-seeds 3 --seeds 3

Times `KMeans(n_clusters=K, random_state=0).fit` and `haan.models.kmeans.kmeans` (default settings,
generator seeded 0; the fastest of `--repeat` runs) on the same synthetic features and prints
both inertias, their ratio and the speed ratio. `--sklearn-seeds N` / `--seeds N` also fit either
with seeds 1..N-1, to show how much the result moves with the seed alone on these data: where
k-means has distinct local optima (blobs, or K near the number of modes), scikit-learn's own
seeds land a few % apart, and a single-seed ratio says little beyond that spread.

Data (no real features are needed; see `--data`):
- `clips` (default): clip features shaped like a 10% sample of a FineGym-sized training set.
  3,775 videos of 20-140 clips; each video is a smooth path (a few random sinusoids, so that
  neighbouring clips are alike) around its own anchor; anchors come from 40 "routine" centres in
  4 "events". The 64-d latent positions go through a random linear map and a ReLU to D dims (I3D
  features are non-negative averages of ReLU activations), plus Gaussian noise (std 0.05).
- `blobs`: 500 Gaussian blobs of lognormal sizes in a 128-d latent space, through a random
  linear map and a ReLU to D dims, plus noise (std 0.1): well separated clusters, where k-means
  has many distinct local optima and any seed (scikit-learn's too) can land a few % apart.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import torch

from haan.models.kmeans import DEFAULT_INERTIA_TOL, kmeans
from haan.runtime.precision import has_native_bf16


def make_clip_features(m: int, d: int, seed: int = 0, num_videos: int = 3775,
                       latent: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    events = rng.standard_normal((4, latent)) * 2.0
    routines = events[rng.integers(0, 4, 40)] + rng.standard_normal((40, latent))
    anchors = routines[rng.integers(0, 40, num_videos)] + 0.5 * rng.standard_normal(
        (num_videos, latent))
    lengths = rng.integers(20, 141, num_videos)
    # Each video's path: sum of 3 sinusoids with random latent directions, periods 10-60 clips.
    amp = rng.standard_normal((num_videos, 3, latent)) * 0.6
    freq = 2 * np.pi / rng.uniform(10, 60, (num_videos, 3))
    phase = rng.uniform(0, 2 * np.pi, (num_videos, 3))
    # The sample: m clips uniformly over all clips of all videos.
    video = rng.choice(num_videos, size=m, p=lengths / lengths.sum())
    t = rng.uniform(0, 1, m) * lengths[video]
    waves = np.sin(freq[video] * t[:, None] + phase[video])  # (m, 3)
    z = anchors[video] + np.einsum("mj,mjl->ml", waves, amp[video])  # (m, latent)
    proj = rng.standard_normal((latent, d)) / np.sqrt(latent)
    x = np.maximum(z @ proj, 0) + 0.05 * rng.standard_normal((m, d))
    return x.astype(np.float32)


def make_blobs(m: int, d: int, seed: int = 0, num_blobs: int = 500,
               latent: int = 128) -> np.ndarray:
    rng = np.random.default_rng(seed)
    sizes = rng.lognormal(0.0, 1.0, num_blobs)
    label = rng.choice(num_blobs, size=m, p=sizes / sizes.sum())
    centres = rng.standard_normal((num_blobs, latent))
    spread = rng.uniform(0.5, 1.5, num_blobs) * 4 / np.sqrt(latent)
    z = centres[label] + rng.standard_normal((m, latent)) * spread[label, None]
    proj = rng.standard_normal((latent, d)) / np.sqrt(latent)
    x = np.maximum(z @ proj, 0) + 0.1 * rng.standard_normal((m, d))
    return x.astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="3,000 x 256, K = 50")
    ap.add_argument("--data", choices=("clips", "blobs"), default="clips")
    ap.add_argument("--num-points", type=int, default=None)
    ap.add_argument("--dim", type=int, default=None)
    ap.add_argument("--clusters", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=3, help="runs of ours; the fastest is reported")
    ap.add_argument("--sklearn-seeds", type=int, default=None,
                    help="also fit scikit-learn with random_state 1..N-1, to show the seed "
                         "spread (default: 1, --quick: 10)")
    ap.add_argument("--seeds", type=int, default=None,
                    help="also run ours with generator seeds 1..N-1 (default: 1, --quick: 10)")
    ap.add_argument("--inertia-tol", type=float, default=DEFAULT_INERTIA_TOL)
    ap.add_argument("--fp32", action="store_true", help="fp32 Lloyd distances (default: bf16 "
                    "where the hardware is fast at it)")
    args = ap.parse_args()
    spread_default = 10 if args.quick else 1
    sk_seeds = args.sklearn_seeds or spread_default
    our_seeds = args.seeds or spread_default

    m, d, k = (3000, 256, 50) if args.quick else (29500, 2048, 500)
    m = args.num_points or m
    d = args.dim or d
    k = args.clusters or k
    make = make_clip_features if args.data == "clips" else make_blobs
    x_np = make(m, d, seed=0, **({"num_blobs": k} if args.data == "blobs" else {}))
    x = torch.from_numpy(x_np)
    print(f"data: {args.data}, {m} x {d}, K = {k}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {platform.processor() or platform.machine()}, "
          f"load average {os.getloadavg()[0]:.2f}")

    from sklearn import __version__ as sk_version
    from sklearn.cluster import KMeans

    sk_inertias = []
    for seed in range(sk_seeds):
        t0 = time.perf_counter()
        km = KMeans(n_clusters=k, random_state=seed).fit(x_np)
        elapsed = time.perf_counter() - t0
        sk_inertias.append(float(km.inertia_))
        if seed == 0:
            sk_time, sk_inertia = elapsed, float(km.inertia_)
        print(f"sklearn {sk_version} KMeans(random_state={seed}): {elapsed:7.2f} s  "
              f"inertia {km.inertia_:.6g}  n_iter {km.n_iter_}")

    dtype = torch.float32 if args.fp32 else None
    lloyd = "fp32" if args.fp32 or not has_native_bf16(x.device) else "bf16"

    def ours(seed: int):
        return kmeans(x, k, generator=torch.Generator().manual_seed(seed),
                      inertia_tol=args.inertia_tol, matmul_dtype=dtype)

    runs = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        result = ours(0)
        runs.append((time.perf_counter() - t0, result))
    times = [t for t, _ in runs]
    t_ours, result = min(runs, key=lambda pair: pair[0])
    print(f"haan.models.kmeans (seed 0, {lloyd} Lloyd, inertia_tol {args.inertia_tol:g}): "
          f"{t_ours:7.2f} s  inertia {result.inertia:.6g}  n_iter {result.n_iter}  "
          f"(runs: {', '.join(f'{t:.2f}' for t in times)} s)")
    if len({r.inertia for _, r in runs}) != 1:
        print("WARNING: repeated runs gave different inertias")
    print(f"inertia ratio (ours / sklearn): {result.inertia / sk_inertia:.4f}")
    print(f"speed ratio (sklearn / ours):   {sk_time / t_ours:.1f}x")
    if len(sk_inertias) > 1:
        spread = np.array(sk_inertias) / sk_inertia
        print(f"sklearn seed spread ({len(spread)} seeds, inertia / random_state=0): "
              f"min {spread.min():.4f}  median {np.median(spread):.4f}  max {spread.max():.4f}")
    if our_seeds > 1:
        spread = np.array([result.inertia] + [ours(s).inertia for s in range(1, our_seeds)])
        spread /= sk_inertia
        print(f"our seed spread ({len(spread)} seeds, inertia / sklearn random_state=0): "
              f"min {spread.min():.4f}  median {np.median(spread):.4f}  max {spread.max():.4f}")


if __name__ == "__main__":
    main()
