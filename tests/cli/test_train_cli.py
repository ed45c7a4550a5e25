"""`haan train` and `haan evaluate` as a new user meets them: a state of another model size, a
models folder that does not exist, a run that fails before its first epoch, `--resume RUN_DIR`,
Ctrl-C. Each error is exactly one `haan: error: ...` line with exit status 2, and leaves the files
as they were."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from haan.cli import main
from haan.engine import loop
from haan.engine.state import STATE_FILE

QUIET = ["--quiet"]


def snapshot(folder: Path) -> dict[str, str]:
    """Every file and folder under `folder`, with each file's SHA-256."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            if p.is_file() else "folder" for p in sorted(folder.rglob("*"))}


def train(config: Path, out: Path, *extra: str, name: str = "r") -> int:
    return main(["train", "--config", str(config), "--output-dir", str(out), "--exp-name", name,
                 *QUIET, *extra])


def run_folder(out: Path, name: str = "r") -> Path:
    return out / "Synthetic" / name


def test_resuming_a_state_of_another_model_size_is_one_line_and_touches_nothing(
        tiny_dataset, tmp_path, capsys):
    two = ["--set", "hyperparameters.epochs=2"]
    assert train(tiny_dataset, tmp_path / "out", *two) == 0
    assert train(tiny_dataset, tmp_path / "out", *two, "--set",
                 "hyperparameters.encoded_feature_size=16", name="small") == 0
    run = run_folder(tmp_path / "out")
    # the smaller run's state under the run's own config: what a copied file looks like
    mine = torch.load(run / STATE_FILE, weights_only=True)
    other = torch.load(run_folder(tmp_path / "out", "small") / STATE_FILE, weights_only=True)
    torch.save({**other, "config": mine["config"]}, run / STATE_FILE)
    before = snapshot(run)
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--set", "hyperparameters.epochs=3",
                 *QUIET]) == 2
    assert capsys.readouterr().err == (
        f"haan: error: {run / STATE_FILE}: the saved model does not fit this config's model: "
        "expected encoder.hidden_layer.weight of shape (32, 32), found (16, 32)\n")
    assert snapshot(run) == before


