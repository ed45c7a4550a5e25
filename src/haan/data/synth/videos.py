"""The videos' annotations (cheap: no features): each video's length and clip rate, its
instances' segments and their classes.

Like FineGym: a fraction of short videos with a single instance (FineGym's vault videos), the
others with T clips uniform in `clips_per_video` and a Poisson number of instances proportional to
T, ~7 per video overall. Each video draws 1-3 coarse classes and its instances' fine classes among
their children. Durations are lognormal (median 1.3 s), placed at random without overlap and at
least one clip apart; the clip rate is 1.5 clips per second.
Like FineAction (`video_duration_s` and the settings after it): every video has the same number of
clips over a lognormal duration, so its clip rate is T / duration; instance counts are negative
binomial (many one-instance videos, a long tail), and most videos use one fine class.

Every draw comes from the plan's one stream, in a fixed order: the steps below are called in it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from haan.data.synth.model import SynthModel, seed_streams
from haan.data.synth.presets import SynthPreset


@dataclass(frozen=True)
class VideoPlan:
    video_names: np.ndarray      # (N,) str
    lengths: np.ndarray          # (N,) int64 clips
    labels: list[np.ndarray]     # N items, (n_i, 2) int64 [coarse, fine]
    segments: list[np.ndarray]   # N items, (n_i, 2) float64 seconds, sorted, 0.01 s grid
    sec2clip_ratios: np.ndarray  # (N,) float64


def plan_videos(model: SynthModel, seed: int) -> VideoPlan:
    """Lengths, instances and their classes; cheap (no features)."""
    p = model.preset
    rng = np.random.default_rng(seed_streams(seed)[1])
    single, lengths, ratios = _video_lengths(p, rng)
    counts = _instance_counts(p, rng, single, lengths)
    children = [np.flatnonzero(model.fine_to_coarse == g) for g in range(p.num_coarse_classes)]
    labels, segments = [], []
    for i in range(p.num_videos):  # a loop over videos; each video's instances are vectorized
        seg = _place_instances(p, rng, counts[i], lengths[i], ratios[i])
        fine = _instance_classes(p, rng, children, bool(single[i]), len(seg))
        labels.append(np.stack([model.fine_to_coarse[fine], fine], axis=1).astype(np.int64))
        segments.append(seg)
    names = np.array([f"synth_{i:05d}" for i in range(p.num_videos)])
    return VideoPlan(names, lengths.astype(np.int64), labels, segments, ratios)


def _video_lengths(p: SynthPreset, rng: np.random.Generator
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N,) bool one-instance videos, (N,) clips per video, (N,) float64 clips per second."""
    n = p.num_videos
    single = rng.random(n) < p.single_instance_fraction
    lengths = np.where(single, rng.integers(p.single_instance_clips[0],
                                            p.single_instance_clips[1] + 1, size=n),
                       rng.integers(p.clips_per_video[0], p.clips_per_video[1] + 1, size=n))
    if p.video_duration_s is None:
        ratios = np.full(n, p.clips_per_second, dtype=np.float64)  # (N,) clips per second
    else:
        median, sigma, shortest, longest = p.video_duration_s
        duration = np.clip(np.exp(np.log(median) + sigma * rng.standard_normal(n)), shortest,
                           longest)
        ratios = lengths / duration
    return single, lengths, ratios


def _instance_counts(p: SynthPreset, rng: np.random.Generator, single: np.ndarray,
                     lengths: np.ndarray) -> np.ndarray:
    """(N,) instances to place in each video (fewer where they do not fit)."""
    # Multi-instance videos get a count proportional to their length, so that the mean over all
    # videos is instances_per_video.
    f = p.single_instance_fraction
    mean_multi = max(1.0, (p.instances_per_video - f) / max(1e-9, 1 - f))
    rate = mean_multi / np.mean(p.clips_per_video)
    mean_count = rate * lengths  # (N,)
    if p.instance_count_shape > 0:
        k = p.instance_count_shape
        mean_count = mean_count * rng.gamma(k, 1.0 / k, size=len(lengths))
    return np.where(single, 1, np.maximum(1, rng.poisson(mean_count)))


def _place_instances(p: SynthPreset, rng: np.random.Generator, count: int, num_clips: int,
                     ratio: float) -> np.ndarray:
    """(k, 2) segments in seconds of one video, sorted, at most `count` of them: lognormal
    durations, dropped until they fit one gap (more than a clip) apart, at random gaps."""
    gap = 1.0 / ratio + 0.02  # > one clip: no clip touches two instances, even after rounding
    total = num_clips / ratio - 0.02
    d = np.exp(np.log(p.instance_median_s) + p.instance_log_sigma * rng.standard_normal(count))
    d = np.clip(d, p.min_instance_s, 0.8 * total)
    # Drop instances until they fit one gap apart.
    fits = np.cumsum(d) + gap * np.arange(len(d)) <= 0.9 * total
    d = d[: max(1, int(fits.sum()))]
    k = len(d)
    free = total - d.sum() - gap * (k - 1)
    g = rng.dirichlet(np.ones(k + 1)) * free
    starts = g[0] + np.concatenate([[0.0], np.cumsum(d[:-1] + gap + g[1:k])])
    return np.round(np.stack([starts, starts + d], axis=1), 2)


def _instance_classes(p: SynthPreset, rng: np.random.Generator, children: list[np.ndarray],
                      single: bool, k: int) -> np.ndarray:
    """(k,) fine classes of one video's instances: its coarse classes drawn, then (with
    `fine_per_video`) the few fine classes it uses, then each instance's among them."""
    num_coarse = 1 if single else int(rng.integers(p.coarse_per_video[0],
                                                   p.coarse_per_video[1] + 1))
    coarse = rng.choice(p.num_coarse_classes, size=min(num_coarse, p.num_coarse_classes),
                        replace=False)
    pool = np.concatenate([children[c] for c in coarse])
    fine_choices = np.asarray(p.fine_per_video, dtype=np.float64)  # (F,) P(1..F fine classes)
    if len(fine_choices):
        num_fine = 1 + int(rng.choice(len(fine_choices), p=fine_choices / fine_choices.sum()))
        pool = rng.choice(pool, size=min(num_fine, len(pool)), replace=False)
    return rng.choice(pool, size=k)


__all__ = ["VideoPlan", "plan_videos"]
