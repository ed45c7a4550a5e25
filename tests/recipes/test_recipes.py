"""Runs as the command lines start them: the paper's main.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
