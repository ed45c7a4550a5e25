"""Atomic actions: pseudo labels of the training clips from k-means (spec section 3).

Given the encoded training clips E (M, H) (padding excluded), draw int(sample_rate * M) of them
uniformly without replacement, fit k-means with K clusters on that sample, label every clip with
its nearest centre, and weight each concept by its frequency among all clips.

Backends: "torch" (haan.models.kmeans, on the clips' device, the default) or "sklearn" (the paper's
exact choice, `KMeans(n_clusters=K, random_state=0)` on the CPU, and its `predict`); they and the
other k-means settings are `KMeansOptions`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import torch

from haan.errors import InputError
from haan.models.kmeans import (
    DEFAULT_INERTIA_TOL,
    DEFAULT_INIT_DIM,
    DEFAULT_MAX_ITER,
    DEFAULT_TOL,
    assign,
    kmeans,
)

if TYPE_CHECKING:  # the options take plain values; only from_config reads a config section
    from haan.config import HaanSection


@dataclass(frozen=True)
class PseudoLabels:
    labels: torch.Tensor  # (M,) int64 in [0, K): every clip's concept
    weights: torch.Tensor  # (K,) float32: concept frequencies over all M clips, summing to 1
    centers: torch.Tensor  # (K, H) float32: the k-means centres
    inertia: float  # k-means inertia on the sample
    n_iter: int  # k-means (Lloyd) iterations
    sample_size: int  # clips the k-means was fitted on


@dataclass(frozen=True)
class PseudoLabelState:
    """Pseudo labels of the training clips, videos in `train_indices` order."""

    labels: torch.Tensor  # (M,) int64, on the training device
    offsets: torch.Tensor  # (N_train + 1,) int64: video j's are labels[offsets[j]:offsets[j+1]]
    weights: torch.Tensor  # (K,) float32 concept weights
    inertia: float

    def padded(self, positions: torch.Tensor, t_max: int) -> torch.Tensor:
        """(B, t_max) labels of the videos at these positions; padding gets label 0 (masked)."""
        start = self.offsets[positions]  # (B,)
        length = self.offsets[positions + 1] - start  # (B,)
        steps = torch.arange(t_max, device=start.device)  # (t_max,)
        idx = start[:, None] + torch.minimum(steps[None, :], (length - 1).clamp(min=0)[:, None])
        return torch.where(steps[None, :] < length[:, None], self.labels[idx], 0)


def concept_weights(labels: torch.Tensor, num_concepts: int) -> torch.Tensor:
    """w_k = count_k / sum(count) over the given clip labels, (K,) float32 (frequency, not
    inverse frequency, as the paper)."""
    counts = torch.bincount(labels.reshape(-1), minlength=num_concepts).to(torch.float64)
    return (counts / counts.sum()).float()


def sample_indices(num_clips: int, sample_rate: float, generator: torch.Generator) -> torch.Tensor:
    """int(sample_rate * num_clips) distinct clip indices, uniformly at random."""
    size = int(sample_rate * num_clips)
    return torch.randperm(num_clips, generator=generator, device=generator.device)[:size]


@dataclass(frozen=True)
class Concepts:
    """The fitted k-means: K visual concepts (atomic actions)."""

    centers: torch.Tensor  # (K, H) float32, on the sample's device
    inertia: float  # k-means inertia on the sample
    n_iter: int  # k-means (Lloyd) iterations
    sample_size: int  # clips the k-means was fitted on
    estimator: object = None  # the fitted scikit-learn KMeans (backend "sklearn"), else None

    def assign(self, clips: torch.Tensor, chunk_size: int | None = None) -> torch.Tensor:
        """(M,) int64 nearest concept of each clip (M, H): exact fp32 for the torch backend,
        scikit-learn's `predict` for its backend (the paper's call)."""
        if self.estimator is None:
            return assign(clips.detach(), self.centers, chunk_size)
        import numpy as np

        x = np.ascontiguousarray(clips.detach().float().cpu().numpy())
        return torch.from_numpy(self.estimator.predict(x).astype(np.int64)).to(clips.device)

    def to(self, device: torch.device) -> Concepts:
        return dataclasses.replace(self, centers=self.centers.to(device))


def check_sample_size(size: int, num_clips: int, num_concepts: int, sample_rate: float) -> None:
    if size < num_concepts:
        raise InputError(
            f"k-means sample too small: int(clustering_sample_rate {sample_rate} x {num_clips} "
            f"training clips) = {size} clips for num_visual_concepts = {num_concepts} clusters; "
            "raise hyperparameters.clustering_sample_rate or lower "
            "hyperparameters.num_visual_concepts")


@dataclass(frozen=True)
class KMeansOptions:
    """How the concepts' k-means runs; the defaults are haan.models.kmeans'. `backend` "torch"
    (haan.models.kmeans, on the clips' device) or "sklearn" (scikit-learn's KMeans on the CPU).
    `max_iter`, `tol`: both backends (scikit-learn's meaning); the others the torch backend only
    (see haan.models.kmeans.kmeans)."""

    backend: str = "torch"
    max_iter: int = DEFAULT_MAX_ITER
    tol: float = DEFAULT_TOL
    inertia_tol: float = DEFAULT_INERTIA_TOL
    init_dim: int | None = DEFAULT_INIT_DIM
    chunk_size: int | None = None  # rows per distance block (None: a 64 MiB block)

    @classmethod
    def from_config(cls, settings: HaanSection) -> KMeansOptions:
        """The options a run's [haan] kmeans_* settings ask for."""
        return cls(backend=settings.kmeans_backend, max_iter=settings.kmeans_max_iter,
                   tol=settings.kmeans_tol, inertia_tol=settings.kmeans_inertia_tol)


def fit_concepts(
    sample: torch.Tensor,  # (S, H) encoded clips
    num_concepts: int,  # K
    *,
    generator: torch.Generator,
    options: KMeansOptions = KMeansOptions(),
    on_iteration: Callable[[int], None] | None = None,
    on_seed: Callable[[], None] | None = None,
    overwrite_sample: bool = False,
) -> Concepts:
    """k-means with K clusters on the sample, as `options` say. `on_iteration`, `on_seed`: progress of the torch backend (see
    haan.models.kmeans.kmeans). `overwrite_sample`: the torch backend may change the sample in
    place (one copy less)."""
    if options.backend not in ("torch", "sklearn"):
        raise ValueError(f'backend must be "torch" or "sklearn", got {options.backend!r}')
    sample = sample.detach().float()
    if options.backend == "torch":
        fit = kmeans(sample, num_concepts, generator=generator, max_iter=options.max_iter,
                     tol=options.tol, inertia_tol=options.inertia_tol, init_dim=options.init_dim,
                     chunk_size=options.chunk_size, on_iteration=on_iteration, on_seed=on_seed,
                     overwrite_x=overwrite_sample)
        return Concepts(centers=fit.centers, inertia=fit.inertia, n_iter=fit.n_iter,
                        sample_size=sample.shape[0])
    try:
        from sklearn.cluster import KMeans
    except ImportError:
        raise InputError('haan.kmeans_backend = "sklearn" needs scikit-learn '
                         "(pip install scikit-learn), or use the default \"torch\"") from None
    import numpy as np

    fit = KMeans(n_clusters=num_concepts, random_state=0, max_iter=options.max_iter,
                 tol=options.tol)
    fit.fit(sample.cpu().numpy())
    centers = torch.from_numpy(fit.cluster_centers_.astype(np.float32)).to(sample.device)
    return Concepts(centers=centers, inertia=float(fit.inertia_), n_iter=int(fit.n_iter_),
                    sample_size=sample.shape[0], estimator=fit)


def generate_pseudo_labels(
    clips: torch.Tensor,  # (M, H) encoded training clips
    num_concepts: int,  # K
    sample_rate: float,
    *,
    generator: torch.Generator,
    options: KMeansOptions = KMeansOptions(),
    on_iteration: Callable[[int], None] | None = None,
    on_seed: Callable[[], None] | None = None,
) -> PseudoLabels:
    """Cluster a uniform sample of the clips and label all of them, with every clip in memory
    (the training loop streams the same steps: haan.engine.pseudo_labelling.make_pseudo_labels).
    `options`, `on_iteration`, `on_seed`: as `fit_concepts`'.
    """
    clips = clips.detach()
    m = clips.shape[0]
    index = sample_indices(m, sample_rate, generator).to(clips.device)
    check_sample_size(int(index.numel()), m, num_concepts, sample_rate)
    concepts = fit_concepts(clips[index], num_concepts, generator=generator, options=options,
                            on_iteration=on_iteration, on_seed=on_seed)
    labels = concepts.assign(clips, options.chunk_size)
    return PseudoLabels(labels=labels, weights=concept_weights(labels, num_concepts),
                        centers=concepts.centers, inertia=concepts.inertia, n_iter=concepts.n_iter,
                        sample_size=concepts.sample_size)

__all__ = ["Concepts", "KMeansOptions", "PseudoLabelState", "PseudoLabels", "check_sample_size",
           "concept_weights", "fit_concepts", "generate_pseudo_labels",
           "sample_indices"]
