"""The dataset card (haan.data.dataset_card): what predicting needs of a training dataset, read
from its files and written to and read back from a run's run.json."""

from __future__ import annotations

import json

import numpy as np
import pytest

from haan.config import load_config
from haan.data.dataset_card import (
    DatasetCard,
    dataset_card,
    dataset_rate,
    read_run_card,
    recorded_grid,
)
from haan.data.synth import generate
from haan.errors import InputError


def test_the_card_of_a_synthetic_dataset_by_hand(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(generate("d", "tiny", seed=0))
    card = dataset_card(config)
    # No class names file: the ids as strings. The mapping file maps fine id -> coarse id.
    mapping = json.loads((tmp_path / "d" / "fine_to_coarse_mappings.json").read_text())
    assert card.fine_names == ("0", "1", "2", "3") and card.coarse_names == ("0", "1")
    assert card.fine_to_coarse == tuple(mapping[str(c)] for c in range(4))
    assert card.clips_per_second == 1.5  # every video's sec2clip ratio
    assert card.clip_grid is None        # no [haan] clip_grid_path
    assert DatasetCard.from_json(json.loads(json.dumps(card.to_json())), "x") == card


def test_the_rate_and_the_grid_of_a_dataset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = generate("d", "tiny", seed=0)
    ratios = np.full(24, 1.5)
    ratios[3] = 2.0
    np.save(tmp_path / "d" / "sec2clip_ratios.npy", ratios)
    assert dataset_rate(load_config(path)) == (
        None, "the run's dataset has 2 clip rates (d/sec2clip_ratios.npy)")
    grid = {"fps": 24, "clip_frames": 16, "stride": 8, "streams": "rgb", "feature_dim": 32}
    (tmp_path / "grid.json").write_text(json.dumps(grid))
    config = load_config(path, ['haan.clip_grid_path="grid.json"'])
    assert recorded_grid(config) == {"fps": 24, "clip_frames": 16, "stride": 8, "streams": "rgb"}
    assert dataset_card(config).clip_grid == recorded_grid(config)
    (tmp_path / "grid.json").write_text(json.dumps(grid | {"stride": "8"}))
    with pytest.raises(InputError, match=r'^grid.json: expected \{"fps", "clip_frames", '
                                         r'"stride", "streams"\} \(config \[haan\] '):
        recorded_grid(config)


def test_read_run_card(tmp_path):
    assert read_run_card(tmp_path) is None  # no run.json
    (tmp_path / "run.json").write_text(json.dumps({"seed": 1}))
    assert read_run_card(tmp_path) is None  # a run recorded before the card
    card = DatasetCard(("a", "b", "c"), ("g",), (0, 0, 0), None, None)
    (tmp_path / "run.json").write_text(json.dumps({"seed": 1, "dataset": card.to_json()}))
    assert read_run_card(tmp_path) == card


@pytest.mark.parametrize("change, message", [
    ({"coarse_names": ["g", 1]}, "'coarse_names' must be a list of str"),
    ({"fine_to_coarse": [0, 0, 1]}, "a coarse id outside [0, 1)"),
    ({"fine_to_coarse": [0, True, 0]}, "'fine_to_coarse' must be a list of int"),
    ({"clips_per_second": 0}, "clips_per_second 0.0: expected a positive number or null"),
    ({"clip_grid": []}, "'clip_grid' is []"),
])
def test_a_bad_card_names_its_key(change, message):
    data = DatasetCard(("a", "b", "c"), ("g",), (0, 0, 0), 1.5, None).to_json() | change
    with pytest.raises(InputError) as raised:
        DatasetCard.from_json(data, "run.json: dataset")
    assert str(raised.value) == f"run.json: dataset: {message}"
    missing = DatasetCard(("a",), ("g",), (0,), 1.5, None).to_json()
    del missing["clip_grid"]
    with pytest.raises(InputError, match="^run.json: dataset: no 'clip_grid'$"):
        DatasetCard.from_json(missing, "run.json: dataset")
