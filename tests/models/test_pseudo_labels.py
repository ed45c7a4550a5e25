"""haan.models.pseudo_labels: the k-means sample, concept weights and pseudo labels of the clips."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest
import torch

from haan.config import HaanSection
from haan.errors import InputError
from haan.models import kmeans as kmeans_module
from haan.models.kmeans import assign, kmeans
from haan.models.pseudo_labels import (
    KMeansOptions,
    concept_weights,
    fit_concepts,
    generate_pseudo_labels,
    sample_indices,
)

from helpers import blobs, gen  # the same data helpers


def test_concept_weights_are_frequencies() -> None:
    labels = torch.randint(0, 7, (500,), generator=gen(9))
    labels[labels == 3] = 2  # concept 3 unused
    weights = concept_weights(labels, 9)
    counts = Counter(labels.tolist())
    assert weights.dtype == torch.float32 and weights.shape == (9,)
    for k in range(9):
        assert weights[k].item() == pytest.approx(counts[k] / 500, rel=1e-6)
    assert weights[3].item() == 0.0 and weights[8].item() == 0.0


def test_sample_indices() -> None:
    idx = sample_indices(1000, 0.1, gen(1))
    assert idx.numel() == 100 and len(set(idx.tolist())) == 100
    assert 0 <= idx.min() and idx.max() < 1000
    assert torch.equal(idx, sample_indices(1000, 0.1, gen(1)))
    assert sample_indices(999, 0.1, gen(1)).numel() == 99  # int(), as the paper


def test_generate_pseudo_labels_torch() -> None:
    clips, _ = blobs([150, 200, 100, 150], 24, scale=3.0, seed=10)
    result = generate_pseudo_labels(clips, 8, 0.5, generator=gen(3))
    assert result.sample_size == 300
    assert result.labels.shape == (600,) and result.labels.dtype == torch.int64
    assert torch.equal(result.labels, assign(clips, result.centers))
    torch.testing.assert_close(result.weights, concept_weights(result.labels, 8))
    assert result.weights.sum().item() == pytest.approx(1.0)
    again = generate_pseudo_labels(clips, 8, 0.5, generator=gen(3))
    assert torch.equal(again.labels, result.labels) and again.inertia == result.inertia
    # The k-means is fitted on exactly the seeded sample.
    g = gen(3)
    sample = clips[sample_indices(600, 0.5, g)]
    direct = kmeans(sample, 8, generator=g)
    assert direct.inertia == result.inertia
    torch.testing.assert_close(direct.centers, result.centers)


def test_generate_pseudo_labels_sklearn_backend() -> None:
    sklearn = pytest.importorskip("sklearn.cluster")
    clips, _ = blobs([150, 200, 100, 150], 24, scale=3.0, seed=11)
    result = generate_pseudo_labels(clips, 8, 0.5, generator=gen(4),
                                    options=KMeansOptions(backend="sklearn"))
    sample = clips[sample_indices(600, 0.5, gen(4))]
    fit = sklearn.KMeans(n_clusters=8, random_state=0).fit(sample.numpy())
    assert result.inertia == pytest.approx(fit.inertia_)
    assert result.labels.tolist() == fit.predict(clips.numpy()).tolist()
    torch.testing.assert_close(result.weights, concept_weights(result.labels, 8))


def test_generate_pseudo_labels_sample_too_small() -> None:
    with pytest.raises(InputError, match=r"k-means sample too small: .* = 9 clips for "
                       r"num_visual_concepts = 10 .*clustering_sample_rate"):
        generate_pseudo_labels(torch.randn(95, 4), 10, 0.1, generator=gen(0))


def test_kmeans_options_defaults_are_the_kmeans_modules_and_the_configs() -> None:
    defaults = KMeansOptions()
    assert (defaults.backend, defaults.max_iter, defaults.tol, defaults.inertia_tol,
            defaults.init_dim, defaults.chunk_size) == (
        "torch", kmeans_module.DEFAULT_MAX_ITER, kmeans_module.DEFAULT_TOL,
        kmeans_module.DEFAULT_INERTIA_TOL, kmeans_module.DEFAULT_INIT_DIM, None)
    assert KMeansOptions.from_config(HaanSection()) == defaults  # [haan]'s defaults agree
    chosen = HaanSection(kmeans_backend="sklearn", kmeans_max_iter=7, kmeans_tol=0.5,
                         kmeans_inertia_tol=0.0)
    assert KMeansOptions.from_config(chosen) == KMeansOptions(backend="sklearn", max_iter=7,
                                                              tol=0.5, inertia_tol=0.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        defaults.max_iter = 1  # type: ignore[misc]


def test_fit_concepts_runs_kmeans_as_the_options_say() -> None:
    clips, _ = blobs([60, 80, 60], 16, scale=3.0, seed=12)
    options = KMeansOptions(max_iter=3, tol=0.0, inertia_tol=0.0, init_dim=4, chunk_size=50)
    a = fit_concepts(clips, 5, generator=gen(5), options=options)
    direct = kmeans(clips, 5, generator=gen(5), max_iter=3, tol=0.0, inertia_tol=0.0, init_dim=4,
                    chunk_size=50)
    assert a.n_iter == direct.n_iter == 3
    assert a.inertia == direct.inertia
    assert torch.equal(a.centers, direct.centers)
    with pytest.raises(ValueError, match='backend must be "torch" or "sklearn"'):
        fit_concepts(clips, 5, generator=gen(5), options=KMeansOptions(backend="faiss"))
