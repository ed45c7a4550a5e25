"""HAAN training, top to bottom (spec sections 3 and 4, the paper's epoch loop).

    for each epoch:
        every `pseudo_label_interval` epochs: encode all training clips, k-means -> pseudo labels
        for each shuffled batch of `batch_size` training videos: the four losses, one Adam step
        evaluate (validation split if any, else the test set as the paper), keep the best epoch

A run folder holds the best epoch's four checkpoints (the paper's files), `last/` with the last
epoch's, `results.csv` (the paper's header), `log.csv` (each loss per epoch), the resolved
`config.toml`, `run.json` (seed, device, versions) and `training_state.pt` for `--resume`.

This process's work is expressed over its own list of training videos (`train_indices`) and one
model, with no global state besides torch's RNG (seeded here), so a sharded, distributed version
only has to split that list and all-reduce the gradients.
"""

from __future__ import annotations

import csv
import io
import json
import math
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from haan.config import Config
from haan.data import Dataset
from haan.errors import InputError
from haan.evaluate import (
    CLIPS_PER_CHUNK,
    EvaluationResult,
    evaluate_model,
    format_table,
    results_header,
    results_row,
    video_chunks,
    write_atomic,
    write_results_csv,
)
from haan.losses import class_balance_weights, haan_losses, per_video_weights
from haan.model import HAAN, load_checkpoints, save_checkpoints
from haan.pseudo_labels import generate_pseudo_labels

