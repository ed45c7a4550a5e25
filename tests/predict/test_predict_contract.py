"""`haan predict` on feature files checks them against the run's feature contract: dimension and
clip rate, and every field of an input's own contract; one line naming the field, the run's value
and the input's; `--ignore-contract` to predict anyway; a run without one: a warning."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from haan.cli import main
from haan.data.contract import CONTRACT_KEY

SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
TINY = ["hyperparameters.epochs=2", "hyperparameters.encoded_feature_size=8",
        "hyperparameters.batch_size=2", "hyperparameters.learning_rate=0.001"]
UNKNOWN = "the run records no feature contract"


def contract_json(**changes) -> dict:
    """By hand, as `haan extract` writes it: RGB I3D, 25 fps, 16-frame clips every 16 frames."""
    return {"extractor": "haan-i3d", "weights_sha256": {"rgb": SHA}, "streams": "rgb",
            "fps": 25.0, "clip_frames": 16, "stride": 16, "feature_dim": 4,
            "clips_per_second": 1.5625, **changes}


def write_video(folder: Path, name: str, T: int, contract: dict | None, D: int = 4,
                seed: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.npy"
    np.save(path, np.random.default_rng(seed).standard_normal((T, D)).astype(np.float32))
    if contract is not None:
        (folder / f"{name}.json").write_text(json.dumps({
            "clips_per_second": contract["clips_per_second"], CONTRACT_KEY: contract}))
    return path


def run(capsys, *argv) -> tuple[int, str, str]:
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def train_run(root: Path, contract: dict | None) -> Path:
    feats = root / "feats"
    names = [f"v{k}" for k in range(6)]
    for k, name in enumerate(names):
        write_video(feats, name, 20 + 3 * k, contract, seed=k)
    labels = root / "labels.csv"
    labels.write_text("video,label\n" + "".join(f"{n},c{k % 2}\n" for k, n in enumerate(names)))
    grid = [] if contract is not None else ["--clips-per-second", "1.5625"]
    assert main(["data", "import", "labels", "--labels", str(labels), "--features", str(feats),
                 "--out", str(root / "data"), *grid]) == 0
    sets = [x for o in TINY for x in ("--set", o)]
    assert main(["train", "--config", str(root / "data" / "config.toml"), *sets,
                 "--output-dir", str(root / "out"), "--exp-name", "r", "--quiet",
                 "--threads", "1"]) == 0
    return root / "out" / "data" / "r"


@pytest.fixture(scope="module")
def with_contract(tmp_path_factory) -> Path:
    return train_run(tmp_path_factory.mktemp("contract"), contract_json())


def test_the_run_records_the_contract(with_contract):
    assert json.loads((with_contract / "run.json").read_text())["feature_contract"] \
        == contract_json()


def test_matching_features_predict_silently(with_contract, tmp_path, capsys):
    new = write_video(tmp_path, "new", 17, contract_json())
    status, _, err = run(capsys, "predict", "--run", with_contract, new, "--out",
                         tmp_path / "p.json", "--quiet", "--threads", "1")
    assert (status, err) == (0, "")
    # Without a clip-grid file the rate is the run's dataset rate: the same grid, no complaint.
    (tmp_path / "new.json").unlink()
    status, _, err = run(capsys, "predict", "--run", with_contract, new, "--out",
                         tmp_path / "p.json", "--quiet", "--threads", "1", "--overwrite")
    assert (status, err) == (0, "")


def test_another_clip_rate_is_one_line(with_contract, tmp_path, capsys):
    new = write_video(tmp_path, "new", 17, None)
    status, out, err = run(capsys, "predict", "--run", with_contract, new, "--out",
                           tmp_path / "p.json", "--clips-per-second", "1.5", "--quiet")
    assert (status, out) == (2, "")
    assert err == (f"haan: error: {new}: feature contract: clips_per_second is 1.5 here but the "
                   "run was trained on 1.5625; --ignore-contract predicts anyway\n")
    assert not (tmp_path / "p.json").exists()
    status, _, err = run(capsys, "predict", "--run", with_contract, new, "--out",
                         tmp_path / "p.json", "--clips-per-second", "1.5", "--quiet",
                         "--threads", "1", "--ignore-contract")
    assert status == 0 and (tmp_path / "p.json").is_file()
    assert err == (f"warning: {new}: feature contract: clips_per_second is 1.5 here but the run "
                   "was trained on 1.5625; predicting anyway (--ignore-contract)\n")


def test_other_weights_in_the_inputs_contract(with_contract, tmp_path, capsys):
    other = contract_json(weights_sha256={"rgb": "0" * 64})
    new = write_video(tmp_path, "new", 17, other)
    status, _, err = run(capsys, "predict", "--run", with_contract, new, "--out",
                         tmp_path / "p.json", "--quiet")
    assert status == 2
    assert err == (f"haan: error: {new}: feature contract: weights_sha256 is {{'rgb': '{'0' * 64}'}}"
                   f" here but the run was trained on {{'rgb': '{SHA}'}}; --ignore-contract "
                   "predicts anyway\n")


def test_another_dimension_is_an_error_even_with_the_flag(with_contract, tmp_path, capsys):
    wide = write_video(tmp_path / "w", "wide", 17, None, D=6)
    narrow = write_video(tmp_path / "w", "ok", 17, None)
    for flag in ([], ["--ignore-contract"]):
        status, _, err = run(capsys, "predict", "--run", with_contract, narrow, wide, "--out",
                             tmp_path / "p.json", "--quiet", *flag)
        assert (status, err) == (2, f"haan: error: {wide}: feature contract: feature_dim is 6 "
                                    "here but the run was trained on 4\n")


def test_a_run_without_a_contract_warns(tmp_path_factory, tmp_path, capsys):
    run_dir = train_run(tmp_path_factory.mktemp("nocontract"), None)
    capsys.readouterr()  # the training's own output
    assert json.loads((run_dir / "run.json").read_text())["feature_contract"] is None
    new = write_video(tmp_path, "new", 17, None)
    status, _, err = run(capsys, "predict", "--run", run_dir, new, "--out", tmp_path / "p.json",
                         "--quiet", "--threads", "1", "--clips-per-second", "1.5")
    assert status == 0
    assert err == (f"warning: {run_dir}: {UNKNOWN} (trained before haan recorded one, or on "
                   "features haan extract did not make): the inputs' extraction cannot be "
                   "checked, only their dimension\n")
    # A run made before contracts existed (no key in run.json at all): the same.
    record = json.loads((run_dir / "run.json").read_text())
    del record["feature_contract"]
    old = tmp_path / "old"
    shutil.copytree(run_dir, old)
    (old / "run.json").write_text(json.dumps(record))
    status, _, err = run(capsys, "predict", "--run", old, new, "--out", tmp_path / "p.json",
                         "--quiet", "--threads", "1", "--overwrite")
    assert status == 0 and UNKNOWN in err
