"""`haan train` and the paper's `python main.py`, top to bottom: load the config and the
dataset, join the processes of a torchrun launch, pick the device and the run folder, train one
seed (haan.engine.loop) or several (haan.engine.seeds), and report on stdout."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Sequence

import torch

from haan.config import Config, load_config
from haan.data import load_dataset
from haan.engine.loop import TrainResult, train
from haan.engine.seeds import SUMMARY_CSV, SUMMARY_JSON, Summary, format_summary, train_seeds
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


def run_training(
    config_name: str, overrides: Sequence[str] = (), *, output_dir: str | Path = "output",
    exp_name: str | None = None, seed: int = 1, device: str = "auto", resume: bool | str = False,
    overwrite: bool = False, init_models_dir: str | Path | None = None, progress: bool = True,
    dataset_folder: str | None = None, seeds: Sequence[int] | None = None,
) -> TrainResult | Summary:
    """`dataset_folder` replaces `[dataset] name` in the run folder (the paper's main.py uses its
    --dataset argument there). With `seeds`, one run per seed in the run folder's seed_<s>/ and
    their summary (haan.engine.seeds; `resume` continues the seeds that stopped). Launched by torchrun,
    every process runs this with the same arguments (and the same --exp-name: a random name
    would differ between processes)."""
    config = load_config(config_name, overrides)
    if seeds is not None and init_models_dir is not None:
        raise InputError("--seeds with --init-models-dir: start each seed from scratch, or train "
                         "one run")
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
        run_dir = run_dir_for(config, output_dir, exp_name, dataset_folder)
        tell = say if procs.main else (lambda message: None)
        where = (f"{procs.world_size} processes ({dev.type})" if procs.distributed else str(dev))
        which = (f"seeds {', '.join(map(str, seeds))}" if seeds is not None else f"seed {seed}")
        tell(f"training {config.dataset.name} ({len(dataset.train_indices)} training videos, "
             f"{len(dataset.val_indices)} validation, {len(dataset.test_indices)} test), method "
             f"{config.model.method}, on {where} with {torch.get_num_threads()} threads each, "
             f"{which}, output in {run_dir}")
        if seeds is not None:
            summary = train_seeds(config, dataset, run_dir, seeds, device=dev,
                                  resume=bool(resume), overwrite=overwrite, progress=show,
                                  report=tell, procs=procs)
            tell(format_summary(summary))
            tell(f"{SUMMARY_CSV}, {SUMMARY_JSON} and a folder per seed in {run_dir}")
            return summary
        result = train(config, dataset, run_dir, seed=seed, device=dev, resume=resume,
                       overwrite=overwrite, progress=show, report=tell, procs=procs,
                       init_models_dir=Path(init_models_dir) if init_models_dir else None)
    header = results_header(config)
    best = next((r for r in result.results if int(r[0]) == result.best_epoch), None)
    tell(f"kept the last epoch {result.best_epoch}; on the test set:"
         if result.selection_set == "last"
         else f"best epoch {result.best_epoch} on the {result.selection_set} set:")
    if best is not None:
        tell("  ".join(f"{name} {value:.2f}" for name, value in zip(header[1:], best[1:])))
    tell(f"checkpoints and results.csv in {run_dir}")
    return result


__all__ = ["run_dir_for", "run_training"]
