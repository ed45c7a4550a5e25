"""The training methods, chosen by `[model] method`: HAAN (the paper: haan.models.haan, haan.models.losses) and
W-TALC (the baseline the paper compares against: haan.models.wtalc). Each is a network with
`clip_scores` (all that inference needs) and a training loss of the same shape; this module is
the one place that tells them apart.

- `build_method` gives the training loop a `Method`: the network, the objective (the network and
  its loss as one module, which DistributedDataParallel wraps), the optimizer, log.csv's columns,
  whether pseudo labels are needed, how an epoch is cut into batches and a batch into the
  processes' parts.
- `build_inference_model` and `inference_blocks` give evaluation and prediction the network and
  the checkpoint files it reads.

Epochs. HAAN's epoch is the paper's: the training videos shuffled and cut into batches of
[hyperparameters] batch_size. W-TALC trains by iterations of its similar-pair sampler (100,000
batches of 10 videos in the authors' code). Here a W-TALC epoch is ceil(N_train / [wtalc]
batch_size) sampler iterations, so that it draws as many videos as the training set holds (with
replacement); a run lasts [hyperparameters] epochs and is evaluated as HAAN's ([haan]
eval_interval). The authors' 100,000 iterations are 100,000 x 10 / N_train epochs: 265 on
FineGym's 3,775 training videos.

Ablations. HAAN's losses are weighted by [hyperparameters] lambda_1 (L_mil) .. lambda_4
(L_coarse); a loss at 0 is not computed, nor what only it needs (haan.models.losses.LossesOn): without
L_pseudo, L_concept and L_coarse there is no k-means at all. The parameters no loss then reaches
make a distributed run tell DistributedDataParallel to look for unused parameters
(`uses_every_parameter`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn as nn

from haan.config import Config
from haan.errors import InputError
from haan.models.haan import BLOCK_NAMES as HAAN_BLOCKS
from haan.models.haan import HAAN, RowShard
from haan.models.losses import LossesOn, class_balance_weights, haan_losses, per_video_weights
from haan.models.optim import Adam
from haan.models.wtalc import BLOCK_NAMES as WTALC_BLOCKS
from haan.models.wtalc import (
    WTALC,
    consecutive_pairs,
    pair_class_count,
    sample_similar_batch,
    wtalc_losses,
)
from haan.models.wtalc import make_optimizer as wtalc_optimizer
from haan.runtime.device import device_memory
from haan.runtime.distributed import Processes, split

if TYPE_CHECKING:
    from haan.data import Dataset
    from haan.models.pseudo_labels import PseudoLabelState

# Every block file any method writes into a run folder (what marks a folder as a run).
ALL_BLOCK_NAMES = HAAN_BLOCKS + WTALC_BLOCKS
# Inference needs the encoder and the fine classifier of HAAN (spec section 5), all of W-TALC.
INFERENCE_BLOCKS = {"haan": ("encoder", "fine_level_classifier"), "wtalc": WTALC_BLOCKS}


def build_model(config: Config) -> HAAN | WTALC:
    """The method's whole network, freshly initialised (torch's RNG)."""
    if config.model.method == "wtalc":
        return WTALC.from_config(config)
    return HAAN.from_config(config)


def build_inference_model(config: Config) -> nn.Module:
    """The network of the config's method, in eval mode: `clip_scores(x)` maps clip features
    (..., D) to class logits (..., C). Load `inference_blocks(config)` into it
    (haan.engine.checkpoints.load_checkpoints)."""
    return build_model(config).eval()


def inference_blocks(config: Config) -> tuple[str, ...]:
    """The checkpoint blocks (files `<block>.pkl`) inference reads for the config's method."""
    return INFERENCE_BLOCKS[config.model.method]


def batch_size_setting(config: Config) -> tuple[str, int]:
    """Where the method's global batch size is set, and its value."""
    if config.model.method == "wtalc":
        return "[wtalc] batch_size", config.wtalc.batch_size
    return "[hyperparameters] batch_size", config.hyperparameters.batch_size


def make_optimizer(model: HAAN, learning_rate: float) -> Adam:
    """HAAN's: Adam over the four blocks, no weight decay (the paper). The fused implementation
    computes the same update in one pass over the parameters: ~5x faster per step on a CPU at
    H = 2048."""
    return Adam(model.parameters(), lr=learning_rate, fused=True)


# ----------------------------------------------------------------------------------------------
# What the losses read


