"""Training on several processes launched by torchrun (gloo on the CPU): the same run as one
process, on one "machine" or two, and after one process is killed and torchrun restarts it."""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from haan.cli import main
from haan.config import load_config
from haan.runtime.distributed import Processes, my_chunks, split

# 17 training videos (one held out for validation) in global batches of 4: the last batch has one
# video, so one of two processes gets none. Pseudo labels only at epoch 0 (the default interval 5),
# so the saved state holds the first epoch's labels.
SETTINGS = ["--set", "hyperparameters.epochs=3", "--set", "haan.validation_fraction=0.05",
            "--set", "hyperparameters.batch_size=4", "--seed", "3", "--quiet"]


def read_rows(path: Path) -> list[list[float]]:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))[1:]
    return [[float(v) if v not in ("", "nan") else float("nan") for v in r] for r in rows]


# Each process on one thread: two processes that each spin two threads on a machine that is busy
# with other work can run ~50x slower (the reason for `--threads`); the timeouts are only a guard
# against a hang, generous for a loaded 2-core CI machine.
ONE_THREAD = {"HAAN_THREADS": "1"}
TIMEOUT = 900


def torchrun(*args: str, env: dict | None = None,
             timeout: int = TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", *args],
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **ONE_THREAD, **(env or {})})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train_args(config: Path, out: Path, name: str) -> list[str]:
    return ["train", "--config", str(config), *SETTINGS, "--output-dir", str(out), "--exp-name",
            name]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The tiny dataset, a one-process run and the same run on two processes."""
    from haan.data.synth import generate

    base = tmp_path_factory.mktemp("dist")
    config = generate(base / "tiny", "tiny", seed=0)
    assert main(train_args(config, base, "one")) == 0
    done = torchrun("--standalone", "--nproc_per_node", "2", "-m", "haan",
                    *train_args(config, base, "two"))
    assert done.returncode == 0, done.stderr[-3000:]
    folder = base / load_config(config).dataset.name
    return config, base, folder / "one", folder / "two", done


def assert_same_run(a: Path, b: Path, exact_labels: bool = True) -> None:
    sa, sb = (torch.load(r / "training_state.pt", weights_only=True) for r in (a, b))
    if exact_labels:
        assert torch.equal(sa["progress"]["pseudo"]["labels"], sb["progress"]["pseudo"]["labels"])
    la, lb = read_rows(a / "log.csv"), read_rows(b / "log.csv")
    assert len(la) == len(lb)
    losses = slice(1, -2)  # loss, each loss, (HAAN: k-means inertia), not avg.mAP or seconds
    for ra, rb in zip(la, lb):
        np.testing.assert_allclose(rb[losses], ra[losses], rtol=1e-5)
    for name in ("results.csv", "test_results.csv"):
        np.testing.assert_allclose(read_rows(b / name), read_rows(a / name), atol=0.05)


def test_two_processes_compute_what_one_does(runs):
    _, _, one, two, done = runs
    assert_same_run(one, two)
    assert "training Synthetic" in done.stdout and "2 processes (cpu)" in done.stdout
    assert done.stdout.count("best epoch") == 1  # only the main process reports


def test_two_machines_compute_what_one_does(runs):
    """Two torchrun launches, one per "node", meeting at a local rendezvous."""
    config, base, one, _, _ = runs
    port = str(free_port())
    launches = [subprocess.Popen(
        [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc_per_node", "1",
         "--node_rank", str(rank), "--rdzv_backend", "c10d", "--rdzv_endpoint", f"127.0.0.1:{port}",
         "--rdzv_id", "haan-test", "-m", "haan", *train_args(config, base, "nodes")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **ONE_THREAD})
        for rank in (0, 1)]
    try:
        for launch in launches:
            out, err = launch.communicate(timeout=TIMEOUT)
            assert launch.returncode == 0, err[-3000:]
    finally:
        for launch in launches:  # a launch left waiting for its peer must not outlive the test
            if launch.poll() is None:
                launch.kill()
                launch.communicate()
    assert_same_run(one, base / load_config(config).dataset.name / "nodes")


KILL_ONE_PROCESS = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    import haan.models.methods

    marker = Path(sys.argv[1])
    real = haan.models.methods.haan_losses
    calls = [0]

    def losses(*args, **kwargs):
        calls[0] += 1
        # the second process, in the middle of epoch 1 (5 batches an epoch), once
        if os.environ["RANK"] == "1" and calls[0] == 7 and not marker.exists():
            marker.write_text("killed")
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)

    haan.models.methods.haan_losses = losses
    from haan.cli import main
    from haan.runtime.launch import exit_process
    exit_process(main(sys.argv[2:]))  # as the haan program ends
""")


