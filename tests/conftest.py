"""Shared fixtures and helpers: the synthetic tiny dataset, the real annotation files, config
writing, and reading or editing a dataset's raw files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from haan.config import dumps_toml, load_config
from haan.errors import InputError

# The real annotation files of FineGym and FineAction live beside the repository, not in it.
REAL_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


def annotation_paths(folder: Path) -> dict[str, str]:
    """The [annotations] table for the paper's five files in `folder`."""
    names = {"video_names_path": "video_names.npy", "labels_path": "labels.npy",
             "segments_path": "segments.npy", "sec2clip_ratios_path": "sec2clip_ratios.npy",
             "fine_to_coarse_mappings_path": "fine_to_coarse_mappings.json"}
    return {key: str(Path(folder) / name) for key, name in names.items()}


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> Path:
    """The `tiny` synthetic preset (seed 0) in tmp_path/tiny; returns its config.toml.
    24 videos of 6-32 clips, D = 32, 2 coarse x 2 fine classes; written in ~0.05 s."""
    from haan.synth import generate

    return generate(tmp_path / "tiny", "tiny", seed=0)


@pytest.fixture
def real_datasets() -> Path:
    if not (REAL_DATASETS / "FineGym" / "labels.npy").is_file():
        pytest.skip(f"real annotation files not found in {REAL_DATASETS}")
    return REAL_DATASETS


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """write_config(base, name="config.toml", section={key: value}, ...) -> path of a TOML file:
    the config `base` (a built-in name or a path) with these values replaced."""

    def write(base: str | Path, name: str = "config.toml", **sections: dict[str, Any]) -> Path:
        tables = load_config(base).to_dict()
        for section, values in sections.items():
            tables.setdefault(section, {}).update(values)
        path = tmp_path / name
        path.write_text(dumps_toml(tables), encoding="utf-8")
        return path

    return write


# ----------------------------------------------------------------------------------------------
# A dataset's raw files


def load(config_path: Path, *overrides: str):
    """load_dataset of a config file with `section.key=value` overrides."""
    from haan.data import load_dataset

    return load_dataset(load_config(config_path, list(overrides)))


def error_of(config_path: Path, *overrides: str) -> str:
    """The one-line InputError message of loading this dataset."""
    with pytest.raises(InputError) as err:
        load(config_path, *overrides)
    message = str(err.value)
    assert "\n" not in message
    return message


def tiny_files(config_path: Path) -> dict:
    """The tiny dataset's raw files, as the paper's code reads them."""
    d = config_path.parent
    return {
        "names": np.load(d / "video_names.npy", allow_pickle=True),
        "labels": np.load(d / "labels.npy", allow_pickle=True),
        "segments": np.load(d / "segments.npy", allow_pickle=True),
        "ratios": np.load(d / "sec2clip_ratios.npy", allow_pickle=True),
        "features": np.load(d / "features.npy", allow_pickle=True),
        "mapping": json.loads((d / "fine_to_coarse_mappings.json").read_text()),
    }


def save_object_array(path: Path, items: list) -> None:
    out = np.empty(len(items), dtype=object)
    for i, x in enumerate(items):
        out[i] = x
    np.save(path, out, allow_pickle=True)


def edit_npy(path: Path, edit: Callable[[np.ndarray], np.ndarray]) -> None:
    x = np.load(path, allow_pickle=True)
    np.save(path, edit(x), allow_pickle=True)
