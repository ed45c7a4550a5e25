"""haan.models.haan: the four blocks and the forward pass."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from haan.config import load_config
from haan.models.haan import HAAN, Block, ModelOutput, RowShard, dropout, fast_keep_probability

from helpers import C, D, H, K, small_model


def test_block_state_dict_keys_and_formula() -> None:
    torch.manual_seed(0)
    block = Block(4, 6, 3, dropout_rate=0.5)
    assert list(block.state_dict()) == [
        "hidden_layer.weight", "hidden_layer.bias", "out_layer.weight", "out_layer.bias"]
    x = torch.randn(2, 5, 4)
    block.eval()
    h, out = block(x)
    w1, b1 = block.hidden_layer.weight, block.hidden_layer.bias
    w2, b2 = block.out_layer.weight, block.out_layer.bias
    for i in range(2):
        for t in range(5):
            h_ref = torch.clamp(w1 @ x[i, t] + b1, min=0)
            torch.testing.assert_close(h[i, t], h_ref, rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(out[i, t], w2 @ h_ref + b2, rtol=1e-5, atol=1e-6)


def test_block_dropout_only_in_training_mode() -> None:
    torch.manual_seed(0)
    block = Block(8, 64, 3, dropout_rate=0.5)
    x = torch.randn(32, 8)
    block.eval()
    h_eval, _ = block(x)
    assert torch.equal(block(x)[0], h_eval)  # deterministic in eval mode
    block.train()
    h_train, out_train = block(x)
    active = h_eval > 0
    kept = h_train[active] != 0
    # Dropped units are zero, kept ones scaled by 1 / (1 - p); both happen.
    assert 0 < kept.float().mean() < 1
    torch.testing.assert_close(h_train[active][kept], 2 * h_eval[active][kept])
    torch.testing.assert_close(out_train, block.out_layer(h_train))


@pytest.mark.parametrize("p", [0.5, 0.3])
def test_dropout_is_torchs_dropout_bit_for_bit(p: float) -> None:
    """The paper's runs used nn.Dropout: the same seed must give the same masks and values."""
    x = torch.randn(37, 3, 16)
    torch.manual_seed(11)
    expected = F.dropout(x, p, training=True)
    after = torch.rand(3)
    torch.manual_seed(11)
    assert torch.equal(dropout(x, p, True), expected)
    assert torch.equal(torch.rand(3), after)  # the random stream moved on by the same amount


def test_sharded_dropout_takes_its_rows_of_the_whole_batch_mask() -> None:
    """Two processes holding rows [0, 40) and [40, 100) of a 100-row batch apply exactly the
    mask one process applies to all 100 rows, and leave the random stream where it would be."""
    x = torch.randn(100, 24)
    torch.manual_seed(5)
    whole = dropout(x, 0.5, True)
    after = torch.rand(2)
    parts = []
    for start, stop in ((0, 40), (40, 100)):
        torch.manual_seed(5)
        parts.append(dropout(x[start:stop], 0.5, True, RowShard(100, start, stop)))
        assert torch.equal(torch.rand(2), after)
    assert torch.equal(torch.cat(parts), whole)
    torch.manual_seed(5)
    empty = dropout(x[:0], 0.5, True, RowShard(100, 100, 100))  # a process without rows
    assert empty.shape == (0, 24) and torch.equal(torch.rand(2), after)


@pytest.mark.parametrize("p", [0.5, 0.3, 0.7])
def test_fast_dropout_keep_rate_scaling_and_seed(p: float) -> None:
    x = torch.ones(500, 2048)  # a million elements
    torch.manual_seed(2)
    y = dropout(x, p, True, fast=True)
    keep = fast_keep_probability(p)
    assert abs(keep - (1 - p)) <= 2 ** -17
    kept = y != 0
    # Binomial keep rate: within 5 standard deviations.
    n = x.numel()
    assert abs(kept.float().mean().item() - keep) < 5 * (keep * (1 - keep) / n) ** 0.5
    assert torch.equal(y[kept], torch.full_like(y[kept], 1 / keep))  # scaling 1 / keep, E = 1
    # Masks are independent across columns and rows: no correlation between neighbours.
    a, b = kept[:, :-1].float(), kept[:, 1:].float()
    corr = ((a - a.mean()) * (b - b.mean())).mean() / (a.std() * b.std())
    assert abs(corr.item()) < 5 / n ** 0.5
    torch.manual_seed(2)
    assert torch.equal(dropout(x, p, True, fast=True), y)  # the seed reproduces
    torch.manual_seed(3)
    assert not torch.equal(dropout(x, p, True, fast=True), y)


def test_fast_dropout_shards_like_the_torch_stream() -> None:
    x = torch.randn(90, 20)  # 90 * 20 is not a multiple of 4: the last word is partly used
    torch.manual_seed(5)
    whole = dropout(x, 0.3, True, fast=True)
    after = torch.rand(2)
    parts = []
    for start, stop in ((0, 33), (33, 90)):
        torch.manual_seed(5)
        parts.append(dropout(x[start:stop], 0.3, True, RowShard(90, start, stop), fast=True))
        assert torch.equal(torch.rand(2), after)
    assert torch.equal(torch.cat(parts), whole)


def test_haan_forward_chain_and_shapes() -> None:
    model = small_model().eval()
    x = torch.randn(3, 9, D)
    out = model(x)
    assert isinstance(out, ModelOutput)
    assert out.clip_features.shape == (3, 9, H)
    assert out.clip_scores.shape == (3, 9, C)
    assert out.pseudo_logits.shape == (3, 9, K)
    _, e = model.encoder(x)
    f, s = model.fine_level_classifier(e)
    _, p = model.pseudo_label_classifier(e)
    assert torch.equal(out.clip_features, f)
    assert torch.equal(out.clip_scores, s)
    assert torch.equal(out.pseudo_logits, p)
    assert torch.equal(model.clip_scores(x), s)
    assert model.coarse_level_classifier(f)[1].shape == (3, 9, 1)


def test_prototypes_are_the_detached_fine_weights() -> None:
    model = small_model()
    w = model.prototypes()
    assert w.shape == (C, H)
    assert not w.requires_grad
    assert torch.equal(w, model.fine_level_classifier.out_layer.weight)


def test_from_config_sizes() -> None:
    config = load_config("fine_gym")
    h = dataclasses.replace(config.hyperparameters, feature_size=16, encoded_feature_size=8,
                            num_visual_concepts=11, dropout_rate=0.3)
    stats = dataclasses.replace(config.stats, num_fine_classes=6)
    model = HAAN.from_config(dataclasses.replace(config, hyperparameters=h, stats=stats))
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes["encoder.hidden_layer.weight"] == (8, 16)
    assert shapes["encoder.out_layer.weight"] == (8, 8)
    assert shapes["fine_level_classifier.out_layer.weight"] == (6, 8)
    assert shapes["pseudo_label_classifier.out_layer.weight"] == (11, 8)
    assert shapes["coarse_level_classifier.out_layer.weight"] == (1, 8)
    assert model.encoder.dropout_rate == 0.3


def test_forward_is_differentiable_and_dropout_uses_train_mode() -> None:
    model = small_model(dropout=0.5)
    x = torch.randn(2, 4, D)
    model.train()
    a = model(x).clip_scores
    b = model(x).clip_scores
    assert not torch.equal(a, b)  # fresh dropout masks
    model.eval()
    assert torch.equal(model(x).clip_scores, model(x).clip_scores)
    loss = F.softplus(model(x).clip_scores).sum()
    loss.backward()
    assert model.encoder.hidden_layer.weight.grad is not None
