"""The trained run the predict tests share: THUMOS14's layout imported (--clips-per-second 25/16,
groups.json as the hierarchy) and a tiny model trained on it once per test session."""

from __future__ import annotations

import pytest

from haan.cli import main

from helpers import TINY_RUN, R, sets, write_thumos14


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
