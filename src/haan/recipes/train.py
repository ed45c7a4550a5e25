"""`haan train` and the paper's `python main.py`, top to bottom: load the config and the
dataset, join the processes of a torchrun launch, pick the device and the run folder, train one
seed (haan.engine.loop) or several (haan.engine.seeds), and report on stdout."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Sequence

import torch

from haan import fileio
from haan.config import Config, load_config
from haan.data import load_dataset
from haan.engine.loop import TrainResult, train
from haan.engine.seeds import SUMMARY_CSV, SUMMARY_JSON, Summary, format_summary, train_seeds
from haan.engine.state import STATE_FILE
from haan.errors import InputError
from haan.evaluation.reports import results_header
from haan.models.methods import check_model_fits
from haan.runtime import distributed
from haan.runtime.console import say
from haan.runtime.device import resolve_device
from haan.runtime.precision import warn_if_emulated


def run_dir_for(config: Config, output_dir: str | Path, exp_name: str | None,
                dataset_folder: str | None = None) -> Path:
    """OUTPUT_DIR/DATASET/EXP_NAME, as the paper (a random UUID when no name is given)."""
    return Path(output_dir) / (dataset_folder or config.dataset.name) / (exp_name or str(uuid.uuid4()))


def recorded_run(run_dir: str | Path, config_name: str | None, overrides: Sequence[str],
                 seed: int | None) -> tuple[Config, int, bool]:
    """What `haan train --resume RUN_DIR` continues: the run's own config.toml (or `config_name`,
    which must then be the same config, as load_state checks), with `overrides` (raising
    hyperparameters.epochs extends the run), and the seed and --tensorboard of its run.json."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: no such run folder (--resume RUN_DIR)")
    saved = run_dir / "config.toml"
    seed_runs = sorted((p.name for p in run_dir.glob("seed_*") if p.is_dir()),
                       key=lambda name: (len(name), name))  # seed_2 before seed_10
    if not saved.is_file() and seed_runs:  # a --seeds experiment: one run per seed inside
        raise InputError(f"{run_dir}: a folder of seeds ({', '.join(seed_runs)}), not one run: "
                         "continue them all with the command that started them plus --resume "
                         "(finished seeds are not trained again), or one seed with --resume "
                         f"{run_dir / seed_runs[-1]}")
    if config_name is None and not saved.is_file():
        raise InputError(f"{run_dir}: no config.toml, so not a run that saved an epoch: nothing "
                         "to resume")
    config = load_config(config_name if config_name is not None else saved, overrides)
    record = fileio.read_json(run_dir / "run.json") if (run_dir / "run.json").is_file() else {}
    recorded_seed = record.get("seed") if isinstance(record, dict) else None
    if seed is not None and recorded_seed is not None and seed != recorded_seed:
        raise InputError(f"--seed {seed}: {run_dir} was trained with seed {recorded_seed}")
    seed = seed if seed is not None else recorded_seed if isinstance(recorded_seed, int) else 1
    return config, seed, isinstance(record, dict) and record.get("tensorboard") is True


def resume_command(run_dir: Path) -> str:
    """The command that continues a run (run_dir as given: relative to the working directory)."""
    import shlex

    return f"haan train --resume {shlex.quote(str(run_dir))}"


