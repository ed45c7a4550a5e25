"""Training, top to bottom (spec sections 3 and 4, the paper's epoch loop), for the method the
config names (haan.methods: HAAN, the paper's, or the W-TALC baseline).

    set up: the run folder checked, model / optimizer / RNG seeded, or the saved state resumed
    for each epoch:
        HAAN, every `pseudo_label_interval` epochs (when a loss needs them): encode all training
            clips, k-means -> pseudo labels
        train_one_epoch: per batch (HAAN: the shuffled videos in batches of `batch_size`), the
            method's losses, one Adam step
        evaluate (validation split if any, else the test set as the paper), then save:
            results.csv, log.csv, training_state.pt, the best epoch's checkpoints, last/
    with a validation split: the best epoch once on the test set (test_results.csv)

A run folder holds the best epoch's checkpoints (HAAN: the paper's four files; W-TALC: one,
inside the manifest of haan.checkpoints), `last/` with the last epoch's, `results.csv` (the
paper's header), `log.csv` (each loss per epoch), the resolved `config.toml`, `run.json` (seed,
device, versions) and `training_state.pt` for `--resume`. The state is saved before the best
checkpoints, so a run killed while writing them resumes by rewriting them from the state.
"""

from __future__ import annotations

import copy
import math
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn as nn

from haan import fileio
from haan.checkpoints import (
    MANIFEST, checkpoint_file, complete_epoch, existing_blocks, load_checkpoints, save_checkpoints,
)
from haan.config import Config, flatten, with_defaults
from haan.data import Dataset
from haan.distributed import SINGLE, Processes, all_reduce_sum, broadcast_object, my_chunks
from haan.errors import InputError
from haan.evaluate import EvaluationResult, chunk_clips, evaluate_model, video_chunks
from haan.memory import release_freed_memory
from haan.methods import ALL_BLOCK_NAMES, Batch, Method, batch_size_setting, build_method
from haan.model import HAAN, RowShard
from haan.precision import on_rows
from haan.pseudo_labels import check_sample_size, concept_weights, fit_concepts, sample_indices
from haan.reports import format_table, results_header, results_row, write_results_csv

STATE_FILE = "training_state.pt"
STATE_FORMAT = "haan-training-state"
# Above this, pseudo labelling encodes the training clips twice rather than holding them all
# (FineGym: 2.4 GB of encoded clips, FineAction 3.5 GB; a second pass costs ~10% of an epoch).
PSEUDO_LABEL_CACHE_BYTES = 256 << 20
# Everything a run writes into its folder: what --overwrite removes, what marks a folder as a run.
RUN_FILES = ("config.toml", "run.json", "results.csv", "log.csv", "test_results.csv", STATE_FILE,
             MANIFEST, *(checkpoint_file(b) for b in ALL_BLOCK_NAMES))


@dataclass(frozen=True)
class PseudoLabelState:
    """Pseudo labels of the training clips, videos in `train_indices` order."""

    labels: torch.Tensor  # (M,) int64, on the training device
    offsets: torch.Tensor  # (N_train + 1,) int64: video j's clips are labels[offsets[j]:offsets[j+1]]
    weights: torch.Tensor  # (K,) float32 concept weights
    inertia: float

    def padded(self, positions: torch.Tensor, t_max: int) -> torch.Tensor:
        """(B, t_max) labels of the videos at these positions; padding gets label 0 (masked)."""
        start = self.offsets[positions]  # (B,)
        length = self.offsets[positions + 1] - start  # (B,)
        steps = torch.arange(t_max, device=start.device)  # (t_max,)
        idx = start[:, None] + torch.minimum(steps[None, :], (length - 1).clamp(min=0)[:, None])
        return torch.where(steps[None, :] < length[:, None], self.labels[idx], 0)


@dataclass
class RunProgress:
    """Where a run stands; with the model, optimizer and RNG states, what training_state.pt holds."""

    next_epoch: int = 0
    best_avg: float = -math.inf  # percent, on the selection set
    best_epoch: int = -1
    results: list[list[float]] = field(default_factory=list)  # rows of results.csv
    log: list[dict] = field(default_factory=list)  # rows of log.csv
    pseudo: PseudoLabelState | None = None


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    best_epoch: int
    best_average_mAP: float  # percent, on the selection set
    results: list[list[float]]  # the rows of results.csv
    selection_set: str  # "test" (the paper) or "validation"
    test_result: EvaluationResult | None  # the best checkpoint on the test set, with a validation split


