"""Atomic actions: pseudo labels of the training clips from k-means (spec section 3).

Given the encoded training clips E (M, H) (padding excluded), draw int(sample_rate * M) of them
uniformly without replacement, fit k-means with K clusters on that sample, label every clip with
its nearest centre, and weight each concept by its frequency among all clips.

Backends: "torch" (haan.kmeans, on the clips' device, the default) or "sklearn" (the paper's
exact choice, `KMeans(n_clusters=K, random_state=0)` on the CPU, and its `predict`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from haan.errors import InputError
from haan.kmeans import (
    DEFAULT_INERTIA_TOL, DEFAULT_INIT_DIM, DEFAULT_MAX_ITER, DEFAULT_TOL, assign, kmeans,
)


@dataclass(frozen=True)
class PseudoLabels:
    labels: torch.Tensor  # (M,) int64 in [0, K): every clip's concept
    weights: torch.Tensor  # (K,) float32: concept frequencies over all M clips, summing to 1
    centers: torch.Tensor  # (K, H) float32: the k-means centres
    inertia: float  # k-means inertia on the sample
    n_iter: int  # k-means (Lloyd) iterations
    sample_size: int  # clips the k-means was fitted on


def concept_weights(labels: torch.Tensor, num_concepts: int) -> torch.Tensor:
    """w_k = count_k / sum(count) over the given clip labels, (K,) float32 (frequency, not
    inverse frequency, as the paper)."""
    counts = torch.bincount(labels.reshape(-1), minlength=num_concepts).to(torch.float64)
    return (counts / counts.sum()).float()


def sample_indices(num_clips: int, sample_rate: float, generator: torch.Generator) -> torch.Tensor:
    """int(sample_rate * num_clips) distinct clip indices, uniformly at random."""
    size = int(sample_rate * num_clips)
    return torch.randperm(num_clips, generator=generator, device=generator.device)[:size]


def generate_pseudo_labels(
    clips: torch.Tensor,  # (M, H) encoded training clips
    num_concepts: int,  # K
    sample_rate: float,
    *,
    generator: torch.Generator,
    backend: str = "torch",
    max_iter: int = DEFAULT_MAX_ITER,
    tol: float = DEFAULT_TOL,
    inertia_tol: float = DEFAULT_INERTIA_TOL,
    init_dim: int | None = DEFAULT_INIT_DIM,
    chunk_size: int | None = None,
    on_iteration: Callable[[int], None] | None = None,
    on_seed: Callable[[], None] | None = None,
) -> PseudoLabels:
    """Cluster a uniform sample of the clips and label all of them (see the module docstring).

    `max_iter`, `tol`: both backends (scikit-learn's meaning). `inertia_tol`, `init_dim`,
    `chunk_size`, `on_iteration` and `on_seed` (progress): the torch backend only (see haan.kmeans.kmeans).
    """
    if backend not in ("torch", "sklearn"):
        raise ValueError(f'backend must be "torch" or "sklearn", got {backend!r}')
    clips = clips.detach()
    m = clips.shape[0]
    index = sample_indices(m, sample_rate, generator).to(clips.device)
    size = int(index.numel())
    if size < num_concepts:
        raise InputError(
            f"k-means sample too small: int(clustering_sample_rate {sample_rate} x {m} training "
            f"clips) = {size} clips for num_visual_concepts = {num_concepts} clusters; raise "
            "hyperparameters.clustering_sample_rate or lower hyperparameters.num_visual_concepts")
    sample = clips[index].float()  # (S, H)

    if backend == "torch":
        fit = kmeans(sample, num_concepts, generator=generator, max_iter=max_iter, tol=tol,
                     inertia_tol=inertia_tol, init_dim=init_dim, chunk_size=chunk_size,
                     on_iteration=on_iteration, on_seed=on_seed)
        centers, inertia, n_iter = fit.centers, fit.inertia, fit.n_iter
        labels = assign(clips, centers, chunk_size)
    else:
        try:
            from sklearn.cluster import KMeans
        except ImportError:
            raise InputError('haan.kmeans_backend = "sklearn" needs scikit-learn '
                             "(pip install scikit-learn), or use the default \"torch\"") from None
        import numpy as np

        fit = KMeans(n_clusters=num_concepts, random_state=0, max_iter=max_iter, tol=tol)
        fit.fit(sample.cpu().numpy())
        all_clips = np.ascontiguousarray(clips.float().cpu().numpy())
        labels = torch.from_numpy(fit.predict(all_clips).astype(np.int64)).to(clips.device)
        centers = torch.from_numpy(fit.cluster_centers_.astype(np.float32)).to(clips.device)
        inertia, n_iter = float(fit.inertia_), int(fit.n_iter_)

    return PseudoLabels(labels=labels, weights=concept_weights(labels, num_concepts),
                        centers=centers, inertia=inertia, n_iter=n_iter, sample_size=size)


__all__ = ["PseudoLabels", "concept_weights", "generate_pseudo_labels", "sample_indices"]
