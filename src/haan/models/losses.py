"""HAAN's training losses (spec section 4), batched over videos padded to a common length.

Every loss is a pure function of tensors that returns one value per video, (B,); the training
objective is their lambda-weighted sum over the batch (`haan_losses`). Padding is described by a
validity mask (B, T): padded clips contribute nothing, whatever their values.

Where the paper's per-video formula is undefined, this module chooses (and the tests pin):
- L_mil: the clips kept for class c are those with s >= mean; the clip with the column maximum is
  always kept, so rounding of the mean can never leave the set empty (the paper's code gives NaN
  when, e.g., a column is constant and its computed mean rounds above the value).
- L_concept of a video with no positive fine class (0/0 in the paper): 0.
- A coarse class with no fine class has a zero representation (the paper's code fails).
- Class-balancing weights C / P_c for a class with no positive training video (and C / (N - P_c)
  for a class positive in every video) are inf in the paper; here 0. For training videos those
  weights are never selected (no video carries that label value), so this changes nothing there;
  elsewhere it means "no evidence about this class" instead of inf * 0 = NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import torch
import torch.nn.functional as F

from haan.runtime.precision import autocast, on_rows

if TYPE_CHECKING:
    from haan.models.haan import HAAN, RowShard

# F.cosine_similarity's default: a vector whose norm is below it counts as a zero vector.
COSINE_EPS = 1e-8


def valid_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """(B,) clip counts -> (B, max_len) bool, True on each video's real clips."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


# ----------------------------------------------------------------------------------------------
# Class balancing


