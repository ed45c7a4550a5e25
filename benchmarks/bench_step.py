"""Where a training step's time goes, fp32 against bf16 ([haan] precision), timed directly.

torch's profiler hooks every op and inflates the large copies (autocast's weight casts) several
times over; this times the phases of haan's own step with a clock instead, on bench_train.py's
FineGym-shaped data (150 training videos, 2048-d, C = 99, K = 500): the forward pass with the
losses, the backward pass, the fused Adam update, and apart from the step the casts autocast
makes of the five 2048 x 2048 weights (to bf16 and their gradients back). Each variant trains
one epoch to warm up, then the faster of two epochs is reported, per step.

    python benchmarks/bench_step.py
    python benchmarks/bench_step.py --quick     # 30 videos, 256-d, K = 64
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_train import write_dataset  # noqa: E402

from haan.config import load_config  # noqa: E402
from haan.data import load_dataset  # noqa: E402
from haan.engine.pseudo_labelling import make_pseudo_labels  # noqa: E402
from haan.models.methods import Batch, build_method  # noqa: E402

PHASES = ("forward + losses", "backward", "Adam")


def timed_epoch(method, dataset, pseudo, generator) -> tuple[dict[str, float], int]:
    """Seconds per phase summed over one epoch of train_one_epoch's steps, and the steps."""
    train_idx = dataset.train_indices
    method.objective.train()
    seconds = dict.fromkeys(PHASES, 0.0)
    batches = method.epoch_batches(generator)
    for positions in batches:
        feats, lengths = dataset.padded_batch(train_idx[positions.numpy()])
        t0 = time.perf_counter()
        terms = method.objective(Batch(
            features=torch.from_numpy(feats), lengths=torch.from_numpy(lengths),
            positions=positions, batch_positions=positions, pseudo=pseudo, clip_shard=None,
            video_shard=None))
        t1 = time.perf_counter()
        method.optimizer.zero_grad(set_to_none=True)
        terms.total.backward()
        t2 = time.perf_counter()
        method.optimizer.step()
        t3 = time.perf_counter()
        seconds["forward + losses"] += t1 - t0
        seconds["backward"] += t2 - t1
        seconds["Adam"] += t3 - t2
    return seconds, len(batches)


def cast_seconds(model, repeats: int = 10) -> float:
    """One step's worth of autocast's casts of the square weights: to bf16 and back."""
    weights = [b.hidden_layer.weight.detach() for b in (
        model.encoder, model.fine_level_classifier, model.pseudo_label_classifier,
        model.coarse_level_classifier)] + [model.encoder.out_layer.weight.detach()]
    for w in weights:
        w.bfloat16().float()
    t = time.perf_counter()
    for _ in range(repeats):
        for w in weights:
            w.bfloat16().float()
    return (time.perf_counter() - t) / repeats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="30 + 10 videos, 256-d, K = 64")
    args = ap.parse_args()
    n_train, dim, concepts = (30, 256, 64) if args.quick else (150, 2048, 500)
    per_step: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        config_path = write_dataset(Path(tmp), n_train, 10, dim, 99, 14, concepts, 0)
        for precision in ("fp32", "bf16"):
            config = load_config(config_path, [f'haan.precision="{precision}"'])
            dataset = load_dataset(config)
            torch.manual_seed(0)
            method = build_method(config, dataset, torch.device("cpu"))
            generator = torch.Generator().manual_seed(0)
            pseudo = make_pseudo_labels(method.model, dataset, config, torch.device("cpu"),
                                        generator)
            timed_epoch(method, dataset, pseudo, generator)  # warm-up: oneDNN's kernels
            runs = [timed_epoch(method, dataset, pseudo, generator) for _ in range(2)]
            seconds, steps = min(runs, key=lambda r: sum(r[0].values()))
            per_step[precision] = {p: s / steps for p, s in seconds.items()}
            per_step[precision]["step"] = sum(seconds.values()) / steps
            if precision == "bf16":
                per_step[precision]["of which weight casts"] = cast_seconds(method.model)
    print(f"training step, {n_train} training videos of FineGym's clip counts, D = H = {dim}, "
          f"C = 99, K = {concepts}, {torch.get_num_threads()} threads; ms per step")
    print(f"{'':<22}{'fp32':>10}{'bf16':>10}{'fp32 / bf16':>14}")
    for phase in (*PHASES, "step"):
        a, b = per_step["fp32"][phase] * 1e3, per_step["bf16"][phase] * 1e3
        print(f"{phase:<22}{a:>10.1f}{b:>10.1f}{a / b:>13.2f}x")
    casts = per_step["bf16"]["of which weight casts"] * 1e3
    print(f"{'of which weight casts':<22}{'':>10}{casts:>10.1f}")


if __name__ == "__main__":
    main()
