"""Faults a user meets: unwritable, full or size-limited output places, a run killed in each
phase of an epoch, damaged or foreign state, clobbering, mixed checkpoint sets, a loss that
blows up, a closed pipe. Each must end in one `haan: error:` line and exit status 2 (or a quiet
exit for the pipe), with nothing half-written and nothing of the user's replaced."""

from __future__ import annotations

import errno
import json
import os
import resource
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from haan import fileio
from haan.cli import main
from haan.config import load_config
from haan.engine.checkpoints import MANIFEST

REPO = Path(__file__).resolve().parents[1]
# Pseudo labels every epoch, so that each phase happens in every epoch.
SETTINGS = ["--set", "hyperparameters.epochs=3", "--set", "haan.pseudo_label_interval=1"]


def train_args(config: Path, out: Path, *extra: str) -> list[str]:
    return ["train", "--config", str(config), *SETTINGS, "--output-dir", str(out), "--exp-name",
            "r", "--seed", "5", "--quiet", *extra]


def run_folder(config: Path, out: Path) -> Path:
    return out / load_config(config).dataset.name / "r"


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("haan: error: "), err
    return lines[0]


def leftovers(folder: Path) -> list[Path]:
    return sorted(folder.rglob(f"*{fileio.TMP_SUFFIX}"))


# ----------------------------------------------------------------------------------------------
# Output places that cannot be written


@pytest.fixture
def unwritable_folder(tmp_path, monkeypatch):
    """A folder nobody may write into. As root, permissions do not stop writes: then a read-only
    tmpfs where mounting is permitted, else the write refused by injection (EACCES)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)],
                             capture_output=True).returncode == 0
    if not mounted:
        def refuse(*args, **kwargs):
            raise PermissionError(errno.EACCES, "Permission denied")

        monkeypatch.setattr(fileio.os, "access", lambda *a, **k: False)
        monkeypatch.setattr(fileio.tempfile, "mkstemp", refuse)
    yield folder
    if mounted:
        subprocess.run(["umount", str(folder)])


def test_an_unwritable_output_folder_is_one_line(tiny_dataset, unwritable_folder, capsys):
    assert main(train_args(tiny_dataset, unwritable_folder / "out")) == 2
    line = one_error_line(capsys.readouterr().err)
    assert str(unwritable_folder) in line
    assert main(["synth", "--out", str(unwritable_folder), "--preset", "tiny"]) == 2
    assert "cannot write" in one_error_line(capsys.readouterr().err)
    assert list(unwritable_folder.iterdir()) == []


def test_an_output_folder_that_is_a_file_is_one_line(tiny_dataset, tmp_path, capsys):
    (tmp_path / "out").write_text("a file, not a folder\n")
    assert main(train_args(tiny_dataset, tmp_path / "out")) == 2
    assert "a parent of it is not a folder" in one_error_line(capsys.readouterr().err)
    run = tmp_path / "o2" / load_config(tiny_dataset).dataset.name
    run.parent.mkdir()
    run.write_text("")
    assert main(train_args(tiny_dataset, tmp_path / "o2")) == 2
    assert "not a folder" in one_error_line(capsys.readouterr().err)
    assert (tmp_path / "out").read_text() == "a file, not a folder\n"


@pytest.fixture
def small_disk(tmp_path, monkeypatch):
    """A 32 KiB file system (tmpfs where mounting is permitted; else ENOSPC injected once
    32 KiB have been written through haan.fileio)."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32k", "tmpfs", str(folder)],
                             capture_output=True).returncode == 0
    if not mounted:
        real_fdopen = os.fdopen
        written = [0]

        class Full:
            def __init__(self, handle):
                self._handle = handle

            def write(self, data):
                written[0] += len(data)
                if written[0] > 32 << 10:
                    raise OSError(errno.ENOSPC, "No space left on device")
                return self._handle.write(data)

            def __getattr__(self, name):
                return getattr(self._handle, name)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return self._handle.__exit__(*exc)

        monkeypatch.setattr(fileio.os, "fdopen", lambda *a, **k: Full(real_fdopen(*a, **k)))
    yield folder
    if mounted:
        subprocess.run(["umount", str(folder)])


