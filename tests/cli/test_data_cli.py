"""`haan synth`, `haan data info` and `haan data convert` from the command line: output, exit
status 2 with one line per bad input, warnings, and the real annotation files of both datasets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from haan.cli import main

from helpers import annotation_paths

REQUIRED_KEYS = {"num_videos", "num_training_videos", "num_test_videos", "num_instances_train",
                 "num_instances_test", "num_fine_classes", "num_coarse_classes", "num_clips",
                 "feature_size"}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def info_json(capsys, config: Path | str, *extra: str) -> tuple[dict, str]:
    status, out, err = run(capsys, "data", "info", "--config", str(config), "--json", *extra)
    assert status == 0, err
    return json.loads(out), err


def test_synth_then_info(tmp_path, capsys):
    status, out, err = run(capsys, "synth", "--out", str(tmp_path / "d"), "--preset", "tiny",
                           "--seed", "3")
    assert status == 0 and err == ""
    config = tmp_path / "d" / "config.toml"
    assert out == (f"wrote the tiny synthetic dataset (seed 3) and {config}\n"
                   f"train with: haan train --config {config}\n")
    assert json.loads((tmp_path / "d" / "synth.json").read_text())["seed"] == 3
    info, err = info_json(capsys, config)
    assert err == ""
    assert REQUIRED_KEYS <= set(info)
    labels = np.load(tmp_path / "d" / "labels.npy", allow_pickle=True)
    features = np.load(tmp_path / "d" / "features.npy", allow_pickle=True)
    assert {k: info[k] for k in REQUIRED_KEYS} == {
        "num_videos": 24, "num_training_videos": 18, "num_test_videos": 6,
        "num_instances_train": sum(len(x) for x in labels[:18]),
        "num_instances_test": sum(len(x) for x in labels[18:]),
        "num_fine_classes": 4, "num_coarse_classes": 2,
        "num_clips": sum(len(x) for x in features), "feature_size": 32}
    assert info["dtype"] == "float32" and info["features_layout"] == "object"
    assert info["feature_bytes"] == info["num_clips"] * 32 * 4
    assert sum(info["instances_per_fine_class_train"]) == info["num_instances_train"]
    assert info["clips_per_video"]["max"] == max(len(x) for x in features)


def test_info_table_and_validation_split(tiny_dataset, capsys):
    status, out, err = run(capsys, "data", "info", "--config", str(tiny_dataset),
                           "--set", "haan.validation_fraction=0.5")
    assert status == 0 and err == ""
    assert "videos                            24 (18 training, of which 9 validation; 6 test)" in out
    assert "classes                           4 fine, 2 coarse" in out
    info, _ = info_json(capsys, tiny_dataset, "--set", "haan.validation_fraction=0.5")
    assert info["num_validation_videos"] == 9 and info["num_training_videos"] == 18


def test_convert_then_info(tiny_dataset, tmp_path, capsys):
    before, _ = info_json(capsys, tiny_dataset)
    store = tmp_path / "store"
    status, out, err = run(capsys, "data", "convert", "--config", str(tiny_dataset), "--out",
                           str(store), "--dtype", "float16")
    assert status == 0 and err == ""
    assert out == (f"wrote the feature store {store} (float16) and {store / 'config.toml'}\n"
                   f"use it with: --config {store / 'config.toml'}\n")
    after, _ = info_json(capsys, store / "config.toml")
    assert after["features_layout"] == "store" and after["dtype"] == "float16"
    assert after["feature_bytes"] * 2 == before["feature_bytes"]
    changed = {"features_layout", "dtype", "feature_bytes", "features_path"}
    assert {k: v for k, v in after.items() if k not in changed} == {
        k: v for k, v in before.items() if k not in changed}


def test_info_scans_a_converted_store(tiny_dataset, tmp_path, capsys):
    store = tmp_path / "store"
    assert run(capsys, "data", "convert", "--config", str(tiny_dataset), "--out", str(store))[0] == 0
    flat = np.load(store / "features.npy", mmap_mode="r+")
    flat[-1, -1] = np.inf  # the last clip of the last video
    flat.flush()
    del flat
    status, out, err = run(capsys, "data", "info", "--config", str(store / "config.toml"))
    assert status == 2 and out == ""
    assert err == f"haan: error: {store}: video 'synth_00023' has NaN or inf features\n"


@pytest.mark.parametrize("command", ["synth", "convert"])
def test_existing_outputs_are_replaced_only_with_overwrite(tiny_dataset, tmp_path, capsys,
                                                           command):
    out = tmp_path / "out"
    argv = (["synth", "--preset", "tiny"] if command == "synth"
            else ["data", "convert", "--config", str(tiny_dataset)]) + ["--out", str(out)]
    assert run(capsys, *argv)[0] == 0
    before = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    (out / "config.toml").write_text("# mine\n")
    status, stdout, err = run(capsys, *argv)
    assert (status, stdout) == (2, "")
    assert err == (f"haan: error: {out / 'features.npy'}: already exists (and {len(before) - 1} "
                   "more); pass --overwrite to replace it\n")
    assert (out / "config.toml").read_text() == "# mine\n"
    assert run(capsys, *argv, "--overwrite")[0] == 0
    assert {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("command", ["synth", "convert"])
def test_output_folder_that_is_a_file(tiny_dataset, tmp_path, capsys, command):
    (tmp_path / "taken").write_text("x")
    argv = (["synth", "--preset", "tiny"] if command == "synth"
            else ["data", "convert", "--config", str(tiny_dataset)])
    status, out, err = run(capsys, *argv, "--out", str(tmp_path / "taken"))
    assert (status, out) == (2, "")
    assert err == f"haan: error: {tmp_path / 'taken'}: exists and is not a folder\n"


# ----------------------------------------------------------------------------------------------
# Every listed bad input: one line on stderr, exit status 2


def rewrite(path: Path, edit) -> None:
    x = np.load(path, allow_pickle=True)
    np.save(path, edit(x), allow_pickle=True)


def set_item(i: int, value):
    def edit(x):
        x[i] = value
        return x
    return edit


def bad_label(video: int, pair: list[int]):
    def edit(x):
        x[video] = [list(p) for p in x[video]]
        x[video][0] = pair
        return x
    return edit


def drop_mapping_key(d: Path) -> None:
    path = d / "fine_to_coarse_mappings.json"
    mapping = json.loads(path.read_text())
    del mapping["0"]
    path.write_text(json.dumps(mapping))


def nan_in(video: int):
    def edit(x):
        x[video][0, 0] = np.nan
        return x
    return edit


CASES = {
    "videos disagree": (lambda d: rewrite(d / "segments.npy", lambda x: x[:-2]), [],
                        "{d}/segments.npy: 22 videos, but {d}/video_names.npy has 24 videos"),
    "fine label outside": (lambda d: rewrite(d / "labels.npy", bad_label(3, [0, 7])), [],
                           "{d}/labels.npy: video 'synth_00003' instance 0 has fine id 7, outside "
                           "[0, 4) ([stats] num_fine_classes = 4)"),
    "coarse label outside": (lambda d: rewrite(d / "labels.npy", bad_label(3, [-2, 0])), [],
                             "{d}/labels.npy: video 'synth_00003' instance 0 has coarse id -2, "
                             "outside [0, 2) ([stats] num_coarse_classes = 2)"),
    "contradicts the mapping": (lambda d: rewrite(d / "labels.npy", bad_label(3, [1, 0])), [],
                                "{d}/labels.npy: video 'synth_00003' instance 0 is [1, 0], but "
                                "{d}/fine_to_coarse_mappings.json maps fine 0 to coarse 0"),
    "mapping incomplete": (drop_mapping_key, [],
                           '{d}/fine_to_coarse_mappings.json: no coarse class for fine ids 0 '
                           '(expected keys "0".."3", one per fine class)'),
    "feature size": (lambda d: None, ["--set", "hyperparameters.feature_size=64"],
                     "{d}/features.npy: features have 32 values per clip, but [hyperparameters] "
                     "feature_size = 64"),
    "no clips": (lambda d: rewrite(d / "features.npy",
                                   set_item(2, np.zeros((0, 32), np.float32))), [],
                 "{d}/features.npy: video 'synth_00002' has no clips"),
    "nan": (lambda d: rewrite(d / "features.npy", nan_in(21)), [],
            "{d}/features.npy: video 'synth_00021' has NaN or inf features"),
    "nan, scan off in the config": (lambda d: rewrite(d / "features.npy", nan_in(21)),
                                    ["--set", "haan.check_features=false"],
                                    "{d}/features.npy: video 'synth_00021' has NaN or inf "
                                    "features"),
    "too many training videos": (lambda d: None, ["--set", "stats.num_training_videos=30"],
                                 "{d}/config.toml: [stats] num_training_videos = 30 is larger "
                                 "than the number of videos (24 in {d}/video_names.npy)"),
    "class count too small": (lambda d: None, ["--set", "stats.num_fine_classes=2"],
                              "{d}/config.toml: [stats] num_fine_classes = 2 is smaller than the "
                              "classes used ({d}/fine_to_coarse_mappings.json maps fine ids up "
                              "to 3)"),
    "unknown key": (lambda d: None, ["--set", "stats.num_classes=2"],
                    "--set stats.num_classes=2: unknown key 'num_classes' in [stats]; did you "
                    "mean 'num_fine_classes'?"),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("command", ["info", "convert"])
def test_bad_input_gives_one_line_and_status_2(tiny_dataset, tmp_path, capsys, case, command):
    corrupt, extra, message = CASES[case]
    d = tiny_dataset.parent
    corrupt(d)
    argv = ["data", command, "--config", str(tiny_dataset), *extra]
    if command == "convert":
        argv += ["--out", str(tmp_path / "store")]
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert out == ""
    assert err == f"haan: error: {message.format(d=d)}\n"
    assert not (tmp_path / "store" / "store.json").exists()


def test_missing_config(capsys, tmp_path):
    status, _, err = run(capsys, "data", "info", "--config", str(tmp_path / "c.toml"))
    assert status == 2
    assert err == (f"haan: error: {tmp_path / 'c.toml'}: no such config file (built-in configs: "
                   "fine_action, fine_gym, synthetic)\n")


def test_warnings_are_printed_and_do_not_stop(tiny_dataset, capsys):
    def reverse(x):
        x[0] = [[s[1], s[0]] for s in x[0]]
        return x

    rewrite(tiny_dataset.parent / "segments.npy", reverse)
    n = len(np.load(tiny_dataset.parent / "segments.npy", allow_pickle=True)[0])
    info, err = info_json(capsys, tiny_dataset)
    assert info["num_videos"] == 24
    assert err.startswith(f"warning: {tiny_dataset.parent / 'segments.npy'}: {n} segments end "
                          "before they start (first: video 'synth_00000' [")
    assert err.count("\n") == 1


# ----------------------------------------------------------------------------------------------
# The real annotation files, with stand-in features


def real_config(write_config, base: str, real: Path, features: Path, feature_size: int) -> Path:
    return write_config(
        base, name=f"{base}.toml",
        features={"features_path": str(features)},
        annotations=annotation_paths(real),
        hyperparameters={"feature_size": feature_size})


def expected_figures(real: Path, num_training: int, num_clips: int, D: int) -> dict:
    """Counted straight from the files, independently of haan.data."""
    names = np.load(real / "video_names.npy", allow_pickle=True)
    labels = np.load(real / "labels.npy", allow_pickle=True)
    mapping = json.loads((real / "fine_to_coarse_mappings.json").read_text())
    return {
        "num_videos": len(names), "num_training_videos": num_training,
        "num_test_videos": len(names) - num_training,
        "num_instances_train": sum(len(x) for x in labels[:num_training]),
        "num_instances_test": sum(len(x) for x in labels[num_training:]),
        "num_fine_classes": len(mapping), "num_coarse_classes": len(set(mapping.values())),
        "num_clips": num_clips, "feature_size": D,
    }


def test_info_on_the_real_finegym_files(real_datasets, tmp_path, write_config, capsys):
    real = real_datasets / "FineGym"
    duration = np.load(real / "duration.npy", allow_pickle=True).reshape(-1)
    lengths = np.floor(duration * 1.5).astype(np.int64)  # 24 fps, 16-frame clips: 1.5 clips/s
    rng = np.random.default_rng(0)
    features = np.empty(len(lengths), dtype=object)
    for i, T in enumerate(lengths):
        features[i] = rng.random((T, 4), dtype=np.float32)
    np.save(tmp_path / "finegym_features.npy", features, allow_pickle=True)
    config = real_config(write_config, "fine_gym", real, tmp_path / "finegym_features.npy", 4)
    info, err = info_json(capsys, config)
    expected = expected_figures(real, 3775, int(lengths.sum()), 4)
    assert {k: info[k] for k in REQUIRED_KEYS} == expected
    assert expected["num_videos"] == 4968 and expected["num_instances_train"] == 26866
    assert info["max_clips_per_video"] == 309
    labels = np.load(real / "labels.npy", allow_pickle=True)
    fine = np.array([f for x in labels[:3775] for _, f in x])
    assert info["instances_per_fine_class_train"] == np.bincount(fine, minlength=99).tolist()
    print("\nFineGym:", json.dumps({k: info[k] for k in sorted(REQUIRED_KEYS)}), err)


def test_info_on_the_real_fineaction_files(real_datasets, tmp_path, write_config, capsys):
    real = real_datasets / "FineAction"
    N = len(np.load(real / "video_names.npy", allow_pickle=True))
    D = 8  # the real features are 4096-d (20 GB); the layout is the same
    dense = np.lib.format.open_memmap(tmp_path / "fineaction_features.npy", mode="w+",
                                      dtype=np.float32, shape=(N, 100, D))
    rng = np.random.default_rng(0)
    for start in range(0, N, 2000):
        dense[start:start + 2000] = rng.random((min(2000, N - start), 100, D), dtype=np.float32)
    dense.flush()
    del dense
    config = real_config(write_config, "fine_action", real, tmp_path / "fineaction_features.npy", D)
    info, err = info_json(capsys, config)
    expected = expected_figures(real, 8440, N * 100, D)
    assert {k: info[k] for k in REQUIRED_KEYS} == expected
    assert expected["num_videos"] == 12614 and expected["num_instances_test"] == 24236
    assert info["features_layout"] == "dense" and info["clips_per_video"]["min"] == 100
    segments = np.load(real / "segments.npy", allow_pickle=True)
    reversed_ = sum(e < s for x in segments for s, e in x)
    assert reversed_ == 60
    assert f"segments.npy: {reversed_} segments end before they start" in err
    print("\nFineAction:", json.dumps({k: info[k] for k in sorted(REQUIRED_KEYS)}), err)


# ----------------------------------------------------------------------------------------------
# Your own data: import, export-gt, eval-detections


def test_import_then_export_then_eval_detections(tmp_path, capsys):
    from helpers import R, write_activitynet

    src = write_activitynet(tmp_path / "src")
    out = tmp_path / "out"
    status, stdout, err = run(capsys, "data", "import", "activitynet", "--annotations",
                              str(src["gt"]), "--features", str(src["features"]), "--out",
                              str(out), "--hierarchy", "taxonomy:1", "--clips-per-second", str(R))
    assert status == 0 and err == ""
    database = src["json"]["database"]
    kept = [e for e in database.values() if e["subset"] != "testing"]
    train = sum(len(e["annotations"]) for e in kept if e["subset"] == "training")
    clips = sum(len(x) for name, x in src["arrays"].items()
                if database[name]["subset"] != "testing")
    config = out / "config.toml"
    lines = stdout.splitlines()
    fitted = lines.index("settings fitted to the data (--set overrides them):")
    assert lines[fitted + 1:fitted + 3] == [
        "  feature_size = 6: the features' D",
        "  encoded_feature_size = 6: the template's 2048 cut to D = 6 (a wider encoder on 6-d "
        "features only adds parameters)"]
    assert lines[-2] == "feature contract: unknown: the clip-grid files record none"
    assert lines[:fitted] + lines[-1:] == [
        "clip grid: --clips-per-second 1.5625 for all 10 videos",
        "videos: 6 training (subset 'training'), 4 test (subset 'validation'); left out: 2 videos "
        "of subset 'testing'",
        f"instances: {train} training, {sum(len(e['annotations']) for e in kept) - train} test",
        "classes: 7 fine, 2 coarse, taxonomy:1 (each label's ancestor at depth 1)",
        f"features: D = 6, {clips} clips, store {out / 'features'}",
        f"wrote {config}; train with: haan train --config {config}"]

    status, stdout, err = run(capsys, "data", "export-gt", "--config", str(config), "--out",
                              str(tmp_path / "gt.json"))
    assert status == 0 and err == ""
    test = sum(len(e["annotations"]) for e in kept if e["subset"] == "validation")
    assert stdout.splitlines() == [
        f"wrote {tmp_path / 'gt.json'}: 4 videos (subset test), {test} instances",
        f"score a detector with: haan eval-detections --ground-truth {tmp_path / 'gt.json'} "
        "--predictions PRED.json"]
    gt = json.loads((tmp_path / "gt.json").read_text())
    (tmp_path / "pred.json").write_text(json.dumps({"results": {
        name: [dict(a, score=0.5) for a in e["annotations"]]
        for name, e in gt["database"].items()}}))
    status, stdout, err = run(capsys, "eval-detections", "--ground-truth",
                              str(tmp_path / "gt.json"), "--predictions", str(tmp_path / "pred.json"))
    assert status == 0 and "avg      100.00" in stdout

    status, stdout, err = run(capsys, "data", "export-gt", "--config", str(config), "--out",
                              str(tmp_path / "gt.json"))
    assert (status, stdout) == (2, "")
    assert err == (f"haan: error: {tmp_path / 'gt.json'}: already exists; pass --overwrite to "
                   "replace it\n")


def test_import_errors_are_one_line(tmp_path, capsys):
    from helpers import write_activitynet

    src = write_activitynet(tmp_path / "src")
    (src["features"] / "vid04-tr.npy").unlink()
    argv = ["data", "import", "activitynet", "--annotations", str(src["gt"]), "--features",
            str(src["features"]), "--out", str(tmp_path / "out")]
    status, stdout, err = run(capsys, *argv, "--clips-per-second", "1.5")
    assert (status, stdout) == (2, "")
    assert err == (f"haan: error: {src['features']}: no features for 1 of 10 videos (first: "
                   "'vid04-tr': looked for vid04-tr.npy, .csv, with and without a v_ prefix)\n")
    with pytest.raises(SystemExit):  # argparse: the two grids exclude each other
        main([*argv, "--clips-per-second", "1.5", "--clips-per-video", "10"])
    assert "not allowed with argument" in capsys.readouterr().err
