"""k-means on the training device, fast enough to re-cluster every few epochs (spec section 3).

The paper fits scikit-learn's `KMeans(n_clusters=K, random_state=0)` on the CPU: greedy k-means++
initialisation, then Lloyd iterations until the centres move less than `tol` (squared, relative to
the mean feature variance) or the labels stop changing. This module does the same in torch, on
whatever device the data is on, with these measured changes (benchmarks/bench_kmeans.py):

- Initialisation: greedy k-means++, but on the data's top `init_dim` principal components
  (haan.models.kmeans_seeding says why and how).
- Lloyd assignments use a bf16 distance matmul where the hardware has fast bf16 (AMX / AVX512-BF16
  CPUs, CUDA); the centre updates, the returned labels and the inertia are exact fp32 (a final
  fp32 assignment to the final centres, as scikit-learn's final E-step).
- One more stopping rule, `inertia_tol`: stop once an iteration lowers the objective by less than
  that fraction. Late Lloyd iterations move a handful of boundary points each (and with bf16
  distances the labels may never settle exactly): at FineGym scale it stops after ~23
  iterations, 0.1% above the inertia after 300. 0 turns it off.

Everything is deterministic for a given `torch.Generator` seed on a given machine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from haan.models.kmeans_seeding import initial_centers, kmeans_plusplus, principal_scores
from haan.runtime.precision import has_native_bf16

DEFAULT_MAX_ITER = 300
DEFAULT_TOL = 1e-4
DEFAULT_INERTIA_TOL = 1e-4
DEFAULT_INIT_DIM = 128
# Elements of one (chunk, K) distance block: bounds the memory of the assignment step (64 MiB fp32).
DISTANCE_BLOCK_ELEMENTS = 1 << 24
# Elements of the (rows, D) differences the final inertia sums at a time (16 MiB fp32): with
# distance-sized blocks they were four copies of a FineAction-size sample at once.
INERTIA_BLOCK_ELEMENTS = 1 << 22


@dataclass(frozen=True)
class KMeansResult:
    centers: torch.Tensor  # (K, D) float32, on the data's device
    labels: torch.Tensor  # (M,) int64, nearest final centre of every fitted point
    inertia: float  # sum of squared distances of the points to their centre
    n_iter: int  # Lloyd iterations run


def _chunk(num_rows: int, num_clusters: int, chunk_size: int | None) -> int:
    if chunk_size is None:
        chunk_size = max(1, DISTANCE_BLOCK_ELEMENTS // max(1, num_clusters))
    return max(1, min(chunk_size, num_rows))


def _nearest(
    x: torch.Tensor,  # (M, D) float32, or the matmul dtype (e.g. bf16) for a faster product
    x_sq: torch.Tensor,  # (M,) float32 squared norms of x
    centers: torch.Tensor,  # (K, D) float32
    chunk_size: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest centre and squared distance to it, through ||x||^2 - 2 x.c + ||c||^2 in chunks."""
    matmul_dtype = x.dtype
    c_sq = (centers * centers).sum(1)  # (K,)
    # -2 c is exact in any float format: the product then needs no extra scaling pass.
    c_mm = (-2 * centers).to(matmul_dtype).T.contiguous()  # (D, K)
    labels = torch.empty(x.shape[0], dtype=torch.long, device=x.device)
    dist = torch.empty(x.shape[0], dtype=torch.float32, device=x.device)
    for start in range(0, x.shape[0], chunk_size):
        rows = slice(start, start + chunk_size)
        # ||x||^2 is constant per row: the argmin needs only ||c||^2 - 2 x.c.
        if matmul_dtype == torch.float32:
            partial = torch.addmm(c_sq, x[rows], c_mm)  # (chunk, K)
        else:  # low-precision product only; the norms stay fp32
            partial = (x[rows] @ c_mm).float().add_(c_sq)
        best, idx = partial.min(dim=1)
        labels[rows] = idx
        dist[rows] = (best + x_sq[rows]).clamp_min_(0)
    return labels, dist