# ----------------------------------------------------------------------------------------------
# Pseudo labels (spec section 3), in bounded memory and split over processes


@torch.no_grad()
def _encode(model: HAAN, dataset: Dataset, videos: np.ndarray, device: torch.device,
            precision: str = "fp32") -> torch.Tensor:
    """(sum T_i, H) encoder outputs of every valid clip of these videos, in eval mode."""
    clips = torch.from_numpy(dataset.clips(videos)).to(device)
    return on_rows(lambda x: model.encoder(x)[1], clips, precision)


def make_pseudo_labels(model: HAAN, dataset: Dataset, config: Config, device: torch.device,
                       generator: torch.Generator, progress: bool = False,
                       procs: Processes = SINGLE) -> PseudoLabelState:
    """Encode the training clips, fit k-means on a uniform sample of them, label every clip.

    The sample's clip indices are drawn first, so only the sample is ever held whole; the other
    clips are encoded and labelled chunk by chunk (a second encoding pass when this process's
    clips would not fit in PSEUDO_LABEL_CACHE_BYTES). The chunks are those of the one-process
    chunking, split over the processes; k-means runs on the main process and its centres (and the
    generator it advanced) go to every process.
    """
    from tqdm import tqdm

    h, x = config.hyperparameters, config.haan
    train_idx = dataset.train_indices
    lengths = dataset.lengths[train_idx]
    starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)  # (N + 1,) clip offsets
    chunks = video_chunks(lengths, chunk_clips(dataset.feature_size))
    mine = my_chunks(len(chunks), procs)
    num_clips = int(starts[-1])
    sample = sample_indices(num_clips, h.clustering_sample_rate, generator)  # (S,) clip indices
    check_sample_size(len(sample), num_clips, h.num_visual_concepts, h.clustering_sample_rate)
    place = torch.full((num_clips,), -1, dtype=torch.int64)  # (M,) position in the sample
    place[sample] = torch.arange(len(sample))
    my_clips = sum(int(starts[chunks[i][-1] + 1] - starts[chunks[i][0]]) for i in mine)
    cache = my_clips * h.encoded_feature_size * 4 <= PSEUDO_LABEL_CACHE_BYTES
    show = progress and procs.main
    model.eval()

    # 1. encode; keep the sampled clips (and everything, when it fits). Each process fills the
    # sample rows of its chunks in place, so nothing chunk-sized outlives its chunk.
    encoded: dict[int, torch.Tensor] = {}
    sample_x = torch.zeros(len(sample), h.encoded_feature_size, device=device)  # (S, H)
    for i in tqdm(mine, desc="encode", unit="chunk", disable=not show, leave=False):
        clips = _encode(model, dataset, train_idx[chunks[i]], device, x.precision)  # (n, H)
        where = place[starts[chunks[i][0]]:starts[chunks[i][-1] + 1]].to(device)  # (n,)
        chosen = where >= 0
        sample_x[where[chosen]] = clips[chosen]
        if cache:
            encoded[i] = clips
        del clips
        release_freed_memory()
    sample_x = all_reduce_sum(sample_x, procs)  # the rows are disjoint: their sum is their union

    # 2. k-means on the main process
    concepts = None
    if procs.main:
        with tqdm(desc="k-means++ seeds", unit="seed", total=h.num_visual_concepts,
                  disable=not show, leave=False) as seeding, \
                tqdm(desc="k-means", unit="iter", disable=not show, leave=False) as lloyd:
            concepts = fit_concepts(
                sample_x, h.num_visual_concepts, generator=generator,
                backend=x.kmeans_backend, max_iter=x.kmeans_max_iter, tol=x.kmeans_tol,
                inertia_tol=x.kmeans_inertia_tol, on_iteration=lambda _: lloyd.update(),
                on_seed=seeding.update, overwrite_sample=True)
        concepts = concepts.to(torch.device("cpu"))
    concepts, generator_state = broadcast_object((concepts, generator.get_state()), procs)
    generator.set_state(generator_state)
    concepts = concepts.to(device)
    del sample_x

    # 3. label every clip, chunk by chunk
    labels = torch.zeros(num_clips, dtype=torch.int64, device=device)  # (M,)
    for i in tqdm(mine, desc="label", unit="chunk", disable=not show or cache, leave=False):
        clips = (encoded.pop(i) if cache
                 else _encode(model, dataset, train_idx[chunks[i]], device, x.precision))
        labels[starts[chunks[i][0]]:starts[chunks[i][-1] + 1]] = concepts.assign(clips)
        del clips
        release_freed_memory()
    labels = all_reduce_sum(labels, procs)  # each process labelled its chunks, zeros elsewhere
    return PseudoLabelState(labels=labels, offsets=torch.from_numpy(starts).to(device),
                            weights=concept_weights(labels, h.num_visual_concepts),
                            inertia=float(concepts.inertia))


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
# The run folder, saved state and resume (files are the main process's business)


