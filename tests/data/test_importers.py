"""haan.data.importers: ActivityNet-style files and per-video features become a haan dataset; the
written files are checked video by video and clip by clip against the JSON, for every hierarchy,
feature format and clip grid, and every bad input is one clear line."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from haan.config import load_config
from haan.data import import_activitynet, load_dataset
from haan.errors import DataWarning, InputError

from helpers import DEPTH_1, LABELS, PARENT, R, write_activitynet


def check_against_the_json(config_path: Path, src: dict, coarse_of: dict[str, str],
                           rates: dict[str, float], train: str = "training",
                           test: str = "validation") -> None:
    """The written files, video by video and clip by clip, against the JSON (plain loops)."""
    out = config_path.parent
    database = src["json"]["database"]
    expected_names = ([v for v, e in database.items() if e["subset"] == train]
                      + [v for v, e in database.items() if e["subset"] == test])
    names = np.load(out / "video_names.npy").tolist()
    labels = np.load(out / "labels.npy", allow_pickle=True)
    segments = np.load(out / "segments.npy", allow_pickle=True)
    ratios = np.load(out / "sec2clip_ratios.npy")
    mapping = json.loads((out / "fine_to_coarse_mappings.json").read_text())
    class_names = json.loads((out / "class_names.json").read_text())
    used = sorted({a["label"] for v in expected_names for a in database[v]["annotations"]})
    assert names == expected_names
    assert class_names == {"fine": used, "coarse": sorted({coarse_of[x] for x in used})}
    for fine_id, fine in enumerate(class_names["fine"]):
        assert class_names["coarse"][mapping[str(fine_id)]] == coarse_of[fine]
    config = load_config(config_path)
    assert config.stats.num_training_videos == sum(
        database[v]["subset"] == train for v in expected_names)
    d = load_dataset(config)
    for i, name in enumerate(names):
        anns = database[name]["annotations"]
        assert len(labels[i]) == len(segments[i]) == len(anns)
        for (coarse, fine), (start, end), a in zip(labels[i], segments[i], anns):
            assert class_names["fine"][fine] == a["label"]
            assert class_names["coarse"][coarse] == coarse_of[a["label"]]
            assert (start, end) == (float(a["segment"][0]), float(a["segment"][1]))
        assert ratios[i] == pytest.approx(rates[name], rel=1e-12)
        x = src["arrays"][name]
        assert d.lengths[i] == len(x)
        stored = d.video_features(i)
        for t in range(len(x)):  # clip by clip
            np.testing.assert_array_equal(stored[t], x[t])
        for start, end in segments[i]:  # every instance's clips lie inside the video
            assert 0 <= math.floor(start * ratios[i]) < math.ceil(end * ratios[i]) <= len(x) + 1
    assert d.fine_names == class_names["fine"] and d.coarse_names == class_names["coarse"]

# ----------------------------------------------------------------------------------------------
# Hierarchies, feature formats, clip grids


@pytest.mark.parametrize("hierarchy,coarse_of", [
    ("taxonomy", PARENT), ("taxonomy:1", DEPTH_1), ("flat", {x: x for x in LABELS})])
def test_import_with_a_hierarchy_from_the_file(tmp_path, hierarchy, coarse_of):
    src = write_activitynet(tmp_path / "src")
    summary = import_activitynet(src["gt"], src["features"], tmp_path / "out",
                                 hierarchy=hierarchy, clips_per_second=R)
    assert summary.config_path == tmp_path / "out" / "config.toml"
    assert (summary.num_train, summary.num_test, summary.left_out) == (6, 4, {"testing": 2})
    assert summary.grid == f"--clips-per-second {R:g} for all 10 videos"
    check_against_the_json(summary.config_path, src, coarse_of,
                           {v: R for v in src["json"]["database"]})


def test_taxonomy_depth_with_a_label_above_it_warns(tmp_path):
    src = write_activitynet(tmp_path / "src")
    expected = dict(PARENT, Cooking="Cooking")  # depth 2 is the labels' parents; Cooking is there
    with pytest.warns(DataWarning, match=r"gt.json: 1 labels lie at depth 2 or above in the "
                                         r"taxonomy and are their own coarse class \(first: "
                                         r"'Cooking', depth 2\)"):
        summary = import_activitynet(src["gt"], src["features"], tmp_path / "out",
                                     hierarchy="taxonomy:2", clips_per_second=R)
    check_against_the_json(summary.config_path, src, expected,
                           {v: R for v in src["json"]["database"]})


def test_mapping_file_no_durations_and_string_segments(tmp_path):
    src = write_activitynet(tmp_path / "src", durations=False, string_segments=True,
                            taxonomy=False)
    mapping = {x: ("balls" if "b" in x.lower() else "rest") for x in LABELS}
    (tmp_path / "map.json").write_text(json.dumps(mapping | {"Unused": "other"}))
    summary = import_activitynet(src["gt"], src["features"], tmp_path / "out",
                                 hierarchy=str(tmp_path / "map.json"), clips_per_second=R)
    check_against_the_json(summary.config_path, src, mapping,
                           {v: R for v in src["json"]["database"]})


def test_clips_per_video_uses_the_durations(tmp_path):
    src = write_activitynet(tmp_path / "src")
    database = src["json"]["database"]
    T = 40  # features resampled to 40 clips, as FineAction's 100
    for name in src["arrays"]:
        x = np.random.default_rng(1).standard_normal((T, 6)).astype(np.float32)
        src["arrays"][name] = x
        for old in src["features"].glob(f"*{name}.*"):
            old.unlink()
        np.save(src["features"] / f"{name}.npy", x)
    summary = import_activitynet(src["gt"], src["features"], tmp_path / "out",
                                 clips_per_video=T)
    rates = {v: T / e["duration"] for v, e in database.items()}
    check_against_the_json(summary.config_path, src, PARENT, rates)
    assert summary.grid.startswith(f"--clips-per-video {T}: clips per second = {T} / duration, ")


def test_clips_per_video_against_clip_grid_files(tmp_path):
    """haan.data.clip_rates' rule through the import: --clips-per-video is used; a clip-grid file
    that agrees with T / duration (within 2 clips) gives its exact rate, one that disagrees is a
    counted warning (haan predict --durations does the same: tests/predict)."""
    src = write_activitynet(tmp_path / "src")
    database = src["json"]["database"]
    T = 40
    for name in src["arrays"]:
        for old in src["features"].glob(f"*{name}.*"):
            old.unlink()
        np.save(src["features"] / f"{name}.npy", np.zeros((T, 6), np.float32))
    agree = round(T / database["vid04-tr"]["duration"], 3)  # T within 2 clips of duration x it
    (src["features"] / "vid04-tr.json").write_text(json.dumps({"clips_per_second": agree}))
    (src["features"] / "vid02-tr.json").write_text(json.dumps({"clips_per_second": R}))
    with pytest.warns(DataWarning) as caught:
        summary = import_activitynet(src["gt"], src["features"], tmp_path / "out",
                                     clips_per_video=T)
    assert [str(w.message) for w in caught] == [
        f"{src['features']}: 1 videos have a clip-grid file that disagrees with --clips-per-video "
        f"(first: 'vid02-tr': {R:g} clips/s in vid02-tr.json, "
        f"{T / database['vid02-tr']['duration']:.4g} from the option); the option is used"]
    rates = {v: T / e["duration"] for v, e in database.items()}
    rates["vid04-tr"] = agree
    ratios = dict(zip(summary.dataset.video_names.tolist(), summary.dataset.sec2clip_ratios))
    assert ratios == {v: pytest.approx(rates[v], rel=1e-12) for v in ratios}
    assert ratios["vid04-tr"] == agree


def test_clip_grid_files_beside_the_features(tmp_path):
    src = write_activitynet(tmp_path / "src", durations=False)
    database = src["json"]["database"]
    rates = {}
    for k, (name, x) in enumerate(src["arrays"].items()):
        (file,) = src["features"].glob(f"*{name}.*")
        rate = 1.5 if k != 3 else 1.25
        rates[name] = rate
        grid = {"fps": 24.0 if k != 3 else 20.0, "clip_frames": 16, "stride": 16,
                "clips_per_second": rate, "duration": len(x) / rate, "frames": 16 * len(x),
                "num_clips": len(x), "feature_dim": 6, "streams": "rgb+flow"}
        file.with_suffix(".json").write_text(json.dumps(grid))
    summary = import_activitynet(src["gt"], src["features"], tmp_path / "out")
    kept = [v for v, e in database.items() if e["subset"] != "testing"]
    assert summary.grid == (f"the clip-grid files: 1.5 clips/s ({len(kept) - 1} videos), "
                            "1.25 clips/s (1 videos)")
    check_against_the_json(summary.config_path, src, PARENT, rates)
    # Two extraction grids: none is recorded for haan predict.
    assert summary.extraction_grid is None and not (tmp_path / "out" / "clip_grid.json").exists()
    assert load_config(summary.config_path).haan.clip_grid_path == ""

    # An option overrides the files; a disagreement is one counted warning.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import_activitynet(src["gt"], src["features"], tmp_path / "out2", clips_per_second=1.5)
    messages = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    # Its duration, from the same file, then disagrees with its length at the option's grid.
    T3 = len(src["arrays"]["vid03-tr"])
    assert messages == [
        f"{src['features']}: 1 videos have a clip-grid file that disagrees with "
        "--clips-per-second (first: 'vid03-tr': 1.25 clips/s in v_vid03-tr.json, 1.5 from the "
        "option); the option is used",
        f"{src['features']}: 1 videos have a feature length that disagrees with duration x clips "
        f"per second by more than 2 clips (first: 'vid03-tr': {T3} clips, {T3 / 1.25:g} s x 1.5 = "
        f"{T3 / 1.25 * 1.5:.1f})"]
    check_against_the_json(tmp_path / "out2" / "config.toml", src, PARENT,
                           {v: 1.5 for v in database})


def test_one_extraction_grid_is_recorded(tmp_path, capsys):
    """Every video's clip-grid file names 25 fps, 16-frame clips every 16 frames, RGB+flow: the
    import records that grid (clip_grid.json, [haan] clip_grid_path) for haan predict; a rate
    option other than fps / stride records nothing."""
    src = write_activitynet(tmp_path / "src", durations=False)
    for name, x in src["arrays"].items():
        (file,) = src["features"].glob(f"*{name}.*")
        grid = {"fps": 25, "clip_frames": 16, "stride": 16, "clips_per_second": R,
                "duration": len(x) / R, "frames": 16 * len(x), "num_clips": len(x),
                "feature_dim": 6, "streams": "rgb+flow"}
        file.with_suffix(".json").write_text(json.dumps(grid))
    summary = import_activitynet(src["gt"], src["features"], tmp_path / "out")
    recorded = {"fps": 25.0, "clip_frames": 16, "stride": 16, "streams": "rgb+flow",
                "clips_per_second": R, "feature_dim": 6}
    assert summary.extraction_grid == recorded
    assert json.loads((tmp_path / "out" / "clip_grid.json").read_text()) == recorded
    assert load_config(summary.config_path).haan.clip_grid_path == str(tmp_path / "out" /
                                                                        "clip_grid.json")
    from haan.cli import main

    assert main(["data", "import", "activitynet", "--annotations", str(src["gt"]), "--features",
                 str(src["features"]), "--out", str(tmp_path / "cli")]) == 0
    assert (f"extraction grid: 25 fps, 16-frame clips every 16 frames, rgb+flow; recorded in "
            f"{tmp_path / 'cli' / 'clip_grid.json'} for haan predict on video files\n"
            in capsys.readouterr().out)
    with warnings.catch_warnings(record=True) as caught:  # the grid files disagree: warned
        warnings.simplefilter("always")
        again = import_activitynet(src["gt"], src["features"], tmp_path / "other",
                                   clips_per_second=1.5)
    assert "disagrees with --clips-per-second" in str(caught[0].message)
    assert again.extraction_grid is None and not (tmp_path / "other" / "clip_grid.json").exists()


def test_feature_length_disagreeing_with_the_duration_warns(tmp_path):
    src = write_activitynet(tmp_path / "src")
    database = src["json"]["database"]
    database["vid01-tr"]["duration"] = 100.0  # its features cover about 40 s
    src["gt"].write_text(json.dumps(src["json"]))
    T = len(src["arrays"]["vid01-tr"])
    with pytest.warns(DataWarning) as caught:
        import_activitynet(src["gt"], src["features"], tmp_path / "out", clips_per_second=R)
    messages = [str(w.message) for w in caught]
    assert (f"{src['features']}: 1 videos have a feature length that disagrees with duration x "
            f"clips per second by more than 2 clips (first: 'vid01-tr': {T} clips, 100 s x "
            f"{R:g} = 156.2)") in messages


def test_config_takes_the_template_and_overrides(tmp_path):
    src = write_activitynet(tmp_path / "src")
    summary = import_activitynet(src["gt"], src["features"], tmp_path / "out", clips_per_second=R,
                                 template="fine_action",
                                 overrides=["hyperparameters.epochs=7", "dataset.name=Mine"])
    config = load_config(summary.config_path)
    fine_action = load_config("fine_action")
    assert config.evaluation == fine_action.evaluation
    assert config.hyperparameters.feature_size == 6 and config.hyperparameters.epochs == 7
    assert config.hyperparameters.learning_rate == fine_action.hyperparameters.learning_rate
    assert config.dataset.name == "Mine"
    assert config.haan.class_names_path == str(tmp_path / "out" / "class_names.json")
    text = summary.config_path.read_text()
    assert "[haan]\nclass_names_path = " in text and "check_features" not in text
    assert config.stats.max_clips_per_video == max(len(x) for x in src["arrays"].values())
    assert (config.stats.num_fine_classes, config.stats.num_coarse_classes) == (7, 4)


# ----------------------------------------------------------------------------------------------
# Bad input: one line each


def import_error(src: dict, out: Path, **options) -> str:
    options.setdefault("clips_per_second", R)
    with pytest.raises(InputError) as err:
        import_activitynet(src["gt"], src["features"], out, **options)
    assert "\n" not in str(err.value)
    assert not (out / "config.toml").exists()
    return str(err.value)


def test_missing_features(tmp_path):
    src = write_activitynet(tmp_path / "src")
    (src["features"] / "v_vid05-tr.npy").unlink()
    assert import_error(src, tmp_path / "out") == (
        f"{src['features']}: no features for 1 of 10 videos (first: 'vid05-tr': looked for "
        "vid05-tr.npy, .csv, with and without a v_ prefix)")


def test_unknown_labels(tmp_path):
    src = write_activitynet(tmp_path / "src")
    mapping = {x: "c" for x in LABELS if x != "Soccer"}
    (tmp_path / "map.json").write_text(json.dumps(mapping))
    assert import_error(src, tmp_path / "out", hierarchy=str(tmp_path / "map.json")) == (
        f"{tmp_path / 'map.json'}: no coarse class for 1 labels of {src['gt']} (first: 'Soccer')")
    src["json"]["taxonomy"] = [n for n in src["json"]["taxonomy"] if n["nodeName"] != "Diving"]
    src["gt"].write_text(json.dumps(src["json"]))
    assert import_error(src, tmp_path / "out") == (
        f"{src['gt']}: 1 labels are not in the file's taxonomy (first: 'Diving')")


def test_labels_without_a_parent(tmp_path):
    src = write_activitynet(tmp_path / "src")
    for node in src["json"]["taxonomy"]:
        if node["nodeName"] == "Cooking":
            node["parentId"] = None
    src["gt"].write_text(json.dumps(src["json"]))
    assert import_error(src, tmp_path / "out") == (
        f"{src['gt']}: 1 labels have no parent in the taxonomy (first: 'Cooking'); use "
        "taxonomy:DEPTH, flat or MAPPING.json")
    del src["json"]["taxonomy"]
    src["gt"].write_text(json.dumps(src["json"]))
    assert import_error(src, tmp_path / "out") == (
        f'{src["gt"]}: no "taxonomy" in the file (needed by --hierarchy taxonomy); use '
        "--hierarchy flat or MAPPING.json")


def test_clip_grid_errors(tmp_path):
    src = write_activitynet(tmp_path / "src", durations=False)
    assert import_error(src, tmp_path / "out", clips_per_second=None) == (
        f"{src['features'] / 'vid00-tr.json'}: no clip grid for video 'vid00-tr' (10 such "
        "videos); give --clips-per-second R or --clips-per-video T")
    T = len(src["arrays"]["vid00-tr"])
    assert import_error(src, tmp_path / "out", clips_per_second=None, clips_per_video=T).startswith(
        f"{src['features'] / 'v_vid01-tr.npy'}: {len(src['arrays']['vid01-tr'])} clips, but "
        f"--clips-per-video {T} (")
    assert import_error(src, tmp_path / "out", clips_per_second=0.0) == (
        "--clips-per-second 0.0: expected a positive number")


def test_clips_per_video_without_durations(tmp_path):
    src = write_activitynet(tmp_path / "src", durations=False)
    for name in src["arrays"]:
        for old in src["features"].glob(f"*{name}.*"):
            old.unlink()
        np.save(src["features"] / f"{name}.npy", np.zeros((30, 6), dtype=np.float32))
    assert import_error(src, tmp_path / "out", clips_per_second=None, clips_per_video=30) == (
        f"{src['gt']}: video 'vid00-tr' has no duration, which --clips-per-video needs (10 such "
        "videos); give --clips-per-second")


def test_feature_size_and_subset_errors(tmp_path):
    src = write_activitynet(tmp_path / "src")
    assert import_error(src, tmp_path / "out", feature_dim=8) == (
        f"{src['features'] / 'vid00-tr.npy'}: 6 values per clip, but --feature-dim 8 (10 such "
        "videos)")
    np.save(src["features"] / "v_vid01-tr.npy", np.zeros((50, 5), dtype=np.float32))
    assert import_error(src, tmp_path / "out") == (
        f"{src['features'] / 'v_vid01-tr.npy'}: 5 values per clip, but vid00-tr.npy has 6 (1 such "
        "videos)")
    assert import_error(src, tmp_path / "out", train_subset="train") == (
        f"{src['gt']}: no video of subset 'train' (subsets: testing, training, validation); "
        "choose --train-subset")


@pytest.mark.parametrize("edit,message", [
    (lambda db: db["vid00-tr"]["annotations"][0].update(segment=["1.5", "x"]),
     "database['vid00-tr'][\"annotations\"][0]: \"segment\" must be [start, end] numbers or "
     "numeric strings, got ['1.5', 'x']"),
    (lambda db: db["vid02-tr"]["annotations"][0].update(label=3),
     "database['vid02-tr'][\"annotations\"][0]: \"label\" must be a string, got 3"),
    (lambda db: db["vid03-tr"].update(duration=-2),
     "database['vid03-tr']: \"duration\" must be a positive number, got -2"),
])
def test_malformed_annotation_file(tmp_path, edit, message):
    src = write_activitynet(tmp_path / "src")
    edit(src["json"]["database"])
    src["gt"].write_text(json.dumps(src["json"]))
    assert import_error(src, tmp_path / "out") == f"{src['gt']}: {message}"


def test_nothing_replaced_without_overwrite(tmp_path):
    src = write_activitynet(tmp_path / "src")
    out = tmp_path / "out"
    import_activitynet(src["gt"], src["features"], out, clips_per_second=R)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(InputError, match=r"out/features/features.npy: already exists \(and 10 "
                                         r"more\); pass --overwrite to replace it"):
        import_activitynet(src["gt"], src["features"], out, clips_per_second=R)
    import_activitynet(src["gt"], src["features"], out, clips_per_second=R, overwrite=True)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_ids_with_a_v_prefix_find_features_without_it(tmp_path):
    feats = tmp_path / "features"
    feats.mkdir()
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.save(feats / "abc.npy", x)  # the annotation file says v_abc
    np.save(feats / "v_def.npy", x + 1)
    (feats / "v_def.csv").write_text("9,9,9\n")  # .npy comes first
    gt = {"database": {
        "v_abc": {"subset": "training", "annotations": [{"segment": [0.5, 1.5], "label": "a"}]},
        "v_def": {"subset": "validation", "annotations": [{"segment": [1, 2], "label": "b"}]}}}
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    summary = import_activitynet(tmp_path / "gt.json", feats, tmp_path / "out", hierarchy="flat",
                                 clips_per_second=2.0)
    d = summary.dataset
    assert d.video_names.tolist() == ["v_abc", "v_def"]
    np.testing.assert_array_equal(d.video_features(0), x)
    np.testing.assert_array_equal(d.video_features(1), x + 1)
