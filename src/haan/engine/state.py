"""A run folder, its saved state and resume (files are the main process's business): what marks a
folder as a run, the checks before a run starts in it, the training state written after every
epoch (on a background thread) and read back by --resume, and the run's metadata."""

from __future__ import annotations

import copy
import math
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn as nn

from haan import fileio
from haan.config import Config, flatten, with_defaults
from haan.data.dataset_card import RUN_CARD_KEY, dataset_card
from haan.data.dataset_contract import RUN_CONTRACT_KEY, dataset_contract_json
from haan.engine.board import BOARD_FOLDER, EVENT_FILES
from haan.engine.checkpoints import (
    MANIFEST,
    check_state_dict,
    checkpoint_file,
    complete_epoch,
    save_checkpoints,
)
from haan.errors import InputError
from haan.evaluation.reports import write_results_csv
from haan.models.methods import ALL_BLOCK_NAMES, Method
from haan.models.pseudo_labels import PseudoLabelState
from haan.runtime.distributed import Processes

STATE_FILE = "training_state.pt"
STATE_FORMAT = "haan-training-state"
# Everything a run writes into its folder: what --overwrite removes, what marks a folder as a run.
RUN_FILES = ("config.toml", "run.json", "results.csv", "log.csv", "test_results.csv", STATE_FILE,
             MANIFEST, *(checkpoint_file(b) for b in ALL_BLOCK_NAMES))


@dataclass
class RunProgress:
    """Where a run stands; with the model, optimizer and RNG states, what training_state.pt holds."""

    next_epoch: int = 0
    best_avg: float = -math.inf  # percent, on the selection set
    best_epoch: int = -1
    results: list[list[float]] = field(default_factory=list)  # rows of results.csv
    log: list[dict] = field(default_factory=list)  # rows of log.csv
    pseudo: PseudoLabelState | None = None


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
        for path in (run_dir / BOARD_FOLDER).glob(EVENT_FILES):  # the replaced run's curves
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
            generator: torch.Generator, device: torch.device,
            path: Path = Path(STATE_FILE)) -> RunProgress:
    """Model, optimizer and RNG as saved; the run's progress. A state that does not fit the model
    (another size, another method) is a one-line error naming `path`, found before anything is
    loaded."""
    saved = state.get("model")
    if not isinstance(saved, dict):
        raise InputError(f"{path}: not a haan training state (no model)")
    check_state_dict(path, saved, model.state_dict(),
                     what="the saved model does not fit this config's model: ")
    try:
        model.load_state_dict(saved)
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"])
        generator.set_state(state["generator"])
    except (KeyError, ValueError, RuntimeError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: the saved state does not fit this run ({first[:200]})") from None
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


def run_metadata(config: Config, seed: int, device: torch.device, procs: Processes,
                 tensorboard: bool = False) -> dict:
    """run.json: what made the run (`haan train --resume RUN_DIR` takes its seed and
    --tensorboard from here), and what `haan predict` needs of its dataset."""
    import haan

    return {
        "seed": seed, "tensorboard": tensorboard, "device": str(device),
        "config_source": config.source,
        "threads": torch.get_num_threads(), "world_size": procs.world_size,
        "haan_version": haan.__version__, "torch_version": torch.__version__,
        "numpy_version": np.__version__, "python_version": platform.python_version(),
        # how the training features were made (haan.data.contract), null when unknown
        RUN_CONTRACT_KEY: dataset_contract_json(config),
        # what predicting needs of the dataset (haan.data.dataset_card): a run folder predicts
        # on its own
        RUN_CARD_KEY: dataset_card(config).to_json(),
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


__all__ = ["EpochWriter", "RUN_FILES", "RunProgress", "STATE_FILE", "STATE_FORMAT",
           "complete_checkpoint_sets", "config_differences", "load_state", "prepare_run_folder",
           "restore", "run_metadata", "save_epoch"]
