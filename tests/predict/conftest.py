"""The trained runs the predict tests share, each trained once per test session: THUMOS14's layout
imported (--clips-per-second 25/16, groups.json as the hierarchy) with a tiny model, and a tiny
model on 1024-d features whose clip-grid files name the grid I3D features are extracted on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from haan.cli import main
from haan.video.grid import ClipGrid

from helpers import TINY_RUN, R, sets, write_activitynet, write_thumos14


@pytest.fixture(scope="session")
def thumos_run(tmp_path_factory) -> dict:
    """write_thumos14's files plus "root", "data" (the imported dataset) and "run" (the run
    folder). Tests read them and write elsewhere."""
    root = tmp_path_factory.mktemp("thumos")
    src = write_thumos14(root)
    data = root / "thumos"
    assert main(["data", "import", "activitynet", "--annotations", str(src["gt"]),
                 "--features", str(src["features"]), "--out", str(data), "--train-subset",
                 "validation", "--test-subset", "test", "--hierarchy", str(src["mapping"]),
                 "--clips-per-second", str(R)]) == 0
    assert main(["train", "--config", str(data / "config.toml"), *sets(TINY_RUN), "--output-dir",
                 str(root / "out"), "--exp-name", "r", "--quiet", "--threads", "1"]) == 0
    return {**src, "root": root, "data": data, "run": root / "out" / "thumos" / "r"}


@pytest.fixture(scope="session")
def video_run(tmp_path_factory) -> Path:
    """A tiny run on 1024-d features (what I3D RGB gives) whose clip-grid files name 25 fps,
    16-frame clips every 16 frames: the import records that grid for predict."""
    root = tmp_path_factory.mktemp("video_run")
    src = write_activitynet(root / "src", D=1024)
    for name, x in src["arrays"].items():
        (file,) = src["features"].glob(f"*{name}.*")
        grid = ClipGrid(25.0, 16, 16, 16 * len(x), len(x) * 16 / 25)
        file.with_suffix(".json").write_text(json.dumps(grid.to_json(1024, "rgb", name, {})))
    data = root / "data"
    assert main(["data", "import", "activitynet", "--annotations", str(src["gt"]), "--features",
                 str(src["features"]), "--out", str(data), "--hierarchy", "taxonomy"]) == 0
    assert json.loads((data / "clip_grid.json").read_text()) == {
        "fps": 25.0, "clip_frames": 16, "stride": 16, "streams": "rgb",
        "clips_per_second": 1.5625, "feature_dim": 1024}
    assert main(["train", "--config", str(data / "config.toml"), *sets(TINY_RUN[1:]), "--set",
                 "hyperparameters.epochs=1", "--set", "hyperparameters.num_visual_concepts=4",
                 "--output-dir", str(root / "out"), "--exp-name", "v", "--quiet"]) == 0
    return root / "out" / "data" / "v"
