"""Runs as the command lines start them: the paper's main.py, threads, devices, model size."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from haan.config import load_config
from haan.errors import InputError
from haan.models.methods import check_model_fits
from haan.runtime.device import resolve_device

REPO = Path(__file__).resolve().parents[2]


def test_papers_command_line(tiny_dataset, tmp_path):
    env_cmd = [sys.executable, str(REPO / "main.py"), "--dataset", "FineGym", "--config", str(tiny_dataset)]
    done = subprocess.run([*env_cmd, "--exp-name", "p", "--output-dir", str(tmp_path), "--device", "cpu"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr
    run = tmp_path / "FineGym" / "p"  # the paper's folder: OUTPUT_DIR/<--dataset>/EXP_NAME
    assert (run / "encoder.pkl").is_file() and (run / "results.csv").is_file()
    done = subprocess.run([*env_cmd, "--evaluation-only", "--input-models-dir", str(run), "--exp-name", "q",
                           "--output-dir", str(tmp_path), "--device", "cpu"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr
    # The paper's file names, and no figure.
    assert sorted(p.name for p in (tmp_path / "FineGym" / "q").iterdir()) == [
        "detections.json", "per_class_ap.json", "results.csv"]
    done = subprocess.run([*env_cmd, "--evaluation-only"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2 and "--input-models-dir" in done.stderr


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in ("cpu", "cuda")
    with pytest.raises(InputError, match="--device gpu0: expected auto, cpu, cuda or cuda:N"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="CUDA is not available"):
            resolve_device("cuda")


def test_model_size_check_counts_the_parameters():
    config = load_config("fine_gym")
    check_model_fits(config, torch.device("cpu"), training=True)  # FineGym's model fits
    big = load_config("fine_gym", ["hyperparameters.encoded_feature_size=300000"])
    with pytest.raises(InputError) as err:
        check_model_fits(big, torch.device("cpu"), training=True)
    # D H + 4 H^2 + H (C + K + 1) weights, 5 H + C + K + 1 biases (spec section 2)
    d, h, c, k = 2048, 300000, 99, 500
    params = d * h + 4 * h * h + h * (c + k + 1) + 5 * h + c + k + 1
    assert f"{params:,} parameters" in str(err.value)
