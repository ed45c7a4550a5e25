"""haan.models.wtalc: W-TALC's network, its two losses against plain loops, its batch sampler.

Two kinds of loop references: ours (one unpadded video, one pair, one class at a time, with the
module's definitions at its corner cases) and the authors' formulas as their trainer computes
them (their batch of consecutive similar pairs, no epsilon), written out here from the
description in haan.models.wtalc's docstring.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from haan.config import WTALCSection, load_config
from haan.engine.checkpoints import load_checkpoints, save_checkpoints
from haan.errors import InputError
from haan.models.losses import valid_mask
from haan.models.wtalc import (
    WTALC,
    WTALC_DEFAULTS,
    WTALCOutput,
    co_activity_loss,
    consecutive_pairs,
    make_optimizer,
    mil_topk_loss,
    pair_class_count,
    sample_similar_batch,
    topk_counts,
    wtalc_losses,
)

TOL = dict(rtol=1e-5, atol=1e-5)
EPS = 1e-8
D, C = 12, 5

# Ragged lengths: a one-clip video beside a 20-clip one (k_max = 3 > 1 there) and 8 / 9 clips
# (k = 1 and 2 at either side of the divisor).
LENGTHS = [5, 1, 20, 8, 9, 3]


# ----------------------------------------------------------------------------------------------
# Plain-loop references of our definitions (one unpadded video / pair / class at a time)


def ref_mil(s: torch.Tensor, y: torch.Tensor, divisor: float) -> torch.Tensor:
    """s (T, C) of one video."""
    t, c = s.shape
    k = min(max(math.ceil(t / divisor), 1), t)
    a = []
    for j in range(c):
        column = sorted((s[i, j] for i in range(t)), key=lambda v: -v.item())
        a.append(sum(column[:k]) / k)
    a = torch.stack(a)
    log_z = torch.log(sum(torch.exp(v) for v in a))
    positives = [j for j in range(c) if y[j] != 0]
    if not positives:
        return torch.zeros((), dtype=s.dtype)
    return -sum(a[j] - log_z for j in positives) / len(positives)


def cos_eps(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return (u / torch.clamp(u.norm(), min=EPS)) @ (v / torch.clamp(v.norm(), min=EPS))


def aggregates(x: torch.Tensor, s: torch.Tensor, c: int) -> tuple[torch.Tensor, torch.Tensor]:
    """High- and low-attention aggregates of one video (x (T, H), s (T, C)) for class c."""
    t = x.shape[0]
    e = [torch.exp(s[i, c]) for i in range(t)]
    attention = [v / sum(e) for v in e]
    high = sum(attention[i] * x[i] for i in range(t))
    low = sum((1 - attention[i]) * x[i] for i in range(t)) / max(t - 1, 1)
    return high, low


def ref_casl(xs: list[torch.Tensor], ss: list[torch.Tensor], y: torch.Tensor, margin: float,
             pairs: list[tuple[int, int]] | None = None) -> torch.Tensor:
    b, c = y.shape
    if pairs is None:
        pairs = [(i, j) for i in range(b) for j in range(i + 1, b)]
    total, count = torch.zeros((), dtype=xs[0].dtype), 0
    for i, j in pairs:
        for k in range(c):
            if y[i, k] == 0 or y[j, k] == 0:
                continue
            hi, li = aggregates(xs[i], ss[i], k)
            hj, lj = aggregates(xs[j], ss[j], k)
            d_hh = 1 - cos_eps(hi, hj)
            d1 = 1 - cos_eps(hi, lj)
            d2 = 1 - cos_eps(hj, li)
            total = total + 0.5 * torch.clamp(d_hh - d1 + margin, min=0) \
                + 0.5 * torch.clamp(d_hh - d2 + margin, min=0)
            count += 1
    return total / count if count else total


# ----------------------------------------------------------------------------------------------
# The authors' formulas, as their trainer applies them to one batch (per video, per pair)


def their_mill(logits: torch.Tensor, seq_len: list[int], labels: torch.Tensor) -> torch.Tensor:
    """Mean over the videos of -sum_c (y_c / sum y) log softmax_c(k-max mean), k = ceil(T/8)."""
    pooled = []
    for i, t in enumerate(seq_len):
        k = int(np.ceil(t / 8))
        pooled.append(torch.topk(logits[i, :t], k=k, dim=0).values.mean(0))
    pooled = torch.stack(pooled)  # (B, C)
    target = labels / labels.sum(1, keepdim=True)
    return -(target * F.log_softmax(pooled, dim=1)).sum(1).mean()


def their_casl(x: torch.Tensor, logits: torch.Tensor, seq_len: list[int], n_similar: int,
               labels: torch.Tensor) -> torch.Tensor:
    """Pairs (2p, 2p + 1) only; cosines without epsilon; classes weighted by y_i * y_j."""
    loss, n = 0.0, 0.0
    for p in range(n_similar):
        i, j = 2 * p, 2 * p + 1
        a1 = torch.softmax(logits[i, :seq_len[i]], dim=0)  # (T_i, C)
        a2 = torch.softmax(logits[j, :seq_len[j]], dim=0)
        h1 = x[i, :seq_len[i]].T @ a1  # (H, C)
        h2 = x[j, :seq_len[j]].T @ a2
        l1 = x[i, :seq_len[i]].T @ (1 - a1) / max(seq_len[i] - 1, 1)
        l2 = x[j, :seq_len[j]].T @ (1 - a2) / max(seq_len[j] - 1, 1)

        def dist(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
            return 1 - (u * v).sum(0) / (u.norm(dim=0) * v.norm(dim=0))

        shared = labels[i] * labels[j]
        d1, d2, d3 = dist(h1, h2), dist(h1, l2), dist(h2, l1)
        loss = loss + 0.5 * (torch.clamp(d1 - d2 + 0.5, min=0) * shared).sum()
        loss = loss + 0.5 * (torch.clamp(d1 - d3 + 0.5, min=0) * shared).sum()
        n = n + shared.sum()
    return loss / n


# ----------------------------------------------------------------------------------------------
# Helpers


def ragged(lengths: list[int], width: int, seed: int, pad_value: float = 0.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(len(lengths), max(lengths), width, generator=g, dtype=torch.float64)
    for i, n in enumerate(lengths):
        x[i, n:] = pad_value
    return x


def random_labels(b: int, c: int, seed: int, p: float = 0.5) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(b, c, generator=g) < p).double()


def small_model(seed: int = 0, dropout: float = 0.7, hidden: int = D) -> WTALC:
    torch.manual_seed(seed)
    return WTALC(D, hidden, C, dropout).double()


def leaf(x: torch.Tensor) -> torch.Tensor:
    return x.detach().clone().requires_grad_()


# ----------------------------------------------------------------------------------------------
# Defaults and network


def test_published_defaults() -> None:
    assert dataclasses.asdict(WTALC_DEFAULTS) == dict(
        dropout_rate=0.7, learning_rate=1e-4, weight_decay=5e-4, batch_size=10, num_similar=3,
        lambda_casl=0.5, topk_divisor=8.0, casl_margin=0.5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        WTALC_DEFAULTS.batch_size = 2  # type: ignore[misc]
    wtalc = ["model.method=\"wtalc\""]
    assert load_config("fine_gym", wtalc).wtalc == WTALC_DEFAULTS
    for setting, message in [
            ("batch_size=4", "[wtalc] batch_size: expected room for num_similar = 3 pairs (>= 6), "
                             "got 4"),
            ("dropout_rate=1.0", "[wtalc] dropout_rate: expected a probability in [0, 1)"),
            ("learning_rate=nan", "[wtalc] learning_rate: expected a finite number"),
            ("lambda_casl=1.5", "[wtalc] lambda_casl: expected a weight in [0, 1]")]:
        with pytest.raises(InputError) as info:
            load_config("fine_gym", [*wtalc, f"wtalc.{setting}"])
        assert message in str(info.value)


def test_parameter_names_shapes_and_xavier_init() -> None:
    torch.manual_seed(0)
    model = WTALC(64, 48, 20, dropout_rate=0.7)
    assert model.block_names == ("wtalc",)
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == {
        "wtalc.hidden_layer.weight": (48, 64), "wtalc.hidden_layer.bias": (48,),
        "wtalc.out_layer.weight": (20, 48), "wtalc.out_layer.bias": (20,)}
    for layer in (model.wtalc.hidden_layer, model.wtalc.out_layer):
        fan_out, fan_in = layer.weight.shape
        bound = math.sqrt(6 / (fan_in + fan_out))
        assert torch.equal(layer.bias, torch.zeros_like(layer.bias))
        assert layer.weight.abs().max() <= bound
        # Uniform(-b, b) has standard deviation b / sqrt(3); nn.Linear's default init is ~2x
        # smaller here.
        assert layer.weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.05)
    assert model.wtalc.dropout_rate == 0.7


def test_forward_formula_and_clip_scores() -> None:
    model = small_model().eval()
    x = torch.randn(2, 4, D, dtype=torch.float64)
    out = model(x)
    assert isinstance(out, WTALCOutput)
    assert out.clip_features.shape == (2, 4, D) and out.clip_scores.shape == (2, 4, C)
    w1, b1 = model.wtalc.hidden_layer.weight, model.wtalc.hidden_layer.bias
    w2, b2 = model.wtalc.out_layer.weight, model.wtalc.out_layer.bias
    for i in range(2):
        for t in range(4):
            h = torch.clamp(w1 @ x[i, t] + b1, min=0)
            torch.testing.assert_close(out.clip_features[i, t], h)
            torch.testing.assert_close(out.clip_scores[i, t], w2 @ h + b2)
    assert torch.equal(model.clip_scores(x), out.clip_scores)
    assert model.clip_scores(x[0, 0]).shape == (C,)  # any leading shape


def test_dropout_follows_train_mode() -> None:
    model = small_model(dropout=0.7)
    x = torch.randn(64, D, dtype=torch.float64)
    model.eval()
    h_eval = model(x).clip_features
    model.train()
    h_train, s_train = model(x)
    active = h_eval > 0
    kept = h_train[active] != 0
    assert 0.1 < kept.double().mean() < 0.5  # keep probability 0.3
    torch.testing.assert_close(h_train[active][kept], h_eval[active][kept] / 0.3)
    torch.testing.assert_close(s_train, model.wtalc.out_layer(h_train))  # CASL sees these


def test_from_config_and_optimizer() -> None:
    config = load_config("fine_gym")
    h = dataclasses.replace(config.hyperparameters, feature_size=16, dropout_rate=0.5)
    config = dataclasses.replace(config, hyperparameters=h,
                                 stats=dataclasses.replace(config.stats, num_fine_classes=6))
    model = WTALC.from_config(config)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes["wtalc.hidden_layer.weight"] == (16, 16)  # hidden size = D
    assert shapes["wtalc.out_layer.weight"] == (6, 16)
    assert model.wtalc.dropout_rate == 0.7  # theirs, not HAAN's dropout_rate
    params = WTALCSection(dropout_rate=0.2, learning_rate=3e-4, weight_decay=1e-3)
    assert WTALC.from_config(dataclasses.replace(config, wtalc=params)).wtalc.dropout_rate == 0.2
    optimizer = make_optimizer(model)
    assert isinstance(optimizer, torch.optim.Adam)
    group = optimizer.param_groups[0]
    assert (group["lr"], group["weight_decay"]) == (1e-4, 5e-4)
    assert len(group["params"]) == 4
    assert make_optimizer(model, params).param_groups[0]["weight_decay"] == 1e-3


# ----------------------------------------------------------------------------------------------
# MIL loss


def test_topk_counts() -> None:
    lengths = torch.tensor([1, 7, 8, 9, 16, 17, 309])
    assert topk_counts(lengths, 8).tolist() == [1, 1, 1, 2, 2, 3, 39]
    assert topk_counts(lengths, 0.5).tolist() == lengths.tolist()  # k > T: all clips
    assert topk_counts(lengths, 1000).tolist() == [1] * 7


def test_mil_matches_loop_with_gradients() -> None:
    b = len(LENGTHS)
    s = leaf(ragged(LENGTHS, C, seed=0))
    mask = valid_mask(torch.tensor(LENGTHS), max(LENGTHS))
    y = random_labels(b, C, seed=1)
    y[0] = 0  # a video without label
    y[1, 2] = 1
    ours = mil_topk_loss(s, mask, y)
    assert ours.shape == (b,)
    assert ours[0] == 0
    s_ref = leaf(s)
    ref = torch.stack([ref_mil(s_ref[i, :n], y[i], 8) for i, n in enumerate(LENGTHS)])
    torch.testing.assert_close(ours, ref, **TOL)
    probe = torch.rand(b, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    (ours * probe).sum().backward()
    (ref * probe).sum().backward()
    torch.testing.assert_close(s.grad, s_ref.grad, **TOL)
    assert torch.equal(s.grad[~mask], torch.zeros_like(s.grad[~mask]))


@pytest.mark.parametrize("divisor", [0.5, 1.0, 3.0, 1000.0])
def test_mil_other_divisors_and_k_beyond_t(divisor: float) -> None:
    s = leaf(ragged(LENGTHS, C, seed=3))
    mask = valid_mask(torch.tensor(LENGTHS), max(LENGTHS))
    y = random_labels(len(LENGTHS), C, seed=4, p=0.7)
    ours = mil_topk_loss(s, mask, y, topk_divisor=divisor)
    s_ref = leaf(s)
    ref = torch.stack([ref_mil(s_ref[i, :n], y[i], divisor) for i, n in enumerate(LENGTHS)])
    torch.testing.assert_close(ours, ref, **TOL)
    ours.sum().backward()
    ref.sum().backward()
    torch.testing.assert_close(s.grad, s_ref.grad, **TOL)


def test_mil_one_clip_video_by_hand() -> None:
    s = torch.tensor([[[2.0, 0.0, -1.0]]], dtype=torch.float64)  # (1, 1, 3)
    y = torch.tensor([[1.0, 1.0, 0.0]], dtype=torch.float64)
    loss = mil_topk_loss(s, torch.ones(1, 1, dtype=torch.bool), y)
    log_z = math.log(math.exp(2) + 1 + math.exp(-1))
    assert loss.item() == pytest.approx(-0.5 * ((2 - log_z) + (0 - log_z)), abs=1e-12)


def test_mil_padding_invariance() -> None:
    s = ragged(LENGTHS, C, seed=5)
    mask = valid_mask(torch.tensor(LENGTHS), max(LENGTHS))
    y = random_labels(len(LENGTHS), C, seed=6)
    clean = leaf(s)
    ours = mil_topk_loss(clean, mask, y)
    ours.sum().backward()
    dirty = s.clone()
    dirty[~mask] = float("nan")
    dirty[1, 1:] = float("inf")  # would win every top-k if it were ranked
    dirty = leaf(dirty)
    again = mil_topk_loss(dirty, mask, y)
    again.sum().backward()
    torch.testing.assert_close(again, ours, rtol=0, atol=0)
    torch.testing.assert_close(dirty.grad, clean.grad, rtol=0, atol=0)


# ----------------------------------------------------------------------------------------------
# Co-activity similarity loss


def casl_inputs(seed: int, h: int = 6) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                                  torch.Tensor]:
    x = ragged(LENGTHS, h, seed=seed).relu()  # clip features are ReLU outputs
    s = ragged(LENGTHS, C, seed=seed + 1)
    mask = valid_mask(torch.tensor(LENGTHS), max(LENGTHS))
    y = random_labels(len(LENGTHS), C, seed=seed + 2)
    return x, s, mask, y


def test_casl_matches_loop_with_gradients() -> None:
    x, s, mask, y = casl_inputs(seed=10)
    x, s = leaf(x), leaf(s)
    ours = co_activity_loss(x, s, mask, y)
    assert ours.shape == ()
    x_ref, s_ref = leaf(x), leaf(s)
    ref = ref_casl([x_ref[i, :n] for i, n in enumerate(LENGTHS)],
                   [s_ref[i, :n] for i, n in enumerate(LENGTHS)], y, margin=0.5)
    assert ref.item() > 0
    torch.testing.assert_close(ours, ref, **TOL)
    ours.backward()
    ref.backward()
    torch.testing.assert_close(x.grad, x_ref.grad, **TOL)
    torch.testing.assert_close(s.grad, s_ref.grad, **TOL)
    assert x.grad.abs().sum() > 0 and s.grad.abs().sum() > 0


@pytest.mark.parametrize("margin", [0.0, 2.0])
def test_casl_margin_and_pair_mask(margin: float) -> None:
    x, s, mask, y = casl_inputs(seed=20)
    y[:] = 1  # every pair shares every class
    chosen = [(0, 2), (1, 4), (3, 5)]
    pairs = torch.zeros(len(LENGTHS), len(LENGTHS), dtype=torch.bool)
    for i, j in chosen:
        pairs[i, j] = True
    pairs[4, 1] = True  # the lower triangle is ignored: (1, 4) counts once
    x, s = leaf(x), leaf(s)
    ours = co_activity_loss(x, s, mask, y, margin=margin, pairs=pairs)
    x_ref, s_ref = leaf(x), leaf(s)
    ref = ref_casl([x_ref[i, :n] for i, n in enumerate(LENGTHS)],
                   [s_ref[i, :n] for i, n in enumerate(LENGTHS)], y, margin, chosen)
    torch.testing.assert_close(ours, ref, **TOL)
    ours.backward()
    ref.backward()
    torch.testing.assert_close(x.grad, x_ref.grad, **TOL)
    torch.testing.assert_close(s.grad, s_ref.grad, **TOL)


def test_casl_no_shared_class_is_zero_without_gradient() -> None:
    x, s, mask, _ = casl_inputs(seed=30)
    y = torch.eye(len(LENGTHS), C, dtype=torch.float64)  # video i has class i (none for i >= C)
    x, s = leaf(x), leaf(s)
    loss = co_activity_loss(x, s, mask, y)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.equal(x.grad, torch.zeros_like(x)) and torch.equal(s.grad, torch.zeros_like(s))
    # Shared classes only among pairs the mask leaves out: also 0.
    y2 = torch.ones(len(LENGTHS), C)
    none = torch.zeros(len(LENGTHS), len(LENGTHS), dtype=torch.bool)
    assert co_activity_loss(x, s, mask, y2, pairs=none).item() == 0.0


def test_casl_one_clip_video() -> None:
    # Video 1 has one clip: attention 1, low-attention aggregate 0, so d(H_j, L_1) = 1.
    x, s, mask, y = casl_inputs(seed=40)
    y[:] = 0
    y[1, 3] = y[2, 3] = 1  # only the pair (1, 2), class 3
    h1 = x[1, 0]  # the one clip's features
    h2, l2 = aggregates(x[2, :LENGTHS[2]], s[2, :LENGTHS[2]], 3)
    d_hh = 1 - cos_eps(h1, h2)
    expected = 0.5 * max(d_hh - (1 - cos_eps(h1, l2)) + 0.5, 0) + 0.5 * max(d_hh - 1 + 0.5, 0)
    x, s = leaf(x), leaf(s)
    ours = co_activity_loss(x, s, mask, y)
    assert ours.item() == pytest.approx(float(expected), abs=1e-10)
    ours.backward()
    assert torch.isfinite(x.grad).all() and torch.isfinite(s.grad).all()
    assert torch.equal(s.grad[1, 0], torch.zeros(C, dtype=torch.float64))  # softmax of one


def test_casl_padding_invariance() -> None:
    x, s, mask, y = casl_inputs(seed=50)
    xc, sc = leaf(x), leaf(s)
    clean = co_activity_loss(xc, sc, mask, y)
    clean.backward()
    x2, s2 = x.clone(), s.clone()
    x2[~mask] = float("nan")
    s2[~mask] = float("inf")
    x2, s2 = leaf(x2), leaf(s2)
    dirty = co_activity_loss(x2, s2, mask, y)
    dirty.backward()
    torch.testing.assert_close(dirty, clean, rtol=0, atol=0)
    torch.testing.assert_close(x2.grad, xc.grad, rtol=0, atol=0)
    torch.testing.assert_close(s2.grad, sc.grad, rtol=0, atol=0)


# ----------------------------------------------------------------------------------------------
# Their batches, their formulas


def test_sampler_draws_pairs_of_a_class_then_the_rest() -> None:
    g = torch.Generator().manual_seed(0)
    n, c = 40, 6
    y = (torch.rand(n, c, generator=g) < 0.3).float()
    y[:, 5] = 0  # a class without training video: never drawn
    batch = sample_similar_batch(y, batch_size=10, num_similar=3, generator=g)
    assert batch.shape == (10,) and batch.dtype == torch.int64
    assert 0 <= batch.min() and batch.max() < n
    for p in range(3):
        assert (y[batch[2 * p]] * y[batch[2 * p + 1]]).sum() > 0
    g1, g2 = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    first = sample_similar_batch(y, 10, 3, g1)
    torch.manual_seed(123)  # the global RNG plays no part
    assert torch.equal(first, sample_similar_batch(y, 10, 3, g2))
    with pytest.raises(ValueError, match="cannot hold 6 pairs"):
        sample_similar_batch(y, 10, 6, g)
    with pytest.raises(InputError, match="no class has a training video"):
        sample_similar_batch(torch.zeros(4, 3), 4, 1, g)


def test_sampler_frequencies() -> None:
    # Single-label videos: class 0 has 2 videos, class 1 has 6, class 2 has 12, class 3 none.
    labels = [0] * 2 + [1] * 6 + [2] * 12
    y = F.one_hot(torch.tensor(labels), 4)
    g = torch.Generator().manual_seed(1)
    draws = torch.stack([sample_similar_batch(y, 6, 2, g) for _ in range(3000)])  # (3000, 6)
    pair_class = torch.tensor(labels)[draws[:, :4:2]]  # (3000, 2)
    assert torch.equal(pair_class, torch.tensor(labels)[draws[:, 1:4:2]])  # a pair shares it
    share = torch.bincount(pair_class.reshape(-1), minlength=4).double() / pair_class.numel()
    torch.testing.assert_close(share, torch.tensor([1 / 3, 1 / 3, 1 / 3, 0.0],
                                                   dtype=torch.float64), rtol=0, atol=0.02)
    # Within a class, videos uniformly; the rest of the batch uniformly over all videos.
    in_class_0 = draws[:, :4][pair_class.repeat_interleave(2, dim=1) == 0]
    assert torch.bincount(in_class_0, minlength=2).double().div(len(in_class_0)).sub(0.5).abs() \
        .max() < 0.03
    rest = torch.bincount(draws[:, 4:].reshape(-1), minlength=20).double() / (3000 * 2)
    assert (rest - 1 / 20).abs().max() < 0.015


def their_batch(seed: int, single_label: bool) -> tuple[torch.Tensor, list[int], torch.Tensor]:
    """A training set of 30 videos and one batch drawn from it as their sampler does."""
    g = torch.Generator().manual_seed(seed)
    n, c = 30, 8
    if single_label:
        y = F.one_hot(torch.arange(n) % c, c).double()
    else:
        y = (torch.rand(n, c, generator=g) < 0.25).double()
        y[torch.arange(n), torch.randint(c, (n,), generator=g)] = 1  # at least one label each
    # At least two clips: their low-attention aggregate of a one-clip video is 0 / 0 (NaN).
    lengths = torch.randint(2, 40, (n,), generator=g)
    batch = sample_similar_batch(y, WTALC_DEFAULTS.batch_size, WTALC_DEFAULTS.num_similar, g)
    return batch, lengths[batch].tolist(), y[batch]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_their_batches_reduce_to_their_formulas(seed: int) -> None:
    batch, seq_len, y = their_batch(seed, single_label=False)
    b, s_pairs = WTALC_DEFAULTS.batch_size, WTALC_DEFAULTS.num_similar
    x = ragged(seq_len, 7, seed=seed + 100).relu()
    s = ragged(seq_len, y.shape[1], seed=seed + 200)
    mask = valid_mask(torch.tensor(seq_len), max(seq_len))
    x, s = leaf(x), leaf(s)
    x_ref, s_ref = leaf(x), leaf(s)
    ours = (mil_topk_loss(s, mask, y).mean()
            + co_activity_loss(x, s, mask, y, pairs=consecutive_pairs(b, s_pairs)))
    theirs = their_mill(s_ref, seq_len, y) + their_casl(x_ref, s_ref, seq_len, s_pairs, y)
    torch.testing.assert_close(ours, theirs, **TOL)
    ours.backward()
    theirs.backward()
    torch.testing.assert_close(x.grad, x_ref.grad, **TOL)
    torch.testing.assert_close(s.grad, s_ref.grad, **TOL)
    # A pair with a one-clip video: NaN in their formula, defined in ours.
    seq_len[0] = 1
    mask = valid_mask(torch.tensor(seq_len), max(seq_len))
    assert torch.isnan(their_casl(x.detach(), s.detach(), seq_len, s_pairs, y))
    assert torch.isfinite(co_activity_loss(x, s, mask, y, pairs=consecutive_pairs(b, s_pairs)))


def test_all_pairs_on_their_pairs_is_their_casl() -> None:
    # Single-label videos and three different classes drawn: no video shares a class with a
    # video of another pair, so every pair of the six is either one of theirs or contributes
    # nothing.
    batch, seq_len, y = their_batch(seed=3, single_label=True)
    paired = y[:6].argmax(1)
    assert len(set(paired.tolist())) == 3
    x = ragged(seq_len, 7, seed=300).relu()
    s = ragged(seq_len, y.shape[1], seed=301)
    mask = valid_mask(torch.tensor(seq_len), max(seq_len))
    ours = co_activity_loss(x[:6], s[:6], mask[:6], y[:6])
    theirs = their_casl(x, s, seq_len, 3, y)
    torch.testing.assert_close(ours, theirs, **TOL)
    # Over the whole batch, the random videos bring extra pairs: a different (but defined) value.
    whole = co_activity_loss(x, s, mask, y)
    shared_outside = sum(int(y[i] @ y[j]) for i in range(10) for j in range(i + 1, 10)
                         if not (j == i + 1 and i % 2 == 0 and i < 6))
    assert (whole != theirs) == (shared_outside > 0)


# ----------------------------------------------------------------------------------------------
# The objective on the model


def test_wtalc_losses_matches_loops_and_ignores_padding() -> None:
    model = small_model(seed=1).eval()  # dropout off: the same network in both computations
    b = len(LENGTHS)
    feats = ragged(LENGTHS, D, seed=60)
    lengths = torch.tensor(LENGTHS)
    y = random_labels(b, C, seed=61)
    terms = wtalc_losses(model, feats, lengths, y, lambda_casl=0.3)
    terms.total.backward()
    grads = [p.grad.clone() for p in model.parameters()]

    model.zero_grad()
    outs = [model(feats[i, :n]) for i, n in enumerate(LENGTHS)]
    mil = torch.stack([ref_mil(o.clip_scores, y[i], 8) for i, o in enumerate(outs)]).mean()
    casl = ref_casl([o.clip_features for o in outs], [o.clip_scores for o in outs], y, 0.5)
    total = 0.7 * mil + 0.3 * casl
    torch.testing.assert_close(terms.total, total, **TOL)
    torch.testing.assert_close(terms.mil, mil.detach(), **TOL)
    torch.testing.assert_close(terms.casl, casl.detach(), **TOL)
    assert not terms.mil.requires_grad and not terms.casl.requires_grad
    total.backward()
    for got, ref in zip(grads, model.parameters()):
        torch.testing.assert_close(got, ref.grad, **TOL)

    # Garbage after each video's end, and extra padded columns: nothing changes.
    model.zero_grad()
    dirty = torch.cat([feats, torch.zeros(b, 3, D, dtype=torch.float64)], dim=1)
    dirty[~valid_mask(lengths, dirty.shape[1])] = float("nan")
    again = wtalc_losses(model, dirty, lengths, y, lambda_casl=0.3)
    again.total.backward()
    torch.testing.assert_close(again.total, terms.total, rtol=0, atol=0)
    for got, p in zip(grads, model.parameters()):
        torch.testing.assert_close(p.grad, got, rtol=0, atol=0)


def test_wtalc_losses_in_training_mode_uses_dropped_features() -> None:
    model = small_model(seed=2, dropout=0.7).train()
    feats = ragged(LENGTHS, D, seed=70)
    y = torch.ones(len(LENGTHS), C, dtype=torch.float64)
    lengths = torch.tensor(LENGTHS)
    torch.manual_seed(5)
    terms = wtalc_losses(model, feats, lengths, y, pairs=consecutive_pairs(len(LENGTHS), 3))
    # The same dropout masks, drawn in the same order over the valid clips.
    torch.manual_seed(5)
    mask = valid_mask(lengths, max(LENGTHS))
    out = model(feats[mask])
    assert torch.isfinite(terms.total)
    f = torch.zeros(len(LENGTHS), max(LENGTHS), D, dtype=torch.float64)
    sc = torch.zeros(len(LENGTHS), max(LENGTHS), C, dtype=torch.float64)
    f[mask], sc[mask] = out.clip_features, out.clip_scores
    expected = 0.5 * mil_topk_loss(sc, mask, y).mean() + 0.5 * co_activity_loss(
        f, sc, mask, y, pairs=consecutive_pairs(len(LENGTHS), 3))
    torch.testing.assert_close(terms.total, expected, rtol=0, atol=0)


# ----------------------------------------------------------------------------------------------
# A batch split between processes


def test_parts_of_a_batch_add_up_to_the_batch() -> None:
    """Two processes, each with whole pairs of the batch (haan.models.methods' split of 10 videos:
    6 and 4), the whole batch's size and (pair, class) count: their totals and gradients add up
    to the one-process batch's."""
    model = small_model(seed=4).eval()
    g = torch.Generator().manual_seed(9)
    lengths = torch.randint(1, 12, (10,), generator=g)
    feats = ragged(lengths.tolist(), D, seed=80)
    y = random_labels(10, C, seed=81)
    y[1] = y[0]  # the first pair shares every class of video 0
    pairs = consecutive_pairs(10, 3)
    whole = wtalc_losses(model, feats, lengths, y, pairs=pairs)
    whole.total.backward()
    expected = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    count = pair_class_count(y, 3)
    assert count == sum(int(y[2 * p] @ y[2 * p + 1]) for p in range(3))
    parts = []
    for lo, hi in ((0, 6), (6, 10)):
        parts.append(wtalc_losses(model, feats[lo:hi], lengths[lo:hi], y[lo:hi],
                                  pairs=pairs[lo:hi, lo:hi], batch_size=10, casl_count=count))
        parts[-1].total.backward()
    torch.testing.assert_close(parts[0].total + parts[1].total, whole.total, **TOL)
    torch.testing.assert_close(parts[0].mil + parts[1].mil, whole.mil, **TOL)
    torch.testing.assert_close(parts[0].casl + parts[1].casl, whole.casl, **TOL)
    assert parts[1].casl == 0  # no pair in the second part
    for got, ref in zip(model.parameters(), expected):
        torch.testing.assert_close(got.grad, ref, **TOL)
    # A process without a video of the batch: zero, connected to every parameter.
    empty = wtalc_losses(model, feats[:0], lengths[:0], y[:0], pairs=pairs[:0, :0],
                         batch_size=10, casl_count=count)
    assert empty.total == 0 and empty.total.requires_grad


# ----------------------------------------------------------------------------------------------
# Checkpoints: haan.engine.checkpoints, one block file


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    model = small_model(seed=0).float()
    save_checkpoints(model, tmp_path / "ckpt", epoch=3)
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["checkpoints.json",
                                                                      "wtalc.pkl"]
    state = torch.load(tmp_path / "ckpt" / "wtalc.pkl", weights_only=True)
    assert list(state) == ["hidden_layer.weight", "hidden_layer.bias", "out_layer.weight",
                           "out_layer.bias"]
    other = small_model(seed=1).float()
    assert load_checkpoints(other, tmp_path / "ckpt") == 3
    for (k, v), (k2, v2) in zip(model.state_dict().items(), other.state_dict().items()):
        assert k == k2 and torch.equal(v, v2)
    save_checkpoints(small_model(hidden=7).float(), tmp_path / "other", epoch=0)
    with pytest.raises(InputError) as info:
        load_checkpoints(other, tmp_path / "other")
    assert str(info.value) == (f"{tmp_path / 'other' / 'wtalc.pkl'}: expected "
                               f"hidden_layer.weight of shape ({D}, {D}), found (7, {D})")
