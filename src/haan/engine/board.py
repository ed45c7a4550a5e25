"""TensorBoard curves of a training run (`haan train --tensorboard`), written by TensorBoard's own
writer (torch.utils.tensorboard.SummaryWriter, which needs the `tensorboard` package: the optional
extra `haan[tensorboard]`) into RUN_DIR/tensorboard/, by the main process only.

One step per epoch, the epoch's number: the same x axis as log.csv and results.csv, so a resumed
run continues its curves where its saved state ends. A run killed after it wrote an epoch's curves
but before that epoch's state was saved trains the epoch again when resumed; the writer of the
resumed run starts with `purge_step` = its first epoch, which tells TensorBoard to drop whatever
an earlier writer recorded from that step on, so no step is ever shown twice. `--overwrite`
removes the event files of the run it replaces (`EVENT_FILES`).

Tags (percent for mAP, as results.csv):
    loss/total, loss/<term>          the epoch's mean per batch of each loss (log.csv's columns)
    learning_rate                    the optimizer's (each parameter group: learning_rate/<i>)
    mAP/fine_avg, mAP/fine@<t>       the selection set's mAP (results.csv's row), when evaluated
    mAP/coarse_avg, mAP/coarse@<t>   the same at the coarse level
    pseudo_labels/reclustered        1 at an epoch that re-clustered the training clips, else 0
    pseudo_labels/inertia, pseudo_labels/cluster_size_{min,mean,max}, pseudo_labels/empty_clusters
    pseudo_labels/cluster_sizes      a histogram of the clips per cluster (re-clustering epochs)
    throughput/videos_per_second, throughput/clips_per_second   the training pass
    time/epoch_seconds               the whole epoch (pseudo labels, training, evaluation)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch

from haan.errors import InputError

BOARD_FOLDER = "tensorboard"
EVENT_FILES = "events.out.tfevents.*"  # the names TensorBoard's writer gives its files
INSTALL_COMMAND = "pip install 'haan[tensorboard]'"


def require_tensorboard() -> None:
    """Fail up front, before any data is loaded, when the package is missing."""
    try:
        import tensorboard  # noqa: F401
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError:
        raise InputError("--tensorboard: the tensorboard package is not installed; install it "
                         f"with `{INSTALL_COMMAND}` (or `pip install tensorboard`)") from None


@dataclass(frozen=True)
class EpochCurves:
    """What one epoch adds to the curves."""

    epoch: int
    losses: dict[str, float]  # "total" and each term
    learning_rates: Sequence[float]  # one per parameter group
    train_seconds: float  # the training pass only
    epoch_seconds: float
    videos: int  # training videos of the pass
    clips: int  # their clips
    fine: dict[str, float] | None = None  # results.csv's columns (mAP@t..., avg.mAP), percent
    coarse: dict[str, float] | None = None
    cluster_sizes: torch.Tensor | None = None  # (K,) clips per cluster, when re-clustered
    inertia: float | None = None


def _map_tag(level: str, column: str) -> str:
    return f"mAP/{level}_avg" if column == "avg.mAP" else f"mAP/{level}{column[3:]}"


class TrainingBoard:
    """The run's SummaryWriter; `add_epoch` after each epoch, `close` at the end."""

    def __init__(self, run_dir: Path, first_epoch: int) -> None:
        self.folder = Path(run_dir) / BOARD_FOLDER
        self._first_epoch = first_epoch
        self._writer = None  # made with the first epoch's curves: a run that fails before has none

    def add_epoch(self, c: EpochCurves) -> None:
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            # purge_step: see the module docstring (what an interrupted epoch wrote is dropped;
            # from 0, whatever a run killed in its first epoch left)
            self._writer = SummaryWriter(log_dir=str(self.folder), purge_step=self._first_epoch)
        w, step = self._writer, c.epoch
        for name, value in c.losses.items():
            w.add_scalar(f"loss/{name}", value, step)
        if len(c.learning_rates) == 1:
            w.add_scalar("learning_rate", c.learning_rates[0], step)
        else:
            for i, lr in enumerate(c.learning_rates):
                w.add_scalar(f"learning_rate/{i}", lr, step)
        for level, row in (("fine", c.fine), ("coarse", c.coarse)):
            for column, value in (row or {}).items():
                w.add_scalar(_map_tag(level, column), value, step)
        w.add_scalar("pseudo_labels/reclustered", float(c.cluster_sizes is not None), step)
        if c.cluster_sizes is not None:
            sizes = c.cluster_sizes.double()
            w.add_scalar("pseudo_labels/inertia", c.inertia, step)
            w.add_scalar("pseudo_labels/cluster_size_min", sizes.min().item(), step)
            w.add_scalar("pseudo_labels/cluster_size_mean", sizes.mean().item(), step)
            w.add_scalar("pseudo_labels/cluster_size_max", sizes.max().item(), step)
            w.add_scalar("pseudo_labels/empty_clusters", float((sizes == 0).sum().item()), step)
            w.add_histogram("pseudo_labels/cluster_sizes", sizes.numpy(), step)
        seconds = max(c.train_seconds, 1e-9)
        w.add_scalar("throughput/videos_per_second", c.videos / seconds, step)
        w.add_scalar("throughput/clips_per_second", c.clips / seconds, step)
        w.add_scalar("time/epoch_seconds", c.epoch_seconds, step)
        w.flush()  # a killed run keeps every epoch it finished

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


__all__ = ["BOARD_FOLDER", "EVENT_FILES", "EpochCurves", "INSTALL_COMMAND", "TrainingBoard",
           "require_tensorboard"]