def test_evaluate_with_a_models_folder_that_does_not_exist_creates_nothing(
        tiny_dataset, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    for extra in ([], ["--output-dir", "ev/a"]):
        assert main(["evaluate", "--config", str(tiny_dataset), "--models-dir", "runs/none",
                     *extra, *QUIET]) == 2
        assert capsys.readouterr().err == "haan: error: runs/none: no such folder (of checkpoints)\n"
    assert snapshot(tmp_path) == before


TOO_MANY_CONCEPTS = ["--set", "hyperparameters.num_visual_concepts=500"]


def test_a_run_that_fails_before_its_first_epoch_leaves_nothing_that_blocks_its_rerun(
        tiny_dataset, tmp_path, capsys):
    out = tmp_path / "out"
    assert train(tiny_dataset, out, *TOO_MANY_CONCEPTS, "--tensorboard") == 2
    err = capsys.readouterr().err
    assert err.startswith("haan: error: k-means sample too small: ") and err.count("\n") == 1
    assert not out.exists()  # the run folder and the parents it made are gone
    # the same command, fixed, runs without --overwrite or --resume
    assert train(tiny_dataset, out, "--set", "hyperparameters.epochs=1") == 0
    assert (run_folder(out) / "results.csv").is_file()


def test_a_failed_run_never_removes_what_the_user_had(tiny_dataset, tmp_path, capsys):
    run = run_folder(tmp_path / "out")
    (run / "last").mkdir(parents=True)
    (run / "notes.txt").write_text("mine")
    before = snapshot(tmp_path)
    assert train(tiny_dataset, tmp_path / "out", *TOO_MANY_CONCEPTS) == 2
    assert snapshot(tmp_path) == before
    # folders that were there stay, even empty ones
    (run / "notes.txt").unlink()
    assert train(tiny_dataset, tmp_path / "out", *TOO_MANY_CONCEPTS) == 2
    assert snapshot(tmp_path / "out") == {"Synthetic": "folder", "Synthetic/r": "folder",
                                          "Synthetic/r/last": "folder"}


def interrupt_at(monkeypatch, at_epoch: int) -> None:
    """Ctrl-C while epoch `at_epoch` trains."""
    real = loop.run_epoch

    def run_epoch(s, run, epoch):
        if epoch == at_epoch:
            raise KeyboardInterrupt
        return real(s, run, epoch)

    monkeypatch.setattr(loop, "run_epoch", run_epoch)


def test_ctrl_c_says_the_command_that_resumes_and_that_command_finishes_the_run(
        tiny_dataset, tmp_path, capsys, monkeypatch):
    settings = ["--set", "hyperparameters.epochs=3", "--set", "hyperparameters.learning_rate=0.002",
                "--seed", "5"]
    assert train(tiny_dataset, tmp_path / "straight", *settings) == 0
    monkeypatch.chdir(tmp_path)
    interrupt_at(monkeypatch, 2)
    capsys.readouterr()
    assert train(tiny_dataset, Path("out"), *settings) == 130
    run = run_folder(Path("out"))
    assert capsys.readouterr().err == ("haan: interrupted\n"
                                       f"haan: to continue the run: haan train --resume {run}\n")
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    # no --config, no --set, no --seed: the run's own
    assert main(["train", "--resume", str(run), *QUIET]) == 0
    assert (run / "results.csv").read_text() == (
        run_folder(tmp_path / "straight") / "results.csv").read_text()


def test_ctrl_c_before_the_first_epoch_saved_leaves_nothing(tiny_dataset, tmp_path, capsys,
                                                            monkeypatch):
    interrupt_at(monkeypatch, 0)
    assert train(tiny_dataset, tmp_path / "out") == 130
    assert capsys.readouterr().err == ("haan: interrupted\nhaan: no epoch was saved; the same "
                                       "command starts the run again\n")
    assert not (tmp_path / "out").exists()


def test_resume_run_dir_extends_the_run_with_its_own_config(tiny_dataset, tmp_path, capsys):
    settings = ["--set", "hyperparameters.learning_rate=0.002", "--seed", "5"]
    assert train(tiny_dataset, tmp_path / "straight", *settings,
                 "--set", "hyperparameters.epochs=3") == 0
    assert train(tiny_dataset, tmp_path / "out", *settings,
                 "--set", "hyperparameters.epochs=2") == 0
    run = run_folder(tmp_path / "out")
    assert main(["train", "--resume", str(run), "--set", "hyperparameters.epochs=3", *QUIET]) == 0
    assert (run / "results.csv").read_text() == (
        run_folder(tmp_path / "straight") / "results.csv").read_text()
    assert "learning_rate = 0.002" in (run / "config.toml").read_text()
    # with --config, the config must be the run's (as the form with --exp-name)
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--config", str(tiny_dataset), *QUIET]) == 2
    assert "the run was made with another config" in capsys.readouterr().err


@pytest.mark.parametrize("argv,message", [
    ([], "--config: needed, except with --resume RUN_DIR (the run's own config)"),
    (["--resume", "{tmp}/none"], "{tmp}/none: no such run folder (--resume RUN_DIR)"),
    (["--resume", "{tmp}", "--exp-name", "x"],
     "--resume RUN_DIR names the run folder: leave out --exp-name, --output-dir and --seeds "
     "(resume a seed's own folder, or the experiment with its first command and --resume)"),
    (["--resume", "{tmp}"], "{tmp}: no config.toml, so not a run that saved an epoch: nothing to "
                            "resume"),
])
def test_resume_run_dir_errors(tmp_path, capsys, argv, message):
    assert main(["train", *[a.format(tmp=tmp_path) for a in argv], *QUIET]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"haan: error: {message.format(tmp=tmp_path)}\n"


def test_seeds_that_fail_before_an_epoch_leave_no_experiment_folder_and_ctrl_c_says_how_to_go_on(
        tiny_dataset, tmp_path, capsys, monkeypatch):
    assert train(tiny_dataset, tmp_path / "out", "--seeds", "1,2", *TOO_MANY_CONCEPTS) == 2
    assert not (tmp_path / "out").exists()
    interrupt_at(monkeypatch, 1)
    capsys.readouterr()
    args = ["--seeds", "1,2", "--set", "hyperparameters.epochs=2"]
    assert train(tiny_dataset, tmp_path / "out", *args) == 130
    assert capsys.readouterr().err == ("haan: interrupted\nhaan: to continue: the same command "
                                       "with --resume (finished seeds are not trained again)\n")
    monkeypatch.undo()
    # --resume EXP_DIR on the experiment folder says what to run instead.
    exp = run_folder(tmp_path / "out")
    assert main(["train", "--resume", str(exp), *QUIET]) == 2
    assert capsys.readouterr().err == (
        f"haan: error: {exp}: a folder of seeds (seed_1), not one run: continue them all with the "
        "command that started them plus --resume (finished seeds are not trained again), or one "
        f"seed with --resume {exp / 'seed_1'}\n")
    assert train(tiny_dataset, tmp_path / "out", *args, "--resume") == 0
    assert (run_folder(tmp_path / "out") / "summary.csv").is_file()


def test_resume_of_a_seeds_folder_lists_its_seeds_in_order(tmp_path, capsys):
    for seed in (10, 2, 1):
        (tmp_path / f"seed_{seed}").mkdir()
    assert main(["train", "--resume", str(tmp_path), *QUIET]) == 2
    assert capsys.readouterr().err.startswith(
        f"haan: error: {tmp_path}: a folder of seeds (seed_1, seed_2, seed_10), not one run")