STATE_FILE = "training_state.pt"
LOG_COLUMNS = ["epoch", "loss", "l_mil", "l_pseudo", "l_concept", "l_coarse",
               "kmeans_inertia", "eval_avg_mAP", "seconds"]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InputError(f"--device {name}: expected auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"--device {name}: CUDA is not available on this machine (use cpu or auto)")
    return device


def make_optimizer(model: HAAN, learning_rate: float) -> torch.optim.Adam:
    """Adam over the four blocks, no weight decay (the paper). The fused implementation computes
    the same update in one pass over the parameters: ~5x faster per step on a CPU at H = 2048."""
    return torch.optim.Adam(model.parameters(), lr=learning_rate, fused=True)


@dataclass(frozen=True)
class PseudoLabelState:
    """Pseudo labels of the training clips, videos in `train_indices` order."""

    labels: torch.Tensor  # (M,) int64, on the training device
    offsets: torch.Tensor  # (N_train + 1,) int64: video j's clips are labels[offsets[j]:offsets[j+1]]
    weights: torch.Tensor  # (K,) float32 concept weights
    inertia: float

    def padded(self, positions: torch.Tensor, t_max: int) -> torch.Tensor:
        """(B, t_max) labels of the videos at these positions; padding gets label 0 (masked)."""
        start = self.offsets[positions]  # (B,)
        length = self.offsets[positions + 1] - start  # (B,)
        steps = torch.arange(t_max, device=start.device)  # (t_max,)
        idx = start[:, None] + torch.minimum(steps[None, :], (length - 1).clamp(min=0)[:, None])
        return torch.where(steps[None, :] < length[:, None], self.labels[idx], 0)


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    best_epoch: int
    best_average_mAP: float  # percent, on the selection set
    results: list[list[float]]  # the rows of results.csv
    selection_set: str  # "test" (the paper) or "validation"
    test_result: EvaluationResult | None  # the best checkpoint on the test set, with a validation split


@torch.no_grad()
def encode_clips(model: HAAN, dataset: Dataset, indices: np.ndarray, device: torch.device,
                 progress: bool = False) -> torch.Tensor:
    """(sum T_i, H) encoder outputs of every valid clip of these videos, in eval mode."""
    from tqdm import tqdm

    model.eval()
    lengths = dataset.lengths[indices]
    parts = []
    for chunk in tqdm(video_chunks(lengths, CLIPS_PER_CHUNK), desc="encode", unit="chunk",
                      disable=not progress, leave=False):
        x = torch.from_numpy(dataset.clips(indices[chunk])).to(device)
        parts.append(model.encoder(x)[1])
    return torch.cat(parts)


def make_pseudo_labels(model: HAAN, dataset: Dataset, config: Config, device: torch.device,
                       generator: torch.Generator, progress: bool = False) -> PseudoLabelState:
    from tqdm import tqdm

    h, x = config.hyperparameters, config.haan
    clips = encode_clips(model, dataset, dataset.train_indices, device, progress)
    with tqdm(desc="k-means", unit="iter", disable=not progress, leave=False) as bar:
        result = generate_pseudo_labels(
            clips, h.num_visual_concepts, h.clustering_sample_rate, generator=generator,
            backend=x.kmeans_backend, max_iter=x.kmeans_max_iter, tol=x.kmeans_tol,
            inertia_tol=x.kmeans_inertia_tol, on_iteration=lambda _: bar.update(),
        )
    lengths = torch.from_numpy(dataset.lengths[dataset.train_indices].astype(np.int64))
    offsets = torch.cat([torch.zeros(1, dtype=torch.int64), torch.cumsum(lengths, 0)])
    return PseudoLabelState(labels=result.labels.to(device), offsets=offsets.to(device),
                            weights=result.weights.to(device), inertia=float(result.inertia))


def _run_metadata(config: Config, seed: int, device: torch.device) -> dict:
    import haan

    return {
        "seed": seed, "device": str(device), "config_source": config.source,
        "haan_version": haan.__version__, "torch_version": torch.__version__,
        "numpy_version": np.__version__, "python_version": platform.python_version(),
    }


def _write_log(path: Path, rows: list[dict]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=LOG_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(path, buf.getvalue())


def _save_state(path: Path, state: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def train(
    config: Config,
    dataset: Dataset,
    run_dir: Path,
    *,
    seed: int = 1,
    device: torch.device = torch.device("cpu"),
    resume: bool = False,
    init_models_dir: Path | None = None,
    progress: bool = True,
    report: Callable[[str], None] = lambda message: None,
) -> TrainResult:
    from tqdm import tqdm

    h, x = config.hyperparameters, config.haan
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "last").mkdir(exist_ok=True)

    # -- model, optimizer, RNG: all seeded here ---------------------------------------------------
    torch.manual_seed(seed)  # parameter initialisation and dropout masks
    generator = torch.Generator().manual_seed(seed)  # batch order and the k-means sample
    model = HAAN.from_config(config).to(device)
    if init_models_dir is not None:  # the paper's --input-models-dir without --evaluation-only
        load_checkpoints(model, init_models_dir, blocks=_existing_blocks(init_models_dir))
    optimizer = make_optimizer(model, h.learning_rate)

    # -- what the losses need of the training set -------------------------------------------------
    train_idx = dataset.train_indices
    if len(train_idx) == 0:
        raise InputError(f"{config.source}: no training videos")
    fine_y = torch.from_numpy(dataset.fine_multi_hot(train_idx)).to(device)  # (N, C)
    coarse_y = torch.from_numpy(dataset.coarse_multi_hot(train_idx)).to(device)  # (N, G)
    fine_pos, fine_neg = class_balance_weights(fine_y)
    coarse_pos, coarse_neg = class_balance_weights(coarse_y)
    fine_w = per_video_weights(fine_y, fine_pos, fine_neg)  # (N, C)
    coarse_w = per_video_weights(coarse_y, coarse_pos, coarse_neg)  # (N, G)
    fine_to_coarse = torch.from_numpy(dataset.fine_to_coarse.astype(np.int64)).to(device)
    lambdas = (h.lambda_1, h.lambda_2, h.lambda_3, h.lambda_4)

    use_validation = len(dataset.val_indices) > 0
    select_idx = dataset.val_indices if use_validation else dataset.test_indices
    selection_set = "validation" if use_validation else "test"
    header = results_header(config)

    # -- state, possibly resumed --------------------------------------------------------------------
    start_epoch, best_avg, best_epoch = 0, -math.inf, -1
    results: list[list[float]] = []
    log_rows: list[dict] = []
    pseudo: PseudoLabelState | None = None
    state_path = run_dir / STATE_FILE
    if resume:
        if not state_path.is_file():
            raise InputError(f"{state_path}: nothing to resume (no saved training state)")
        state = torch.load(state_path, map_location=device, weights_only=False)
        if _resumable(state["config"]) != _resumable(config.to_dict()):
            raise InputError(f"{state_path}: the run was made with another config; resume needs the "
                             "same one (only hyperparameters.epochs may change)")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"])
        generator.set_state(state["generator"])
        start_epoch, best_avg, best_epoch = state["epoch"] + 1, state["best_avg"], state["best_epoch"]
        results, log_rows = state["results"], state["log"]
        if state["pseudo"] is not None:
            pseudo = PseudoLabelState(**{k: v.to(device) if torch.is_tensor(v) else v
                                         for k, v in state["pseudo"].items()})
        report(f"resuming {run_dir} at epoch {start_epoch}")
    write_atomic(run_dir / "config.toml", config.to_toml())
    write_atomic(run_dir / "run.json", json.dumps(_run_metadata(config, seed, device), indent=1) + "\n")

    epochs = tqdm(range(start_epoch, h.epochs), desc="epochs", unit="epoch", disable=not progress,
                  initial=start_epoch, total=h.epochs)
    for epoch in epochs:
        t0 = time.perf_counter()
        # 1. atomic actions: re-cluster the training clips every `pseudo_label_interval` epochs
        if epoch % x.pseudo_label_interval == 0 or pseudo is None:
            pseudo = make_pseudo_labels(model, dataset, config, device, generator, progress)

        # 2. one pass over the shuffled training videos
        model.train()
        sums = torch.zeros(5, dtype=torch.float64)
        order = torch.randperm(len(train_idx), generator=generator)
        batches = order.split(h.batch_size)
        for positions in tqdm(batches, desc=f"epoch {epoch}", unit="batch", disable=not progress,
                              leave=False):
            pos_np = positions.numpy()
            feats, lengths = dataset.padded_batch(train_idx[pos_np])  # (B, T, D), (B,)
            features = torch.from_numpy(feats).to(device)
            lengths_t = torch.from_numpy(np.asarray(lengths, dtype=np.int64)).to(device)
            pos = positions.to(device)
            terms = haan_losses(
                model, features, lengths_t, pseudo.padded(pos, features.shape[1]), pseudo.weights,
                fine_y[pos], fine_w[pos], coarse_y[pos], coarse_w[pos],
                fine_to_coarse=fine_to_coarse, num_coarse=dataset.num_coarse_classes,
                top_k=h.num_top_visual_concepts, pooling=h.fine_to_coarse_pooling, lambdas=lambdas,
            )
            optimizer.zero_grad(set_to_none=True)
            terms.total.backward()
            optimizer.step()
            sums += torch.stack([terms.total.detach(), terms.mil, terms.pseudo, terms.concept,
                                 terms.coarse]).double().cpu()

        # 3. evaluate, keep the best epoch (and always the last)
        eval_avg = float("nan")
        if (epoch + 1) % x.eval_interval == 0 or epoch == h.epochs - 1:
            result = evaluate_model(model, dataset, select_idx, config, device, progress)
            row = results_row(epoch, result.metrics, config)
            results.append(row)
            eval_avg = row[-1]
            write_results_csv(run_dir / "results.csv", header, results)
            if math.isfinite(eval_avg) and eval_avg > best_avg:
                best_avg, best_epoch = eval_avg, epoch
                save_checkpoints(model, run_dir)
            epochs.set_postfix({"avg.mAP": f"{eval_avg:.2f}", "best": f"{best_avg:.2f}"})
            report(f"epoch {epoch}: {selection_set} avg.mAP {eval_avg:.2f} (best {best_avg:.2f} at epoch {best_epoch})")
        save_checkpoints(model, run_dir / "last")

        n_batches = max(len(batches), 1)
        means = (sums / n_batches).tolist()
        log_rows.append(dict(zip(LOG_COLUMNS, [epoch, *means, pseudo.inertia, eval_avg,
                                               round(time.perf_counter() - t0, 3)])))
        _write_log(run_dir / "log.csv", log_rows)
        if x.save_training_state:
            _save_state(state_path, {
                "epoch": epoch, "config": config.to_dict(), "model": model.state_dict(),
                "optimizer": optimizer.state_dict(), "torch_rng": torch.get_rng_state(),
                "generator": generator.get_state(), "best_avg": best_avg, "best_epoch": best_epoch,
                "results": results, "log": log_rows,
                "pseudo": {"labels": pseudo.labels.cpu(), "offsets": pseudo.offsets.cpu(),
                           "weights": pseudo.weights.cpu(), "inertia": pseudo.inertia},
            })

    if best_epoch < 0:  # nothing finite to select on: keep the last epoch as the best
        save_checkpoints(model, run_dir)
        best_epoch = h.epochs - 1

    test_result = None
    if use_validation and len(dataset.test_indices):
        load_checkpoints(model, run_dir)
        test_result = evaluate_model(model, dataset, dataset.test_indices, config, device, progress)
        write_results_csv(run_dir / "test_results.csv", header,
                          [results_row(best_epoch, test_result.metrics, config)])
        report(format_table(test_result.metrics, f"test set, best validation epoch {best_epoch}"))
    return TrainResult(run_dir=run_dir, best_epoch=best_epoch, best_average_mAP=best_avg,
                       results=results, selection_set=selection_set, test_result=test_result)


def _resumable(config_dict: dict) -> dict:
    """The config as far as it must match to resume: everything but the number of epochs."""
    out = {k: dict(v) for k, v in config_dict.items()}
    out["hyperparameters"].pop("epochs", None)
    return out


def _existing_blocks(directory: Path) -> tuple[str, ...]:
    """The paper's code loads whichever of the four checkpoint files exist."""
    from haan.model import CHECKPOINT_FILES

    found = tuple(b for b, f in CHECKPOINT_FILES.items() if (Path(directory) / f).is_file())
    if not found:
        raise InputError(f"{directory}: no checkpoint files (encoder.pkl, ...) found")
    return found