def assign(
    x: torch.Tensor,  # (M, D)
    centers: torch.Tensor,  # (K, D)
    chunk_size: int | None = None,
    *,
    matmul_dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Index of the nearest centre of every row of x, (M,) int64 (exact fp32 by default)."""
    x = x.float()
    centers = centers.to(device=x.device, dtype=torch.float32)
    # Shift both by the centres' mean: distances are unchanged, the expansion loses less precision.
    ref = centers.mean(0)
    centers = centers - ref
    chunk = _chunk(x.shape[0], centers.shape[0], chunk_size)
    labels = torch.empty(x.shape[0], dtype=torch.long, device=x.device)
    for start in range(0, x.shape[0], chunk):
        rows = slice(start, start + chunk)
        xc = x[rows] - ref
        labels[rows] = _nearest(xc.to(matmul_dtype), (xc * xc).sum(1), centers, chunk)[0]
    return labels


def kmeans(
    x: torch.Tensor,  # (M, D)
    num_clusters: int,
    *,
    generator: torch.Generator,
    max_iter: int = DEFAULT_MAX_ITER,
    tol: float = DEFAULT_TOL,
    inertia_tol: float = DEFAULT_INERTIA_TOL,
    chunk_size: int | None = None,
    n_local_trials: int | None = None,
    init_dim: int | None = DEFAULT_INIT_DIM,
    matmul_dtype: torch.dtype | None = None,
    init: torch.Tensor | None = None,
    on_iteration: Callable[[int], None] | None = None,
    on_seed: Callable[[], None] | None = None,
    overwrite_x: bool = False,
) -> KMeansResult:
    """Lloyd's k-means with greedy k-means++ seeding, on x's device.

    Stops when the labels no longer change or when the total squared centre shift of an iteration
    is <= tol * (mean per-feature variance of x), as scikit-learn, or when an iteration lowers the
    inertia by <= inertia_tol of its value (0: never), or after max_iter. `init_dim`: principal
    components the k-means++ seeding runs on (None or >= D: the data itself).
    `matmul_dtype`: dtype of the Lloyd distance matmul (None: bf16 where fast, else fp32).
    `init`: starting centres (K, D) instead of the k-means++ seeding (e.g. the previous ones).
    `on_iteration`: called with the iteration number after each Lloyd step, `on_seed` after each
    k-means++ seed (progress bars). `overwrite_x`: a float32 x may be centred in place (the caller
    no longer needs it), which saves a copy of the data.
    """
    m, d = x.shape
    if not 1 <= num_clusters <= m:
        raise ValueError(f"kmeans: need 1 <= num_clusters <= {m} points, got {num_clusters}")
    if matmul_dtype is None:
        matmul_dtype = torch.bfloat16 if has_native_bf16(x.device) else torch.float32
    chunk = _chunk(m, num_clusters, chunk_size)
    x, mean, x_sq, total_sq = _centred(x, overwrite_x)
    # scikit-learn's tolerance: tol x the mean per-feature variance (of the centred data).
    threshold = tol * total_sq / (m * d)
    centers = initial_centers(x, mean, num_clusters, init, generator=generator, init_dim=init_dim,
                              n_local_trials=n_local_trials, on_seed=on_seed)
    centers, n_iter = _lloyd(x, x_sq, total_sq, centers, chunk=chunk, matmul_dtype=matmul_dtype,
                             max_iter=max_iter, threshold=threshold, inertia_tol=inertia_tol,
                             on_iteration=on_iteration)
    labels, inertia = _final_assignment(x, x_sq, centers, chunk)
    return KMeansResult(centers=centers + mean, labels=labels, inertia=inertia, n_iter=n_iter)


def _centred(x: torch.Tensor, overwrite_x: bool
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]:
    """x (M, D) float32 minus its mean (in place with `overwrite_x`), the mean (D,), the squared
    norms (M,) of the centred rows and their float64 sum."""
    # k-means is translation invariant; centring makes the distance expansion far more precise.
    x = x.float()
    mean = x.mean(0)  # (D,)
    x = x.sub_(mean) if overwrite_x else x - mean
    x_sq = (x * x).sum(1)  # (M,)
    return x, mean, x_sq, x_sq.double().sum().item()


def _lloyd(
    x: torch.Tensor,  # (M, D) float32, centred
    x_sq: torch.Tensor,  # (M,) squared norms of x
    total_sq: float,  # their sum
    centers: torch.Tensor,  # (K, D) starting centres
    *,
    chunk: int,
    matmul_dtype: torch.dtype,
    max_iter: int,
    threshold: float,  # total squared centre shift at which to stop
    inertia_tol: float,
    on_iteration: Callable[[int], None] | None,
) -> tuple[torch.Tensor, int]:
    """Lloyd iterations until a stopping rule (see `kmeans`): the (K, D) centres and the number
    of iterations run."""
    # Converted once: the Lloyd loop reads the data in this dtype every iteration.
    x_mm = x if matmul_dtype == torch.float32 else x.to(matmul_dtype)
    labels_old = torch.full((x.shape[0],), -1, dtype=torch.long, device=x.device)
    previous = math.inf
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        labels, dist = _nearest(x_mm, x_sq, centers, chunk)
        new_centers, counts, relocated = _mean_centers(x, labels, dist, centers.shape[0])
        shift = ((new_centers - centers) ** 2).sum().item()
        centers = new_centers
        if on_iteration is not None:
            on_iteration(n_iter)
        if torch.equal(labels, labels_old) or shift <= threshold:
            break
        labels_old = labels
        if inertia_tol > 0:
            if relocated:
                current = math.inf  # the identity of _inertia_of_means does not hold
            else:
                current = _inertia_of_means(total_sq, counts, centers)
                if previous - current <= inertia_tol * current:
                    break
            previous = current
    return centers, n_iter


def _mean_centers(
    x: torch.Tensor,  # (M, D) float32
    labels: torch.Tensor,  # (M,) int64 nearest centre of each row
    dist: torch.Tensor,  # (M,) squared distance to it
    num_clusters: int,
) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """The mean of each cluster's points (K, D), the cluster sizes (K,), and whether an empty
    cluster was restarted, as scikit-learn, at a point farthest from its centre."""
    counts = torch.bincount(labels, minlength=num_clusters)  # (K,)
    sums = torch.zeros(num_clusters, x.shape[1], dtype=x.dtype, device=x.device).index_add_(
        0, labels, x)  # (K, D)
    centers = sums / counts.clamp_min(1)[:, None].to(sums.dtype)
    empty = counts == 0
    relocated = bool(empty.any())
    if relocated:
        empty_ids = empty.nonzero()[:, 0]
        far = torch.topk(dist, empty_ids.numel()).indices
        centers[empty_ids] = x[far]
    return centers, counts, relocated


def _inertia_of_means(total_sq: float, counts: torch.Tensor, centers: torch.Tensor) -> float:
    """The k-means objective when every centre is the mean of its points: sum ||x - c||^2 =
    sum ||x||^2 - sum_k n_k ||c_k||^2, in O(K D), in float64."""
    return total_sq - (counts.double() * (centers.double() ** 2).sum(1)).sum().item()


def _final_assignment(x: torch.Tensor, x_sq: torch.Tensor, centers: torch.Tensor, chunk: int
                      ) -> tuple[torch.Tensor, float]:
    """The final exact fp32 E-step, so that the labels (M,) and the inertia belong to the
    returned centres (as scikit-learn's)."""
    labels, _ = _nearest(x, x_sq, centers, chunk)
    inertia = 0.0
    block = max(1, INERTIA_BLOCK_ELEMENTS // x.shape[1])  # (block, D) temporaries, whatever M
    for start in range(0, x.shape[0], block):
        rows = slice(start, start + block)
        inertia += ((x[rows] - centers[labels[rows]]) ** 2).sum(dtype=torch.float64).item()
    return labels, inertia

__all__ = [
    "DEFAULT_INERTIA_TOL", "DEFAULT_INIT_DIM", "DEFAULT_MAX_ITER", "DEFAULT_TOL", "KMeansResult",
    "assign", "kmeans", "kmeans_plusplus", "principal_scores",
]
