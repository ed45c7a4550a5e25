"""One HAAN epoch (pseudo labels, training, evaluation) on FineGym-shaped data: haan against a
baseline that does the same work the way the paper's code does (spec section 8), in one run.

Baseline, per epoch:
  - pseudo labels: encode clips, scikit-learn KMeans(n_clusters=K, random_state=0) on the sample;
  - training: per video in a Python loop, visual concepts by a loop over the K concepts, cosine
    similarities on expanded (C, K, H) tensors, a (C, K, H) masked sum for the fine-level
    representations, a loop over coarse classes;
  - evaluation: one video at a time through the networks, a per-class loop for the detections and
    a pandas row-by-row AP (as the paper's evaluator).
haan: `haan.engine.loop`'s own functions (the method's batched losses and fused Adam, torch k-means,
streaming inference, vectorized post-processing and AP), in fp32 and bf16 ([haan] precision), with
the default fast dropout masks and with nn.Dropout's ([haan] dropout_masks = "torch"), each from
the same initial model.

It prints the ratio baseline / haan for each phase and the epoch, each variant's training matmul
throughput (the blocks, the concept and coarse matmuls) against this machine's peak at the
step's shapes (the best of several runs, fp32 and bf16), and how far bf16's epoch-mean losses are
from fp32's with the same dropout masks. Ratios only: the machines are shared and noisy.

    python benchmarks/bench_train.py            # 150 training + 50 test videos, 2048-d
    python benchmarks/bench_train.py --quick    # a small smoke run
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from haan.config import dumps_toml, load_config  # noqa: E402
from haan.data import load_dataset  # noqa: E402
from haan.data.synth import build_model, get_preset, plan_videos  # noqa: E402
from haan.engine.loop import train_one_epoch  # noqa: E402
from haan.engine.pseudo_labelling import make_pseudo_labels  # noqa: E402
from haan.evaluation.evaluate import evaluate_model  # noqa: E402
from haan.models.haan import HAAN  # noqa: E402
from haan.models.losses import class_balance_weights, per_video_weights  # noqa: E402
from haan.models.methods import build_method  # noqa: E402


def write_dataset(root: Path, n_train: int, n_test: int, dim: int, classes: int, coarse: int,
                  concepts: int, seed: int) -> Path:
    """FineGym-shaped random data in the paper's format (the timing does not depend on content)."""
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    # FineGym's clip counts (mean 78, median 58, max 309), from the finegym-like synthetic plan.
    preset = get_preset("finegym-like")
    lengths = plan_videos(build_model(preset, seed), seed).lengths[:n]
    feats = np.empty(n, dtype=object)
    labels = np.empty(n, dtype=object)
    segments = np.empty(n, dtype=object)
    fine_to_coarse = np.arange(classes) % coarse
    for i in range(n):
        feats[i] = rng.random((lengths[i], dim), dtype=np.float32)
        k = rng.integers(3, 10)
        fine = rng.integers(0, classes, size=k)
        starts = np.sort(rng.uniform(0, max(lengths[i] / 1.5 - 3, 0.5), size=k))
        labels[i] = [[int(fine_to_coarse[f]), int(f)] for f in fine]
        segments[i] = [[float(s), float(s + rng.uniform(0.5, 3))] for s in starts]
    np.save(root / "features.npy", feats, allow_pickle=True)
    np.save(root / "labels.npy", labels, allow_pickle=True)
    np.save(root / "segments.npy", segments, allow_pickle=True)
    np.save(root / "video_names.npy", np.array([f"v{i:05d}" for i in range(n)]))
    np.save(root / "sec2clip_ratios.npy", np.full(n, 1.5))
    (root / "f2c.json").write_text(json.dumps({str(f): int(c) for f, c in enumerate(fine_to_coarse)}))
    tables = load_config("fine_gym").to_dict()  # the paper's FineGym settings, our files and sizes
    tables["stats"].update(num_training_videos=n_train, num_fine_classes=classes,
                           num_coarse_classes=coarse)
    tables["hyperparameters"].update(feature_size=dim, encoded_feature_size=dim,
                                     num_visual_concepts=concepts)
    tables["features"]["features_path"] = str(root / "features.npy")
    tables["annotations"] = {f"{name}_path": str(root / f"{name}.npy")
                             for name in ("video_names", "labels", "segments", "sec2clip_ratios")}
    tables["annotations"]["fine_to_coarse_mappings_path"] = str(root / "f2c.json")
    (root / "config.toml").write_text(dumps_toml(tables))
    return root / "config.toml"


