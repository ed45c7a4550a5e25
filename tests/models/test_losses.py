"""haan.models.losses against plain-loop references of the spec's per-video formulas (section 4).

Each reference below processes one unpadded video at a time, one class / concept at a time, in
float64, and is compared with the batched implementation on padded, ragged batches.
"""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch
import torch.nn.functional as F

from haan.models.haan import HAAN
from haan.models.losses import (
    LossesOn,
    class_balance_weights,
    coarse_level_representations,
    coarse_loss,
    concept_loss,
    fine_level_representations,
    haan_losses,
    mil_loss,
    per_video_weights,
    pseudo_loss,
    valid_mask,
    visual_concepts,
)

TOL = dict(rtol=1e-5, atol=1e-5)
EPS = 1e-8


# ----------------------------------------------------------------------------------------------
# Plain-loop references (one video, unpadded)


def bce_with_logits(a: torch.Tensor, y: float, w: float) -> torch.Tensor:
    # w * -(y log sigmoid(a) + (1 - y) log(1 - sigmoid(a))), in a stable form.
    return w * (torch.clamp(a, min=0) - a * y + torch.log1p(torch.exp(-torch.abs(a))))


def cos(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return (u @ v) / (max(u.norm().item(), EPS) * max(v.norm().item(), EPS))


def cos_differentiable(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return (u @ v) / (torch.clamp(u.norm(), min=EPS) * torch.clamp(v.norm(), min=EPS))


def ref_mil(s: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    t, c = s.shape
    terms = []
    for j in range(c):
        column = [s[i, j] for i in range(t)]
        m = sum(v.item() for v in column) / t
        kept = [v for v in column if v.item() >= m]
        a = sum(kept) / len(kept)
        terms.append(bce_with_logits(a, y[j].item(), w[j].item()))
    return sum(terms) / c


def ref_pseudo(p: torch.Tensor, labels: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    t = p.shape[0]
    num, den = 0.0, 0.0
    for i in range(t):
        k = int(labels[i])
        logp = p[i, k] - torch.logsumexp(p[i], 0)
        num = num + w[k] * -logp
        den = den + w[k]
    return num / den / t


def ref_concepts(f: torch.Tensor, labels: torch.Tensor, k: int) -> torch.Tensor:
    rows = []
    for concept in range(k):
        members = [f[i] for i in range(f.shape[0]) if int(labels[i]) == concept]
        rows.append(sum(members) / len(members) if members else torch.zeros_like(f[0]))
    return torch.stack(rows)


def ref_fine_reps(w: torch.Tensor, v: torch.Tensor, top_k: int) -> torch.Tensor:
    rows = []
    for c in range(w.shape[0]):
        sims = [cos(w[c], v[k]).item() for k in range(v.shape[0])]
        best = sorted(range(v.shape[0]), key=lambda k: -sims[k])[:top_k]
        rows.append(sum(v[k] for k in best) / top_k)
    return torch.stack(rows)


def ref_concept_loss(w: torch.Tensor, r: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    positives = [c for c in range(w.shape[0]) if y[c] != 0]
    if not positives:
        return torch.zeros((), dtype=r.dtype)
    return sum(1 - cos_differentiable(w[c], r[c]) for c in positives) / len(positives)


def ref_coarse_reps(r: torch.Tensor, f2c: list[int], g: int, pooling: str) -> torch.Tensor:
    rows = []
    for group in range(g):
        members = [r[c] for c in range(r.shape[0]) if f2c[c] == group]
        if not members:
            rows.append(torch.zeros_like(r[0]))
        elif pooling == "mean":
            rows.append(sum(members) / len(members))
        else:
            rows.append(torch.stack(members).max(dim=0).values)
    return torch.stack(rows)


def ref_coarse_loss(z: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return sum(bce_with_logits(z[j], y[j].item(), w[j].item()) for j in range(z.shape[0])) / len(z)


# ----------------------------------------------------------------------------------------------
# Random ragged batches


def ragged(lengths: list[int], width: int, seed: int, pad_value: float = 0.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(len(lengths), max(lengths), width, generator=g, dtype=torch.float64)
    for i, n in enumerate(lengths):
        x[i, n:] = pad_value
    return x


LENGTHS = [7, 1, 12, 4]  # a one-clip video among ragged lengths


def test_valid_mask() -> None:
    mask = valid_mask(torch.tensor([2, 0, 3]), 3)
    assert mask.tolist() == [[True, True, False], [False, False, False], [True, True, True]]


def test_mil_loss_matches_loop_and_ignores_padding() -> None:
    b, c = len(LENGTHS), 6
    s = ragged(LENGTHS, c, seed=0).requires_grad_()
    mask = valid_mask(torch.tensor(LENGTHS), max(LENGTHS))
    g = torch.Generator().manual_seed(1)
    y = (torch.rand(b, c, generator=g) < 0.4).double()
    w = torch.rand(b, c, generator=g, dtype=torch.float64) + 0.5
    ours = mil_loss(s, mask, y, w)
    assert ours.shape == (b,)
    s_ref = s.detach().clone().requires_grad_()
    ref = torch.stack([ref_mil(s_ref[i, :n], y[i], w[i]) for i, n in enumerate(LENGTHS)])
    torch.testing.assert_close(ours, ref, **TOL)
    ours.sum().backward()
    ref.sum().backward()
    torch.testing.assert_close(s.grad, s_ref.grad, **TOL)
    # Garbage (even inf / nan) in padded positions changes nothing.
    s2 = s.detach().clone()
    s2[~mask] = float("nan")
    s2[0, -1] = float("inf")
    torch.testing.assert_close(mil_loss(s2, mask, y, w), ours.detach(), rtol=0, atol=0)


def test_mil_constant_column_is_finite() -> None:
    # The mean of three 0.1s rounds above 0.1: the paper's selection is empty (NaN); ours keeps
    # the column maximum, which is what the formula means.
    s = torch.full((1, 3, 1), 0.1, dtype=torch.float64)
    mask = torch.ones(1, 3, dtype=torch.bool)
    assert s.mean(1).item() > 0.1
    loss = mil_loss(s, mask, torch.ones(1, 1), torch.ones(1, 1))
    expected = bce_with_logits(torch.tensor(0.1, dtype=torch.float64), 1.0, 1.0)
    torch.testing.assert_close(loss, expected.reshape(1), **TOL)


def test_pseudo_loss_matches_loop_and_ignores_padding() -> None:
    k = 5
    p = ragged(LENGTHS, k, seed=2).requires_grad_()
    mask = valid_mask(torch.tensor(LENGTHS), max(LENGTHS))
    g = torch.Generator().manual_seed(3)
    labels = torch.randint(0, k, (len(LENGTHS), max(LENGTHS)), generator=g)
    weights = torch.rand(k, generator=g, dtype=torch.float64) + 0.1
    ours = pseudo_loss(p, labels, mask, weights)
    p_ref = p.detach().clone().requires_grad_()
    ref = torch.stack([ref_pseudo(p_ref[i, :n], labels[i, :n], weights)
                       for i, n in enumerate(LENGTHS)])
    torch.testing.assert_close(ours, ref, **TOL)
    ours.sum().backward()
    ref.sum().backward()
    torch.testing.assert_close(p.grad, p_ref.grad, **TOL)
    # It is PyTorch's weighted-mean cross entropy divided by the clip count.
    for i, n in enumerate(LENGTHS):
        ce = F.cross_entropy(p[i, :n].detach(), labels[i, :n], weight=weights) / n
        torch.testing.assert_close(ours[i].detach(), ce, **TOL)
    labels2 = labels.masked_fill(~mask, -7)  # any label value on padding
    p2 = p.detach().masked_fill(~mask[..., None], 1e30)
    torch.testing.assert_close(pseudo_loss(p2, labels2, mask, weights), ours.detach(),
                               rtol=0, atol=0)


def test_visual_concepts_matches_loop_with_absent_concepts() -> None:
    k, h = 6, 5
    f = ragged(LENGTHS, h, seed=4).requires_grad_()
    mask = valid_mask(torch.tensor(LENGTHS), max(LENGTHS))
    g = torch.Generator().manual_seed(5)
    labels = torch.randint(0, 4, (len(LENGTHS), max(LENGTHS)), generator=g)  # 4, 5 never used
    ours = visual_concepts(f, labels, mask, k)
    assert ours.shape == (len(LENGTHS), k, h)
    f_ref = f.detach().clone().requires_grad_()
    ref = torch.stack([ref_concepts(f_ref[i, :n], labels[i, :n], k)
                       for i, n in enumerate(LENGTHS)])
    torch.testing.assert_close(ours, ref, **TOL)
    assert torch.equal(ours[:, 4:], torch.zeros_like(ours[:, 4:]))
    probe = torch.randn(ours.shape, generator=g, dtype=torch.float64)
    (ours * probe).sum().backward()
    (ref * probe).sum().backward()
    torch.testing.assert_close(f.grad, f_ref.grad, **TOL)
    assert torch.equal(f.grad[~mask], torch.zeros_like(f.grad[~mask]))


def test_fine_level_representations_matches_loop() -> None:
    b, k, c, h, top_k = 3, 9, 4, 6, 3
    g = torch.Generator().manual_seed(6)
    w = torch.randn(c, h, generator=g, dtype=torch.float64)
    v = torch.randn(b, k, h, generator=g, dtype=torch.float64)
    v[0, 2] = 0  # an absent concept
    v.requires_grad_()
    ours = fine_level_representations(w, v, top_k)
    assert ours.shape == (b, c, h)
    v_ref = v.detach().clone().requires_grad_()
    ref = torch.stack([ref_fine_reps(w, v_ref[i], top_k) for i in range(b)])
    torch.testing.assert_close(ours, ref, **TOL)
    probe = torch.randn(ours.shape, generator=g, dtype=torch.float64)
    (ours * probe).sum().backward()
    (ref * probe).sum().backward()
    torch.testing.assert_close(v.grad, v_ref.grad, **TOL)


def test_absent_concepts_rank_above_negative_similarity() -> None:
    h = 4
    w = torch.tensor([[1.0, 0.0, 0.0, 0.0]])  # one class
    v = torch.zeros(1, 5, h)
    v[0, 0] = torch.tensor([2.0, 1.0, 0.0, 0.0])  # positive similarity
    v[0, 1] = torch.tensor([-1.0, 0.5, 0.0, 0.0])  # negative similarity: must not be chosen
    v[0, 3] = torch.tensor([0.1, 0.0, 3.0, 0.0])  # small positive similarity
    # Concepts 2 and 4 are absent (zero vectors, similarity exactly 0): tied, below 3.
    r = fine_level_representations(w, v, top_k=3)
    expected = (v[0, 0] + v[0, 3]) / 3  # plus one zero vector, whichever of the tied two
    torch.testing.assert_close(r[0, 0], expected, rtol=0, atol=1e-7)
    r4 = fine_level_representations(w, v, top_k=4)
    torch.testing.assert_close(r4[0, 0], (v[0, 0] + v[0, 3]) / 4, rtol=0, atol=1e-7)
    r5 = fine_level_representations(w, v, top_k=5)
    torch.testing.assert_close(r5[0, 0], v[0].sum(0) / 5, rtol=0, atol=1e-7)


def test_concept_loss_matches_loop_and_no_positive_is_zero() -> None:
    b, c, h = 4, 5, 6
    g = torch.Generator().manual_seed(7)
    w = torch.randn(c, h, generator=g, dtype=torch.float64)
    r = torch.randn(b, c, h, generator=g, dtype=torch.float64)
    r[1, 2] = 0  # a zero representation: cosine 0
    r.requires_grad_()
    y = (torch.rand(b, c, generator=g) < 0.5).double()
    y[1, 2] = 1
    y[3] = 0  # a video without positive class
    ours = concept_loss(w, r, y)
    r_ref = r.detach().clone().requires_grad_()
    ref = torch.stack([ref_concept_loss(w, r_ref[i], y[i]) for i in range(b)])
    torch.testing.assert_close(ours, ref, **TOL)
    assert ours[3].item() == 0.0
    ours.sum().backward()
    ref.sum().backward()
    torch.testing.assert_close(r.grad, r_ref.grad, **TOL)


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_coarse_level_representations_matches_loop(pooling: str) -> None:
    b, c, h, g_count = 3, 7, 5, 4
    f2c = [2, 0, 2, 1, 0, 2, 1]  # coarse class 3 has no fine class
    gen = torch.Generator().manual_seed(8)
    r = torch.randn(b, c, h, generator=gen, dtype=torch.float64).requires_grad_()
    ours = coarse_level_representations(r, torch.tensor(f2c), g_count, pooling)
    assert ours.shape == (b, g_count, h)
    r_ref = r.detach().clone().requires_grad_()
    ref = torch.stack([ref_coarse_reps(r_ref[i], f2c, g_count, pooling) for i in range(b)])
    torch.testing.assert_close(ours, ref, **TOL)
    assert torch.equal(ours[:, 3], torch.zeros_like(ours[:, 3]))
    probe = torch.randn(ours.shape, generator=gen, dtype=torch.float64)
    (ours * probe).sum().backward()
    (ref * probe).sum().backward()
    torch.testing.assert_close(r.grad, r_ref.grad, **TOL)


def test_coarse_pooling_rejects_unknown() -> None:
    with pytest.raises(ValueError, match="pooling"):
        coarse_level_representations(torch.zeros(1, 2, 3), torch.tensor([0, 1]), 2, "sum")


def test_coarse_loss_matches_loop() -> None:
    gen = torch.Generator().manual_seed(9)
    z = torch.randn(3, 5, generator=gen, dtype=torch.float64)
    y = (torch.rand(3, 5, generator=gen) < 0.5).double()
    w = torch.rand(3, 5, generator=gen, dtype=torch.float64)
    ref = torch.stack([ref_coarse_loss(z[i], y[i], w[i]) for i in range(3)])
    torch.testing.assert_close(coarse_loss(z, y, w), ref, **TOL)


def test_class_balance_weights_match_counts() -> None:
    y = torch.tensor([[1, 0, 0, 1], [1, 1, 0, 0], [0, 1, 0, 1], [1, 0, 0, 1], [1, 0, 0, 1]])
    n, c = y.shape
    pos, neg = class_balance_weights(y)
    counts = Counter(j for row in y.tolist() for j, v in enumerate(row) if v)
    for j in range(c):
        p = counts[j]
        assert pos[j].item() == pytest.approx(c / p if p else 0.0)  # class 2: no positive -> 0
        assert neg[j].item() == pytest.approx(c / (n - p) if n - p else 0.0)  # class 0: all
    weights = per_video_weights(y, pos, neg)
    for i in range(n):
        for j in range(c):
            assert weights[i, j].item() == (pos[j] if y[i, j] else neg[j]).item()
    # A class without positive training video: finite weights, finite loss.
    assert torch.isfinite(weights).all()
    s = torch.randn(n, 3, c)
    assert torch.isfinite(mil_loss(s, torch.ones(n, 3, dtype=torch.bool), y, weights)).all()


# ----------------------------------------------------------------------------------------------
# The whole objective and its gradient


B_LENGTHS = [6, 1, 9]
DIM, HID, NUM_C, NUM_K, NUM_G, TOP_K = 8, 10, 5, 7, 3, 3
F2C = [0, 2, 0, 1, 2]
LAMBDAS = (1.0, 0.001, 0.01, 0.1)


def batch_inputs(seed: int) -> dict:
    g = torch.Generator().manual_seed(seed)
    b, t = len(B_LENGTHS), max(B_LENGTHS)
    fine = torch.tensor([[1, 0, 1, 0, 0], [0, 0, 0, 0, 0], [0, 1, 0, 1, 1]], dtype=torch.float64)
    coarse = torch.zeros(b, NUM_G, dtype=torch.float64)
    for i in range(b):
        for c in range(NUM_C):
            if fine[i, c]:
                coarse[i, F2C[c]] = 1
    labels = torch.randint(0, NUM_K - 2, (b, t), generator=g)  # concepts 5, 6 absent
    return dict(
        features=ragged(B_LENGTHS, DIM, seed=seed + 1, pad_value=3.0),
        lengths=torch.tensor(B_LENGTHS),
        pseudo_labels=labels,
        concept_weights=torch.rand(NUM_K, generator=g, dtype=torch.float64) + 0.1,
        fine_labels=fine,
        fine_weights=torch.rand(b, NUM_C, generator=g, dtype=torch.float64) + 0.5,
        coarse_labels=coarse,
        coarse_weights=torch.rand(b, NUM_G, generator=g, dtype=torch.float64) + 0.5,
    )


def ref_total(model: HAAN, inp: dict, pooling: str) -> tuple[torch.Tensor, list[float]]:
    w = model.prototypes()
    total = torch.zeros((), dtype=torch.float64)
    sums = [0.0, 0.0, 0.0, 0.0]
    for i, n in enumerate(B_LENGTHS):
        out = model(inp["features"][i, :n][None])  # one video, unpadded
        f, s, p = out.clip_features[0], out.clip_scores[0], out.pseudo_logits[0]
        labels = inp["pseudo_labels"][i, :n]
        l_mil = ref_mil(s, inp["fine_labels"][i], inp["fine_weights"][i])
        l_pseudo = ref_pseudo(p, labels, inp["concept_weights"])
        v = ref_concepts(f, labels, NUM_K)
        r = ref_fine_reps(w, v, TOP_K)
        l_concept = ref_concept_loss(w, r, inp["fine_labels"][i])
        q = ref_coarse_reps(r, F2C, NUM_G, pooling)
        z = model.coarse_level_classifier(q)[1][:, 0]
        l_coarse = ref_coarse_loss(z, inp["coarse_labels"][i], inp["coarse_weights"][i])
        terms = [l_mil, l_pseudo, l_concept, l_coarse]
        total = total + sum(lam * term for lam, term in zip(LAMBDAS, terms))
        sums = [acc + term.item() for acc, term in zip(sums, terms)]
    return total, sums


def run_ours(model: HAAN, inp: dict, pooling: str):
    return haan_losses(model, **inp, fine_to_coarse=torch.tensor(F2C), num_coarse=NUM_G,
                       top_k=TOP_K, pooling=pooling, lambdas=LAMBDAS)


def grads(model: HAAN) -> dict[str, torch.Tensor]:
    return {k: p.grad.clone() for k, p in model.named_parameters()}


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_haan_losses_value_and_gradient_match_loop(pooling: str) -> None:
    torch.manual_seed(0)
    model = HAAN(DIM, HID, NUM_C, NUM_K, dropout_rate=0.0).double().train()
    inp = batch_inputs(seed=10)
    terms = run_ours(model, inp, pooling)
    model.zero_grad()
    terms.total.backward()
    ours = grads(model)

    model.zero_grad()
    total, sums = ref_total(model, inp, pooling)
    total.backward()
    ref = grads(model)

    torch.testing.assert_close(terms.total, total, **TOL)
    for got, want in zip([terms.mil, terms.pseudo, terms.concept, terms.coarse], sums):
        assert got.item() == pytest.approx(want, rel=1e-5, abs=1e-8)
    for name in ref:
        torch.testing.assert_close(ours[name], ref[name], **TOL, msg=name)
    # The coarse and pseudo classifiers and the encoder all receive gradient.
    for name in ("encoder.hidden_layer.weight", "pseudo_label_classifier.out_layer.weight",
                 "coarse_level_classifier.out_layer.weight"):
        assert ours[name].abs().sum() > 0


def test_haan_losses_padding_changes_nothing() -> None:
    torch.manual_seed(1)
    model = HAAN(DIM, HID, NUM_C, NUM_K, dropout_rate=0.0).double().train()
    inp = batch_inputs(seed=20)
    terms = run_ours(model, inp, "mean")
    model.zero_grad()
    terms.total.backward()
    before = grads(model)

    mask = valid_mask(inp["lengths"], max(B_LENGTHS))
    changed = dict(inp)
    g = torch.Generator().manual_seed(21)
    noise = 100 * torch.randn(inp["features"].shape, generator=g, dtype=torch.float64)
    changed["features"] = torch.where(mask[..., None], inp["features"], noise)
    # Longer padding than the longest video, and other labels on padded clips.
    changed["features"] = torch.cat([changed["features"], noise[:, :4]], dim=1)
    changed["pseudo_labels"] = torch.cat([
        inp["pseudo_labels"].masked_fill(~mask, NUM_K - 1),
        torch.zeros(len(B_LENGTHS), 4, dtype=torch.long)], dim=1)
    terms2 = run_ours(model, changed, "mean")
    model.zero_grad()
    terms2.total.backward()
    torch.testing.assert_close(terms2.total, terms.total, rtol=1e-12, atol=1e-12)
    for name, g_before in before.items():
        torch.testing.assert_close(grads(model)[name], g_before, rtol=1e-10, atol=1e-12)


def test_haan_losses_float32_runs_with_dropout() -> None:
    torch.manual_seed(2)
    model = HAAN(DIM, HID, NUM_C, NUM_K, dropout_rate=0.5).train()
    inp = {k: (v.float() if v.is_floating_point() else v) for k, v in batch_inputs(30).items()}
    terms = run_ours(model, inp, "max")
    assert terms.total.dtype == torch.float32 and math.isfinite(terms.total.item())
    terms.total.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_haan_losses_gradient_is_deterministic() -> None:
    # Large enough for PyTorch's multi-threaded CPU kernels, in float32.
    dims = dict(feature_size=32, hidden_size=256, num_fine_classes=40, num_visual_concepts=60)
    f2c = torch.arange(40) % 6
    g = torch.Generator().manual_seed(40)
    b, t = 2, 80
    inp = dict(
        features=torch.randn(b, t, 32, generator=g), lengths=torch.tensor([80, 55]),
        pseudo_labels=torch.randint(0, 60, (b, t), generator=g),
        concept_weights=torch.rand(60, generator=g) + 0.1,
        fine_labels=(torch.rand(b, 40, generator=g) < 0.2).float(),
        fine_weights=torch.rand(b, 40, generator=g),
        coarse_labels=(torch.rand(b, 6, generator=g) < 0.5).float(),
        coarse_weights=torch.rand(b, 6, generator=g),
    )
    results = []
    for _ in range(2):
        torch.manual_seed(41)  # same parameters and dropout masks
        model = HAAN(**dims, dropout_rate=0.5).train()
        terms = haan_losses(model, **inp, fine_to_coarse=f2c, num_coarse=6, top_k=5,
                            pooling="max", lambdas=LAMBDAS)
        terms.total.backward()
        results.append((terms.total.detach(), grads(model)))
    assert torch.equal(results[0][0], results[1][0])
    for name, grad in results[0][1].items():
        assert torch.equal(grad, results[1][1][name]), name


# ----------------------------------------------------------------------------------------------
# Losses switched off (ablations): not computed, nor what only they need


@pytest.mark.parametrize("on", [(1, 1, 1, 1), (1, 0, 0, 0), (1, 1, 0, 0), (1, 1, 1, 0),
                                (1, 0, 1, 1), (0, 1, 0, 1), (0, 0, 1, 0)])
def test_losses_switched_off_are_not_computed(on: tuple[int, ...]) -> None:
    torch.manual_seed(3)
    model = HAAN(DIM, HID, NUM_C, NUM_K, dropout_rate=0.0).double().train()
    inp = batch_inputs(seed=50)
    full = run_ours(model, inp, "mean")  # every loss, for reference
    calls = {"pseudo_label_classifier": 0, "coarse_level_classifier": 0}
    for name in calls:
        getattr(model, name).register_forward_hook(
            lambda module, args, out, name=name: calls.__setitem__(name, calls[name] + 1))
    lambdas = [lam * flag for lam, flag in zip(LAMBDAS, on)]
    assert LossesOn.of(lambdas) == LossesOn(*map(bool, on))
    if not (on[1] or on[2] or on[3]):  # no pseudo labels at all
        inp = {**inp, "pseudo_labels": None, "concept_weights": None}
    model.zero_grad()
    terms = haan_losses(model, **inp, fine_to_coarse=torch.tensor(F2C), num_coarse=NUM_G,
                        top_k=TOP_K, pooling="mean", lambdas=lambdas)
    values = [terms.mil, terms.pseudo, terms.concept, terms.coarse]
    reference = [full.mil, full.pseudo, full.concept, full.coarse]
    expected_total = sum(lam * ref for lam, ref, flag in zip(lambdas, reference, on) if flag)
    torch.testing.assert_close(terms.total, expected_total, **TOL)
    for value, ref, flag in zip(values, reference, on):
        assert torch.equal(value, ref) if flag else torch.isnan(value)
    assert calls == {"pseudo_label_classifier": on[1], "coarse_level_classifier": on[3]}
    terms.total.backward()
    got_gradient = {n: p.grad is not None for n, p in model.named_parameters()}
    assert got_gradient["fine_level_classifier.out_layer.weight"] == bool(on[0])
    assert got_gradient["pseudo_label_classifier.out_layer.weight"] == bool(on[1])
    assert got_gradient["coarse_level_classifier.out_layer.weight"] == bool(on[3])
    assert LossesOn(*map(bool, on)).every_parameter == all(got_gradient.values())


def test_an_empty_part_runs_only_the_blocks_in_use() -> None:
    """A process without a video of the batch runs the blocks the other processes run: the same
    dropout draws, a zero total connected to exactly their parameters."""
    torch.manual_seed(4)
    model = HAAN(DIM, HID, NUM_C, NUM_K, dropout_rate=0.5).double().train()
    empty = torch.zeros(0, 5, DIM, dtype=torch.float64)
    lambdas = [LAMBDAS[0], 0.0, LAMBDAS[2], 0.0]
    terms = haan_losses(model, empty, torch.zeros(0, dtype=torch.long), None, None,
                        *(torch.zeros(0, n, dtype=torch.float64) for n in (NUM_C, NUM_C, NUM_G, NUM_G)),
                        fine_to_coarse=torch.tensor(F2C), num_coarse=NUM_G, top_k=TOP_K,
                        pooling="mean", lambdas=lambdas)
    assert terms.total.item() == 0 and terms.mil.item() == 0 and terms.concept.item() == 0
    assert torch.isnan(terms.pseudo) and torch.isnan(terms.coarse)
    terms.total.backward()
    used = {n.split(".")[0] for n, p in model.named_parameters() if p.grad is not None}
    assert used == {"encoder", "fine_level_classifier"}
