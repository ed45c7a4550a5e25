"""A run folder predicts on its own: run.json records what `haan predict` needs of the training
dataset (haan.data.dataset_card: class names, hierarchy, clip rate, clip grid) beside the feature
contract, so that a run copied to another machine, or whose dataset has moved, predicts exactly
as before. A run recorded before the card existed still reads its dataset's files."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from haan.cli import main
from haan.errors import DataWarning

from helpers import GROUPS, R


def run(capsys, *argv) -> tuple[int, str, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # the unknown feature contract
        status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


# What docs/predict.md says is enough of a run folder to share a model.
SHARED_FILES = ("config.toml", "run.json", "checkpoints.json", "encoder.pkl",
                "fine_level_classifier.pkl")


def moved(run_dir: Path, data: Path, copy: Path, card: bool = True) -> Path:
    """A copy of the run's SHARED_FILES whose config.toml names a dataset folder that is not there
    (as on another machine); without `card`, its run.json records no card (an older haan's)."""
    copy.mkdir(parents=True)
    for name in SHARED_FILES:
        shutil.copy(run_dir / name, copy / name)
    config = (copy / "config.toml").read_text()
    assert str(data) in config
    (copy / "config.toml").write_text(config.replace(str(data), str(copy.parent / "gone")))
    if not card:
        record = json.loads((copy / "run.json").read_text())
        del record["dataset"]
        (copy / "run.json").write_text(json.dumps(record))
    return copy


def test_run_json_records_what_predict_needs_of_the_dataset(thumos_run):
    card = json.loads((thumos_run["run"] / "run.json").read_text())["dataset"]
    # By hand: the import names the fine classes from the ground truth, the coarse ones from
    # groups.json, both sorted; the rate is --clips-per-second; no clip-grid files, no grid.
    fine = json.loads((thumos_run["data"] / "class_names.json").read_text())["fine"]
    coarse = sorted(GROUPS)
    parent = {c: g for g, cs in GROUPS.items() for c in cs}
    assert card == {"fine_names": fine, "coarse_names": coarse,
                    "fine_to_coarse": [coarse.index(parent[c]) for c in fine],
                    "clips_per_second": R, "clip_grid": None}


def test_a_moved_run_predicts_as_before(thumos_run, tmp_path, capsys):
    tests = sorted(thumos_run["features"].glob("*.npy"))[-5:]
    status, _, err = run(capsys, "predict", "--run", thumos_run["run"], *tests, "--out",
                         tmp_path / "here.json", "--quiet", "--threads", "1")
    assert status == 0, err
    copy = moved(thumos_run["run"], thumos_run["data"], tmp_path / "elsewhere" / "r")
    status, _, err = run(capsys, "predict", "--run", copy, *tests, "--out",
                         tmp_path / "there.json", "--plot", tmp_path / "plots", "--quiet",
                         "--threads", "1")
    assert (status, err) == (0, "")
    # The same class names, the same rate: the same file, byte for byte.
    assert (tmp_path / "there.json").read_bytes() == (tmp_path / "here.json").read_bytes()
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        f"{p.stem}.png" for p in tests]
    # `haan plot video` of a feature file needs no dataset either.
    status, _, err = run(capsys, "plot", "video", "--run", copy, "--features", tests[0],
                         "--out", tmp_path / "one.png", "--threads", "1")
    assert (status, err) == (0, "") and (tmp_path / "one.png").stat().st_size > 0


def test_a_run_without_a_card_reads_its_dataset(thumos_run, tmp_path, capsys):
    test = sorted(thumos_run["features"].glob("*.npy"))[-1]
    old = moved(thumos_run["run"], thumos_run["data"], tmp_path / "old" / "r", card=False)
    status, out, err = run(capsys, "predict", "--run", old, test, "--out", tmp_path / "p.json")
    gone = tmp_path / "old" / "gone"
    assert (status, out, err) == (2, "", f"haan: error: {gone / 'class_names.json'}: no such "
                                         "file (config [haan] class_names_path)\n")
    # With its dataset where config.toml says: as a run with a card.
    shutil.copytree(thumos_run["data"], gone)
    status, _, err = run(capsys, "predict", "--run", old, test, "--out", tmp_path / "p.json",
                         "--quiet", "--threads", "1")
    assert status == 0, err
    status, _, err = run(capsys, "predict", "--run", thumos_run["run"], test, "--out",
                         tmp_path / "q.json", "--quiet", "--threads", "1")
    assert status == 0, err
    assert (tmp_path / "p.json").read_bytes() == (tmp_path / "q.json").read_bytes()


def test_video_files_take_the_runs_recorded_grid(video_run, tmp_path, capsys):
    pytest.importorskip("av")
    from video_helpers import constant_rate

    card = json.loads((video_run / "run.json").read_text())["dataset"]
    assert card["clip_grid"] == {"fps": 25.0, "clip_frames": 16, "stride": 16, "streams": "rgb"}
    copy = moved(video_run, video_run.parent.parent.parent / "data", tmp_path / "away" / "v")
    video = constant_rate(tmp_path / "match.mp4", seconds=1.6, fps=25, height=48, width=64)
    status, out, err = run(capsys, "predict", "--run", copy, video, "--random-weights", "--out",
                           tmp_path / "p.json", "--scores-dir", tmp_path / "s", "--quiet")
    assert status == 0, err
    # 40 frames at 25 fps on the recorded grid: clips [0, 16) and [16, 32), 1.5625 clips/s.
    assert out.splitlines()[1].split()[:3] == ["match", "2", "1.3"]
    assert np.load(tmp_path / "s" / "match.npy").shape == (2, len(card["fine_names"]))
    names = set(card["fine_names"])
    assert {d["label"] for d in json.loads((tmp_path / "p.json").read_text())["results"]["match"]
            } <= names


def test_a_broken_card_is_one_line(thumos_run, tmp_path, capsys):
    test = sorted(thumos_run["features"].glob("*.npy"))[-1]
    for change, message in [
        ({"fine_to_coarse": [0]}, "dataset: 1 coarse ids for 20 fine classes"),
        ({"clips_per_second": -1.0}, "dataset: clips_per_second -1.0: expected a positive "
                                     "number or null"),
        ({"fine_names": "x"}, "dataset: 'fine_names' is 'x'"),
        ({"clip_grid": {"fps": 25}}, 'dataset: clip_grid: expected {"fps", "clip_frames", '
                                     '"stride", "streams"}'),
    ]:
        copy = tmp_path / str(len(list(tmp_path.iterdir())))
        shutil.copytree(thumos_run["run"], copy)
        record = json.loads((copy / "run.json").read_text())
        record["dataset"] |= change
        (copy / "run.json").write_text(json.dumps(record))
        status, out, err = run(capsys, "predict", "--run", copy, test, "--out",
                               tmp_path / "p.json")
        assert (status, out, err) == (2, "", f"haan: error: {copy / 'run.json'}: {message}\n")