# ---------------------------------------------------------------------------------------------
# The baseline: the paper's way of doing the same work


def paper_style_video_loss(model, f, s, p, y_f, w_f, y_g, w_g, labels, concept_w, coarse_to_fine,
                           K, top_k, pooling, lambdas):
    # L_mil
    m = s.mean(0, keepdim=True)
    sel = s >= m
    a = (s * sel).sum(0) / sel.sum(0)
    l_mil = F.binary_cross_entropy_with_logits(a, y_f, weight=w_f)
    l_pseudo = F.cross_entropy(p, labels, weight=concept_w) / len(p)
    # visual concepts: a loop over the K concepts
    vcs = []
    for k in range(K):
        rows = f[torch.where(labels == k)]
        vcs.append(torch.zeros(1, f.shape[1]) if rows.shape[0] == 0 else rows.mean(0, keepdim=True))
    V = torch.cat(vcs)
    W = model.fine_level_classifier.out_layer.weight.detach()
    C, H = W.shape
    sim = F.cosine_similarity(W.unsqueeze(1).expand(C, K, H), V.detach().unsqueeze(0).expand(C, K, H), dim=2)
    idx = torch.topk(sim, k=top_k, dim=1)[1]
    masks = torch.zeros(C, K)
    for c, row in enumerate(idx):
        masks[c, row] = 1
    R = (V.unsqueeze(0).expand(C, K, H) * masks.unsqueeze(2).expand(C, K, H)).sum(1) / top_k
    cos = F.cosine_similarity(W, R, dim=1)
    l_concept = (1 - cos)[y_f.bool()].sum() / y_f.sum()
    Q = []
    for g in range(len(coarse_to_fine)):
        r = R[coarse_to_fine[g]]
        Q.append(r.mean(0, keepdim=True) if pooling == "mean" else r.max(0, keepdim=True)[0])
    z = model.coarse_level_classifier(torch.cat(Q))[1].squeeze(1)
    l_coarse = F.binary_cross_entropy_with_logits(z, y_g, weight=w_g)
    return (lambdas[0] * l_mil + lambdas[1] * l_pseudo + lambdas[2] * l_concept
            + lambdas[3] * l_coarse)


