"""Training, top to bottom (spec sections 3 and 4, the paper's epoch loop), for the method the
config names (haan.models.methods: HAAN, the paper's, or the W-TALC baseline).

    set up: the run folder checked, model / optimizer / RNG seeded, or the saved state resumed
    for each epoch:
        HAAN, every `pseudo_label_interval` epochs (when a loss needs them): encode all training
            clips, k-means -> pseudo labels
        train_one_epoch: per batch (HAAN: the shuffled videos in batches of `batch_size`), the
            method's losses, one Adam step
        evaluate (validation split if any, else the test set as the paper), then save:
            results.csv, log.csv, training_state.pt, the best epoch's checkpoints, last/ (and,
            with the first epoch, config.toml and run.json); with --tensorboard, the epoch's
            curves (haan.engine.board)
    with a validation split: the best epoch once on the test set (test_results.csv)

A run folder holds the best epoch's checkpoints (HAAN: the paper's four files; W-TALC: one,
inside the manifest of haan.engine.checkpoints), `last/` with the last epoch's, `results.csv` (the
paper's header), `log.csv` (each loss per epoch), the resolved `config.toml`, `run.json` (seed,
device, versions) and `training_state.pt` for `--resume`. The state is saved before the best
checkpoints, so a run killed while writing them resumes by rewriting them from the state. A run
that fails before it saved an epoch takes back the folders it made: nothing blocks its rerun.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn as nn

from haan import fileio
from haan.config import Config
from haan.data import Dataset
from haan.engine.board import BOARD_FOLDER, EpochCurves, TrainingBoard
from haan.engine.checkpoints import existing_blocks, load_checkpoints, save_checkpoints
from haan.engine.pseudo_labelling import make_pseudo_labels
from haan.engine.state import (
    STATE_FILE,
    EpochWriter,
    RunProgress,
    complete_checkpoint_sets,
    load_state,
    prepare_run_folder,
    restore,
    run_metadata,
    save_epoch,
)
from haan.errors import InputError
from haan.evaluation.evaluate import EvaluationResult, evaluate_model, score_coarse
from haan.evaluation.reports import format_table, results_header, results_row, write_results_csv
from haan.models.haan import RowShard
from haan.models.methods import Batch, Method, batch_size_setting, build_method
from haan.models.pseudo_labels import PseudoLabelState
from haan.runtime.distributed import SINGLE, Processes, all_reduce_sum, on_main


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    best_epoch: int
    best_average_mAP: float  # percent, on the selection set
    results: list[list[float]]  # the rows of results.csv
    selection_set: str  # "test" (the paper), "validation" or "last" (no epoch scored but the last)
    test_result: EvaluationResult | None  # the best checkpoint on the test set, with a validation split


# ----------------------------------------------------------------------------------------------
# One epoch


def train_one_epoch(method: Method, objective: nn.Module, dataset: Dataset,
                    pseudo: PseudoLabelState | None, generator: torch.Generator, epoch: int,
                    device: torch.device, progress: bool = False,
                    procs: Processes = SINGLE) -> list[float]:
    """One epoch of the method's batches (`objective` is method.objective, or DDP around it); the
    mean per batch of the total loss and of each loss (over the whole batch, whatever the
    processes). A loss that is not finite stops the run before the step that would spread it
    into the weights.

    With several processes, each takes its contiguous part of every batch (`method.part`); its
    loss is scaled by the number of processes, so the all-reduced (averaged) gradient is the
    whole batch's."""
    from tqdm import tqdm

    train_idx = dataset.train_indices
    objective.train()
    sums = torch.zeros(1 + len(method.loss_columns), dtype=torch.float64)
    batches = method.epoch_batches(generator)
    for batch, positions in enumerate(tqdm(batches, desc=f"epoch {epoch}", unit="batch",
                                           disable=not (progress and procs.main), leave=False)):
        mine, video_shard, clip_shard = positions, None, None
        if procs.distributed:
            lo, hi = method.part(len(positions), procs)
            clips = np.concatenate([[0], np.cumsum(dataset.lengths[train_idx[positions.numpy()]])])
            video_shard = RowShard(len(positions), lo, hi)
            clip_shard = RowShard(int(clips[-1]), int(clips[lo]), int(clips[hi]))
            mine = positions[lo:hi]
        feats, lengths = dataset.padded_batch(train_idx[mine.numpy()])  # (b, T, D), (b,)
        terms = objective(Batch(
            features=torch.from_numpy(feats).to(device),
            lengths=torch.from_numpy(lengths).to(device), positions=mine.to(device),
            batch_positions=positions.to(device), pseudo=pseudo, clip_shard=clip_shard,
            video_shard=video_shard))
        values = all_reduce_sum(terms.logged().double(), procs).cpu()
        if not torch.isfinite(values[0]):
            names = ", ".join(f"{n} {v:.4g}" for n, v in zip(method.loss_columns,
                                                              values[1:].tolist()))
            raise InputError(
                f"epoch {epoch}, batch {batch}: the loss is not finite ({names}); training "
                "stopped before this step, the state saved after the previous epoch can be "
                "continued with --resume")
        method.optimizer.zero_grad(set_to_none=True)
        (terms.total * procs.world_size).backward()
        method.optimizer.step()
        sums += values
    return (sums / max(len(batches), 1)).tolist()


