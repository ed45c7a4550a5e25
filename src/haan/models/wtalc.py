"""W-TALC (Paul, Roy, Roy-Chowdhury, ECCV 2018), the baseline HAAN compares against, on HAAN's
features and batch layout: padded (B, T, D) batches with per-video lengths.

What W-TALC is, as the authors' public PyTorch code (github.com/sujoyp/wtalc-pytorch) runs it:

- Network (model.py, `Model`): one fully connected layer D -> D with ReLU and dropout, then a linear
  classifier to C class logits per clip. Its hidden width is the feature size (their `fc` is
  `Linear(n_feature, n_feature)`). Dropout 0.7 is written into the class. All weights get Xavier-
  uniform initialisation and zero biases (`weights_init`). The class also declares a second layer
  `fc1` that its forward pass never uses; it is left out here. The same two-layer shape is HAAN's
  `Block`, so W-TALC's network is one `Block(D, D, C, 0.7)` here, saved as one file `wtalc.pkl`.
  Their trainer switches dropout with an `is_training` argument; here it follows train()/eval().
- MIL loss (train.py, `MILL`): per video and class, the mean of the k largest clip logits with
  k = ceil(T / 8); softmax over the classes; cross entropy against the video's multi-hot labels
  divided by their sum; mean over the batch.
- Co-activity similarity loss (train.py, `CASL`): for two videos that share a class c, each
  video's attention over its clips is the softmax over time of its class-c logits. The
  high-attention aggregate is the attention-weighted sum of the clip features (the network's
  hidden activations after dropout), the low-attention aggregate the (1 - attention)-weighted sum
  divided by max(T - 1, 1). With d(u, v) = 1 - cos(u, v), the pair's class-c term is
  0.5 max(0, d(H1, H2) - d(H1, L2) + 0.5) + 0.5 max(0, d(H1, H2) - d(H2, L1) + 0.5): the
  high-attention parts of the two videos must be closer to each other than to the other video's
  low-attention part, by a margin of 0.5. The terms of every class shared by a pair are summed
  over the pairs and divided by the number of (pair, shared class) combinations.
- Objective (train.py `train`, options.py `--Lambda` 0.5): Lambda * MILL + (1 - Lambda) * CASL.
  The option's help text calls Lambda the weight on CASL while the code puts it on MILL; at the
  published 0.5 the two readings agree. Here `lambda_casl` weighs CASL and 1 - lambda_casl MILL.
- Batches (video_dataset.py, `Dataset.load_data`): not epochs over shuffled videos. Every
  iteration draws `--num-similar` (3) classes uniformly with replacement, for each of them two
  training videos of that class (with replacement, so possibly the same video twice), placed next
  to each other, then fills the batch to `--batch-size` (10) with videos drawn uniformly with
  replacement from the whole training set. CASL is taken over the consecutive pairs (0, 1),
  (2, 3), (4, 5) only; MILL over all 10 videos. Videos longer than `--max-seqlen` (750) clips are
  cut to a random window of that length.
- Optimiser (main.py): Adam, `--lr` 1e-4, weight decay 5e-4 (added to the gradient, Adam's own
  L2, not AdamW), `--max-iter` 100000 iterations, a test every 500, `--seed` 1. (Their README gives
  lr 1e-5 and max-seqlen 1200 for their UNT features; the defaults are for I3D features, which
  HAAN's datasets also use.)
- Inference: clip logits only (`clip_scores`). Their own detector (detectionMAP.py: threshold
  halfway between a class column's min and max, segments of at least 2 clips, score max + 0.7 x
  the mean of the top floor(T / 8)) is not reproduced; haan's detector (spec section 5) applies.

Where this module differs, and why:

- CASL over any batch: the loss sums over all pairs (i < j) of the batch and all classes c that
  both videos have; an optional (B, B) pair mask restricts the pairs. With the mask of their
  consecutive pairs (`consecutive_pairs`) it is their formula exactly; on the pairs alone (their
  first 2 * num_similar videos) without a mask it is their formula whenever no two videos of
  different pairs share a class. tests/models/test_wtalc.py shows both against a loop of their formula.
- A batch where no pair shares a class: their division is 0 / 0 (NaN); here CASL is 0 and has no
  gradient.
- Cosines are taken as x / max(||x||, 1e-8) (haan.models.losses.COSINE_EPS, as F.cosine_similarity): a
  zero aggregate has cosine 0 where theirs is NaN. It occurs for the low-attention aggregate of
  a one-clip video (its attention is 1, so 1 - attention is 0): d(H, L) = 1 there.
- MILL of a video without any label: their normalisation divides by 0 (NaN); here it is 0.
- k = ceil(T / s) is also kept within [1, T], so a divisor below 1 averages all clips.
- The low-attention aggregate is not divided by max(T - 1, 1): only its direction enters the loss
  (the tests' loops keep the division and agree).
- Classes without a training video are never drawn by the sampler (their code would fail).
- Their random crop of videos longer than 750 clips is not applied (a longer video trains whole):
  FineGym's longest has 309 clips, FineAction's 100 and the synthetic presets' at most 309.
- Their schedule (100,000 iterations, a test every 500) becomes haan's epochs: see haan.models.methods.
- In a distributed run each process takes whole pairs of a batch (haan.models.methods), so CASL needs
  no other process's clips: `wtalc_losses` takes the whole batch's size and (pair, class) count
  so that the processes' losses add up to the batch's.

The published settings are the `[wtalc]` config section's defaults (haan.config.WTALCSection,
`WTALC_DEFAULTS` here); the network reads `dropout_rate`, the optimiser `learning_rate` and
`weight_decay`, the losses `lambda_casl`, `topk_divisor` and `casl_margin`, the sampler
`batch_size` and `num_similar`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from haan.config import WTALCSection
from haan.errors import InputError
from haan.models.haan import Block
from haan.models.losses import unit, unpack, valid_mask
from haan.models.optim import Adam

if TYPE_CHECKING:
    from haan.config import Config
    from haan.models.haan import RowShard

# The authors' published settings, as the [wtalc] section's defaults (haan.config.WTALCSection).
WTALC_DEFAULTS = WTALCSection()

BLOCK_NAMES = ("wtalc",)  # one checkpoint file, wtalc.pkl (haan.engine.checkpoints)


# ----------------------------------------------------------------------------------------------
# The network


class WTALCOutput(NamedTuple):
    clip_features: torch.Tensor  # (..., H): hidden activations (after dropout in train mode)
    clip_scores: torch.Tensor  # (..., C): class logits


class WTALC(nn.Module):
    """h = dropout(relu(fc x)); s = classifier h, one block named `wtalc`."""

    block_names = BLOCK_NAMES  # one checkpoint file each

    def __init__(self, feature_size: int, hidden_size: int, num_classes: int,
                 dropout_rate: float, fast_dropout: bool = False) -> None:
        super().__init__()
        self.wtalc = Block(feature_size, hidden_size, num_classes, dropout_rate, fast_dropout)
        for layer in (self.wtalc.hidden_layer, self.wtalc.out_layer):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)

    @classmethod
    def from_config(cls, config: Config) -> WTALC:
        """D from [hyperparameters] feature_size, hidden size D (their code), C from [stats];
        dropout from [wtalc] (their 0.7), not [hyperparameters] dropout_rate, which is HAAN's."""
        d = config.hyperparameters.feature_size
        return cls(d, d, config.stats.num_fine_classes, config.wtalc.dropout_rate,
                   fast_dropout=config.haan.dropout_masks == "fast")

    def forward(self, x: torch.Tensor, shard: RowShard | None = None) -> WTALCOutput:
        """x: (..., D); `shard`: these clips' rows of a distributed batch (haan.models.haan.dropout)."""
        h, s = self.wtalc(x, shard)  # (..., H), (..., C)
        return WTALCOutput(clip_features=h, clip_scores=s)

    def clip_scores(self, x: torch.Tensor) -> torch.Tensor:
        """(..., D) -> (..., C) class logits; all inference needs."""
        return self.wtalc(x)[1]


