"""The HAAN networks (spec section 2): four two-layer blocks.

Each block keeps the paper's parameter names (`hidden_layer`, `out_layer`) so that the paper's
checkpoints (one `torch.save`d state_dict per block, haan.engine.checkpoints) load as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

if TYPE_CHECKING:
    from haan.config import Config

BLOCK_NAMES = ("encoder", "fine_level_classifier", "pseudo_label_classifier",
               "coarse_level_classifier")


@dataclass(frozen=True)
class RowShard:
    """This process's rows [start, stop) of a batch of `total` rows: the rows of all processes
    laid end to end, in the order one process would hold them."""

    total: int
    start: int
    stop: int


# Fast dropout masks: 16 random bits per element, four to each int64 the generator draws.
_MASK_BITS = 16


def fast_keep_probability(p: float) -> float:
    """The keep probability of the fast masks: 1 - p to the nearest multiple of 2^-16 (exact for
    p = 0.5; 0.7 becomes 0.69999695)."""
    return round((1.0 - p) * (1 << _MASK_BITS)) / (1 << _MASK_BITS)


def _fast_mask(total: int, width: int, p: float, device: torch.device) -> torch.Tensor:
    """(total, width) bool keep-mask from the global torch generator: one `random_` call over
    total * width / 4 int64 words, read as int16 lanes. ~4x cheaper than `bernoulli_`, whose
    CPU kernel draws element by element."""
    elements = total * width
    words = torch.empty((elements + 3) // 4, dtype=torch.int64, device=device)
    lanes = words.random_(-(1 << 63), (1 << 63) - 1).view(torch.int16)[:elements]  # uniform int16
    threshold = round((1.0 - p) * (1 << _MASK_BITS)) - (1 << (_MASK_BITS - 1))
    return (lanes < threshold).view(total, width)


def dropout(x: torch.Tensor, p: float, training: bool, shard: RowShard | None = None,
            fast: bool = False) -> torch.Tensor:
    """Dropout of x, viewed as (rows, x.shape[-1]), with the mask drawn in one call for all rows.

    Default: F.dropout's CPU arithmetic made explicit, x * bernoulli(1 - p) / (1 - p): the same
    stream and the same values as nn.Dropout (the paper's). `fast`: keep where a 16-bit uniform
    falls below (1 - p) (see `fast_keep_probability`), scaled by 1 / that probability, so the
    expected mask is exactly 1.

    With a `shard`, the mask is drawn for all `shard.total` rows of the batch and this process's
    rows are taken from it: every process of a distributed run then applies exactly the mask one
    process would, and their random streams stay in step (each draws the same amount). Rows of x
    beyond the shard's are padding: they are zeroed.
    """
    if not training or p == 0:
        return x
    width = x.shape[-1]
    rows = x.numel() // width if width else 0
    total, start, stop = (rows, 0, rows) if shard is None else (shard.total, shard.start, shard.stop)
    if fast:
        keep = fast_keep_probability(p)
        mask = _fast_mask(total, width, p, x.device)[start:stop].to(x.dtype) * (1.0 / keep)
    else:  # drawn in fp32 whatever x's dtype: bf16 runs (haan.runtime.precision) get fp32's masks
        keep = 1.0 - p
        mask = torch.empty(total, width, device=x.device).bernoulli_(keep)
        mask = mask.div_(keep)[start:stop].to(x.dtype)
    if stop - start < rows:  # rows past the shard's are padding (haan.runtime.precision): no mask drawn
        mask = torch.cat([mask, mask.new_zeros(rows - (stop - start), width)])
    return x * mask.view(x.shape)


class Block(nn.Module):
    """h = dropout(relu(W1 x + b1)); out = W2 h + b2. Returns (h, out)."""

    def __init__(self, n_in: int, n_hidden: int, n_out: int, dropout_rate: float,
                 fast_dropout: bool = False) -> None:
        super().__init__()
        self.hidden_layer = nn.Linear(n_in, n_hidden)
        self.out_layer = nn.Linear(n_hidden, n_out)
        self.dropout_rate = dropout_rate  # active only in train() mode
        self.fast_dropout = fast_dropout

    def forward(self, x: torch.Tensor, shard: RowShard | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        h = dropout(F.relu(self.hidden_layer(x)), self.dropout_rate, self.training, shard,
                    self.fast_dropout)  # (..., n_hidden)
        return h, self.out_layer(h)  # (..., n_out)


class ModelOutput(NamedTuple):
    clip_features: torch.Tensor  # f (B, T, H): the fine block's hidden activations
    clip_scores: torch.Tensor  # s (B, T, C): fine class logits
    pseudo_logits: torch.Tensor | None  # p (B, T, K): visual concept logits (None if not asked)


class HAAN(nn.Module):
    block_names = BLOCK_NAMES  # one checkpoint file each (haan.engine.checkpoints)

    def __init__(
        self,
        feature_size: int,  # D
        hidden_size: int,  # H
        num_fine_classes: int,  # C
        num_visual_concepts: int,  # K
        dropout_rate: float,
        fast_dropout: bool = False,
    ) -> None:
        super().__init__()
        p, fast = dropout_rate, fast_dropout
        self.encoder = Block(feature_size, hidden_size, hidden_size, p, fast)
        self.fine_level_classifier = Block(hidden_size, hidden_size, num_fine_classes, p, fast)
        self.pseudo_label_classifier = Block(hidden_size, hidden_size, num_visual_concepts, p, fast)
        self.coarse_level_classifier = Block(hidden_size, hidden_size, 1, p, fast)

    @classmethod
    def from_config(cls, config: Config) -> HAAN:
        h = config.hyperparameters
        return cls(h.feature_size, h.encoded_feature_size, config.stats.num_fine_classes,
                   h.num_visual_concepts, h.dropout_rate,
                   fast_dropout=config.haan.dropout_masks == "fast")

    def forward(self, x: torch.Tensor, shard: RowShard | None = None,
                pseudo: bool = True) -> ModelOutput:
        """x: (B, T, D) or packed clips (M, D); `shard`: these clips' rows of a distributed
        batch (see `dropout`); `pseudo`: run the pseudo-label classifier (off when L_pseudo is)."""
        _, e = self.encoder(x, shard)  # (B, T, H)
        f, s = self.fine_level_classifier(e, shard)  # (B, T, H), (B, T, C)
        p = self.pseudo_label_classifier(e, shard)[1] if pseudo else None  # (B, T, K)
        return ModelOutput(clip_features=f, clip_scores=s, pseudo_logits=p)

    def clip_scores(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, D) -> (B, T, C) class logits; all inference needs."""
        _, e = self.encoder(x)
        return self.fine_level_classifier(e)[1]

    def prototypes(self) -> torch.Tensor:
        """The class prototypes W (C, H): the fine classifier's output weights, detached."""
        return self.fine_level_classifier.out_layer.weight.detach()


__all__ = ["BLOCK_NAMES", "Block", "HAAN", "ModelOutput", "RowShard", "dropout",
           "fast_keep_probability"]