@dataclass(frozen=True)
class TrainingTargets:
    """What the losses need of the training set, on the training device (rows: train_indices)."""

    fine_y: torch.Tensor  # (N, C) multi-hot
    fine_w: torch.Tensor  # (N, C) class-balancing weight of each (video, class)
    coarse_y: torch.Tensor  # (N, G)
    coarse_w: torch.Tensor  # (N, G)
    fine_to_coarse: torch.Tensor  # (C,) int64

    @classmethod
    def of(cls, dataset: Dataset, device: torch.device) -> TrainingTargets:
        idx = dataset.train_indices
        fine_y = torch.from_numpy(dataset.fine_multi_hot(idx)).to(device)
        coarse_y = torch.from_numpy(dataset.coarse_multi_hot(idx)).to(device)
        return cls(fine_y=fine_y, fine_w=per_video_weights(fine_y, *class_balance_weights(fine_y)),
                   coarse_y=coarse_y,
                   coarse_w=per_video_weights(coarse_y, *class_balance_weights(coarse_y)),
                   fine_to_coarse=torch.from_numpy(dataset.fine_to_coarse.astype(np.int64)).to(device))


@dataclass(frozen=True)
class Batch:
    """One training step's input on one process: its part of the batch."""

    features: torch.Tensor  # (b, T, D) this process's videos, padded
    lengths: torch.Tensor  # (b,) their clip counts
    positions: torch.Tensor  # (b,) their rows of the training targets
    batch_positions: torch.Tensor  # (B,) the whole batch's rows, every process's part in order
    pseudo: PseudoLabelState | None  # the training clips' pseudo labels, when the method uses them
    clip_shard: RowShard | None = None  # this part's clip rows of the batch (distributed runs)
    video_shard: RowShard | None = None  # this part's videos of the batch (distributed runs)


# ----------------------------------------------------------------------------------------------
# The objectives: the network and its loss as one module, so that DistributedDataParallel sees
# one forward call per step. Each returns terms with `total` (this process's share of the
# batch's loss, for backward) and `logged()` (the values log.csv averages).


class HAANObjective(nn.Module):
    def __init__(self, model: HAAN, targets: TrainingTargets, config: Config) -> None:
        super().__init__()
        h = config.hyperparameters
        self.model = model
        self.targets = targets
        self.top_k, self.pooling = h.num_top_visual_concepts, h.fine_to_coarse_pooling
        self.lambdas = (h.lambda_1, h.lambda_2, h.lambda_3, h.lambda_4)
        self.precision = config.haan.precision

    def forward(self, batch: Batch):
        t, pos, pseudo = self.targets, batch.positions, batch.pseudo
        return haan_losses(
            self.model, batch.features, batch.lengths,
            None if pseudo is None else pseudo.padded(pos, batch.features.shape[1]),
            None if pseudo is None else pseudo.weights,
            t.fine_y[pos], t.fine_w[pos], t.coarse_y[pos], t.coarse_w[pos],
            fine_to_coarse=t.fine_to_coarse, num_coarse=t.coarse_y.shape[1], top_k=self.top_k,
            pooling=self.pooling, lambdas=self.lambdas, clip_shard=batch.clip_shard,
            video_shard=batch.video_shard, precision=self.precision,
        )


class WTALCObjective(nn.Module):
    def __init__(self, model: WTALC, targets: TrainingTargets, config: Config) -> None:
        super().__init__()
        self.model = model
        self.targets = targets
        self.params = config.wtalc

    def forward(self, batch: Batch):
        w = self.params
        labels = self.targets.fine_y[batch.batch_positions]  # (B, C) the whole batch's
        size = len(batch.batch_positions)
        start = 0 if batch.video_shard is None else batch.video_shard.start
        stop = start + batch.features.shape[0]
        pairs = consecutive_pairs(size, w.num_similar, labels.device)[start:stop, start:stop]
        return wtalc_losses(
            self.model, batch.features, batch.lengths, labels[start:stop], w.lambda_casl,
            w.topk_divisor, w.casl_margin, pairs, batch_size=size,
            casl_count=pair_class_count(labels, w.num_similar), shard=batch.clip_shard)


# ----------------------------------------------------------------------------------------------
# The methods as the training loop sees them


class Method:
    """A method's training pieces. `epoch_batches` gives an epoch's batches (positions into the
    training videos); `part` this process's contiguous rows [start, stop) of a batch."""

    name: str
    loss_columns: tuple[str, ...]  # log.csv's columns of terms.logged()[1:], in that order
    log_columns: tuple[str, ...]  # all of log.csv's columns
    batch_size: int
    needs_pseudo_labels: bool
    uses_every_parameter: bool  # every parameter gets a gradient at every step

    def __init__(self, model: nn.Module, objective: nn.Module,
                 optimizer: torch.optim.Optimizer) -> None:
        self.model, self.objective, self.optimizer = model, objective, optimizer

    def epoch_batches(self, generator: torch.Generator) -> list[torch.Tensor]:
        raise NotImplementedError

    def part(self, batch_size: int, procs: Processes) -> tuple[int, int]:
        return split(batch_size, procs)