def make_optimizer(model: WTALC, params: WTALCSection = WTALC_DEFAULTS) -> torch.optim.Adam:
    """Their optimiser: Adam with L2 weight decay added to the gradient (not AdamW); torch's fused
    implementation, as HAAN's (the same update in one pass over the parameters)."""
    return Adam(model.parameters(), lr=params.learning_rate, weight_decay=params.weight_decay,
                fused=True)


# ----------------------------------------------------------------------------------------------
# Batches as their sampler draws them


def sample_similar_batch(
    multi_hot: np.ndarray | torch.Tensor,  # (N, C) training labels
    batch_size: int,
    num_similar: int,
    generator: torch.Generator,
) -> torch.Tensor:
    """(batch_size,) int64 positions into the N training videos, drawn as their `load_data`:
    `num_similar` classes uniformly with replacement (among the classes with a training video),
    two videos of each (with replacement) at positions (0, 1), (2, 3), ..., then the rest of the
    batch uniformly with replacement from all N videos."""
    y = torch.as_tensor(multi_hot) != 0  # (N, C)
    n = y.shape[0]
    if batch_size < 2 * num_similar:
        raise ValueError(f"batch_size {batch_size} cannot hold {num_similar} pairs")
    # The videos of each class, one class after another: nonzero() of (C, N) is class-major.
    cls_of, video_of = y.T.nonzero(as_tuple=True)  # (P,), (P,)
    counts = torch.bincount(cls_of, minlength=y.shape[1])  # (C,)
    starts = torch.cumsum(counts, 0) - counts  # (C,)
    eligible = (counts > 0).nonzero(as_tuple=True)[0]  # (C',)
    if len(eligible) == 0:
        raise InputError("W-TALC batches: no class has a training video")
    chosen = eligible[torch.randint(len(eligible), (num_similar,), generator=generator)]
    draw = torch.rand(num_similar, 2, generator=generator, dtype=torch.float64)  # (S, 2)
    offset = (draw * counts[chosen, None]).long().clamp_max(counts[chosen, None] - 1)
    similar = video_of[starts[chosen, None] + offset].reshape(-1)  # (2S,)
    rest = torch.randint(n, (batch_size - 2 * num_similar,), generator=generator)
    return torch.cat([similar, rest])


