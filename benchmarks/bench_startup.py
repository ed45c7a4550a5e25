"""Start-up of `haan train`: seconds from the start of the process to torch imported, and from
there to the first training batch, on the `tiny` synthetic data (so that loading and k-means are
negligible), with haan.models.optim.Adam against torch.optim.Adam (whose first calls import
torch._dynamo), each in fresh processes, the best of several.

    python benchmarks/bench_startup.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys, time
t0 = time.perf_counter()
import torch
t1 = time.perf_counter()
import haan.models.methods, haan.models.optim
if sys.argv[3] == "torch":
    haan.models.methods.Adam = torch.optim.Adam  # what haan used before haan.models.optim
first = {}
forward = haan.models.methods.HAANObjective.forward
def timed(self, batch):
    first.setdefault("batch", time.perf_counter())
    return forward(self, batch)
haan.models.methods.HAANObjective.forward = timed
from haan.cli import main
main(["train", "--config", sys.argv[1], "--output-dir", sys.argv[2], "--exp-name", "s",
      "--overwrite", "--quiet", "--set", "hyperparameters.epochs=1"])
print(json.dumps({"torch": t1 - t0, "first_batch": first["batch"] - t1,
                  "dynamo": "torch._dynamo" in sys.modules}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    sys.path.insert(0, str(REPO / "src"))
    from haan.data.synth import generate

    with tempfile.TemporaryDirectory() as tmp:
        config = generate(Path(tmp) / "tiny", "tiny", seed=0)
        best: dict[str, dict] = {}
        for _ in range(args.repeats):
            for variant in ("torch", "haan"):
                done = subprocess.run([sys.executable, "-c", CHILD, str(config), str(Path(tmp) / "o"),
                                       variant], capture_output=True, text=True, cwd=REPO,
                                      env={"PYTHONPATH": str(REPO / "src"), "PATH": ""})
                if done.returncode:
                    sys.exit(done.stderr)
                r = json.loads(done.stdout.strip().splitlines()[-1])
                if variant not in best or r["first_batch"] < best[variant]["first_batch"]:
                    best[variant] = r
    for variant, name in (("torch", "torch.optim.Adam"), ("haan", "haan.models.optim.Adam")):
        r = best[variant]
        print(f"{name:<18} import torch {r['torch']:.2f} s, then first batch {r['first_batch']:.2f} s"
              f" (torch._dynamo imported: {r['dynamo']})")
    print(f"first batch {best['torch']['first_batch'] / best['haan']['first_batch']:.1f}x sooner")


if __name__ == "__main__":
    main()
