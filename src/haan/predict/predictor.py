"""The model `haan predict` and `haan plot video` score with: a run's best checkpoints
(`encoder.pkl`, `fine_level_classifier.pkl`, checked against their manifest) with the run's
`config.toml`, or any folder of checkpoints with a config, loaded on a device; and what it knows
of its training dataset.

A run folder predicts on its own: its run.json records the class names, the hierarchy, the clip
rate, the clip grid (haan.data.dataset_card) and the feature contract (haan.data.contract) of
the features it was trained on. Where it does not (a run recorded before, or checkpoints given
with `--models-dir` and `--config`), they are read from the config's dataset files, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from haan.config import Config, load_config
from haan.data.annotations import load_class_names, load_fine_to_coarse
from haan.data.contract import FeatureContract
from haan.data.dataset_card import DatasetCard, dataset_rate, read_run_card, recorded_grid
from haan.data.dataset_contract import dataset_contract, read_run_contract
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
    card: DatasetCard | None  # run.json's record of the dataset; None: its files are read
    contract: FeatureContract | None  # how the training features were made; None: unknown

    def figure_classes(self) -> tuple[list[str], list[str], np.ndarray]:
        """(fine names (C,), coarse names (G,), (C,) coarse id of each fine id)."""
        if self.card is not None:
            return (list(self.card.fine_names), list(self.card.coarse_names),
                    np.array(self.card.fine_to_coarse, dtype=np.int64))
        fine_names, coarse_names = load_class_names(self.config)
        return fine_names, coarse_names, load_fine_to_coarse(self.config)

    def dataset_rate(self) -> tuple[float | None, str]:
        """The clips per second every training video shares, else None and why."""
        if self.card is None:
            return dataset_rate(self.config)
        if self.card.clips_per_second is None:
            return None, (f"the run's dataset has no single clip rate "
                          f"({self.models_dir / 'run.json'})")
        return self.card.clips_per_second, ""

    def recorded_grid(self) -> dict[str, Any] | None:
        """The clip grid the training features were extracted on ({"fps", "clip_frames",
        "stride", "streams"}), None where none is recorded."""
        if self.contract is not None:
            c = self.contract
            return {"fps": c.fps, "clip_frames": c.clip_frames, "stride": c.stride,
                    "streams": c.streams}
        if self.card is not None:
            return None if self.card.clip_grid is None else dict(self.card.clip_grid)
        return recorded_grid(self.config)

    def record_source(self) -> str:
        """Where the dataset's facts come from, for messages."""
        if self.card is not None:
            return str(self.models_dir / "run.json")
        return self.config.haan.clip_grid_path or str(self.config.source)


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
    card = read_run_card(folder) if run is not None else None
    recorded, contract = read_run_contract(folder) if run is not None else (False, None)
    if not recorded:  # a run recorded before contracts, or --models-dir: the dataset's
        contract = dataset_contract(cfg)
    fine_names = list(card.fine_names) if card is not None else load_class_names(cfg)[0]
    if len(fine_names) != cfg.stats.num_fine_classes:
        raise InputError(f"{folder / 'run.json'}: {len(fine_names)} fine classes recorded, but "
                         f"[stats] num_fine_classes = {cfg.stats.num_fine_classes} "
                         f"({cfg.source})")
    return Predictor(cfg, model, dev, folder, epoch, fine_names, card, contract)


__all__ = ["Predictor", "load_predictor"]