def test_a_killed_process_is_restarted_and_the_run_continues(runs, tmp_path):
    config, base, _, two, _ = runs
    harness = tmp_path / "harness.py"
    harness.write_text(KILL_ONE_PROCESS)
    marker = tmp_path / "killed"
    done = torchrun("--standalone", "--nproc_per_node", "2", "--max-restarts", "1",
                    "--monitor-interval", "0.5", str(harness), str(marker),
                    *train_args(config, tmp_path, "r"), "--resume", "auto")
    assert done.returncode == 0, done.stderr[-3000:]
    assert marker.read_text() == "killed"  # it did die, and torchrun restarted it
    run = tmp_path / load_config(config).dataset.name / "r"
    assert "resuming" in done.stdout
    assert (run / "results.csv").read_text() == (two / "results.csv").read_text()


TWO_RUNS = textwrap.dedent("""
    import sys
    from pathlib import Path
    import torch
    from haan.runtime import distributed
    from haan.config import load_config
    from haan.data import load_dataset
    from haan.engine.loop import train

    config_path, out = sys.argv[1], Path(sys.argv[2])
    procs, _ = distributed.start("cpu")
    for name, overrides in [("wtalc", ['model.method="wtalc"']),
                            ("no_pseudo", ["hyperparameters.lambda_2=0"])]:
        config = load_config(config_path, [*overrides, *sys.argv[3:]])
        train(config, load_dataset(config), out / name, seed=3, device=torch.device("cpu"),
              progress=False, procs=procs)
    distributed.stop(procs)
    from haan.runtime.launch import exit_process
    exit_process(0)  # as the haan program ends: no interpreter finalization with gloo alive
""")


def test_wtalc_and_an_ablation_on_two_processes(runs, tmp_path):
    """W-TALC (each process takes whole pairs of its batches of 10) and HAAN without L_pseudo
    (the pseudo-label classifier gets no gradient: DDP looks for unused parameters), in one
    torchrun launch: what one process computes."""
    config = runs[0]
    settings = ["hyperparameters.epochs=3", "haan.validation_fraction=0.05",
                "hyperparameters.batch_size=4"]
    harness = tmp_path / "two_runs.py"
    harness.write_text(TWO_RUNS)
    done = torchrun("--standalone", "--nproc_per_node", "2", str(harness), str(config),
                    str(tmp_path / "two"), *settings)
    assert done.returncode == 0, done.stderr[-3000:]
    for name, overrides in [("wtalc", ["--set", 'model.method="wtalc"']),
                            ("no_pseudo", ["--set", "hyperparameters.lambda_2=0"])]:
        assert main(["train", "--config", str(config), *overrides,
                     *(x for s in settings for x in ("--set", s)), "--seed", "3", "--quiet",
                     "--output-dir", str(tmp_path / "one"), "--exp-name", name]) == 0
        one = tmp_path / "one" / load_config(config).dataset.name / name
        assert_same_run(one, tmp_path / "two" / name, exact_labels=name != "wtalc")


def test_a_batch_size_that_does_not_split_is_an_error(runs, tmp_path):
    config = runs[0]
    done = torchrun("--standalone", "--nproc_per_node", "2", "-m", "haan",
                    "train", "--config", str(config), "--set", "hyperparameters.batch_size=3",
                    "--output-dir", str(tmp_path), "--exp-name", "x", "--quiet")
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("haan: error:")]
    assert errors == ["haan: error: " + f"{config}: [hyperparameters] batch_size = 3 must be "
                      "divisible by the number of processes (2): it is the global batch, split "
                      "between them"]


def test_split_and_chunks_cover_everything_once():
    for world in (1, 2, 3, 5):
        for count in (0, 1, 4, 7, 17):
            parts = [split(count, Processes(rank=r, world_size=world)) for r in range(world)]
            assert parts[0][0] == 0 and parts[-1][1] == count
            assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))
            assert max(b - a for a, b in parts) - min(b - a for a, b in parts) <= 1
            chunks = sorted(c for r in range(world)
                            for c in my_chunks(count, Processes(rank=r, world_size=world)))
            assert chunks == list(range(count))
