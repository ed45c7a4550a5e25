"""Training and evaluation runs as the command lines start them: `haan train`, `haan evaluate`
and the paper's `python main.py`. Loads the config and dataset, picks the device, the threads and
the run folder, calls `haan.train` / `haan.evaluate`, writes the outputs and reports on stdout.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import uuid
import warnings
from pathlib import Path
from typing import Sequence

import torch

from haan import distributed, fileio
from haan.checkpoints import load_checkpoints
from haan.config import Config, load_config
from haan.data import load_dataset
from haan.errors import DataWarning, InputError
from haan.evaluate import evaluate_model, score_coarse
from haan.methods import build_inference_model, build_model, inference_blocks
from haan.precision import emulation_warning
from haan.reports import (
    detections_json, format_table, report_json, results_header, results_row, write_results_csv,
)
from haan.seeds import SUMMARY_CSV, SUMMARY_JSON, Summary, format_summary, train_seeds
from haan.train import TrainResult, train

# What `haan evaluate` writes: its own names, so that evaluating into a training run's folder
# never replaces the training's results.csv. The paper's main.py --evaluation-only writes into a
# folder of its own and keeps the paper's names (and draws no figure).
EVAL_OUTPUTS = {"results": "eval_results.csv", "detections": "eval_detections.json",
                "report": "eval_report.json"}
EVAL_FIGURE = "eval_ap.png"
PAPER_EVAL_OUTPUTS = {"results": "results.csv", "detections": "detections.json",
                      "report": "per_class_ap.json"}


def say(message: str) -> None:
    from tqdm import tqdm

    tqdm.write(message)  # above any progress bar, not through it
    sys.stdout.flush()


def set_threads(threads: int | None) -> None:
    """Torch's intra-op threads: `threads`, else $HAAN_THREADS, else what torch picks. On a
    loaded machine, spinning threads that wait for a core can make an epoch ~50x slower."""
    if threads is None:
        text = os.environ.get("HAAN_THREADS", "").strip()
        if not text:
            return
        if not text.isdigit() or int(text) < 1:
            raise InputError(f"HAAN_THREADS={text}: expected a whole number >= 1")
        threads = int(text)
    if threads < 1:
        raise InputError(f"--threads {threads}: expected a whole number >= 1")
    torch.set_num_threads(threads)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InputError(f"--device {name}: expected auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"--device {name}: CUDA is not available on this machine (use cpu or auto)")
    return device


def _device_memory(device: torch.device) -> int:
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_model_fits(config: Config, device: torch.device, training: bool) -> None:
    """A model that cannot be allocated is a clear error naming the sizes, not an allocator
    traceback (or, worse, the OOM killer halfway through initialisation)."""
    with torch.device("meta"):  # sizes only, nothing allocated
        params = sum(p.numel() for p in build_model(config).parameters())
    copies = 4 if training else 1  # weights, gradients and Adam's two moments
    need, have = params * 4 * copies, _device_memory(device)
    if need > have:
        h = config.hyperparameters
        size = (f"feature_size = {h.feature_size}" if config.model.method == "wtalc"
                else f"encoded_feature_size = {h.encoded_feature_size}")
        raise InputError(
            f"{config.source}: [hyperparameters] {size}: the {config.model.method} model needs "
            f"{need / 2**30:.1f} GiB for {params:,} parameters"
            f"{' (weights, gradients and Adam state)' if training else ''}, more than the "
            f"{have / 2**30:.1f} GiB of {device}")


def warn_if_emulated(config: Config, device: torch.device) -> None:
    """[haan] precision = "bf16" where bf16 is only emulated runs, but slower than fp32: say so."""
    message = emulation_warning(device, config.haan.precision)
    if message is not None:
        warnings.warn(f"{config.source}: {message}", DataWarning)


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
    their summary (haan.seeds; `resume` continues the seeds that stopped). Launched by torchrun,
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
    tell(f"best epoch {result.best_epoch} on the {result.selection_set} set:")
    if best is not None:
        tell("  ".join(f"{name} {value:.2f}" for name, value in zip(header[1:], best[1:])))
    tell(f"checkpoints and results.csv in {run_dir}")
    return result


def evaluation_config(config_name: str | None, overrides: Sequence[str],
                      models_dir: str | Path) -> Config:
    """The config to evaluate `models_dir` with: `config_name`'s (default: the run's own
    config.toml in `models_dir`), its method and the method's settings taken from the run's
    config.toml when the folder has one, since they say which network its checkpoints hold."""
    saved = Path(models_dir) / "config.toml"
    if config_name is None:
        if not saved.is_file():
            raise InputError(f"{models_dir}: no config.toml (not a run folder of haan train); "
                             "name the config with --config")
        return load_config(saved, overrides)
    config = load_config(config_name, overrides)
    if saved.is_file():
        run = load_config(saved)
        if run.model != config.model:
            say(f"{saved}: the checkpoints are of a {run.model.method} run; evaluating them so")
        config = dataclasses.replace(config, model=run.model, wtalc=run.wtalc)
    return config


def run_evaluation(
    config_name: str | None, overrides: Sequence[str] = (), *, models_dir: str | Path,
    output_dir: str | Path | None = None, device: str = "auto", progress: bool = True,
    overwrite: bool = False, paper_names: bool = False, plots: bool = True,
) -> None:
    """Evaluate the checkpoints inference needs (HAAN: the encoder and the fine-level classifier;
    W-TALC: its network) of `models_dir` on the test set; write the results row (the paper's
    header), the detections (ActivityNet results JSON, class names as labels) and the report
    (per-class AP, fine and coarse level) under EVAL_OUTPUTS' names (PAPER_EVAL_OUTPUTS' for the
    paper's main.py), and with `plots` the report's figure (EVAL_FIGURE). The config: see
    `evaluation_config`."""
    config = evaluation_config(config_name, overrides, models_dir)
    show = progress and sys.stderr.isatty()
    dataset = load_dataset(config, progress=show)
    dev = resolve_device(device)
    check_model_fits(config, dev, training=False)
    warn_if_emulated(config, dev)
    names = dict(PAPER_EVAL_OUTPUTS if paper_names else EVAL_OUTPUTS)
    if plots:
        names["figure"] = EVAL_FIGURE
    out = fileio.output_folder(output_dir if output_dir else models_dir)
    paths = {key: out / name for key, name in names.items()}
    if not overwrite:
        fileio.refuse_to_replace(list(paths.values()))
    model = build_inference_model(config).to(dev)
    epoch = load_checkpoints(model, Path(models_dir), blocks=inference_blocks(config),
                             map_location=dev)
    result = evaluate_model(model, dataset, dataset.test_indices, config, dev, progress=show)
    coarse = score_coarse(result, dataset, config)
    write_results_csv(paths["results"], results_header(config),
                      [results_row(epoch if epoch is not None else 0, result.metrics, config)])
    fileio.write_json(paths["detections"],
                      detections_json(result.detections, dataset.video_names[result.indices],
                                      dataset.fine_names), indent=None)
    report = report_json(result.metrics, dataset.fine_names, coarse=coarse,
                         coarse_names=dataset.coarse_names, fine_to_coarse=dataset.fine_to_coarse)
    fileio.write_json(paths["report"], report)
    title = f"{config.dataset.name} test set ({len(dataset.test_indices)} videos)"
    if plots:
        from haan.plots import ap_report_curves, plot_ap, save_figure

        fine, coarse_curves, mapping = ap_report_curves(report, paths["report"])
        save_figure(plot_ap(fine, coarse_curves, mapping, title=f"detection AP: {title}"),
                    paths["figure"])
    say(format_table(result.metrics, title, coarse=coarse, coarse_names=dataset.coarse_names))
    say(f"{', '.join(names.values())} in {out}")


__all__ = ["EVAL_FIGURE", "EVAL_OUTPUTS", "PAPER_EVAL_OUTPUTS", "check_model_fits",
           "resolve_device", "run_dir_for", "run_evaluation", "run_training", "say", "set_threads",
           "warn_if_emulated"]
