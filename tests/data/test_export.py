"""haan.data.export: a dataset's ground truth as ActivityNet JSON. A THUMOS14-shaped import (200
validation + 210 test videos, 20 classes, string segments, no durations) loads, exports back to the
same segments and labels, scores a perfect detector at 100% and re-imports to the same files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from haan.config import load_config
from haan.data import export_ground_truth, ground_truth_json, import_activitynet, load_dataset
from haan.errors import InputError
from haan.evaluation import activitynet

from helpers import GROUPS, THUMOS14_CLASSES, R, load, tiny_files, write_thumos14


@pytest.fixture
def thumos14(tmp_path) -> dict:
    return write_thumos14(tmp_path)


def test_thumos14_imports_loads_and_round_trips(thumos14, tmp_path):
    out = tmp_path / "thumos"
    summary = import_activitynet(thumos14["gt"], thumos14["features"], out,
                                 train_subset="validation", test_subset="test",
                                 hierarchy=str(thumos14["mapping"]), clips_per_second=R)
    d = load_dataset(load_config(summary.config_path))
    assert (d.num_videos, len(d.train_indices), len(d.test_indices)) == (410, 200, 210)
    assert (d.num_fine_classes, d.num_coarse_classes) == (20, 3)
    assert d.fine_names == sorted(THUMOS14_CLASSES)
    assert d.coarse_names == ["athletics", "ball", "other"]
    np.testing.assert_array_equal(d.sec2clip_ratios, np.full(410, R))
    database = thumos14["database"]
    assert d.video_names.tolist() == list(database)
    for i, name in enumerate(d.video_names):
        rows = [((float(s), float(e)), a) for (s, e), a in
                ((x["segment"], x["label"]) for x in database[name]["annotations"])]
        got = [((s, e), d.fine_names[f]) for (s, e), f in zip(d.segments[i].tolist(),
                                                               d.labels[i][:, 1].tolist())]
        assert got == rows
        for coarse, fine in d.labels[i]:
            assert d.fine_names[fine] in GROUPS[d.coarse_names[coarse]]
        assert d.lengths[i] == len(np.load(thumos14["features"] / f"{name}.npy"))

    # Export: the same segments and labels, subsets as the split.
    export_ground_truth(load_config(summary.config_path), tmp_path / "gt.json", subset="all")
    exported = json.loads((tmp_path / "gt.json").read_text())["database"]
    assert list(exported) == list(database)
    for name, entry in exported.items():
        assert entry["subset"] == {"validation": "train", "test": "test"}[database[name]["subset"]]
        assert [(a["segment"], a["label"]) for a in entry["annotations"]] == [
            ([float(s) for s in a["segment"]], a["label"]) for a in database[name]["annotations"]]
        T = len(np.load(thumos14["features"] / f"{name}.npy"))
        assert entry["duration"] == pytest.approx(T / R)

    # A detector that outputs the ground truth scores 100% at every threshold.
    perfect = {"results": {name: [dict(a, score=1.0) for a in entry["annotations"]]
                           for name, entry in exported.items() if entry["subset"] == "test"}}
    (tmp_path / "pred.json").write_text(json.dumps(perfect))
    report = activitynet.evaluate_files(tmp_path / "gt.json", tmp_path / "pred.json",
                                        subset="test")
    assert report.metrics.mAP.tolist() == [1.0] * 10 and report.num_ground_truths == sum(
        len(e["annotations"]) for e in exported.values() if e["subset"] == "test")

    # Re-imported with the exported taxonomy: the same files.
    again = import_activitynet(tmp_path / "gt.json", thumos14["features"], tmp_path / "again",
                               train_subset="train", test_subset="test", hierarchy="taxonomy",
                               clips_per_second=R)
    for name in ("video_names.npy", "labels.npy", "segments.npy", "sec2clip_ratios.npy",
                 "fine_to_coarse_mappings.json", "class_names.json", "features/features.npy",
                 "features/offsets.npy"):
        assert (again.config_path.parent / name).read_bytes() == (out / name).read_bytes(), name


def test_export_of_the_papers_format_uses_ids_as_names(tiny_dataset, tmp_path):
    raw = tiny_files(tiny_dataset)
    d = load(tiny_dataset)
    gt = ground_truth_json(d, "test")
    assert list(gt["database"]) == raw["names"][18:].tolist()
    for i in range(18, 24):
        entry = gt["database"][raw["names"][i]]
        assert entry["subset"] == "test"
        assert entry["duration"] == len(raw["features"][i]) / 1.5
        assert entry["annotations"] == [{"segment": [s, e], "label": str(f)}
                                        for (s, e), (_c, f) in zip(raw["segments"][i],
                                                                   raw["labels"][i])]
    assert gt["taxonomy"] == [
        {"nodeId": 0, "nodeName": "Root", "parentId": None, "parentName": None},
        {"nodeId": 1, "nodeName": "0", "parentId": 0, "parentName": "Root"},
        {"nodeId": 2, "nodeName": "1", "parentId": 0, "parentName": "Root"},
        *[{"nodeId": 3 + f, "nodeName": str(f), "parentId": 1 + raw["mapping"][str(f)],
           "parentName": str(raw["mapping"][str(f)])} for f in range(4)]]
    assert list(ground_truth_json(d, "train")["database"]) == raw["names"][:18].tolist()
    assert len(ground_truth_json(d, "all")["database"]) == 24
    # eval-detections reads it: labels are the fine classes used by the test videos.
    export_ground_truth(load_config(tiny_dataset), tmp_path / "gt.json")
    read = activitynet.read_ground_truth(tmp_path / "gt.json")
    assert read.videos == raw["names"][18:].tolist()
    assert read.labels == sorted({str(f) for x in raw["labels"][18:] for _c, f in x})


def test_export_replaces_nothing_without_overwrite(tiny_dataset, tmp_path):
    (tmp_path / "gt.json").write_text("mine")
    with pytest.raises(InputError) as err:
        export_ground_truth(load_config(tiny_dataset), tmp_path / "gt.json")
    assert str(err.value) == (f"{tmp_path / 'gt.json'}: already exists; pass --overwrite to "
                              "replace it")
    assert export_ground_truth(load_config(tiny_dataset), tmp_path / "gt.json", "all",
                               overwrite=True)[0] == 24
    with pytest.raises(InputError, match=r"--subset val: expected one of test, train, all"):
        export_ground_truth(load_config(tiny_dataset), tmp_path / "x.json", "val")


def test_class_names_file_is_checked(tiny_dataset, tmp_path):
    names = tmp_path / "names.json"
    override = f'haan.class_names_path="{names}"'
    names.write_text(json.dumps({"fine": ["a", "b", "c", "d"], "coarse": ["X", "Y"]}))
    d = load(tiny_dataset, override)
    assert (d.fine_names, d.coarse_names) == (["a", "b", "c", "d"], ["X", "Y"])
    for content, message in (
            ({"fine": ["a", "b", "c"], "coarse": ["X", "Y"]},
             "3 fine names, but [stats] num_fine_classes = 4"),
            ({"fine": ["a", "b", "c", "a"], "coarse": ["X", "Y"]},
             "the fine name 'a' occurs more than once"),
            ({"fine": ["a", "b", "c", "d"], "coarse": ["X", 2]},
             '"coarse" must be a list of strings'),
            (["a"], 'expected {"fine": [names], "coarse": [names]}')):
        names.write_text(json.dumps(content))
        with pytest.raises(InputError) as err:
            load(tiny_dataset, override)
        assert str(err.value) == f"{names}: {message}"
    names.unlink()
    with pytest.raises(InputError) as err:
        load(tiny_dataset, override)
    assert str(err.value) == f"{names}: no such file (config [haan] class_names_path)"


def test_export_path_problems_are_one_line(tiny_dataset, tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(InputError) as err:
        export_ground_truth(load_config(tiny_dataset), tmp_path / "file" / "gt.json")
    assert str(err.value) == (f"{tmp_path / 'file' / 'gt.json'}: cannot write the file (a parent "
                              "of it is not a folder)")
