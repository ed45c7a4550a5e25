"""A dataset's feature contract: the one its videos' clip-grid files share, recorded by the imports
in clip_grid.json and shown by `haan data info`; videos that disagree are one error line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from haan.config import load_config
from haan.data import dataset_info, format_info, import_activitynet, import_labels, load_dataset
from haan.data.clip_rates import CLIP_GRID_FILE
from haan.data.contract import CONTRACT_KEY
from haan.data.dataset_contract import dataset_contract, describe_contract
from haan.errors import InputError

SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def contract_json(**changes) -> dict:
    """A contract as `haan extract` writes it (by hand: 25 fps, 16-frame clips every 16 frames,
    RGB, 4-d for the test's small features)."""
    data = {"extractor": "haan-i3d", "weights_sha256": {"rgb": SHA}, "streams": "rgb",
            "fps": 25.0, "clip_frames": 16, "stride": 16, "feature_dim": 4,
            "clips_per_second": 25.0 / 16}
    return {**data, **changes}


def write_videos(folder: Path, lengths: dict[str, int], contracts: dict[str, dict | None],
                 D: int = 4) -> Path:
    """<id>.npy and, where `contracts` has one, the clip-grid file <id>.json haan extract writes."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for name, T in lengths.items():
        np.save(folder / f"{name}.npy", rng.standard_normal((T, D)).astype(np.float32))
        c = contracts.get(name)
        if c is not None:
            (folder / f"{name}.json").write_text(json.dumps({
                "clips_per_second": c["clips_per_second"], "duration": T / c["clips_per_second"],
                "fps": c["fps"], "clip_frames": c["clip_frames"], "stride": c["stride"],
                "streams": c["streams"], CONTRACT_KEY: c}))
    return folder


@pytest.fixture
def labelled(tmp_path) -> dict:
    names = {"a": 20, "b": 30, "c": 25}
    labels = tmp_path / "labels.csv"
    labels.write_text("video,label\na,jump\nb,spin\nc,jump\n")
    return {"names": names, "labels": labels, "feats": tmp_path / "feats",
            "out": tmp_path / "data"}


def test_labels_import_records_the_common_contract(labelled):
    write_videos(labelled["feats"], labelled["names"],
                 {n: contract_json() for n in labelled["names"]})
    s = import_labels(labelled["labels"], labelled["feats"], labelled["out"])
    grid = json.loads((labelled["out"] / CLIP_GRID_FILE).read_text())
    assert grid[CONTRACT_KEY] == contract_json()
    assert (grid["fps"], grid["stride"], grid["feature_dim"]) == (25.0, 16, 4)
    config = load_config(s.config_path)
    assert dataset_contract(config).to_json() == contract_json()
    assert s.contract_note == "recorded"
    info = dataset_info(load_dataset(config))
    assert info["feature_contract"] == contract_json()
    row = [line for line in format_info(info).splitlines()
           if line.startswith("feature contract")][0]
    assert row.endswith(f"haan-i3d, rgb (weights SHA-256: rgb {SHA}), 25 fps, 16-frame clips "
                        "every 16 frames, D = 4, 1.5625 clips/s")


def test_activitynet_import_records_it_too(tmp_path):
    lengths = {"v0": 20, "v1": 30, "v2": 24}
    feats = write_videos(tmp_path / "feats", lengths, {n: contract_json() for n in lengths})
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"database": {
        n: {"subset": "training" if n != "v2" else "validation",
            "annotations": [{"segment": [1, 2], "label": "x"}]} for n in lengths}}))
    s = import_activitynet(gt, feats, tmp_path / "data", hierarchy="flat")
    assert s.contract is not None and s.contract.to_json() == contract_json()
    assert json.loads((tmp_path / "data" / CLIP_GRID_FILE).read_text())[CONTRACT_KEY] \
        == contract_json()


@pytest.mark.parametrize("field, value, shown", [
    ("weights_sha256", {"rgb": "0" * 64}, "weights_sha256 is {'rgb': '" + SHA + "'} and "
                                          "{'rgb': '" + "0" * 64 + "'}"),
    ("extractor", "pytorch-i3d", "extractor is 'haan-i3d' and 'pytorch-i3d'"),
])
def test_videos_that_disagree_are_one_line(labelled, field, value, shown):
    write_videos(labelled["feats"], labelled["names"],
                 {"a": contract_json(), "b": contract_json(), "c": contract_json(**{field: value})})
    with pytest.raises(InputError) as e:
        import_labels(labelled["labels"], labelled["feats"], labelled["out"])
    assert str(e.value) == (f"{labelled['feats']}: videos 'a' and 'c' were made differently: "
                            f"feature contract {shown}")
    assert not labelled["out"].exists()


def test_a_video_without_a_contract_beside_others_is_an_error(labelled):
    write_videos(labelled["feats"], labelled["names"], {"a": contract_json(), "c": None})
    (labelled["feats"] / "c.json").unlink(missing_ok=True)
    with pytest.raises(InputError, match="b.json: video 'b' has no feature contract, but video "
                                         "'a' has one"):
        import_labels(labelled["labels"], labelled["feats"], labelled["out"],
                      clips_per_second=25 / 16)


def test_no_contract_and_another_grid_are_not_recorded(labelled):
    write_videos(labelled["feats"], labelled["names"], {})
    s = import_labels(labelled["labels"], labelled["feats"], labelled["out"],
                      clips_per_second=1.5)
    assert s.contract is None and not (labelled["out"] / CLIP_GRID_FILE).exists()
    assert dataset_info(s.dataset)["feature_contract"] is None
    assert describe_contract(None).startswith("unknown")

    # Features made at 1.5625 clips/s imported at another rate: the contract does not describe
    # the dataset's grid, so it is not recorded.
    write_videos(labelled["feats"], labelled["names"],
                 {n: contract_json() for n in labelled["names"]})
    s = import_labels(labelled["labels"], labelled["feats"], labelled["out"],
                      clips_per_second=1.5, overwrite=True)
    assert s.contract is None and s.contract_note.startswith("not recorded")


def test_a_contract_that_contradicts_the_files(labelled):
    write_videos(labelled["feats"], labelled["names"],
                 {n: contract_json(feature_dim=1024) for n in labelled["names"]})
    with pytest.raises(InputError, match="the feature files have 4 values per clip, but their "
                                         "clip-grid files' feature contract says feature_dim "
                                         "1024"):
        import_labels(labelled["labels"], labelled["feats"], labelled["out"])