def on_main(procs: Processes, action: Callable[[], Any]) -> Any:
    """Run `action` on the main process only; its result, or its error, on every process (so
    that no process waits forever for one that stopped)."""
    result, error = None, None
    if procs.main:
        try:
            result = action()
        except InputError as exc:
            error = str(exc)
    result, error = broadcast_object((result, error), procs)
    if error is not None:
        raise InputError(error)
    return result


def prepare_run_folder(run_dir: Path, config: Config, *, resume: bool | str,
                       overwrite: bool) -> bool:
    """Create or check the run folder; whether to resume. A folder that already holds a run is
    only used with --resume (continue it), --resume auto (continue it if it saved a state, else
    start it again if it is the same run: what a run restarted after a failure needs) or
    --overwrite (start again). Temporary files that a killed run left behind are removed."""
    if resume and overwrite:
        raise InputError("--resume and --overwrite: choose one")
    run_dir = fileio.output_folder(run_dir)
    existing = [run_dir / name for name in RUN_FILES if (run_dir / name).exists()]
    if resume == "auto":
        resume = (run_dir / STATE_FILE).exists()
        if not resume and existing:
            saved = run_dir / "config.toml"
            same = saved.is_file() and saved.read_text(encoding="utf-8") == config.to_toml()
            if not same:
                raise InputError(f"{run_dir}: holds another run ({existing[0].name}) without a "
                                 "saved state; --resume auto only restarts the same run")
            overwrite = True
    if existing and not (resume or overwrite):
        raise InputError(f"{run_dir}: already holds a run ({existing[0].name}); pass --resume to "
                         "continue it or --overwrite to start it again")
    if resume and not (run_dir / STATE_FILE).is_file():
        raise InputError(f"{run_dir / STATE_FILE}: nothing to resume (no saved training state)")
    if overwrite:
        for path in existing + [run_dir / "last" / n for n in RUN_FILES]:
            path.unlink(missing_ok=True)
    for folder in (run_dir, run_dir / "last"):
        if folder.is_dir():
            fileio.remove_stale_temporaries(folder)
    fileio.output_folder(run_dir / "last")
    return bool(resume)


def _progress_state(progress: RunProgress) -> dict:
    p = progress.pseudo
    return {"next_epoch": progress.next_epoch, "best_avg": progress.best_avg,
            "best_epoch": progress.best_epoch, "results": progress.results, "log": progress.log,
            "pseudo": None if p is None else {"labels": p.labels.cpu(), "offsets": p.offsets.cpu(),
                                              "weights": p.weights.cpu(), "inertia": p.inertia}}


def config_differences(saved: dict, current: dict, ignore: tuple[str, ...] = ()) -> list[str]:
    """`section.key (was X, now Y)` for each setting that differs."""
    a, b = flatten(saved), flatten(current)
    return [f"{k} (was {a.get(k, 'unset')!r}, now {b.get(k, 'unset')!r})"
            for k in sorted(set(a) | set(b)) if k not in ignore and a.get(k) != b.get(k)]


