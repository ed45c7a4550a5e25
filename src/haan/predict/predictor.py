"""The model `haan predict` and `haan plot video` score with: a run's best checkpoints
(`encoder.pkl`, `fine_level_classifier.pkl`, checked against their manifest) with the run's
`config.toml`, or any folder of checkpoints with a config, loaded on a device."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch

from haan.config import Config, load_config
from haan.data.annotations import load_class_names
from haan.engine.checkpoints import load_checkpoints
from haan.errors import InputError
from haan.models.haan import HAAN
from haan.models.methods import check_model_fits
from haan.runtime.device import resolve_device
from haan.runtime.precision import warn_if_emulated


@dataclass(frozen=True)
class Predictor:
    config: Config
    model: HAAN            # encoder and fine-level classifier loaded, on `device`
    device: torch.device
    models_dir: Path
    epoch: int | None      # from the checkpoints' manifest (None: the paper's checkpoints)
    class_names: list[str]  # (C,) fine class names, the ids as strings without names


def _config_path(run: str | Path | None, folder: Path, config: str | Path | None) -> str | Path:
    """--config, else the run folder's config.toml."""
    if config is not None:
        return config
    if run is None:
        raise InputError("--models-dir: needs --config (the config the checkpoints were "
                         "trained with)")
    config = folder / "config.toml"
    if not config.is_file():
        raise InputError(f"{config}: no such file (a run folder written by haan train has "
                         "it); give --config")
    return config


def load_predictor(run: str | Path | None = None, models_dir: str | Path | None = None,
                   config: str | Path | None = None, overrides: Sequence[str] = (),
                   device: str = "auto") -> Predictor:
    """A run folder's best checkpoints and its `config.toml` (`run`), or the checkpoints of
    `models_dir` (the paper's, or any folder) with `config`; `config` with `run` replaces the
    run's config."""
    if (run is None) == (models_dir is None):
        raise InputError("--run RUN_DIR or --models-dir DIR: give one of them")
    folder = Path(run if run is not None else models_dir)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder (expected "
                         + ("a run folder written by haan train)" if run is not None
                            else "a folder with encoder.pkl and fine_level_classifier.pkl)"))
    cfg = load_config(_config_path(run, folder, config), overrides)
    dev = resolve_device(device)
    check_model_fits(cfg, dev, training=False)
    warn_if_emulated(cfg, dev)
    model = HAAN.from_config(cfg).to(dev)
    epoch = load_checkpoints(model, folder, blocks=("encoder", "fine_level_classifier"),
                             map_location=dev)
    fine_names, _ = load_class_names(cfg)
    return Predictor(cfg, model, dev, folder, epoch, fine_names)


__all__ = ["Predictor", "load_predictor"]