def baseline_epoch(model, optimizer, dataset, config, generator):
    from sklearn.cluster import KMeans

    h = config.hyperparameters
    times = {}
    t = time.perf_counter()
    model.eval()
    with torch.no_grad():  # every training clip encoded at once, as the paper's code holds them
        clips = torch.cat([model.encoder(torch.from_numpy(dataset.video_features(int(i))))[1]
                           for i in dataset.train_indices]).numpy()
    sample = clips[np.random.default_rng(0).permutation(len(clips))[: int(h.clustering_sample_rate * len(clips))]]
    km = KMeans(n_clusters=h.num_visual_concepts, random_state=0).fit(sample)
    flat_labels = km.predict(clips)
    counts = np.bincount(flat_labels, minlength=h.num_visual_concepts)
    concept_w = torch.tensor(counts / counts.sum(), dtype=torch.float32)
    times["pseudo labels"] = time.perf_counter() - t

    t = time.perf_counter()
    idx = dataset.train_indices
    offsets = np.concatenate([[0], np.cumsum(dataset.lengths[idx])])
    y_f = torch.from_numpy(dataset.fine_multi_hot(idx))
    y_g = torch.from_numpy(dataset.coarse_multi_hot(idx))
    fp, fn = class_balance_weights(y_f)
    gp, gn = class_balance_weights(y_g)
    w_f, w_g = per_video_weights(y_f, fp, fn), per_video_weights(y_g, gp, gn)
    coarse_to_fine = [np.flatnonzero(dataset.fine_to_coarse == g).tolist()
                      for g in range(dataset.num_coarse_classes)]
    lambdas = (h.lambda_1, h.lambda_2, h.lambda_3, h.lambda_4)
    model.train()
    order = torch.randperm(len(idx), generator=generator).numpy()
    for b in range(0, len(order), h.batch_size):
        pos = order[b:b + h.batch_size]
        feats, lengths = dataset.padded_batch(idx[pos])
        out = model(torch.from_numpy(feats))
        loss = torch.zeros(())
        for j, q in enumerate(pos):  # the paper's per-video loop
            T = int(lengths[j])
            labels = torch.from_numpy(flat_labels[offsets[q]:offsets[q] + T]).long()
            loss = loss + paper_style_video_loss(
                model, out.clip_features[j, :T], out.clip_scores[j, :T], out.pseudo_logits[j, :T],
                y_f[q], w_f[q], y_g[q], w_g[q], labels, concept_w, coarse_to_fine,
                h.num_visual_concepts, h.num_top_visual_concepts, h.fine_to_coarse_pooling, lambdas)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    times["training"] = time.perf_counter() - t

    t = time.perf_counter()
    baseline_evaluation(model, dataset, config)
    times["evaluation"] = time.perf_counter() - t
    return times


def baseline_evaluation(model, dataset, config):
    """One video at a time, per-class detection loop and a pandas row-by-row AP (the paper's way)."""
    import pandas as pd

    ev = config.evaluation
    model.eval()
    C = dataset.num_fine_classes
    preds = {c: [] for c in range(C)}
    gts = {c: [] for c in range(C)}
    with torch.no_grad():
        for v, i in enumerate(dataset.test_indices):
            s = model.clip_scores(torch.from_numpy(np.asarray(dataset.video_features(int(i)), np.float32))).numpy()
            top = -np.sort(-s, axis=0)[: int(np.ceil(s.shape[0] / ev.kmax_mod_factor))]
            cs = top.mean(0)
            s = s * (cs > 0)
            ratio = dataset.sec2clip_ratios[i]
            for c in range(C):
                x = s[:, c]
                thr = np.mean(x) + (np.max(x) - np.min(x)) * ev.alpha
                d = np.diff(np.concatenate([[0], (x > thr).astype(np.float32), [0]]))
                for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)):
                    preds[c].append([v, a / ratio, b / ratio, np.max(x[a:b]) + 0.5 * cs[c]])
            for (coarse, fine), seg in zip(dataset.labels[int(i)], dataset.segments[int(i)]):
                gts[int(fine)].append([v, seg[0], seg[1]])
    thresholds = np.asarray(ev.tiou_thresholds)
    aps = np.zeros((C, len(thresholds)))
    for c in range(C):
        gt = pd.DataFrame(gts[c], columns=["video-id", "t-start", "t-end"])
        pr = pd.DataFrame(preds[c], columns=["video-id", "t-start", "t-end", "score"])
        if pr.empty or gt.empty:
            continue
        pr = pr.loc[pr["score"].values.argsort()[::-1]].reset_index(drop=True)
        lock = -np.ones((len(thresholds), len(gt)))
        tp = np.zeros((len(thresholds), len(pr)))
        fp = np.zeros((len(thresholds), len(pr)))
        by_video = gt.groupby("video-id")
        for k, row in pr.iterrows():
            try:
                g = by_video.get_group(row["video-id"]).reset_index()
            except KeyError:
                fp[:, k] = 1
                continue
            s1 = np.maximum(row["t-start"], g["t-start"].values)
            e1 = np.minimum(row["t-end"], g["t-end"].values)
            inter = (e1 - s1).clip(0)
            tiou = inter / ((g["t-end"] - g["t-start"]).values + row["t-end"] - row["t-start"] - inter)
            for ti, thr in enumerate(thresholds):
                for j in tiou.argsort()[::-1]:
                    if tiou[j] < thr:
                        fp[ti, k] = 1
                        break
                    if lock[ti, int(g.loc[j]["index"])] >= 0:
                        continue
                    tp[ti, k] = 1
                    lock[ti, int(g.loc[j]["index"])] = k
                    break
                if tp[ti, k] == 0 and fp[ti, k] == 0:
                    fp[ti, k] = 1
        tpc, fpc = np.cumsum(tp, 1), np.cumsum(fp, 1)
        rec, prec = tpc / len(gt), tpc / (tpc + fpc)
        for ti in range(len(thresholds)):
            mp = np.hstack([[0], prec[ti], [0]])
            mr = np.hstack([[0], rec[ti], [1]])
            for q in range(len(mp) - 2, -1, -1):
                mp[q] = max(mp[q], mp[q + 1])
            ch = np.where(mr[1:] != mr[:-1])[0] + 1
            aps[c, ti] = np.sum((mr[ch] - mr[ch - 1]) * mp[ch])
    return aps