# ----------------------------------------------------------------------------------------------
# The run


@dataclass(frozen=True)
class Session:
    """What every epoch of a run works with, set up once by `train`."""

    config: Config
    dataset: Dataset
    method: Method
    objective: nn.Module  # method.objective, or DistributedDataParallel around it
    generator: torch.Generator  # batch order and the k-means sample
    device: torch.device
    procs: Processes
    run_dir: Path
    selection: np.ndarray  # the videos that select the best epoch
    selection_set: str  # "validation", "test" (the paper) or "last" (haan.engine.loop.selection_rule)
    show: bool  # progress bars
    say: Callable[[str], None]  # reports (the main process's)
    board: TrainingBoard | None = None  # TensorBoard curves (the main process's, if asked for)


def selection_rule(config: Config, dataset: Dataset) -> tuple[np.ndarray, str, str]:
    """(the videos that choose the kept epoch, "validation" | "test" | "last", the rule in words).
    Only videos with segments are ever scored: a held-out set without any (labels-only videos)
    cannot choose an epoch, and then the last epoch is kept."""
    val = dataset.with_segments(dataset.val_indices)
    test = dataset.with_segments(dataset.test_indices)
    scored_once = (f"the test set ({len(test)} videos with segments) is scored once, after "
                   "training" if len(test) else "no test video has segments: nothing is scored")
    if config.haan.select_epoch == "last":
        return test, "last", f"the last epoch ([haan] select_epoch = \"last\"); {scored_once}"
    if len(val):
        return val, "validation", (f"the best avg.mAP on {len(val)} held-out validation videos "
                                   "with segments")
    if len(dataset.val_indices):
        return test, "last", (f"the last epoch: none of the {len(dataset.val_indices)} validation "
                              f"videos has segments to score; {scored_once}")
    return test, "test", ("the best avg.mAP on the TEST set (the paper's protocol: the test "
                          "mAP reported is then optimistic); --set haan.validation_fraction=0.1 "
                          "holds out validation videos instead")


def set_up(config: Config, dataset: Dataset, run_dir: Path, *, seed: int, device: torch.device,
           resume: bool | str, overwrite: bool, init_models_dir: Path | None, progress: bool,
           report: Callable[[str], None], procs: Processes,
           tensorboard: bool = False) -> tuple[Session, RunProgress]:
    """The run folder checked, everything seeded (identically on every process), the method
    built, and the saved state restored when resuming. Nothing of the run is written yet: its
    config.toml and run.json go with its first epoch (`save_run_files`), so a run that fails
    before leaves nothing that looks like a run."""
    if len(dataset.train_indices) == 0:
        raise InputError(f"{config.source}: no training videos")
    setting, batch_size = batch_size_setting(config)
    if batch_size % procs.world_size:
        raise InputError(f"{config.source}: {setting} = {batch_size} must be divisible by the "
                         f"number of processes ({procs.world_size}): it is the global batch, "
                         "split between them")
    resume = on_main(procs, lambda: prepare_run_folder(run_dir, config, resume=resume,
                                                       overwrite=overwrite))
    torch.manual_seed(seed)  # parameter initialisation and dropout masks
    generator = torch.Generator().manual_seed(seed)
    method = build_method(config, dataset, device)
    if init_models_dir is not None:  # the paper's --input-models-dir without --evaluation-only
        load_checkpoints(method.model, init_models_dir,
                         blocks=existing_blocks(init_models_dir, method.model.block_names),
                         map_location=device)
    objective = method.objective
    if procs.distributed:
        from torch.nn.parallel import DistributedDataParallel

        # A HAAN loss switched off leaves parameters without gradient: DDP must look for them.
        objective = DistributedDataParallel(
            objective, device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=not method.uses_every_parameter)
    selection, selection_set, why = selection_rule(config, dataset)
    session = Session(
        config=config, dataset=dataset, method=method, objective=objective, generator=generator,
        device=device, procs=procs, run_dir=run_dir, selection=selection,
        selection_set=selection_set, show=progress and procs.main,
        say=report if procs.main else (lambda message: None))
    session.say(f"model selection: {why}")
    run = RunProgress()
    if resume:
        state = on_main(procs, lambda: load_state(run_dir / STATE_FILE, config))
        run = restore(state, method.model, method.optimizer, generator, device,
                      path=run_dir / STATE_FILE)
        del state
        on_main(procs, lambda: complete_checkpoint_sets(run_dir, method.model, run))
        session.say(f"resuming {run_dir} at epoch {run.next_epoch}")
    if tensorboard and procs.main:
        session = dataclasses.replace(session, board=TrainingBoard(run_dir, run.next_epoch))
    return session, run


