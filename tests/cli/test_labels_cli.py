"""`haan data import labels` end to end: a run trained from video-level labels only keeps its last
epoch (no segments to choose one on), scores the test set once, evaluates and predicts; bad rows
are one `haan: error:` line each."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from haan.cli import main

TINY = ["hyperparameters.epochs=3", "hyperparameters.encoded_feature_size=8",
        "hyperparameters.batch_size=2", "hyperparameters.learning_rate=0.001"]
R = 1.5


def run(capsys, *argv) -> tuple[int, str, str]:
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def sets(overrides: list[str]) -> list[str]:
    return [x for o in overrides for x in ("--set", o)]


@pytest.fixture(scope="module")
def labelled(tmp_path_factory) -> dict:
    """8 training videos with labels only, 3 test videos with segments; 4-d features at 1.5
    clips per second."""
    root = tmp_path_factory.mktemp("labels")
    feats = root / "feats"
    feats.mkdir()
    rng = np.random.default_rng(0)
    classes = ["jump", "spin", "flip"]
    rows, database = ["video,label"], {}
    for k in range(11):
        name = f"v{k:02d}"
        T = int(rng.integers(20, 40))
        np.save(feats / f"{name}.npy", rng.standard_normal((T, 4)).astype(np.float32))
        if k < 8:
            rows += [f"{name},{classes[k % 3]}"] + ([f"{name},{classes[(k + 1) % 3]}"]
                                                    if k % 2 else [])
        else:
            database[name] = {"subset": "training", "duration": T / R, "annotations": [
                {"segment": [1.0, 4.0], "label": classes[k % 3]}]}
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    (root / "gt.json").write_text(json.dumps({"database": database}))
    return {"root": root, "feats": feats, "labels": root / "labels.csv", "gt": root / "gt.json",
            "data": root / "data"}


def test_import_train_evaluate_predict(labelled, capsys):
    data, root = labelled["data"], labelled["root"]
    status, out, err = run(capsys, "data", "import", "labels", "--labels", labelled["labels"],
                           "--features", labelled["feats"], "--annotations", labelled["gt"],
                           "--clips-per-second", R, "--out", data)
    assert status == 0, err
    lines = out.splitlines()
    assert lines[:6] == [
        "clip grid: --clips-per-second 1.5 for all 11 videos",
        f"videos: 8 training, labels only (from {labelled['labels']}); 3 test, with segments "
        f"(from {labelled['gt']})",
        "labels: 12 (video, class) pairs for training; 3 test instances",
        "classes: 3 fine, 1 coarse, single (one coarse class, 'all')",
        f"features: D = 4, {sum(np.load(p).shape[0] for p in labelled['feats'].iterdir())} "
        f"clips, store {data / 'features'}",
        'model selection: the last epoch ([haan] select_epoch = "last"): no training video has '
        "segments to score an epoch on"]

    status, out, err = run(capsys, "train", "--config", data / "config.toml", *sets(TINY),
                           "--output-dir", root / "out", "--exp-name", "r", "--quiet",
                           "--threads", "1")
    assert status == 0, err
    run_dir = root / "out" / "data" / "r"
    assert ('model selection: the last epoch ([haan] select_epoch = "last"); the test set (3 '
            "videos with segments) is scored once, after training") in out.splitlines()
    assert "kept the last epoch 2; on the test set:" in out
    with open(run_dir / "results.csv") as f:
        results = list(csv.reader(f))
    assert not (run_dir / "test_results.csv").exists()  # no epoch chosen on another set
    assert len(results) == 2 and float(results[1][0]) == 2  # the header and the last epoch
    assert json.loads((run_dir / "run.json").read_text())["feature_contract"] is None

    # evaluate gives the numbers training printed for the kept epoch.
    status, out, err = run(capsys, "evaluate", "--config", run_dir / "config.toml",
                           "--models-dir", run_dir, "--output-dir", root / "ev", "--quiet",
                           "--threads", "1", "--no-plots")
    assert status == 0, err
    with open(root / "ev" / "eval_results.csv") as f:
        assert list(csv.reader(f)) == results

    # Labels-only videos in the test set (the split moved back by two): only the others scored.
    status, out, err = run(capsys, "evaluate", "--config", run_dir / "config.toml",
                           "--models-dir", run_dir, "--output-dir", root / "ev2", "--quiet",
                           "--threads", "1", "--no-plots", "--set",
                           "stats.num_training_videos=6")
    assert status == 0, err
    assert ("scored the 3 of 5 test videos that have segments; 2 have video-level labels only"
            in out.splitlines())
    with open(root / "ev2" / "eval_results.csv") as f:
        assert list(csv.reader(f)) == results

    # predict works as for any run.
    status, out, err = run(capsys, "predict", "--run", run_dir, labelled["feats"] / "v09.npy",
                           "--out", root / "pred.json", "--quiet", "--threads", "1")
    assert status == 0 and "the run records no feature contract" in err
    assert list(json.loads((root / "pred.json").read_text())["results"]) == ["v09"]


def test_validation_without_segments_keeps_the_last_epoch(labelled, capsys):
    data, root = labelled["data"], labelled["root"]
    if not (data / "config.toml").is_file():
        assert main(["data", "import", "labels", "--labels", str(labelled["labels"]),
                     "--features", str(labelled["feats"]), "--annotations", str(labelled["gt"]),
                     "--clips-per-second", str(R), "--out", str(data)]) == 0
        capsys.readouterr()
    status, out, err = run(capsys, "train", "--config", data / "config.toml", *sets(TINY),
                           "--set", "haan.select_epoch=best", "--set",
                           "haan.validation_fraction=0.25", "--output-dir", root / "out",
                           "--exp-name", "v", "--quiet", "--threads", "1")
    assert status == 0, err
    assert ("model selection: the last epoch: none of the 2 validation videos has segments to "
            "score; the test set (3 videos with segments) is scored once, after training"
            ) in out.splitlines()
    assert "kept the last epoch 2; on the test set:" in out


def test_no_segments_anywhere_scores_nothing_and_says_so(labelled, tmp_path, capsys):
    status, _, err = run(capsys, "data", "import", "labels", "--labels", labelled["labels"],
                         "--features", labelled["feats"], "--clips-per-second", R, "--out",
                         tmp_path / "d")
    assert status == 0, err
    status, out, err = run(capsys, "train", "--config", tmp_path / "d" / "config.toml",
                           *sets(TINY), "--output-dir", tmp_path / "out", "--exp-name", "r",
                           "--quiet", "--threads", "1")
    assert status == 0, err
    lines = out.splitlines()
    assert ('model selection: the last epoch ([haan] select_epoch = "last"); no test video has '
            "segments: nothing is scored") in lines
    assert lines[-2:] == ["kept the last epoch 2 (no test video to score)",
                          f"checkpoints and results.csv in {tmp_path / 'out' / 'd' / 'r'}"]


def test_bad_rows_are_a_line_each(labelled, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("video,label\nv00,jump\nnope,jump\nv01,\nv00,jump\n")
    status, out, err = run(capsys, "data", "import", "labels", "--labels", bad, "--features",
                           labelled["feats"], "--clips-per-second", R, "--out", tmp_path / "d")
    assert (status, out) == (2, "")
    assert err.splitlines() == [
        f"haan: error: {bad}: row 3: unknown video 'nope': no nope.npy or .csv in "
        f"{labelled['feats']}",
        f"haan: error: {bad}: row 4: video 'v01': empty label",
        f"haan: error: {bad}: row 5: video 'v00', label 'jump': a duplicate",
        f"haan: error: {bad}: 3 bad rows; nothing imported"]
    assert not (tmp_path / "d").exists()


def test_the_recorded_contract_is_printed_and_shown(tmp_path, capsys):
    """Features with haan extract's clip-grid files (written by hand here): the import prints the
    contract it records, `haan data info` shows it."""
    sha = "ab" * 32
    contract = {"extractor": "haan-i3d", "weights_sha256": {"rgb": sha}, "streams": "rgb",
                "fps": 25.0, "clip_frames": 16, "stride": 16, "feature_dim": 4,
                "clips_per_second": 1.5625}
    feats = tmp_path / "feats"
    feats.mkdir()
    for k in range(3):
        np.save(feats / f"v{k}.npy", np.ones((10 + k, 4), dtype=np.float32))
        (feats / f"v{k}.json").write_text(json.dumps({"clips_per_second": 1.5625,
                                                      "contract": contract}))
    labels = tmp_path / "labels.csv"
    labels.write_text("video,label\nv0,a\nv1,b\nv2,a\n")
    data = tmp_path / "data"
    status, out, err = run(capsys, "data", "import", "labels", "--labels", labels, "--features",
                           feats, "--out", data)
    assert status == 0, err
    assert (f"feature contract: haan-i3d, rgb, D = 4, 1.5625 clips/s; recorded in "
            f"{data / 'clip_grid.json'}") in out.splitlines()
    status, out, err = run(capsys, "data", "info", "--config", data / "config.toml")
    row = next(line for line in out.splitlines() if line.startswith("feature contract"))
    assert row.split("  ")[-1].strip() == (f"haan-i3d, rgb (weights SHA-256: rgb {sha}), 25 fps, "
                                           "16-frame clips every 16 frames, D = 4, 1.5625 "
                                           "clips/s")
    status, out, err = run(capsys, "data", "info", "--config", data / "config.toml", "--json")
    assert json.loads(out)["feature_contract"] == contract
