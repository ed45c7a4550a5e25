"""One rule for every output path: the missing parent folders of `--out FILE` (and `--output`) are
created, as `--plot DIR` and `--srt DIR` create theirs, for every command that writes a file; a
path under a file is one error line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from haan.cli import main


def test_every_command_creates_the_parents_of_its_output_file(tiny_dataset, tmp_path, capsys,
                                                              monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = str(tiny_dataset)
    assert main(["train", "--config", config, "--set", "hyperparameters.epochs=1",
                 "--output-dir", "runs", "--exp-name", "r", "--quiet"]) == 0
    run = "runs/Synthetic/r"
    features = np.load(tiny_dataset.parent / "features.npy", allow_pickle=True)
    np.save(tmp_path / "v0.npy", np.asarray(features[0], dtype=np.float32))
    commands = {
        "gt/test/gt.json": ["data", "export-gt", "--config", config, "--out", "gt/test/gt.json"],
        "det/a/b.json": ["predict", "v0.npy", "--run", run, "--out", "det/a/b.json", "--quiet"],
        "rep/x/r.json": ["eval-detections", "--ground-truth", "gt/test/gt.json", "--predictions",
                         "det/a/b.json", "--output", "rep/x/r.json"],
        "figs/ap/x.png": ["plot", "ap", "rep/x/r.json", "--out", "figs/ap/x.png"],
        "figs/t/x.png": ["plot", "training", run, "--out", "figs/t/x.png"],
        "figs/v/x.png": ["plot", "video", "--run", run, "--features", "v0.npy",
                         "--clips-per-second", "1.5", "--out", "figs/v/x.png", "--quiet"],
        "html/a/report.html": ["report", "--predictions", "det/a/b.json", "--ground-truth",
                               "gt/test/gt.json", "--out", "html/a/report.html"],
    }
    for out, argv in commands.items():
        assert main(argv) == 0, argv
        assert (tmp_path / out).is_file() and (tmp_path / out).stat().st_size > 0, out
    assert "results" in json.loads((tmp_path / "det/a/b.json").read_text())
    capsys.readouterr()
    (tmp_path / "file").write_text("")
    assert main(["plot", "training", run, "--out", "file/x.png"]) == 2
    assert capsys.readouterr().err == ("haan: error: file/x.png: cannot write the file (a parent "
                                       "of it is not a folder)\n")
    assert Path("file").read_text() == ""