# ---------------------------------------------------------------------------------------------


def haan_epoch(config, dataset, seed: int = 0):
    """One epoch through haan.engine.loop's own functions (the method, its optimizer and loop)."""
    device = torch.device("cpu")
    torch.manual_seed(seed)
    method = build_method(config, dataset, device)
    generator = torch.Generator().manual_seed(seed)
    times = {}
    t = time.perf_counter()
    pseudo = make_pseudo_labels(method.model, dataset, config, device, generator)
    times["pseudo labels"] = time.perf_counter() - t
    t = time.perf_counter()
    means = train_one_epoch(method, method.objective, dataset, pseudo, generator, 0, device)
    times["training"] = time.perf_counter() - t
    t = time.perf_counter()
    evaluate_model(method.model, dataset, dataset.test_indices, config, device)
    times["evaluation"] = time.perf_counter() - t
    times["_losses"] = means
    return times


def matmul_peak(dtype: torch.dtype, rows: int, dim: int, repeats: int = 5) -> float:
    """GFLOP/s of this machine's matmul at the training step's shapes (a batch's clips times a
    (dim, dim) weight), the best of several runs."""
    a, b = torch.randn(rows, dim).to(dtype), torch.randn(dim, dim).to(dtype)
    best = math.inf
    for _ in range(repeats):
        a @ b
        t = time.perf_counter()
        for _ in range(20):
            a @ b
        best = min(best, (time.perf_counter() - t) / 20)
    return 2 * rows * dim * dim / best / 1e9