def run_training(
    config_name: str | None, overrides: Sequence[str] = (), *,
    output_dir: str | Path | None = None, exp_name: str | None = None, seed: int | None = None,
    device: str = "auto", resume: bool | str = False, resume_dir: str | Path | None = None,
    overwrite: bool = False, init_models_dir: str | Path | None = None, progress: bool = True,
    dataset_folder: str | None = None, seeds: Sequence[int] | None = None,
    tensorboard: bool = False,
) -> TrainResult | Summary:
    """`dataset_folder` replaces `[dataset] name` in the run folder (the paper's main.py uses its
    --dataset argument there). With `seeds`, one run per seed in the run folder's seed_<s>/ and
    their summary (haan.engine.seeds; `resume` continues the seeds that stopped). Launched by torchrun,
    every process runs this with the same arguments (and the same --exp-name: a random name
    would differ between processes).

    `resume_dir`: continue the run in that folder with its own config (`recorded_run`), seed
    and --tensorboard; `config_name` may then be None. `tensorboard`: TensorBoard curves in the
    run folder (haan.engine.board; fails here, before anything is loaded, without the package).
    An interrupted run (Ctrl-C) re-raises KeyboardInterrupt with the command that resumes it."""
    if resume_dir is not None:
        if exp_name is not None or output_dir is not None or seeds is not None:
            raise InputError("--resume RUN_DIR names the run folder: leave out --exp-name, "
                             "--output-dir and --seeds (resume a seed's own folder, or the "
                             "experiment with its first command and --resume)")
        config, seed, recorded_board = recorded_run(resume_dir, config_name, overrides, seed)
        tensorboard, resume = tensorboard or recorded_board, True
    elif config_name is None:
        raise InputError("--config: needed, except with --resume RUN_DIR (the run's own config)")
    else:
        config = load_config(config_name, overrides)
    seed = 1 if seed is None else seed
    if tensorboard:
        from haan.engine.board import require_tensorboard

        require_tensorboard()
    with distributed.joined(device) as (procs, device):
        if procs.distributed and exp_name is None and dataset_folder is None:
            raise InputError("--exp-name: needed with torchrun (every process must name the same "
                             "run folder)")
        show = progress and sys.stderr.isatty() and procs.main
        dataset = load_dataset(config, progress=show)
        dev = resolve_device(device)
        check_model_fits(config, dev, training=True)
        if procs.main:
            warn_if_emulated(config, dev)
        run_dir = (Path(resume_dir) if resume_dir is not None else
                   run_dir_for(config, output_dir or "output", exp_name, dataset_folder))
        tell = say if procs.main else (lambda message: None)
        where = (f"{procs.world_size} processes ({dev.type})" if procs.distributed else str(dev))
        which = (f"seeds {', '.join(map(str, seeds))}" if seeds is not None else f"seed {seed}")
        tell(f"training {config.dataset.name} ({len(dataset.train_indices)} training videos, "
             f"{len(dataset.val_indices)} validation, {len(dataset.test_indices)} test), method "
             f"{config.model.method}, on {where} with {torch.get_num_threads()} threads each, "
             f"{which}, output in {run_dir}")
        if seeds is not None:
            try:
                summary = train_seeds(config, dataset, run_dir, seeds, device=dev,
                                      resume=bool(resume), overwrite=overwrite, progress=show,
                                      report=tell, procs=procs, tensorboard=tensorboard)
            except KeyboardInterrupt:
                raise KeyboardInterrupt("to continue: the same command with --resume (finished "
                                        "seeds are not trained again)") from None
            tell(format_summary(summary))
            tell(f"{SUMMARY_CSV}, {SUMMARY_JSON} and a folder per seed in {run_dir}")
            return summary
        try:
            result = train(config, dataset, run_dir, seed=seed, device=dev, resume=resume,
                           overwrite=overwrite, progress=show, report=tell, procs=procs,
                           init_models_dir=Path(init_models_dir) if init_models_dir else None,
                           tensorboard=tensorboard)
        except KeyboardInterrupt:
            raise KeyboardInterrupt(_after_interrupt(run_dir)) from None
    header = results_header(config)
    best = next((r for r in result.results if int(r[0]) == result.best_epoch), None)
    if result.selection_set != "last":
        tell(f"best epoch {result.best_epoch} on the {result.selection_set} set:")
    else:
        tell(f"kept the last epoch {result.best_epoch}" + ("; on the test set:" if best is not None
                                                           else " (no test video to score)"))
    if best is not None:
        tell("  ".join(f"{name} {value:.2f}" for name, value in zip(header[1:], best[1:])))
    tell(f"checkpoints and results.csv in {run_dir}")
    return result


def _after_interrupt(run_dir: Path) -> str:
    """What to do after Ctrl-C: the command that resumes, when the run saved a state."""
    if (run_dir / STATE_FILE).is_file():
        return f"to continue the run: {resume_command(run_dir)}"
    if (run_dir / "config.toml").is_file():
        return (f"{run_dir}: no training state was saved ([haan] save_training_state = false); "
                "start it again with --overwrite")
    return "no epoch was saved; the same command starts the run again"


__all__ = ["recorded_run", "resume_command", "run_dir_for", "run_training"]
