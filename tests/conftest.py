"""Shared fixtures: the synthetic tiny dataset, the real annotation files, config writing (plain
helper functions are in helpers.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from haan.config import dumps_toml, load_config

# The real annotation files of FineGym and FineAction live beside the repository, not in it.
REAL_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> Path:
    """The `tiny` synthetic preset (seed 0) in tmp_path/tiny; returns its config.toml.
    24 videos of 6-32 clips, D = 32, 2 coarse x 2 fine classes; written in ~0.05 s."""
    from haan.data.synth import generate

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
