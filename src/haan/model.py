"""The HAAN networks (spec section 2): four two-layer blocks and their checkpoint files.

Each block keeps the paper's parameter names (`hidden_layer`, `out_layer`) so that the paper's
checkpoints (one `torch.save`d state_dict per block) load as they are, and ours load in its code.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from haan.errors import InputError

if TYPE_CHECKING:
    from haan.config import Config

BLOCK_NAMES = ("encoder", "fine_level_classifier", "pseudo_label_classifier",
               "coarse_level_classifier")
CHECKPOINT_FILES = {name: f"{name}.pkl" for name in BLOCK_NAMES}


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


# ----------------------------------------------------------------------------------------------
# Checkpoints: one file per block, exactly the paper's layout.


def save_checkpoints(model: HAAN, directory: str | Path) -> None:
    """Write every block's state_dict to `directory/<block>.pkl`, each atomically."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, filename in CHECKPOINT_FILES.items():
        target = directory / filename
        # A crash mid-write must not leave a truncated checkpoint in place of a good one.
        fd, tmp = tempfile.mkstemp(prefix=f".{filename}.", dir=directory)
        try:
            with os.fdopen(fd, "wb") as fh:
                torch.save(getattr(model, name).state_dict(), fh)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _shape(shape: Iterable[int]) -> str:
    dims = tuple(shape)
    return "(" + ", ".join(str(n) for n in dims) + ("," if len(dims) == 1 else "") + ")"


def load_checkpoints(
    model: HAAN,
    directory: str | Path,
    blocks: Iterable[str] = BLOCK_NAMES,
    map_location: str | torch.device = "cpu",
) -> None:
    """Load `directory/<block>.pkl` into each named block; a missing file, a missing or extra
    parameter or a wrong shape raises InputError naming the file."""
    directory = Path(directory)
    for name in blocks:
        if name not in CHECKPOINT_FILES:
            raise ValueError(f"unknown block {name!r}; expected one of {BLOCK_NAMES}")
        path = directory / CHECKPOINT_FILES[name]
        if not path.is_file():
            raise InputError(f"{path}: no such checkpoint file")
        try:
            state = torch.load(path, map_location=map_location, weights_only=True)
        except Exception as exc:  # unpickling errors come in many types
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"{path}: not a readable PyTorch checkpoint ({message})") from None
        if not isinstance(state, dict):
            raise InputError(f"{path}: expected a state_dict, found {type(state).__name__}")
        block = getattr(model, name)
        expected = block.state_dict()
        missing = [k for k in expected if k not in state]
        unexpected = [k for k in state if k not in expected]
        if missing or unexpected:
            parts = []
            if missing:
                parts.append("missing " + ", ".join(missing))
            if unexpected:
                parts.append("unexpected " + ", ".join(map(str, unexpected)))
            raise InputError(f"{path}: {'; '.join(parts)}")
        for key, ref in expected.items():
            got = state[key]
            if not isinstance(got, torch.Tensor) or got.shape != ref.shape:
                found = _shape(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
                raise InputError(
                    f"{path}: expected {key} of shape {_shape(ref.shape)}, found {found}")
        block.load_state_dict(state)


__all__ = [
    "BLOCK_NAMES", "Block", "CHECKPOINT_FILES", "HAAN", "ModelOutput", "load_checkpoints",
    "save_checkpoints",
]