def save_run_files(s: Session, seed: int) -> None:
    """The resolved config.toml and run.json (seed, device, versions, --tensorboard)."""
    fileio.write_text(s.run_dir / "config.toml", s.config.to_toml())
    fileio.write_json(s.run_dir / "run.json", run_metadata(s.config, seed, s.device, s.procs,
                                                           tensorboard=s.board is not None))


def run_epoch(s: Session, run: RunProgress, epoch: int) -> bool:
    """Pseudo labels when due, one pass over the training videos, the selection set's mAP when
    due; updates `run` and says whether the epoch is the best so far."""
    x, model = s.config.haan, s.method.model
    t0 = time.perf_counter()
    reclustered = s.method.needs_pseudo_labels and (epoch % x.pseudo_label_interval == 0
                                                    or run.pseudo is None)
    if reclustered:
        run.pseudo = make_pseudo_labels(model, s.dataset, s.config, s.device, s.generator,
                                        s.show, s.procs)
    t1 = time.perf_counter()
    means = train_one_epoch(s.method, s.objective, s.dataset, run.pseudo, s.generator, epoch,
                            s.device, s.show, s.procs)
    train_seconds = time.perf_counter() - t1
    eval_avg, improved, rows = float("nan"), False, None
    last = epoch == s.config.hyperparameters.epochs - 1
    if s.selection_set == "last":
        # The kept epoch is the last: nothing to score until then (select_and_report does).
        improved = last
        if last:
            run.best_epoch = epoch
    elif (epoch + 1) % x.eval_interval == 0 or last:
        result = evaluate_model(model, s.dataset, s.selection, s.config, s.device, s.show, s.procs)
        row = results_row(epoch, result.metrics, s.config)
        if s.board is not None:
            coarse = score_coarse(result, s.dataset, s.config)  # only for the curves
            rows = (row, results_row(epoch, coarse, s.config))
        run.results.append(row)
        eval_avg = row[-1]
        improved = math.isfinite(eval_avg) and eval_avg > run.best_avg
        if improved:
            run.best_avg, run.best_epoch = eval_avg, epoch
        s.say(f"epoch {epoch}: {s.selection_set} avg.mAP {eval_avg:.2f} "
              f"(best {run.best_avg:.2f} at epoch {run.best_epoch})")
    run.log.append({
        "epoch": epoch, "loss": means[0], **dict(zip(s.method.loss_columns, means[1:])),
        "kmeans_inertia": run.pseudo.inertia if run.pseudo is not None else math.nan,
        "eval_avg_mAP": eval_avg, "seconds": round(time.perf_counter() - t0, 3)})
    run.next_epoch = epoch + 1
    if s.board is not None:
        _add_curves(s, run, epoch, means, rows, reclustered, train_seconds)
    return improved


def _add_curves(s: Session, run: RunProgress, epoch: int, means: list[float],
                rows: tuple[list[float], list[float]] | None, reclustered: bool,
                train_seconds: float) -> None:
    """The epoch on the TensorBoard (the same numbers as its log.csv and results.csv rows)."""
    log, columns = run.log[-1], results_header(s.config)[1:]
    sizes = (torch.bincount(run.pseudo.labels.cpu(), minlength=s.config.hyperparameters
                            .num_visual_concepts) if reclustered else None)
    s.board.add_epoch(EpochCurves(
        epoch=epoch, losses={"total": log["loss"], **{c: log[c] for c in s.method.loss_columns}},
        learning_rates=[g["lr"] for g in s.method.optimizer.param_groups],
        train_seconds=train_seconds, epoch_seconds=log["seconds"],
        videos=len(s.dataset.train_indices),
        clips=int(s.dataset.lengths[s.dataset.train_indices].sum()),
        fine=dict(zip(columns, rows[0][1:])) if rows else None,
        coarse=dict(zip(columns, rows[1][1:])) if rows else None,
        cluster_sizes=sizes, inertia=run.pseudo.inertia if reclustered else None))


