"""`haan evaluate` and the paper's `python main.py --evaluation-only`, top to bottom: the config
a run's checkpoints need, the dataset, the device, the model from its checkpoints, the test set's
detections and mAP (haan.evaluation), the outputs written, the table printed."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Sequence

from haan import fileio
from haan.config import Config, load_config
from haan.data import load_dataset
from haan.engine.checkpoints import load_checkpoints
from haan.errors import InputError
from haan.evaluation.evaluate import evaluate_model, score_coarse
from haan.evaluation.reports import (
    detections_json,
    format_table,
    report_json,
    results_header,
    results_row,
    write_results_csv,
)
from haan.models.methods import build_inference_model, check_model_fits, inference_blocks
from haan.runtime.console import say
from haan.runtime.device import resolve_device
from haan.runtime.precision import warn_if_emulated

# What `haan evaluate` writes: its own names, so that evaluating into a training run's folder
# never replaces the training's results.csv. The paper's main.py --evaluation-only writes into a
# folder of its own and keeps the paper's names (and draws no figure).
EVAL_OUTPUTS = {"results": "eval_results.csv", "detections": "eval_detections.json",
                "report": "eval_report.json"}
EVAL_FIGURE = "eval_ap.png"
PAPER_EVAL_OUTPUTS = {"results": "results.csv", "detections": "detections.json",
                      "report": "per_class_ap.json"}


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
    if not Path(models_dir).is_dir():
        raise InputError(f"{models_dir}: no such folder (of checkpoints)")
    config = evaluation_config(config_name, overrides, models_dir)
    show = progress and sys.stderr.isatty()
    dataset = load_dataset(config, progress=show)
    dev = resolve_device(device)
    check_model_fits(config, dev, training=False)
    warn_if_emulated(config, dev)
    names = dict(PAPER_EVAL_OUTPUTS if paper_names else EVAL_OUTPUTS)
    if plots:
        names["figure"] = EVAL_FIGURE
    out = Path(output_dir if output_dir else models_dir)
    paths = {key: out / name for key, name in names.items()}
    if not overwrite:
        fileio.refuse_to_replace(list(paths.values()))
    model = build_inference_model(config).to(dev)
    epoch = load_checkpoints(model, Path(models_dir), blocks=inference_blocks(config),
                             map_location=dev)
    fileio.output_folder(out)  # only once the checkpoints loaded: a failed command makes nothing
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
    title = f"{config.dataset.name} test set ({len(result.indices)} videos)"
    unscored = len(dataset.test_indices) - len(result.indices)
    if unscored:
        say(f"scored the {len(result.indices)} of {len(dataset.test_indices)} test videos that "
            f"have segments; {unscored} have video-level labels only")
    if plots:
        from haan.viz.plots import ap_report_curves, plot_ap, save_figure

        fine, coarse_curves, mapping = ap_report_curves(report, paths["report"])
        save_figure(plot_ap(fine, coarse_curves, mapping, title=f"detection AP: {title}"),
                    paths["figure"])
    say(format_table(result.metrics, title, coarse=coarse, coarse_names=dataset.coarse_names))
    say(f"{', '.join(names.values())} in {out}")


__all__ = ["EVAL_FIGURE", "EVAL_OUTPUTS", "PAPER_EVAL_OUTPUTS", "evaluation_config",
           "run_evaluation"]