def load_state(path: Path, config: Config) -> dict:
    """The saved training state, checked against the config; an empty, truncated or foreign
    file, another config or fewer epochs than already trained is a one-line error."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncation and unpickling errors come in many types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: not a readable training state ({first[:200]})") from None
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise InputError(f"{path}: not a haan training state")
    differences = config_differences(with_defaults(state["config"]), with_defaults(config.to_dict()),
                                     ignore=("hyperparameters.epochs",))
    if differences:
        raise InputError(f"{path}: the run was made with another config; resume needs the same "
                         f"one (only hyperparameters.epochs may change): {'; '.join(differences)}")
    done = state["progress"]["next_epoch"]
    if config.hyperparameters.epochs < done:
        raise InputError(f"{path}: hyperparameters.epochs = {config.hyperparameters.epochs}, but "
                         f"the run has already trained {done} epochs")
    return state


def restore(state: dict, model: nn.Module, optimizer: torch.optim.Optimizer,
            generator: torch.Generator, device: torch.device) -> RunProgress:
    """Model, optimizer and RNG as saved; the run's progress."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["torch_rng"])
    generator.set_state(state["generator"])
    p = state["progress"]
    pseudo = None if p["pseudo"] is None else PseudoLabelState(
        **{k: v.to(device) if torch.is_tensor(v) else v for k, v in p["pseudo"].items()})
    return RunProgress(next_epoch=p["next_epoch"], best_avg=p["best_avg"],
                       best_epoch=p["best_epoch"], results=p["results"], log=p["log"],
                       pseudo=pseudo)


def complete_checkpoint_sets(run_dir: Path, model: nn.Module, run: RunProgress) -> None:
    """The state is saved before the checkpoint sets of its epoch: if the run was killed while
    writing them, the restored model is exactly what they should hold."""
    last_epoch = run.next_epoch - 1
    if run.best_epoch == last_epoch and complete_epoch(run_dir) != last_epoch:
        save_checkpoints(model, run_dir, epoch=last_epoch)
    if last_epoch >= 0 and complete_epoch(run_dir / "last") != last_epoch:
        save_checkpoints(model, run_dir / "last", epoch=last_epoch)


def _run_metadata(config: Config, seed: int, device: torch.device, procs: Processes) -> dict:
    import haan

    return {
        "seed": seed, "device": str(device), "config_source": config.source,
        "threads": torch.get_num_threads(), "world_size": procs.world_size,
        "haan_version": haan.__version__, "torch_version": torch.__version__,
        "numpy_version": np.__version__, "python_version": platform.python_version(),
    }