def consecutive_pairs(batch_size: int, num_similar: int,
                      device: torch.device | str = "cpu") -> torch.Tensor:
    """(B, B) bool: True at (2p, 2p + 1) for p < num_similar, their CASL pairing."""
    pairs = torch.zeros(batch_size, batch_size, dtype=torch.bool, device=device)
    first = torch.arange(0, 2 * num_similar, 2, device=device)
    pairs[first, first + 1] = True
    return pairs


# ----------------------------------------------------------------------------------------------
# Losses


def topk_counts(lengths: torch.Tensor, divisor: float) -> torch.Tensor:
    """(B,) clip counts -> (B,) k = ceil(T / divisor), kept within [1, T]."""
    k = torch.ceil(lengths.to(torch.float64) / divisor).long()
    return torch.minimum(k.clamp_min(1), lengths.long())


def mil_topk_loss(
    clip_scores: torch.Tensor,  # (B, T, C) logits
    mask: torch.Tensor,  # (B, T) bool
    labels: torch.Tensor,  # (B, C) multi-hot
    topk_divisor: float = WTALC_DEFAULTS.topk_divisor,
) -> torch.Tensor:
    """Their MILL per video, (B,): the k-max mean of each class column (k = ceil(T / s)),
    softmax over the classes, cross entropy against the labels divided by their sum; 0 for a
    video without label."""
    valid = mask[:, :, None]  # (B, T, 1)
    k = topk_counts(mask.sum(1), topk_divisor)  # (B,)
    s = clip_scores.masked_fill(~valid, float("-inf"))  # padding never ranks
    top = s.topk(int(k.max()), dim=1).values  # (B, k_max, C), descending
    ranks = torch.arange(top.shape[1], device=k.device)  # (k_max,)
    keep = (ranks[None, :] < k[:, None])[:, :, None]  # (B, k_max, 1)
    a = top.masked_fill(~keep, 0.0).sum(1) / k[:, None].to(top.dtype)  # (B, C)
    y = (labels != 0).to(a.dtype)
    target = y / y.sum(-1, keepdim=True).clamp_min(1)  # (B, C)
    return -(target * F.log_softmax(a, dim=-1)).sum(-1)


def co_activity_loss(
    clip_features: torch.Tensor,  # (B, T, H)
    clip_scores: torch.Tensor,  # (B, T, C) logits
    mask: torch.Tensor,  # (B, T) bool
    labels: torch.Tensor,  # (B, C) multi-hot
    margin: float = WTALC_DEFAULTS.casl_margin,
    pairs: torch.Tensor | None = None,  # (B, B) bool: pairs allowed (default all)
    count: torch.Tensor | None = None,  # scalar: the terms to divide by (default: these)
) -> torch.Tensor:
    """CASL, a scalar: the mean over all (pair i < j, class c shared by i and j) of
    0.5 relu(d(Hi, Hj) - d(Hi, Lj) + m) + 0.5 relu(d(Hi, Hj) - d(Hj, Li) + m); 0 if none.
    With `count`, the sum of the terms divided by max(count, 1): this batch's share of a larger
    batch's mean, whose (pair, class) terms number `count`."""
    valid = mask[:, :, None]  # (B, T, 1)
    x = clip_features.masked_fill(~valid, 0.0)  # (B, T, H); zero rows drop padding from sums
    attention = torch.softmax(clip_scores.masked_fill(~valid, float("-inf")), dim=1)  # (B, T, C)
    high_agg = unit(torch.einsum("bth,btc->bch", x, attention))  # (B, C, H)
    # Their low-attention aggregate is divided by max(T - 1, 1); a cosine ignores the factor.
    low_agg = unit(torch.einsum("bth,btc->bch", x, 1 - attention))  # (B, C, H)
    d_hh = 1 - torch.einsum("ich,jch->ijc", high_agg, high_agg)  # (B, B, C): d(Hi, Hj)
    d_hl = 1 - torch.einsum("ich,jch->ijc", high_agg, low_agg)  # (B, B, C): d(Hi, Lj)
    hinge = 0.5 * (F.relu(d_hh - d_hl + margin)
                   + F.relu(d_hh - d_hl.transpose(0, 1) + margin))  # (B, B, C)
    b = mask.shape[0]
    selected = torch.ones(b, b, dtype=torch.bool, device=mask.device).triu(1)  # i < j
    if pairs is not None:
        selected = selected & pairs.to(mask.device)
    y = (labels != 0).to(hinge.dtype)  # (B, C)
    weight = y[:, None, :] * y[None, :, :] * selected[:, :, None].to(hinge.dtype)  # (B, B, C)
    # No shared class: 0 / 1 rather than 0 / 0, and no gradient.
    terms = weight.sum() if count is None else count.to(weight)
    return (weight * hinge).sum() / terms.clamp_min(1)