def test_a_full_disk_is_one_line_and_leaves_nothing_half_written(small_disk, capsys):
    # tiny's features alone are larger than the disk
    assert main(["synth", "--out", str(small_disk / "tiny"), "--preset", "tiny"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "no space left on the device" in line
    assert leftovers(small_disk) == []
    assert not (small_disk / "tiny" / "config.toml").exists()


def test_a_file_size_limit_is_one_line(tmp_path):
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (16 << 10, 16 << 10))

    done = subprocess.run([sys.executable, "-m", "haan", "synth", "--out", str(tmp_path / "t"),
                           "--preset", "tiny"], capture_output=True, text=True, preexec_fn=limit)
    assert done.returncode == 2
    assert "file too large" in one_error_line(done.stderr)
    assert leftovers(tmp_path) == []


def test_a_closed_pipe_ends_quietly(tiny_dataset):
    """`haan data info --json | head -c 10`: the reader is gone before haan writes."""
    proc = subprocess.Popen([sys.executable, "-m", "haan", "data", "info", "--config",
                             str(tiny_dataset), "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait() == 128 + signal.SIGPIPE
    assert err == ""


# ----------------------------------------------------------------------------------------------
# A run killed with SIGKILL in each phase of an epoch, then resumed


KILL_HARNESS = textwrap.dedent("""
    import os, signal, sys
    import haan.engine.checkpoints, haan.engine.loop, haan.engine.state, haan.models.methods, torch
    phase, nth = sys.argv[1], int(sys.argv[2])
    calls = [0]

    def due():
        calls[0] += 1
        return calls[0] == nth

    def kill():
        os.kill(os.getpid(), signal.SIGKILL)

    def around(module, name):
        real = getattr(module, name)
        def wrapper(*args, **kwargs):
            if due():
                kill()
            return real(*args, **kwargs)
        setattr(module, name, wrapper)

    if phase == "pseudo_labels":
        around(haan.engine.loop, "make_pseudo_labels")
    elif phase == "batch":
        around(haan.models.methods, "haan_losses")
    elif phase == "evaluation":
        around(haan.engine.loop, "evaluate_model")
    elif phase == "state":  # half of training_state.pt written, then killed
        real_save = torch.save
        def save(obj, f, *args, **kwargs):
            if isinstance(obj, dict) and obj.get("format") == "haan-training-state" and due():
                f.write(b"PK" * 1000)
                f.flush()
                kill()
            return real_save(obj, f, *args, **kwargs)
        torch.save = save
    elif phase in ("best_checkpoints", "last_checkpoints"):  # two of the four files written
        real_write = haan.engine.checkpoints.fileio.write_bytes
        sets = [0]
        real_save_set = haan.engine.checkpoints.save_checkpoints
        def save_set(model, directory, epoch):
            sets[0] += 1
            target = (sets[0] == nth)
            def write(path, data):
                if target and path.name == "pseudo_label_classifier.pkl":
                    kill()
                return real_write(path, data)
            haan.engine.checkpoints.fileio.write_bytes = write
            try:
                return real_save_set(model, directory, epoch)
            finally:
                haan.engine.checkpoints.fileio.write_bytes = real_write
        haan.engine.state.save_checkpoints = save_set
        haan.engine.loop.save_checkpoints = save_set
    from haan.cli import main
    sys.exit(main(sys.argv[3:]))
""")

# (phase, which call is killed): epoch 1 of 0..2 for the loop's phases; the checkpoint sets of
# epoch 0, which always writes both (calls 1 and 2: best, then last/).
KILLS = [("pseudo_labels", 2), ("batch", 7), ("evaluation", 2), ("state", 2),
         ("best_checkpoints", 1), ("last_checkpoints", 2)]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    from haan.data.synth import generate

    base = tmp_path_factory.mktemp("faults")
    config = generate(base / "tiny", "tiny", seed=0)
    assert main(train_args(config, base / "full")) == 0
    return config, run_folder(config, base / "full")


@pytest.mark.parametrize("phase,nth", KILLS, ids=[k[0] for k in KILLS])
def test_a_run_killed_in_any_phase_resumes_to_the_same_results(uninterrupted, tmp_path, phase, nth):
    config, full = uninterrupted
    args = train_args(config, tmp_path)
    killed = subprocess.run([sys.executable, "-c", KILL_HARNESS, phase, str(nth), *args],
                            capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    run = run_folder(config, tmp_path)
    # The state of the epoch before is written in the background while the next one trains: a
    # kill can come before it is on disk, and then the run starts again (--resume auto).
    assert main([*args, "--resume", "auto"]) == 0
    assert (run / "results.csv").read_text() == (full / "results.csv").read_text()
    assert (run / "log.csv").read_text().count("\n") == (full / "log.csv").read_text().count("\n")
    assert leftovers(run) == []
    for folder in ("", "last"):
        mine, theirs = (json.loads((r / folder / MANIFEST).read_text()) for r in (run, full))
        assert mine == theirs  # same epoch, same bytes in every file
    assert main(["evaluate", "--config", str(config), "--models-dir", str(run), "--quiet"]) == 0


# ----------------------------------------------------------------------------------------------
# Damaged, foreign or mismatched state; clobbering; mixed checkpoint sets


@pytest.fixture
def finished_run(tiny_dataset, tmp_path):
    assert main(train_args(tiny_dataset, tmp_path)) == 0
    return tiny_dataset, run_folder(tiny_dataset, tmp_path)


@pytest.mark.parametrize("damage,message", [
    (lambda p: p.write_bytes(b""), "not a readable training state"),
    (lambda p: p.write_bytes(p.read_bytes()[:1000]), "not a readable training state"),
    (lambda p: torch.save({"weights": torch.zeros(2)}, p), "not a haan training state"),
    (lambda p: torch.save([1, 2, 3], p), "not a haan training state"),
])
def test_resume_with_a_damaged_or_foreign_state_is_one_line(finished_run, capsys, damage, message):
    config, run = finished_run
    damage(run / "training_state.pt")
    capsys.readouterr()
    assert main(train_args(config, run.parent.parent, "--resume")) == 2
    assert message in one_error_line(capsys.readouterr().err)


def test_resume_names_the_settings_that_differ(finished_run, capsys):
    config, run = finished_run
    capsys.readouterr()
    assert main(train_args(config, run.parent.parent, "--resume", "--set",
                           "hyperparameters.learning_rate=0.5", "--set",
                           "evaluation.alpha=0.2")) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "evaluation.alpha (was 0.1, now 0.2)" in line
    assert "hyperparameters.learning_rate (was 0.001, now 0.5)" in line


def test_resume_with_fewer_epochs_than_done_is_an_error(finished_run, capsys):
    config, run = finished_run
    capsys.readouterr()
    assert main(train_args(config, run.parent.parent, "--resume", "--set",
                           "hyperparameters.epochs=2")) == 2
    assert "already trained 3 epochs" in one_error_line(capsys.readouterr().err)


def test_a_run_folder_is_never_clobbered(finished_run, capsys):
    config, run = finished_run
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    capsys.readouterr()
    assert main(train_args(config, run.parent.parent)) == 2
    assert "already holds a run" in one_error_line(capsys.readouterr().err)
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before
    assert main(train_args(config, run.parent.parent, "--resume", "--overwrite")) == 2
    assert "choose one" in one_error_line(capsys.readouterr().err)
    # --overwrite starts again: same seed, same results; a file of the user's stays.
    (run / "notes.txt").write_text("mine\n")
    assert main(train_args(config, run.parent.parent, "--overwrite")) == 0
    assert (run / "results.csv").read_bytes() == before["results.csv"]
    assert (run / "notes.txt").read_text() == "mine\n"


def test_evaluate_never_replaces_the_training_results(finished_run, capsys):
    config, run = finished_run
    results = (run / "results.csv").read_bytes()
    assert main(["evaluate", "--config", str(config), "--models-dir", str(run), "--quiet"]) == 0
    assert (run / "results.csv").read_bytes() == results
    assert (run / "eval_results.csv").is_file() and (run / "eval_report.json").is_file()
    capsys.readouterr()
    assert main(["evaluate", "--config", str(config), "--models-dir", str(run), "--quiet"]) == 2
    assert "eval_results.csv: already exists" in one_error_line(capsys.readouterr().err)
    assert main(["evaluate", "--config", str(config), "--models-dir", str(run), "--quiet",
                 "--overwrite"]) == 0


def test_a_mixed_checkpoint_set_is_refused_everywhere(finished_run, tmp_path, capsys):
    config, run = finished_run
    # last/ is epoch 2; the best set is another epoch unless 2 was the best: force a mix anyway
    # by moving in a file from a different set.
    other = tmp_path / "other"
    assert main(train_args(config, other, "--seed", "9")) == 0
    (run_folder(config, other) / "encoder.pkl").replace(run / "encoder.pkl")
    capsys.readouterr()
    for args in (["evaluate", "--config", str(config), "--models-dir", str(run), "--quiet",
                  "--output-dir", str(tmp_path / "ev")],
                 train_args(config, tmp_path / "init", "--init-models-dir", str(run))):
        assert main(args) == 2
        assert "mixes epochs" in one_error_line(capsys.readouterr().err)


# ----------------------------------------------------------------------------------------------
# Numbers that cannot be right


def test_a_non_finite_loss_stops_the_run_resumably(tiny_dataset, tmp_path, monkeypatch, capsys):
    import haan.models.methods

    real = haan.models.methods.haan_losses
    calls = [0]

    def blow_up_in_epoch_1(*args, **kwargs):
        calls[0] += 1
        terms = real(*args, **kwargs)
        if calls[0] == 7:  # epoch 1, batch 1 (5 batches per epoch)
            return type(terms)(total=terms.total * float("nan"), mil=terms.mil, pseudo=terms.pseudo,
                               concept=terms.concept, coarse=terms.coarse)
        return terms

    monkeypatch.setattr(haan.models.methods, "haan_losses", blow_up_in_epoch_1)
    assert main(train_args(tiny_dataset, tmp_path)) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "epoch 1, batch 1: the loss is not finite" in line and "--resume" in line
    run = run_folder(tiny_dataset, tmp_path)
    state = torch.load(run / "training_state.pt", weights_only=True)
    assert state["progress"]["next_epoch"] == 1
    assert all(torch.isfinite(v).all() for v in state["model"].values())
    assert json.loads((run / MANIFEST).read_text())["epoch"] == 0  # the best is epoch 0's
    monkeypatch.setattr(haan.models.methods, "haan_losses", real)
    assert main(train_args(tiny_dataset, tmp_path, "--resume")) == 0
    assert main(train_args(tiny_dataset, tmp_path / "clean")) == 0
    assert (run / "results.csv").read_text() == (
        run_folder(tiny_dataset, tmp_path / "clean") / "results.csv").read_text()


def test_a_model_too_large_to_allocate_is_one_line(tiny_dataset, tmp_path, capsys):
    assert main(train_args(tiny_dataset, tmp_path, "--set",
                           "hyperparameters.encoded_feature_size=300000")) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "encoded_feature_size = 300000" in line and "GiB" in line
    assert not (tmp_path / "Synthetic").exists()


def test_threads_option_and_environment(tiny_dataset, tmp_path, monkeypatch, capsys):
    before = torch.get_num_threads()
    try:
        assert main(train_args(tiny_dataset, tmp_path, "--threads", "1")) == 0
        assert json.loads((run_folder(tiny_dataset, tmp_path) / "run.json").read_text())["threads"] == 1
        monkeypatch.setenv("HAAN_THREADS", "two")
        capsys.readouterr()
        assert main(train_args(tiny_dataset, tmp_path / "b")) == 2
        assert "HAAN_THREADS=two" in one_error_line(capsys.readouterr().err)
        assert main(train_args(tiny_dataset, tmp_path / "c", "--threads", "0")) == 2
    finally:
        torch.set_num_threads(before)


def test_version(capsys):
    import haan

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"haan {haan.__version__}"



def test_a_state_saved_before_a_setting_existed_resumes(finished_run, capsys):
    """A setting added to haan after the run was saved counts at the value the run used: its
    default, or the behaviour from before it existed (nn.Dropout's masks for dropout_masks)."""
    config, run = finished_run
    state = torch.load(run / "training_state.pt", weights_only=True)
    del state["config"]["haan"]["precision"]  # fp32, the default, as before it existed
    torch.save(state, run / "training_state.pt")
    assert main(train_args(config, run.parent.parent, "--resume", "--set",
                           "hyperparameters.epochs=4")) == 0
    state = torch.load(run / "training_state.pt", weights_only=True)
    del state["config"]["haan"]["dropout_masks"]  # a run from before fast masks existed
    torch.save(state, run / "training_state.pt")
    capsys.readouterr()
    assert main(train_args(config, run.parent.parent, "--resume", "--set",
                           "hyperparameters.epochs=5")) == 2
    assert "haan.dropout_masks (was 'torch', now 'fast')" in one_error_line(capsys.readouterr().err)
    assert main(train_args(config, run.parent.parent, "--resume", "--set",
                           "hyperparameters.epochs=5", "--set", 'haan.dropout_masks="torch"')) == 0