def training_flops(dataset, config) -> float:
    """Matmul FLOPs of one epoch's training steps: the four blocks on every valid clip (forward,
    weight gradients, input gradients except for the first layer), the concept similarities and
    fine-level representations (B x C x K x H each, forward and backward of the second), the
    coarse pooling and the coarse block on (B, G, H)."""
    h = config.hyperparameters
    D, H, C, K, G = (h.feature_size, h.encoded_feature_size, dataset.num_fine_classes,
                     h.num_visual_concepts, dataset.num_coarse_classes)
    clips = int(dataset.lengths[dataset.train_indices].sum())
    videos = len(dataset.train_indices)
    per_clip = 2 * (2 * D * H + 3 * (H * H + (H * H + H * C) + (H * H + H * K)))
    per_video = 2 * (C * K * H + 2 * C * K * H + 2 * G * C * H + 3 * G * (H * H + H))
    return per_clip * clips + per_video * videos


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train-videos", type=int, default=150)
    ap.add_argument("--test-videos", type=int, default=50)
    ap.add_argument("--dim", type=int, default=2048)
    ap.add_argument("--concepts", type=int, default=500, help="K (the paper: 500)")
    ap.add_argument("--quick", action="store_true", help="30 + 10 videos, 256-d, K = 64")
    args = ap.parse_args()
    if args.quick:
        args.train_videos, args.test_videos, args.dim, args.concepts = 30, 10, 256, 64
    torch_masks = 'haan.dropout_masks="torch"'
    variants = {"haan fp32, torch masks": [torch_masks],
                "haan fp32 (default)": [],
                "haan bf16, torch masks": ['haan.precision="bf16"', torch_masks],
                "haan bf16": ['haan.precision="bf16"']}
    with tempfile.TemporaryDirectory() as tmp:
        config_path = write_dataset(Path(tmp), args.train_videos, args.test_videos, args.dim, 99, 14,
                                    args.concepts, 0)
        config = load_config(config_path)
        dataset = load_dataset(config)
        torch.manual_seed(0)
        model = HAAN.from_config(config)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.hyperparameters.learning_rate)
        base = baseline_epoch(model, optimizer, dataset, config, torch.Generator().manual_seed(0))
        results = {name: haan_epoch(load_config(config_path, overrides), dataset)
                   for name, overrides in variants.items()}
        flops = training_flops(dataset, config)
        rows = 2 * int(np.mean(dataset.lengths[dataset.train_indices]))
        peaks = {"fp32": matmul_peak(torch.float32, rows, args.dim),
                 "bf16": matmul_peak(torch.bfloat16, rows, args.dim)}
    phases = ("pseudo labels", "training", "evaluation")
    print(f"one epoch, {args.train_videos} training + {args.test_videos} test videos, D = H = "
          f"{args.dim}, C = 99, K = {args.concepts}, {torch.get_num_threads()} threads")
    print(f"{'':<26}" + "".join(f"{p:>16}" for p in phases) + f"{'epoch':>16}")
    tb = sum(base[p] for p in phases)
    label = "baseline (paper's way)"
    print(f"{label:<26}" + "".join(f"{base[p]:>16.2f}" for p in phases) + f"{tb:>16.2f}")
    for name, r in results.items():
        to = sum(r[p] for p in phases)
        print(f"{name:<26}" + "".join(f"{r[p]:>9.2f} {base[p] / r[p]:>5.1f}x" for p in phases)
              + f"{to:>9.2f} {tb / to:>5.1f}x")
    print(f"matmul peak at the step's shapes (best of 5): fp32 {peaks['fp32']:.0f}, bf16 "
          f"{peaks['bf16']:.0f} GFLOP/s")
    for name, r in results.items():
        achieved = flops / r["training"] / 1e9
        peak = peaks["bf16" if "bf16" in name else "fp32"]
        print(f"{name:<26} training: {achieved:.0f} GFLOP/s of matmul work, {achieved / peak:.0%} "
              f"of the {'bf16' if 'bf16' in name else 'fp32'} peak")
    # Precision drift: the same masks (the same stream), fp32 against bf16.
    for masks in ("torch masks", "default"):
        fp32 = results["haan fp32, torch masks" if masks == "torch masks" else "haan fp32 (default)"]
        bf16 = results["haan bf16, torch masks" if masks == "torch masks" else "haan bf16"]
        drift = [abs(a - b) / abs(b) for a, b in zip(bf16["_losses"], fp32["_losses"]) if b]
        print(f"bf16 against fp32 ({masks}): epoch-mean losses (total, L_mil, L_pseudo, "
              f"L_concept, L_coarse) differ by at most {max(drift):.2%}")
    if not all(math.isfinite(tb / sum(r[p] for p in phases)) for r in results.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
