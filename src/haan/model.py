"""The HAAN networks (spec section 2): four two-layer blocks.

Each block keeps the paper's parameter names (`hidden_layer`, `out_layer`) so that the paper's
checkpoints (one `torch.save`d state_dict per block, haan.checkpoints) load as they are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

if TYPE_CHECKING:
    from haan.config import Config

BLOCK_NAMES = ("encoder", "fine_level_classifier", "pseudo_label_classifier",
               "coarse_level_classifier")


class Block(nn.Module):
    """h = dropout(relu(W1 x + b1)); out = W2 h + b2. Returns (h, out)."""

    def __init__(self, n_in: int, n_hidden: int, n_out: int, dropout_rate: float) -> None:
        super().__init__()
        self.hidden_layer = nn.Linear(n_in, n_hidden)
        self.out_layer = nn.Linear(n_hidden, n_out)
        self.dropout = nn.Dropout(dropout_rate)  # active only in train() mode

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.dropout(F.relu(self.hidden_layer(x)))  # (..., n_hidden)
        return h, self.out_layer(h)  # (..., n_out)


class ModelOutput(NamedTuple):
    clip_features: torch.Tensor  # f (B, T, H): the fine block's hidden activations
    clip_scores: torch.Tensor  # s (B, T, C): fine class logits
    pseudo_logits: torch.Tensor  # p (B, T, K): visual concept logits


class HAAN(nn.Module):
    block_names = BLOCK_NAMES  # one checkpoint file each (haan.checkpoints)

    def __init__(
        self,
        feature_size: int,  # D
        hidden_size: int,  # H
        num_fine_classes: int,  # C
        num_visual_concepts: int,  # K
        dropout_rate: float,
    ) -> None:
        super().__init__()
        self.encoder = Block(feature_size, hidden_size, hidden_size, dropout_rate)
        self.fine_level_classifier = Block(hidden_size, hidden_size, num_fine_classes,
                                           dropout_rate)
        self.pseudo_label_classifier = Block(hidden_size, hidden_size, num_visual_concepts,
                                             dropout_rate)
        self.coarse_level_classifier = Block(hidden_size, hidden_size, 1, dropout_rate)

    @classmethod
    def from_config(cls, config: Config) -> HAAN:
        h = config.hyperparameters
        return cls(h.feature_size, h.encoded_feature_size, config.stats.num_fine_classes,
                   h.num_visual_concepts, h.dropout_rate)

    def forward(self, x: torch.Tensor) -> ModelOutput:  # x: (B, T, D)
        _, e = self.encoder(x)  # (B, T, H)
        f, s = self.fine_level_classifier(e)  # (B, T, H), (B, T, C)
        _, p = self.pseudo_label_classifier(e)  # (B, T, K)
        return ModelOutput(clip_features=f, clip_scores=s, pseudo_logits=p)

    def clip_scores(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, D) -> (B, T, C) class logits; all inference needs."""
        _, e = self.encoder(x)
        return self.fine_level_classifier(e)[1]

    def prototypes(self) -> torch.Tensor:
        """The class prototypes W (C, H): the fine classifier's output weights, detached."""
        return self.fine_level_classifier.out_layer.weight.detach()


__all__ = ["BLOCK_NAMES", "Block", "HAAN", "ModelOutput"]
