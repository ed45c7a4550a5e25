"""Training and evaluation runs as the command lines start them: `haan train`, `haan evaluate`
and the paper's `python main.py`. Loads the config and dataset, picks the device and the run
folder, calls `haan.train` / `haan.evaluate`, writes the outputs and reports on stdout.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Sequence

from haan.config import Config, load_config
from haan.data import load_dataset
from haan.evaluate import (
    detections_json,
    evaluate_model,
    format_table,
    per_class_ap_json,
    results_header,
    results_row,
    write_atomic,
    write_results_csv,
)
from haan.model import HAAN, load_checkpoints
from haan.train import TrainResult, resolve_device, train


def _say(message: str) -> None:
    from tqdm import tqdm

    tqdm.write(message)  # above any progress bar, not through it
    sys.stdout.flush()


def run_dir_for(config: Config, output_dir: str | Path, exp_name: str | None,
                dataset_folder: str | None = None) -> Path:
    """OUTPUT_DIR/DATASET/EXP_NAME, as the paper (a random UUID when no name is given)."""
    return Path(output_dir) / (dataset_folder or config.dataset.name) / (exp_name or str(uuid.uuid4()))


def run_training(
    config_name: str, overrides: Sequence[str] = (), *, output_dir: str | Path = "output",
    exp_name: str | None = None, seed: int = 1, device: str = "auto", resume: bool = False,
    init_models_dir: str | Path | None = None, progress: bool = True,
    dataset_folder: str | None = None,
) -> TrainResult:
    """`dataset_folder` replaces `[dataset] name` in the run folder (the paper's main.py uses its
    --dataset argument there)."""
    config = load_config(config_name, overrides)
    dataset = load_dataset(config)
    dev = resolve_device(device)
    run_dir = run_dir_for(config, output_dir, exp_name, dataset_folder)
    _say(f"training {config.dataset.name} ({len(dataset.train_indices)} training videos, "
         f"{len(dataset.val_indices)} validation, {len(dataset.test_indices)} test) on {dev}, "
         f"seed {seed}, output in {run_dir}")
    result = train(config, dataset, run_dir, seed=seed, device=dev, resume=resume,
                   init_models_dir=Path(init_models_dir) if init_models_dir else None,
                   progress=progress and sys.stderr.isatty(), report=_say)
    header = results_header(config)
    best = next(r for r in result.results if int(r[0]) == result.best_epoch) if result.results else None
    _say(f"best epoch {result.best_epoch} on the {result.selection_set} set:")
    if best is not None:
        _say("  ".join(f"{name} {value:.2f}" for name, value in zip(header[1:], best[1:])))
    _say(f"checkpoints and results.csv in {run_dir}")
    return result


def run_evaluation(
    config_name: str, overrides: Sequence[str] = (), *, models_dir: str | Path,
    output_dir: str | Path | None = None, device: str = "auto", progress: bool = True,
    epoch: int = 0,
) -> None:
    """Evaluate the encoder and fine-level classifier of `models_dir` on the test set; write
    results.csv (the paper's header), detections.json (ActivityNet) and per_class_ap.json."""
    config = load_config(config_name, overrides)
    dataset = load_dataset(config)
    dev = resolve_device(device)
    model = HAAN.from_config(config).to(dev)
    load_checkpoints(model, Path(models_dir), blocks=("encoder", "fine_level_classifier"),
                     map_location=dev)
    out = Path(output_dir) if output_dir else Path(models_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = evaluate_model(model, dataset, dataset.test_indices, config, dev,
                            progress=progress and sys.stderr.isatty())
    write_results_csv(out / "results.csv", results_header(config),
                      [results_row(epoch, result.metrics, config)])
    write_atomic(out / "detections.json", json.dumps(detections_json(result, dataset)) + "\n")
    write_atomic(out / "per_class_ap.json", json.dumps(per_class_ap_json(result.metrics), indent=1) + "\n")
    _say(format_table(result.metrics, f"{config.dataset.name} test set ({len(dataset.test_indices)} videos)"))
    _say(f"results.csv, detections.json and per_class_ap.json in {out}")


__all__ = ["run_dir_for", "run_evaluation", "run_training"]