def _snapshot(value: Any) -> Any:
    """A copy of nested dicts, lists and tensors that later training steps cannot change."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, dict):
        return {k: _snapshot(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_snapshot(v) for v in value)
    return value


class EpochWriter:
    """Writes each epoch's training state and checkpoint sets on a background thread while the
    next epoch trains (a FineGym state is 267 MB: half a second a save). One write at a time, in
    order; `wait` re-raises a failed write."""

    def __init__(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="haan-save")
        self._pending = None

    def submit(self, write: Callable[[], None]) -> None:
        self.wait()
        self._pending = self._executor.submit(write)

    def wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self._executor.shutdown()


def save_epoch(run_dir: Path, config: Config, method: Method, generator: torch.Generator,
               run: RunProgress, header: list[str], improved: bool, writer: EpochWriter) -> None:
    """The end of an epoch on disk: the results now, the rest from a snapshot in the background.
    The state goes before the checkpoint sets, so that a run killed while writing them can
    rewrite them from the state when it resumes."""
    epoch = run.next_epoch - 1
    write_results_csv(run_dir / "results.csv", header, run.results)
    fileio.write_csv(run_dir / "log.csv", method.log_columns,
                     [[row[c] for c in method.log_columns] for row in run.log])
    model = copy.deepcopy(method.model)
    state = {
        "format": STATE_FORMAT, "config": config.to_dict(), "model": model.state_dict(),
        "optimizer": _snapshot(method.optimizer.state_dict()), "torch_rng": torch.get_rng_state(),
        "generator": generator.get_state(), "progress": _snapshot(_progress_state(run)),
    } if config.haan.save_training_state else None

    def write() -> None:
        if state is not None:
            fileio.save_torch(run_dir / STATE_FILE, state)
        if improved:
            save_checkpoints(model, run_dir, epoch=epoch)
        save_checkpoints(model, run_dir / "last", epoch=epoch)

    writer.submit(write)


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
    selection_set: str  # "validation" or "test" (the paper)
    show: bool  # progress bars
    say: Callable[[str], None]  # reports (the main process's)


def set_up(config: Config, dataset: Dataset, run_dir: Path, *, seed: int, device: torch.device,
           resume: bool | str, overwrite: bool, init_models_dir: Path | None, progress: bool,
           report: Callable[[str], None], procs: Processes) -> tuple[Session, RunProgress]:
    """The run folder checked, everything seeded (identically on every process), the method
    built, and the saved state restored when resuming."""
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
    validation = len(dataset.val_indices) > 0
    session = Session(
        config=config, dataset=dataset, method=method, objective=objective, generator=generator,
        device=device, procs=procs, run_dir=run_dir,
        selection=dataset.val_indices if validation else dataset.test_indices,
        selection_set="validation" if validation else "test", show=progress and procs.main,
        say=report if procs.main else (lambda message: None))
    run = RunProgress()
    if resume:
        state = on_main(procs, lambda: load_state(run_dir / STATE_FILE, config))
        run = restore(state, method.model, method.optimizer, generator, device)
        del state
        on_main(procs, lambda: complete_checkpoint_sets(run_dir, method.model, run))
        session.say(f"resuming {run_dir} at epoch {run.next_epoch}")
    on_main(procs, lambda: (fileio.write_text(run_dir / "config.toml", config.to_toml()),
                            fileio.write_json(run_dir / "run.json",
                                              _run_metadata(config, seed, device, procs))))
    return session, run


def run_epoch(s: Session, run: RunProgress, epoch: int) -> bool:
    """Pseudo labels when due, one pass over the training videos, the selection set's mAP when
    due; updates `run` and says whether the epoch is the best so far."""
    x, model = s.config.haan, s.method.model
    t0 = time.perf_counter()
    if s.method.needs_pseudo_labels and (epoch % x.pseudo_label_interval == 0
                                         or run.pseudo is None):
        run.pseudo = make_pseudo_labels(model, s.dataset, s.config, s.device, s.generator,
                                        s.show, s.procs)
    means = train_one_epoch(s.method, s.objective, s.dataset, run.pseudo, s.generator, epoch,
                            s.device, s.show, s.procs)
    eval_avg, improved = float("nan"), False
    if (epoch + 1) % x.eval_interval == 0 or epoch == s.config.hyperparameters.epochs - 1:
        result = evaluate_model(model, s.dataset, s.selection, s.config, s.device, s.show, s.procs)
        row = results_row(epoch, result.metrics, s.config)
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
    return improved


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
) -> TrainResult:
    """Train the config's method into `run_dir` (see the module docstring). `resume`: False,
    True or "auto". With `procs` of a torchrun launch, every process calls this with the same
    arguments."""
    from tqdm import tqdm

    run_dir = Path(run_dir)
    s, run = set_up(config, dataset, run_dir, seed=seed, device=device, resume=resume,
                    overwrite=overwrite, init_models_dir=init_models_dir, progress=progress,
                    report=report, procs=procs)
    header = results_header(config)
    epochs = config.hyperparameters.epochs
    writer = EpochWriter()
    try:
        bar = tqdm(range(run.next_epoch, epochs), desc="epochs", unit="epoch",
                   disable=not s.show, initial=run.next_epoch, total=epochs)
        for epoch in bar:
            improved = run_epoch(s, run, epoch)
            bar.set_postfix({"best avg.mAP": f"{run.best_avg:.2f}"})
            on_main(procs, lambda: save_epoch(run_dir, config, s.method, s.generator, run,
                                              header, improved, writer))
        on_main(procs, writer.close)  # every epoch on disk, or the write's error on every process
    finally:
        if procs.main:
            try:
                writer.close()  # a failed run still leaves its last good epoch on disk
            except InputError:
                pass  # the run's own error is the one to report
    return select_and_report(s, run, header)


def select_and_report(s: Session, run: RunProgress, header: list[str]) -> TrainResult:
    """The best epoch (the last one when no epoch had a finite mAP), evaluated once on the test
    set when a validation split selected it."""
    model, procs = s.method.model, s.procs
    if run.best_epoch < 0:
        run.best_epoch = s.config.hyperparameters.epochs - 1
        on_main(procs, lambda: save_checkpoints(model, s.run_dir, epoch=run.best_epoch))
    test_result = None
    if s.selection_set == "validation" and len(s.dataset.test_indices):
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


__all__ = ["EpochWriter", "PseudoLabelState", "RUN_FILES", "RunProgress", "STATE_FILE", "Session",
           "TrainResult", "config_differences", "load_state", "make_pseudo_labels", "on_main",
           "prepare_run_folder", "restore", "run_epoch", "save_epoch", "select_and_report",
           "set_up", "train", "train_one_epoch"]