def pair_class_count(labels: torch.Tensor, num_similar: int) -> torch.Tensor:
    """The number of (pair, shared class) terms of their CASL over a batch's consecutive pairs:
    labels (B, C) of the whole batch -> a scalar."""
    y = labels[:2 * num_similar] != 0  # (2S, C)
    return (y[0::2] & y[1::2]).sum()


# ----------------------------------------------------------------------------------------------
# The training objective


@dataclass(frozen=True)
class WTALCLossTerms:
    total: torch.Tensor  # scalar: (1 - lambda_casl) * mean MILL + lambda_casl * CASL
    mil: torch.Tensor  # scalar, detached: MILL averaged over the batch's videos (as theirs)
    casl: torch.Tensor  # scalar, detached

    def logged(self) -> torch.Tensor:
        """(3,) the total and each loss, detached: log.csv's loss, l_mil, l_casl."""
        return torch.stack([self.total.detach(), self.mil, self.casl])


def wtalc_losses(
    model: WTALC,
    features: torch.Tensor,  # (B, T, D), padded
    lengths: torch.Tensor,  # (B,) clip counts, >= 1
    fine_labels: torch.Tensor,  # (B, C) multi-hot
    lambda_casl: float = WTALC_DEFAULTS.lambda_casl,
    topk_divisor: float = WTALC_DEFAULTS.topk_divisor,
    margin: float = WTALC_DEFAULTS.casl_margin,
    pairs: torch.Tensor | None = None,  # (B, B) bool; None: every pair
    *,
    batch_size: int | None = None,
    casl_count: torch.Tensor | None = None,
    shard: RowShard | None = None,
) -> WTALCLossTerms:
    """One training step's forward: the network on the batch's valid clips, then both losses.

    In a distributed run each process passes its videos of the batch (whole pairs), the whole
    batch's `batch_size` and `casl_count` (`pair_class_count` of the whole batch) and `shard`,
    its clips' rows (for the one-process dropout masks): its MILL is the sum over its videos
    divided by the batch size and its CASL its terms' sum divided by the batch's count, so the
    processes' values add up to the whole batch's. A process without a video of the batch runs
    the network on nothing, so that its random stream and gradients stay in step."""
    if features.shape[0] == 0:
        zero = sum(o.sum() for o in model(features.reshape(0, features.shape[-1]), shard))
        return WTALCLossTerms(total=zero, mil=zero.detach(), casl=zero.detach())
    lengths = lengths.to(features.device)
    t = int(lengths.max())
    features = features[:, :t]  # cut to the longest video, as their trainer
    mask = valid_mask(lengths, t)  # (B, T)
    packed = model(features[mask], shard)  # each (M, .): no work on padding
    clip_features, clip_scores = (unpack(x, mask) for x in packed)
    labels = fine_labels.to(features.device)
    per_video = mil_topk_loss(clip_scores, mask, labels, topk_divisor)  # (B,)
    l_mil = per_video.sum() / (len(per_video) if batch_size is None else batch_size)
    l_casl = co_activity_loss(clip_features, clip_scores, mask, labels, margin, pairs, casl_count)
    total = (1 - lambda_casl) * l_mil + lambda_casl * l_casl
    return WTALCLossTerms(total=total, mil=l_mil.detach(), casl=l_casl.detach())


__all__ = [
    "BLOCK_NAMES", "WTALC", "WTALCLossTerms", "WTALCOutput", "WTALC_DEFAULTS", "co_activity_loss",
    "consecutive_pairs", "make_optimizer", "mil_topk_loss", "pair_class_count",
    "sample_similar_batch", "topk_counts", "wtalc_losses",
]