def train(
    config: Config,
    dataset: Dataset,
    run_dir: Path,
    *,
    seed: int = 1,
    device: torch.device = torch.device("cpu"),
    resume: bool | str = False,
    overwrite: bool = False,
    init_models_dir: Path | None = None,
    progress: bool = True,
    report: Callable[[str], None] = lambda message: None,
    procs: Processes = SINGLE,
    tensorboard: bool = False,
) -> TrainResult:
    """Train the config's method into `run_dir` (see the module docstring). `resume`: False,
    True or "auto". With `procs` of a torchrun launch, every process calls this with the same
    arguments. `tensorboard`: curves in run_dir/tensorboard/ (haan.engine.board).

    A run that fails (or is interrupted) before this call saved its first epoch takes back the
    folders it made (the run folder, last/, tensorboard/), so that the same command can run again;
    it never removes anything that was there before."""
    from tqdm import tqdm

    run_dir = Path(run_dir)
    made = _folders_to_make(run_dir) if procs.main else []
    writer, s, saved = EpochWriter(), None, False
    try:
        s, run = set_up(config, dataset, run_dir, seed=seed, device=device, resume=resume,
                        overwrite=overwrite, init_models_dir=init_models_dir, progress=progress,
                        report=report, procs=procs, tensorboard=tensorboard)
        header = results_header(config)
        epochs = config.hyperparameters.epochs
        bar = tqdm(range(run.next_epoch, epochs), desc="epochs", unit="epoch",
                   disable=not s.show, initial=run.next_epoch, total=epochs)
        for epoch in bar:
            improved = run_epoch(s, run, epoch)
            bar.set_postfix({"best avg.mAP": f"{run.best_avg:.2f}"})
            if not saved:
                on_main(procs, lambda: save_run_files(s, seed))
            on_main(procs, lambda: save_epoch(run_dir, config, s.method, s.generator, run,
                                              header, improved, writer))
            saved = True
        on_main(procs, writer.close)  # every epoch on disk, or the write's error on every process
    except BaseException:
        if procs.main and not saved:
            _take_back(made)
        raise
    finally:
        if procs.main:
            try:
                writer.close()  # a failed run still leaves its last good epoch on disk
            except InputError:
                pass  # the run's own error is the one to report
            if s is not None and s.board is not None:
                s.board.close()
    return select_and_report(s, run, header)


def _folders_to_make(run_dir: Path) -> list[Path]:
    """The folders a run in `run_dir` would create, deepest first."""
    return [p for p in (run_dir / BOARD_FOLDER, run_dir / "last") if not p.exists()] + \
        fileio.missing_folders(run_dir)


def _take_back(made: list[Path]) -> None:
    """Remove the folders a run made before it saved anything: tensorboard/ with the curves of
    an epoch that was never saved, the others only if they are empty."""
    import shutil

    for folder in made:
        if folder.name == BOARD_FOLDER and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
    fileio.remove_empty_folders(made)


def select_and_report(s: Session, run: RunProgress, header: list[str]) -> TrainResult:
    """The best epoch (the last one when no epoch had a finite mAP), evaluated once on the test
    set when a validation split selected it."""
    model, procs = s.method.model, s.procs
    if run.best_epoch < 0:
        run.best_epoch = s.config.hyperparameters.epochs - 1
        on_main(procs, lambda: save_checkpoints(model, s.run_dir, epoch=run.best_epoch))
    test_result = None
    if s.selection_set == "last" and len(s.selection):
        test_result = evaluate_model(model, s.dataset, s.selection, s.config, s.device, s.show,
                                     procs)
        row = results_row(run.best_epoch, test_result.metrics, s.config)
        run.results, run.best_avg = [row], row[-1]
        # results.csv holds the one scored epoch (no test_results.csv: no epoch was chosen on
        # another set, and a seed summary then calls it the test set's).
        on_main(procs, lambda: write_results_csv(s.run_dir / "results.csv", header, [row]))
        s.say(format_table(test_result.metrics, f"test set, the last epoch {run.best_epoch}"))
    elif s.selection_set == "validation" and len(s.dataset.test_indices):
        best = on_main(procs, lambda: _best_weights(model, s.run_dir, s.device))
        model.load_state_dict({k: v.to(s.device) for k, v in best.items()})
        test_result = evaluate_model(model, s.dataset, s.dataset.test_indices, s.config, s.device,
                                     s.show, procs)
        on_main(procs, lambda: write_results_csv(
            s.run_dir / "test_results.csv", header,
            [results_row(run.best_epoch, test_result.metrics, s.config)]))
        s.say(format_table(test_result.metrics,
                           f"test set, best validation epoch {run.best_epoch}"))
    return TrainResult(run_dir=s.run_dir, best_epoch=run.best_epoch,
                       best_average_mAP=run.best_avg, results=run.results,
                       selection_set=s.selection_set, test_result=test_result)


def _best_weights(model: nn.Module, run_dir: Path, device: torch.device) -> dict:
    """The best epoch's checkpoints as a state dict on the CPU (read by the main process)."""
    load_checkpoints(model, run_dir, map_location=device)
    return {k: v.cpu() for k, v in model.state_dict().items()}


__all__ = ["Session", "TrainResult", "run_epoch", "save_run_files", "select_and_report",
           "selection_rule", "set_up",
           "train", "train_one_epoch"]