def _log_columns(losses: tuple[str, ...], extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    return ("epoch", "loss", *losses, *extra, "eval_avg_mAP", "seconds")


class HAANMethod(Method):
    name = "haan"
    loss_columns = ("l_mil", "l_pseudo", "l_concept", "l_coarse")
    log_columns = _log_columns(loss_columns, ("kmeans_inertia",))

    def __init__(self, config: Config, targets: TrainingTargets, device: torch.device) -> None:
        h = config.hyperparameters
        model = HAAN.from_config(config).to(device)
        super().__init__(model, HAANObjective(model, targets, config),
                         make_optimizer(model, h.learning_rate))
        on = LossesOn.of((h.lambda_1, h.lambda_2, h.lambda_3, h.lambda_4))
        self.batch_size = h.batch_size
        self.needs_pseudo_labels = on.pseudo_labels
        self.uses_every_parameter = on.every_parameter
        self.num_videos = len(targets.fine_y)

    def epoch_batches(self, generator: torch.Generator) -> list[torch.Tensor]:
        """The paper's epoch: the training videos shuffled, in batches of batch_size."""
        return list(torch.randperm(self.num_videos, generator=generator).split(self.batch_size))


class WTALCMethod(Method):
    name = "wtalc"
    loss_columns = ("l_mil", "l_casl")
    log_columns = _log_columns(loss_columns)
    needs_pseudo_labels = False
    uses_every_parameter = True

    def __init__(self, config: Config, targets: TrainingTargets, device: torch.device) -> None:
        model = WTALC.from_config(config).to(device)
        super().__init__(model, WTALCObjective(model, targets, config),
                         wtalc_optimizer(model, config.wtalc))
        self.batch_size = config.wtalc.batch_size
        self.num_similar = config.wtalc.num_similar
        self.labels = targets.fine_y.cpu()  # (N, C) for the sampler

    def epoch_batches(self, generator: torch.Generator) -> list[torch.Tensor]:
        """ceil(N_train / batch_size) batches of their sampler: num_similar pairs of videos
        sharing a class, then videos drawn uniformly (see the module docstring)."""
        iterations = math.ceil(len(self.labels) / self.batch_size)
        # One sampler call per step, in order: each draws from the generator as theirs does.
        return [sample_similar_batch(self.labels, self.batch_size, self.num_similar, generator)
                for _ in range(iterations)]

    def part(self, batch_size: int, procs: Processes) -> tuple[int, int]:
        """The contiguous split, each boundary inside a pair moved past it: CASL then needs no
        other process's clips."""
        start, stop = split(batch_size, procs)
        in_pairs = 2 * self.num_similar

        def after_pair(i: int) -> int:
            return i + i % 2 if i < in_pairs else i

        return after_pair(start), after_pair(stop)


def build_method(config: Config, dataset: Dataset, device: torch.device) -> Method:
    """The config's method, its network initialised from torch's RNG as it stands."""
    targets = TrainingTargets.of(dataset, device)
    if config.model.method == "wtalc":
        return WTALCMethod(config, targets, device)
    return HAANMethod(config, targets, device)


def check_model_fits(config: Config, device: torch.device, training: bool) -> None:
    """A model that cannot be allocated is a clear error naming the sizes, not an allocator
    traceback (or, worse, the OOM killer halfway through initialisation)."""
    with torch.device("meta"):  # sizes only, nothing allocated
        params = sum(p.numel() for p in build_model(config).parameters())
    copies = 4 if training else 1  # weights, gradients and Adam's two moments
    need, have = params * 4 * copies, device_memory(device)
    if need > have:
        h = config.hyperparameters
        size = (f"feature_size = {h.feature_size}" if config.model.method == "wtalc"
                else f"encoded_feature_size = {h.encoded_feature_size}")
        raise InputError(
            f"{config.source}: [hyperparameters] {size}: the {config.model.method} model needs "
            f"{need / 2**30:.1f} GiB for {params:,} parameters"
            f"{' (weights, gradients and Adam state)' if training else ''}, more than the "
            f"{have / 2**30:.1f} GiB of {device}")


__all__ = ["ALL_BLOCK_NAMES", "Batch", "HAANMethod", "HAANObjective", "INFERENCE_BLOCKS", "Method",
           "TrainingTargets", "WTALCMethod", "WTALCObjective", "batch_size_setting",
           "build_inference_model", "build_method", "build_model", "check_model_fits", "inference_blocks",
           "make_optimizer"]