def class_balance_weights(multi_hot: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Training multi-hot labels (N, C) -> (pos (C,), neg (C,)) float32: pos_c = C / P_c and
    neg_c = C / (N - P_c), P_c = number of positive videos; inf (never-used weights) -> 0."""
    y = torch.as_tensor(multi_hot).to(torch.float64) != 0  # (N, C)
    n, c = y.shape
    positives = y.sum(0).to(torch.float64)  # (C,)
    pos = c / positives
    neg = c / (n - positives)
    pos = torch.where(torch.isfinite(pos), pos, torch.zeros_like(pos))
    neg = torch.where(torch.isfinite(neg), neg, torch.zeros_like(neg))
    return pos.float(), neg.float()


def per_video_weights(
    multi_hot: torch.Tensor,  # (B, C)
    pos: torch.Tensor,  # (C,)
    neg: torch.Tensor,  # (C,)
) -> torch.Tensor:
    """The BCE weight of every (video, class): pos_c where the video has class c, else neg_c."""
    y = torch.as_tensor(multi_hot) != 0
    return torch.where(y, pos.to(y.device), neg.to(y.device))  # (B, C)


# ----------------------------------------------------------------------------------------------
# Losses on the clip scores


def mil_loss(
    clip_scores: torch.Tensor,  # (B, T, C) logits
    mask: torch.Tensor,  # (B, T) bool
    fine_labels: torch.Tensor,  # (B, C) multi-hot
    fine_weights: torch.Tensor,  # (B, C)
) -> torch.Tensor:
    """L_mil per video, (B,): weighted BCE of the mean of the above-average clip scores."""
    valid = mask[:, :, None]  # (B, T, 1)
    s = clip_scores.masked_fill(~valid, 0.0)  # padded values never reach a sum or a gradient
    n = mask.sum(1).to(s.dtype)[:, None, None]  # (B, 1, 1)
    mean = s.sum(1, keepdim=True) / n  # (B, 1, C)
    col_max = clip_scores.masked_fill(~valid, float("-inf")).amax(1, keepdim=True)  # (B, 1, C)
    keep = valid & ((s >= mean) | (s == col_max))  # (B, T, C); the max keeps it non-empty
    a = s.masked_fill(~keep, 0.0).sum(1) / keep.sum(1).to(s.dtype)  # (B, C)
    y = fine_labels.to(a.dtype)
    bce = F.binary_cross_entropy_with_logits(a, y, weight=fine_weights.to(a.dtype),
                                             reduction="none")  # (B, C)
    return bce.mean(-1)


def pseudo_loss(
    pseudo_logits: torch.Tensor,  # (B, T, K)
    pseudo_labels: torch.Tensor,  # (B, T) long; any value on padded clips
    mask: torch.Tensor,  # (B, T) bool
    concept_weights: torch.Tensor,  # (K,)
) -> torch.Tensor:
    """L_pseudo per video, (B,): PyTorch's weighted-mean cross entropy over the video's clips,
    divided by its clip count T_i (as the paper)."""
    labels = pseudo_labels.masked_fill(~mask, 0)  # (B, T) safe indices on padding
    logp = F.log_softmax(pseudo_logits, dim=-1)  # (B, T, K)
    nll = -logp.gather(-1, labels[..., None]).squeeze(-1)  # (B, T)
    w = concept_weights.to(logp.dtype)[labels].masked_fill(~mask, 0.0)  # (B, T)
    weighted = (w * nll).masked_fill(~mask, 0.0)  # (B, T)
    n = mask.sum(1).to(logp.dtype)  # (B,)
    return weighted.sum(1) / w.sum(1) / n


# ----------------------------------------------------------------------------------------------
# The hierarchy: clips -> visual concepts -> fine classes -> coarse classes


def visual_concepts(
    clip_features: torch.Tensor,  # (B, T, H)
    pseudo_labels: torch.Tensor,  # (B, T) long in [0, K) on valid clips
    mask: torch.Tensor,  # (B, T) bool
    num_concepts: int,  # K
) -> torch.Tensor:
    """V (B, K, H): per video, the mean feature of the clips of each concept (zeros if none)."""
    b, t, h = clip_features.shape
    k = num_concepts
    # Padded clips go to an extra slot K per video, dropped at the end.
    slot = pseudo_labels.masked_fill(~mask, k)  # (B, T)
    index = (torch.arange(b, device=slot.device)[:, None] * (k + 1) + slot).reshape(-1)  # (B*T,)
    feats = clip_features.reshape(b * t, h)
    sums = feats.new_zeros(b * (k + 1), h).index_add(0, index, feats)  # (B*(K+1), H)
    counts = feats.new_zeros(b * (k + 1)).index_add(0, index, feats.new_ones(b * t))
    means = sums / counts.clamp_min(1)[:, None]
    return means.view(b, k + 1, h)[:, :k]  # (B, K, H)


def unit(x: torch.Tensor) -> torch.Tensor:
    """x / max(||x||, eps) along the last dim: F.cosine_similarity's normalisation."""
    return x / x.norm(dim=-1, keepdim=True).clamp_min(COSINE_EPS)


def fine_level_representations(
    prototypes: torch.Tensor,  # W (C, H)
    concepts: torch.Tensor,  # V (B, K, H)
    top_k: int,
) -> torch.Tensor:
    """R (B, C, H): r_c = (sum of the top_k concepts most cosine-similar to W_c) / top_k.

    The selection carries no gradient; R is differentiable through V. An absent concept (zero
    vector) has similarity exactly 0, so it ranks above any present concept with negative one.
    """
    with torch.no_grad():
        sim = torch.einsum("ch,bkh->bck", unit(prototypes.to(concepts.dtype)),
                           unit(concepts.detach()))  # (B, C, K)
        top = sim.topk(top_k, dim=-1).indices  # (B, C, top_k)
        # A 0/1 selection matrix and a matmul rather than an indexed gather: the gather's
        # backward accumulates with atomics on the CPU (concepts shared by several classes),
        # which would make the gradient non-deterministic.
        select = torch.zeros_like(sim).scatter_(-1, top, 1.0)  # (B, C, K)
    return torch.bmm(select, concepts) / top_k  # (B, C, H)


def concept_loss(
    prototypes: torch.Tensor,  # W (C, H)
    reps: torch.Tensor,  # R (B, C, H)
    fine_labels: torch.Tensor,  # (B, C) multi-hot
) -> torch.Tensor:
    """L_concept per video, (B,): mean over the video's positive classes of 1 - cos(W_c, r_c);
    0 for a video without positive class."""
    cos = F.cosine_similarity(prototypes.to(reps.dtype)[None], reps, dim=-1,
                              eps=COSINE_EPS)  # (B, C)
    positive = fine_labels != 0  # (B, C)
    total = (1 - cos).masked_fill(~positive, 0.0).sum(-1)  # (B,)
    count = positive.sum(-1)  # (B,)
    return torch.where(count > 0, total / count.clamp_min(1).to(total.dtype),
                       torch.zeros_like(total))


def coarse_level_representations(
    reps: torch.Tensor,  # R (B, C, H)
    fine_to_coarse: torch.Tensor,  # (C,) long in [0, G)
    num_coarse: int,  # G
    pooling: str,  # "mean" | "max"
) -> torch.Tensor:
    """Q (B, G, H): mean or elementwise max of r_c over the fine classes of each coarse class;
    zeros for a coarse class without fine class."""
    b, c, h = reps.shape
    g = num_coarse
    groups = fine_to_coarse.to(device=reps.device, dtype=torch.long)
    counts = torch.bincount(groups, minlength=g)  # (G,)
    if pooling == "mean":
        member = F.one_hot(groups, g).T.to(reps.dtype)  # (G, C)
        averaging = member / counts.clamp_min(1)[:, None].to(reps.dtype)
        return torch.einsum("gc,bch->bgh", averaging, reps)
    if pooling == "max":
        # Padded member table (G, n_max): fine ids of each group in increasing order, then the
        # index C of a -inf row; max over it is the group max.
        order = torch.argsort(groups, stable=True)  # (C,)
        sorted_groups = groups[order]
        starts = torch.cumsum(counts, 0) - counts  # (G,)
        position = torch.arange(c, device=reps.device) - starts[sorted_groups]  # (C,)
        width = max(1, int(counts.max()))
        members = torch.full((g, width), c, dtype=torch.long, device=reps.device)
        members[sorted_groups, position] = order
        padded = torch.cat([reps, reps.new_full((b, 1, h), float("-inf"))], dim=1)  # (B, C+1, H)
        q = padded[:, members].max(dim=2).values  # (B, G, n_max, H) -> (B, G, H)
        return q.masked_fill((counts == 0)[None, :, None], 0.0)
    raise ValueError(f'pooling must be "mean" or "max", got {pooling!r}')


def coarse_loss(
    coarse_logits: torch.Tensor,  # (B, G)
    coarse_labels: torch.Tensor,  # (B, G) multi-hot
    coarse_weights: torch.Tensor,  # (B, G)
) -> torch.Tensor:
    """L_coarse per video, (B,): weighted BCE over the coarse classes, mean over G."""
    bce = F.binary_cross_entropy_with_logits(
        coarse_logits, coarse_labels.to(coarse_logits.dtype),
        weight=coarse_weights.to(coarse_logits.dtype), reduction="none")  # (B, G)
    return bce.mean(-1)


# ----------------------------------------------------------------------------------------------
# The training objective


@dataclass(frozen=True)
class LossTerms:
    total: torch.Tensor  # scalar: sum over the batch of the lambda-weighted per-video losses
    mil: torch.Tensor  # scalar, detached: sum over the batch of L_mil (unweighted); NaN when off
    pseudo: torch.Tensor  # likewise L_pseudo
    concept: torch.Tensor  # likewise L_concept
    coarse: torch.Tensor  # likewise L_coarse

    def logged(self) -> torch.Tensor:
        """(5,) the total and each loss, detached: log.csv's loss, l_mil, l_pseudo, l_concept,
        l_coarse."""
        return torch.stack([self.total.detach(), self.mil, self.pseudo, self.concept, self.coarse])


@dataclass(frozen=True)
class LossesOn:
    """Which of the four losses a run computes: those whose lambda is > 0. A loss that is off is
    not computed, nor is what only it needs (spec section 4): no pseudo-label classifier without
    L_pseudo; no visual concepts, fine-level representations or pseudo labels (k-means) without
    L_concept and L_coarse; no coarse-level classifier without L_coarse."""

    mil: bool
    pseudo: bool
    concept: bool
    coarse: bool

    @classmethod
    def of(cls, lambdas: Sequence[float]) -> LossesOn:
        return cls(*(weight > 0 for weight in lambdas))

    @property
    def hierarchy(self) -> bool:
        """Visual concepts and fine-level representations (L_concept, and L_coarse through Q)."""
        return self.concept or self.coarse

    @property
    def pseudo_labels(self) -> bool:
        return self.pseudo or self.hierarchy

    @property
    def every_parameter(self) -> bool:
        """Whether every parameter gets a gradient: the fine classifier's output layer only
        through L_mil (the prototypes W are detached), the other blocks through their losses."""
        return self.mil and self.pseudo and self.hierarchy and self.coarse


def unpack(packed: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(M, F) rows of the valid clips -> (B, T, F), zeros on padding (differentiable)."""
    out = packed.new_zeros(*mask.shape, packed.shape[-1])
    out[mask] = packed
    return out


def haan_losses(
    model: HAAN,
    features: torch.Tensor,  # (B, T, D), padded
    lengths: torch.Tensor,  # (B,) clip counts, >= 1
    pseudo_labels: torch.Tensor | None,  # (B, T) long; None when no loss needs them
    concept_weights: torch.Tensor | None,  # (K,); likewise
    fine_labels: torch.Tensor,  # (B, C)
    fine_weights: torch.Tensor,  # (B, C)
    coarse_labels: torch.Tensor,  # (B, G)
    coarse_weights: torch.Tensor,  # (B, G)
    fine_to_coarse: torch.Tensor,  # (C,) long
    num_coarse: int,
    top_k: int,
    pooling: str,
    lambdas: Sequence[float],  # (lambda_1, lambda_2, lambda_3, lambda_4)
    clip_shard: RowShard | None = None,
    video_shard: RowShard | None = None,
    precision: str = "fp32",
) -> LossTerms:
    """One training step's forward: the model on the batch, then the losses whose lambda is > 0
    (`LossesOn`; a loss that is off is NaN in the terms and absent from the total). With
    `precision` "bf16" the blocks' matmuls run in bf16 (haan.precision); the losses stay fp32.

    In a distributed run each process passes its videos of the batch and where they sit in it:
    `video_shard` (videos) and `clip_shard` (their valid clips, packed), so that dropout uses the
    one-process masks (haan.models.haan.dropout). A process may hold no video of a batch (the last
    batch of an epoch can be smaller than the number of processes): it still runs every block
    the losses use, on nothing, so its random stream and the gradient all-reduce stay in step
    with the others.
    """
    from haan.models.haan import RowShard

    on = LossesOn.of(lambdas)
    off = features.new_full((), float("nan"))
    coarse_shard = None if video_shard is None else RowShard(
        video_shard.total * num_coarse, video_shard.start * num_coarse, video_shard.stop * num_coarse)
    if features.shape[0] == 0:
        outputs = model(features.reshape(0, features.shape[-1]), clip_shard, pseudo=on.pseudo)
        zero = sum(o.sum() for o in outputs if o is not None)  # 0, connected to every block used
        if on.coarse:
            hidden = outputs.clip_features.shape[-1]
            zero = zero + model.coarse_level_classifier(
                outputs.clip_features.new_zeros(0, num_coarse, hidden), coarse_shard)[1].sum()
        values = [zero.detach() if used else off for used in (on.mil, on.pseudo, on.concept, on.coarse)]
        return LossTerms(zero, *values)
    lengths = lengths.to(features.device)
    t = int(lengths.max())
    # As the paper: the batch is cut to its longest video before the forward pass.
    features = features[:, :t]
    mask = valid_mask(lengths, t)  # (B, T)

    # The blocks act on each clip alone: run them on the valid clips only (no work on padding),
    # then lay the outputs back out as (B, T, .) for the per-video losses.
    rows = features[mask]  # (M, D), M valid clips
    if precision == "bf16" and clip_shard is None:  # the rows are padded: mask only the real ones
        clip_shard = RowShard(rows.shape[0], 0, rows.shape[0])
    packed = on_rows(lambda x: model(x, clip_shard, pseudo=on.pseudo), rows, precision)  # (M, .)
    clip_features, clip_scores = unpack(packed.clip_features, mask), unpack(packed.clip_scores, mask)
    if on.pseudo_labels:
        pseudo_labels = pseudo_labels[:, :t].to(features.device)
    l1, l2, l3, l4 = lambdas
    weighted: list[torch.Tensor] = []  # (B,) each, in the order of the total's terms
    l_mil = l_pseudo = l_concept = l_coarse = None
    if on.mil:
        l_mil = mil_loss(clip_scores, mask, fine_labels, fine_weights)
        weighted.append(l1 * l_mil)
    if on.pseudo:
        l_pseudo = pseudo_loss(unpack(packed.pseudo_logits, mask), pseudo_labels, mask,
                               concept_weights)
        weighted.append(l2 * l_pseudo)
    if on.hierarchy:
        w = model.prototypes()  # (C, H), no gradient
        v = visual_concepts(clip_features, pseudo_labels, mask, concept_weights.shape[0])
        r = fine_level_representations(w, v, top_k)  # (B, C, H)
        if on.concept:
            l_concept = concept_loss(w, r, fine_labels)
            weighted.append(l3 * l_concept)
        if on.coarse:
            q = coarse_level_representations(r, fine_to_coarse, num_coarse, pooling)  # (B, G, H)
            with autocast(q.device, precision):
                z = model.coarse_level_classifier(q, coarse_shard)[1]
            z = z.float().squeeze(-1)  # (B, G)
            l_coarse = coarse_loss(z, coarse_labels, coarse_weights)
            weighted.append(l4 * l_coarse)
    per_video = weighted[0]
    for term in weighted[1:]:  # left to right, as l1 * a + l2 * b + ... adds
        per_video = per_video + term
    return LossTerms(per_video.sum(), *(off if x is None else x.detach().sum()
                                        for x in (l_mil, l_pseudo, l_concept, l_coarse)))


__all__ = [
    "COSINE_EPS", "LossTerms", "LossesOn", "class_balance_weights", "coarse_level_representations",
    "coarse_loss", "concept_loss", "fine_level_representations", "haan_losses", "mil_loss",
    "per_video_weights", "pseudo_loss", "unit", "unpack", "valid_mask", "visual_concepts",
]
