"""The clips' features, one video at a time (each from its own seed stream, so any video can be
generated alone, and a dataset streamed).

Clip t of video v:
      x_t = o_v + b * bg_t + a * s_i * w_t * sum_j k_j(u_t) atom[seq_c[j]] + n * eps_t
with o_v ~ N(0, offset_scale^2 I) a per-video offset, bg_t a background direction that changes at
random points, w_t in [0, 1] the fraction of the clip inside instance i (0 outside any), s_i a
per-instance amplitude (1 +- action_jitter), u_t the clip centre's relative position in the
instance, k_j linear interpolation weights that sweep the fine class's atomics in order as u goes
from 0 to 1, and eps_t ~ N(0, I). Features are signed (not I3D's non-negative).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from haan.data.synth.model import SynthModel, seed_streams
from haan.data.synth.videos import VideoPlan


def video_features(model: SynthModel, plan: VideoPlan, i: int, seed: int) -> np.ndarray:
    """(T_i, D) float32 features of video i; depends only on (model, plan, i, seed)."""
    p = model.preset
    rng = np.random.default_rng(_video_seed(seed, i))
    T, D, r = int(plan.lengths[i]), p.feature_size, float(plan.sec2clip_ratios[i])
    x = p.noise_level * rng.standard_normal((T, D), dtype=np.float32)  # (T, D)
    x += p.offset_scale * rng.standard_normal(D, dtype=np.float32)
    # Background: a direction per stretch of clips, switching at random clips.
    stretch = np.cumsum(rng.random(T) < p.background_switch)  # (T,)
    which = rng.integers(p.num_background, size=int(stretch[-1]) + 1)
    x += p.background_level * model.backgrounds[which[stretch]]

    seg, fine = plan.segments[i], plan.labels[i][:, 1]
    if len(seg):
        start, end = seg[:, 0], seg[:, 1]
        a = np.floor(start * r).astype(np.int64)
        b = np.minimum(np.ceil(end * r).astype(np.int64), T)
        n = np.maximum(b - a, 0)
        inst = np.repeat(np.arange(len(seg)), n)  # (M,) instance of each touched clip
        clip = a[inst] + np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)  # (M,)
        inside = np.minimum(end[inst], (clip + 1) / r) - np.maximum(start[inst], clip / r)
        w = np.clip(inside * r, 0.0, 1.0)  # (M,) fraction of the clip in the instance
        u = np.clip(((clip + 0.5) / r - start[inst]) / (end - start)[inst], 0.0, 1.0)
        seqs, seq_len = model.sequence_matrix
        L = seq_len[fine[inst]]  # (M,)
        pos = np.clip(u * L - 0.5, 0.0, L - 1.0)  # position along the sequence, in atomics
        slot = np.arange(seqs.shape[1])
        k = np.maximum(0.0, 1.0 - np.abs(pos[:, None] - slot)) * (slot < L[:, None])  # (M, L_max)
        mix = np.einsum("ms,msd->md", k.astype(np.float32),
                        model.atoms[seqs[fine[inst]]])  # (M, D)
        amp = 1.0 + p.action_jitter * rng.uniform(-1.0, 1.0, size=len(seg))
        np.add.at(x, clip, (p.action_level * amp[inst] * w)[:, None].astype(np.float32) * mix)
    return x


def _video_seed(seed: int, i: int) -> np.random.SeedSequence:
    """Child i of the features stream (what its spawn() would give), without spawning N."""
    parent = seed_streams(seed)[2]
    return np.random.SeedSequence(parent.entropy, spawn_key=parent.spawn_key + (i,))


def iter_features(model: SynthModel, plan: VideoPlan, seed: int) -> Iterator[np.ndarray]:
    for i in range(len(plan.lengths)):
        yield video_features(model, plan, i, seed)


__all__ = ["iter_features", "video_features"]
