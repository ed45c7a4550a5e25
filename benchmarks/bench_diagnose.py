"""The whole `haan diagnose --protocol detad-thumos14` command (start-up, reading, the three
analyses, JSON and PNG figures) against DETAD's three scripts on the same input, in one run.

    python benchmarks/bench_diagnose.py [--detad-git DIR] [--detad-python PY] [--repeats 3]
        [--detad-repeats 1]

The input is tests/fixtures/detad_reference's pair: DETAD's THUMOS14 test annotations (3,358
ground truths, 212 videos) and 13,940 predictions. DETAD runs from a throwaway export of its
repository (DIR: a git directory of HumamAlwassel/DETAD) with PY (numpy 1.23, pandas 1.5,
matplotlib, joblib), as its README runs it: false_positive_analysis.py, false_negative_analysis.py
and sensitivity_analysis.py with --is_thumos14, each writing its PDF; the only edit is
'text.usetex' False (no LaTeX here). Without DIR or PY, DETAD is skipped with a message.
The numbers agree: tests/evaluation/test_diagnosis_detad.py.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "detad_reference"
SCRIPTS = ("false_positive_analysis.py", "false_negative_analysis.py", "sensitivity_analysis.py")


def cpu_model() -> str:
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        if line.startswith("Model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def timed(argv: list, cwd: Path | None = None, env: dict | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def export_detad(git_dir: str, into: Path) -> Path:
    for name in ("utils.py", "action_detector_diagnosis.py", *SCRIPTS):
        text = subprocess.run(["git", f"--git-dir={git_dir}", "show", f"HEAD:src/{name}"],
                              check=True, capture_output=True).stdout
        (into / name).write_bytes(text.replace(b"'text.usetex': True", b"'text.usetex': False"))
    return into


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detad-git", default=os.environ.get(
        "DETAD_GIT", "/work/.mirror/HumamAlwassel+DETAD/repo"), help="git directory of DETAD")
    parser.add_argument("--detad-python", default="/tmp/detad-venv/bin/python",
                        help="the Python that runs DETAD's code")
    parser.add_argument("--repeats", type=int, default=3, help="runs of haan's (median reported)")
    parser.add_argument("--detad-repeats", type=int, default=1, help="runs of DETAD's")
    args = parser.parse_args()
    print(f"CPU: {cpu_model()}")
    with tempfile.TemporaryDirectory(prefix="bench-diagnose-") as tmp:
        tmp = Path(tmp)
        gt, pred = tmp / "gt.json", tmp / "pred.json"
        gt.write_bytes(gzip.decompress((FIXTURES / "thumos14_test_gt.json.gz").read_bytes()))
        pred.write_bytes(gzip.decompress((FIXTURES / "predictions.json.gz").read_bytes()))
        env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
        haan = [sys.executable, "-m", "haan", "diagnose", "--ground-truth", str(gt),
                "--predictions", str(pred), "--subset", "testing", "--protocol", "detad-thumos14",
                "--out", str(tmp / "haan"), "--overwrite"]
        ours = [timed(haan, env=env) for _ in range(args.repeats)]
        pngs = len(list((tmp / "haan").glob("*.png")))
        print(f"haan diagnose (whole command, {pngs} PNG figures): median {statistics.median(ours):.2f} s "
              f"of {', '.join(f'{t:.2f}' for t in ours)}")
        if not (Path(args.detad_git).exists() and Path(args.detad_python).exists()):
            print(f"DETAD skipped: {args.detad_git} or {args.detad_python} is missing")
            return 0
        (tmp / "detad").mkdir()
        src = export_detad(args.detad_git, tmp / "detad")
        theirs = []
        for _ in range(args.detad_repeats):
            total = 0.0
            for script in SCRIPTS:
                total += timed([args.detad_python, script, "--ground_truth_filename", str(gt),
                                "--subset", "testing", "--prediction_filename", str(pred),
                                "--output_folder", str(tmp / "detad_out"), "--is_thumos14"],
                               cwd=src)
            theirs.append(total)
        print(f"DETAD's three analyses (three processes, 3 PDF figures): median "
              f"{statistics.median(theirs):.2f} s of {', '.join(f'{t:.2f}' for t in theirs)}")
        print(f"ratio DETAD / haan: {statistics.median(theirs) / statistics.median(ours):.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
