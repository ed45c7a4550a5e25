"""haan.models.kmeans: k-means on the training device, against scikit-learn and brute force."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from haan.models.kmeans import assign, kmeans, kmeans_plusplus, principal_scores

from helpers import blobs, gen


def brute_force_inertia(x: torch.Tensor, centres: torch.Tensor, labels: torch.Tensor) -> float:
    total = 0.0
    for i in range(x.shape[0]):
        total += sum((float(a) - float(b)) ** 2 for a, b in zip(x[i], centres[labels[i]]))
    return total


@pytest.mark.parametrize("dim", [16, 300])  # 300 > init_dim: seeding on principal components
def test_kmeans_recovers_separated_blobs(dim: int) -> None:
    sizes = [40, 120, 75, 60, 150, 90]
    x, truth = blobs(sizes, dim, scale=10.0, seed=dim)
    result = kmeans(x, len(sizes), generator=gen(0))
    pairs = Counter(zip(truth.tolist(), result.labels.tolist()))
    assert len(pairs) == len(sizes)  # every blob is one cluster, every cluster one blob
    assert len({c for _, c in pairs}) == len(sizes)
    for blob, cluster in pairs:
        mean = x[truth == blob].mean(0)
        torch.testing.assert_close(result.centers[cluster], mean, rtol=1e-4, atol=1e-4)
    assert result.inertia == pytest.approx(
        brute_force_inertia(x[:200], result.centers, result.labels[:200])
        + brute_force_inertia(x[200:], result.centers, result.labels[200:]), rel=1e-5)


def test_kmeans_inertia_close_to_sklearn() -> None:
    sklearn = pytest.importorskip("sklearn.cluster")
    g = gen(1)
    # 3,000 points of a 40-component, strongly overlapping, anisotropic Gaussian mixture in 64
    # dims: a case where k-means' local optima all lie within ~0.3% of each other (any seed,
    # scikit-learn's or ours), so a 1% gap would be a defect, not bad luck.
    centres = 0.5 * torch.randn(40, 64, generator=g)
    noise = torch.randn(3000, 64, generator=g) * torch.linspace(0.2, 2.0, 64)
    x = centres[torch.randint(0, 40, (3000,), generator=g)] + noise
    reference = sklearn.KMeans(n_clusters=20, random_state=0).fit(x.numpy()).inertia_
    for dtype in (None, torch.float32):  # default (bf16 where fast) and exact fp32 Lloyd steps
        ours = kmeans(x, 20, generator=gen(0), matmul_dtype=dtype)
        assert ours.inertia <= 1.01 * reference, (dtype, ours.inertia / reference)


def test_kmeans_is_deterministic_for_a_seed() -> None:
    x, _ = blobs([100, 200, 50, 80], 280, scale=2.0, seed=3)
    a = kmeans(x, 12, generator=gen(7))
    b = kmeans(x, 12, generator=gen(7))
    assert torch.equal(a.centers, b.centers)
    assert torch.equal(a.labels, b.labels)
    assert (a.inertia, a.n_iter) == (b.inertia, b.n_iter)
    assert torch.equal(kmeans_plusplus(x, 12, generator=gen(7)),
                       kmeans_plusplus(x, 12, generator=gen(7)))


def test_kmeans_converged_result_is_a_lloyd_fixed_point() -> None:
    x, _ = blobs([60, 90, 30, 70], 8, scale=1.0, seed=4)
    result = kmeans(x, 7, generator=gen(2), tol=0.0, inertia_tol=0.0,
                    matmul_dtype=torch.float32)
    assert result.n_iter < 300
    for k in range(7):
        members = x[result.labels == k]
        assert len(members) > 0
        torch.testing.assert_close(result.centers[k], members.mean(0), rtol=1e-5, atol=1e-5)
    assert torch.equal(result.labels, assign(x, result.centers))


def test_principal_scores_keep_distances_of_low_rank_data() -> None:
    g = gen(12)
    low_rank = torch.randn(400, 6, generator=g) @ torch.randn(6, 200, generator=g)
    x = low_rank + 1e-4 * torch.randn(400, 200, generator=g)
    x = x - x.mean(0)
    y = principal_scores(x, 6, generator=gen(13))
    assert y.shape == (400, 6)
    exact = "donot_use_mm_for_euclid_dist"
    torch.testing.assert_close(torch.cdist(y, y, compute_mode=exact),
                               torch.cdist(x, x, compute_mode=exact), rtol=1e-3, atol=1e-2)
    # Fewer components than the data's rank lose distance: the check above can fail.
    short = principal_scores(x, 3, generator=gen(13))
    assert (torch.cdist(x, x, compute_mode=exact)
            - torch.cdist(short, short, compute_mode=exact)).max() > 1.0


def test_kmeans_max_iter() -> None:
    x, _ = blobs([50, 50, 50], 5, scale=1.0, seed=5)
    assert kmeans(x, 6, generator=gen(0), max_iter=1).n_iter == 1


def test_empty_cluster_moves_to_the_farthest_point() -> None:
    g = gen(6)
    a = torch.randn(50, 4, generator=g) * 0.1
    b = torch.randn(50, 4, generator=g) * 0.1 + torch.tensor([10.0, 0, 0, 0])
    outlier = torch.tensor([[0.0, 30.0, 0, 0]])
    x = torch.cat([a, b, outlier])
    init = torch.stack([a.mean(0), b.mean(0), torch.full((4,), 1000.0)])  # centre 2: empty
    result = kmeans(x, 3, generator=gen(0), init=init, matmul_dtype=torch.float32)
    torch.testing.assert_close(result.centers[2], outlier[0])
    assert result.labels.tolist() == [0] * 50 + [1] * 50 + [2]
    expected = ((a - a.mean(0)) ** 2).sum() + ((b - b.mean(0)) ** 2).sum()
    assert result.inertia == pytest.approx(expected.item(), rel=1e-4)


def test_more_clusters_than_distinct_points() -> None:
    x = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 5.0]]).repeat(10, 1)
    result = kmeans(x, 5, generator=gen(0))
    assert torch.isfinite(result.centers).all()
    assert result.labels.min() >= 0 and result.labels.max() < 5
    assert result.inertia == pytest.approx(0.0, abs=1e-6)


def test_kmeans_rejects_more_clusters_than_points() -> None:
    with pytest.raises(ValueError, match="num_clusters"):
        kmeans(torch.randn(4, 3), 5, generator=gen(0))


@pytest.mark.parametrize("chunk_size", [None, 7])
def test_assign_is_the_nearest_centre(chunk_size: int | None) -> None:
    g = gen(8)
    x = torch.randn(200, 10, generator=g) + 3.0  # off-centre data: the expansion must hold up
    centres = torch.randn(15, 10, generator=g) + 3.0
    labels = assign(x, centres, chunk_size)
    for i in range(x.shape[0]):
        dists = [sum((float(a) - float(b)) ** 2 for a, b in zip(x[i], centres[j]))
                 for j in range(centres.shape[0])]
        assert labels[i].item() == min(range(len(dists)), key=dists.__getitem__)


def test_centring_in_place_changes_nothing_but_memory() -> None:
    x, _ = blobs([50, 80, 60], 24, scale=5.0, seed=7)
    a = kmeans(x, 3, generator=gen(2))
    b = kmeans(x.clone(), 3, generator=gen(2), overwrite_x=True)
    assert torch.equal(a.centers, b.centers) and torch.equal(a.labels, b.labels)
    assert a.inertia == b.inertia
