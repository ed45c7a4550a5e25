"""Synthetic fine-grained action datasets in the paper's format, with a planted hierarchy.

The generative model (one seed fixes everything):

* Vocabulary. `num_atomics` atomic actions, each a random Gaussian direction in R^D, and
  `num_background` background directions.
* Hierarchy. Coarse class g owns a pool of `atomics_per_coarse` atomics (pools of different coarse
  classes may overlap). Its fine classes are short sequences of L atomics from the pool
  (L in `atomics_per_fine`, one L per coarse class): all siblings share a core of L - 1 atomics in
  a fixed order, and each inserts one more atomic at some position. Siblings therefore differ by
  one atomic or only by its position in the sequence: telling them apart needs the atomic
  structure, which is the paper's premise.
* Videos. Like FineGym: a fraction of short videos with a single instance (FineGym's vault
  videos), the others with T clips uniform in `clips_per_video` and a Poisson number of instances
  proportional to T, ~7 per video overall. Each video draws 1-3 coarse classes and its instances'
  fine classes among their children. Durations are lognormal (median 1.3 s), placed at random
  without overlap and at least one clip apart; the clip rate is 1.5 clips per second.
  Like FineAction (`video_duration_s` and the settings after it): every video has the same number
  of clips over a lognormal duration, so its clip rate is T / duration; instance counts are
  negative binomial (many one-instance videos, a long tail), and most videos use one fine class.
* Features. clip t of video v:
      x_t = o_v + b * bg_t + a * s_i * w_t * sum_j k_j(u_t) atom[seq_c[j]] + n * eps_t
  with o_v ~ N(0, offset_scale^2 I) a per-video offset, bg_t a background direction that changes
  at random points, w_t in [0, 1] the fraction of the clip inside instance i (0 outside any),
  s_i a per-instance amplitude (1 +- action_jitter), u_t the clip centre's relative position in
  the instance, k_j linear interpolation weights that sweep the fine class's atomics in order as u
  goes from 0 to 1, and eps_t ~ N(0, I). Features are signed (not I3D's non-negative).

`tiny` is for tests (seconds), `small` the demo (trains in minutes on a laptop CPU),
`finegym-like` has FineGym's size (4,968 videos, 2048-d, 14 coarse / 99 fine classes; about 3 GB,
written streaming into the memory-mapped store of `haan data convert` rather than an object array)
and `fineaction-like` FineAction's (12,614 videos x 100 clips, 4096-d, 14 coarse / 106 fine
classes; about 10 GB, a float16 store written streaming). `generate(..., num_videos=N)` scales a
preset down (or up).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from haan import fileio
from haan.config import Config, config_from_dict, dumps_toml, load_config
from haan.data.annotations import ANNOTATION_FILES, annotations_section, write_annotations
from haan.data.features import STORE_FILES
from haan.data.store import STORE_FOLDER, prepare_output, write_store
from haan.errors import InputError

FEATURES_FILE = "features.npy"  # object array (tiny, small)


@dataclass(frozen=True)
class SynthTraining:
    """The [hyperparameters] written into the generated config (feature_size is the preset's D)."""

    encoded_feature_size: int
    batch_size: int
    clustering_sample_rate: float
    dropout_rate: float
    learning_rate: float
    epochs: int
    num_visual_concepts: int
    num_top_visual_concepts: int = 5
    fine_to_coarse_pooling: str = "mean"
    lambda_1: float = 1.0
    lambda_2: float = 0.001
    lambda_3: float = 0.01
    lambda_4: float = 0.1


@dataclass(frozen=True)
class SynthPreset:
    name: str
    fine_per_coarse: tuple[int, ...]          # number of fine classes of each coarse class
    num_atomics: int                          # atomic-action vocabulary
    atomics_per_coarse: int                   # pool of each coarse class
    feature_size: int                         # D
    num_videos: int
    train_fraction: float                     # the first round(f * N) videos train
    clips_per_video: tuple[int, int]          # T of multi-instance videos, inclusive range
    single_instance_fraction: float           # short one-instance videos (FineGym: 31%)
    single_instance_clips: tuple[int, int]    # their T
    training: SynthTraining
    atomics_per_fine: tuple[int, int] = (2, 4)
    coarse_per_video: tuple[int, int] = (1, 3)
    instances_per_video: float = 7.0          # mean over all videos
    instance_median_s: float = 1.3
    instance_log_sigma: float = 0.58          # FineGym: 5%-95% of durations 0.68-3.3 s
    min_instance_s: float = 0.3
    clips_per_second: float = 1.5
    num_background: int = 4
    background_level: float = 1.0
    action_level: float = 1.0
    action_jitter: float = 0.3
    noise_level: float = 1.0
    offset_scale: float = 0.5
    background_switch: float = 0.1            # chance per clip that the background changes
    store_features: bool = False              # write the flat store, streaming, not objects
    store_dtype: str = "float32"
    evaluation: str = "fine_gym"              # the built-in config whose [evaluation] is used
    # Videos of a fixed clips_per_video whose durations are lognormal (median s, log sigma, min s,
    # max s): each video's clip rate is T / duration (FineAction's resampled 100 clips). None:
    # every video at clips_per_second.
    video_duration_s: tuple[float, float, float, float] | None = None
    # > 0: instance counts are Poisson with a gamma-distributed mean of this shape (a negative
    # binomial: many one-instance videos and a long tail, as FineAction). 0: Poisson.
    instance_count_shape: float = 0.0
    # Probabilities of 1, 2, ... distinct fine classes per video (FineAction: mostly one).
    # (): each instance draws its class among all children of the video's coarse classes.
    fine_per_video: tuple[float, ...] = ()

    @property
    def num_coarse_classes(self) -> int:
        return len(self.fine_per_coarse)

    @property
    def num_fine_classes(self) -> int:
        return sum(self.fine_per_coarse)

    @property
    def num_training_videos(self) -> int:
        return round(self.train_fraction * self.num_videos)

    @property
    def max_clips_per_video(self) -> int:
        return max(self.clips_per_video[1], self.single_instance_clips[1])


# The one place to tune the presets (the small preset's hyperparameters included).
PRESETS: dict[str, SynthPreset] = {
    "tiny": SynthPreset(
        name="tiny", fine_per_coarse=(2, 2), num_atomics=8, atomics_per_coarse=5,
        feature_size=32, num_videos=24, train_fraction=0.75, clips_per_video=(16, 32),
        single_instance_fraction=0.25, single_instance_clips=(6, 10), instances_per_video=3.0,
        coarse_per_video=(1, 2), action_level=1.5, noise_level=0.5, num_background=2,
        training=SynthTraining(encoded_feature_size=32, batch_size=4, clustering_sample_rate=0.5,
                               dropout_rate=0.5, learning_rate=1e-3, epochs=3,
                               num_visual_concepts=8, num_top_visual_concepts=3),
    ),
    "small": SynthPreset(
        name="small", fine_per_coarse=(3, 4, 3, 4, 3, 4), num_atomics=24, atomics_per_coarse=7,
        feature_size=128, num_videos=300, train_fraction=0.75, clips_per_video=(50, 160),
        single_instance_fraction=0.2, single_instance_clips=(8, 14),
        # Per-clip signal to noise: a fully supervised linear clip classifier reaches ~37%
        # average mAP on the test set, a MIL-only baseline ~13%, random scores 0.5%.
        action_level=1.5, noise_level=1.0, background_level=0.8, offset_scale=0.5,
        # HAAN reached its best test avg.mAP (~18%) by epoch 12 of 30 here.
        training=SynthTraining(encoded_feature_size=128, batch_size=4, clustering_sample_rate=0.1,
                               dropout_rate=0.5, learning_rate=1e-3, epochs=15,
                               num_visual_concepts=48),
    ),
    "finegym-like": SynthPreset(
        name="finegym-like", fine_per_coarse=(6, 11, 7, 7, 10, 12, 4, 8, 4, 5, 15, 5, 2, 3),
        num_atomics=64, atomics_per_coarse=9, feature_size=2048, num_videos=4968,
        train_fraction=3775 / 4968, clips_per_video=(40, 180), single_instance_fraction=0.31,
        # Class separation grows as action_level * sqrt(D): 0.4 at D = 2048 is about small's
        # 1.5 at D = 128.
        single_instance_clips=(8, 14), action_level=0.4, noise_level=1.0, background_level=0.8,
        num_background=8, store_features=True,
        # The paper's FineGym hyperparameters.
        training=SynthTraining(encoded_feature_size=2048, batch_size=2, clustering_sample_rate=0.1,
                               dropout_rate=0.5, learning_rate=3e-5, epochs=200,
                               num_visual_concepts=500),
    ),
    "fineaction-like": SynthPreset(
        # FineAction's shape: 12,614 videos (8,440 train) of 100 resampled clips, D = 4096, and
        # its 14 coarse classes with their numbers of fine classes (106 in all).
        name="fineaction-like", fine_per_coarse=(10, 7, 6, 7, 7, 8, 5, 10, 7, 9, 8, 8, 10, 4),
        num_atomics=64, atomics_per_coarse=9, feature_size=4096, num_videos=12614,
        train_fraction=8440 / 12614, clips_per_video=(100, 100), single_instance_fraction=0.0,
        single_instance_clips=(100, 100), coarse_per_video=(1, 1),
        # FineAction: videos of median 97 s (5%-95%: 18-460 s); 42% of them with one instance,
        # median 2, mean 6.5; instances of median 1.3 s with a long tail (95%: 30 s); 89% of the
        # videos with a single fine class (82% of those with two or more instances). Instances
        # that do not fit are dropped, so the drawn mean of 10 gives about 6 per video.
        video_duration_s=(97.0, 0.97, 1.5, 3600.0), instances_per_video=10.0,
        instance_count_shape=0.33, instance_median_s=1.3, instance_log_sigma=1.7,
        fine_per_video=(0.815, 0.08, 0.093, 0.012),
        # action_level * sqrt(D) as finegym-like's 0.4 at D = 2048.
        action_level=0.3, noise_level=1.0, background_level=0.8, num_background=8,
        store_features=True, store_dtype="float16", evaluation="fine_action",
        # The paper's FineAction hyperparameters (fine_action.toml).
        training=SynthTraining(encoded_feature_size=1024, batch_size=2,
                               clustering_sample_rate=0.03, dropout_rate=0.3, learning_rate=3e-5,
                               epochs=50, num_visual_concepts=500, num_top_visual_concepts=5,
                               fine_to_coarse_pooling="max", lambda_4=1.0),
    ),
}


def get_preset(name: str) -> SynthPreset:
    if name not in PRESETS:
        raise InputError(f"--preset {name}: unknown preset (known: {', '.join(PRESETS)})")
    return PRESETS[name]


# ----------------------------------------------------------------------------------------------
# The model: hierarchy, atomic and background directions


@dataclass(frozen=True)
class SynthModel:
    preset: SynthPreset
    fine_to_coarse: np.ndarray              # (C,) int64
    coarse_pools: tuple[tuple[int, ...], ...]  # G pools of atomic ids
    sequences: tuple[tuple[int, ...], ...]  # C atomic sequences, in order
    atoms: np.ndarray                       # (V, D) float32
    backgrounds: np.ndarray                 # (B, D) float32

    @property
    def sequence_matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """(C, L_max) int64 atomic ids padded with 0, and (C,) lengths."""
        lengths = np.array([len(s) for s in self.sequences], dtype=np.int64)
        out = np.zeros((len(lengths), int(lengths.max())), dtype=np.int64)
        for c, s in enumerate(self.sequences):  # C rows, each a few ids
            out[c, : len(s)] = s
        return out, lengths


def _seeds(seed: int) -> tuple[np.random.SeedSequence, ...]:
    """Independent streams: model, video plan, features (one child per video)."""
    return tuple(np.random.SeedSequence(seed).spawn(3))


def build_model(preset: SynthPreset, seed: int) -> SynthModel:
    rng = np.random.default_rng(_seeds(seed)[0])
    lo, hi = preset.atomics_per_fine
    pools, sequences, fine_to_coarse = [], [], []
    for g, siblings in enumerate(preset.fine_per_coarse):
        for _attempt in range(100):  # redraw the pool in the rare case it allows too few
            pool = rng.choice(preset.num_atomics, size=preset.atomics_per_coarse, replace=False)
            length = int(rng.integers(lo, hi + 1))
            core = [int(a) for a in pool[: length - 1]]  # shared by every sibling, in this order
            # A sibling = the core with one more atomic of the pool inserted at some position.
            # (Pools overlap, so another coarse class may already own a sequence: skip it.)
            candidates = [seq for v in pool[length - 1:] for q in range(length)
                          if (seq := tuple(core[:q] + [int(v)] + core[q:])) not in sequences]
            if siblings <= len(candidates):
                break
        else:
            raise ValueError(f"preset {preset.name}: coarse class {g} needs {siblings} fine "
                             f"classes, more than a pool of {preset.atomics_per_coarse} allows")
        chosen = rng.choice(len(candidates), size=siblings, replace=False)
        pools.append(tuple(int(a) for a in pool))
        sequences.extend(candidates[i] for i in chosen)
        fine_to_coarse.extend([g] * siblings)
    D = preset.feature_size
    atoms = rng.standard_normal((preset.num_atomics, D)).astype(np.float32)
    backgrounds = rng.standard_normal((preset.num_background, D)).astype(np.float32)
    return SynthModel(preset, np.array(fine_to_coarse, dtype=np.int64), tuple(pools),
                      tuple(sequences), atoms, backgrounds)


# ----------------------------------------------------------------------------------------------
# The videos' annotations


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
    rng = np.random.default_rng(_seeds(seed)[1])
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
    # Multi-instance videos get a count proportional to their length, so that the mean over all
    # videos is instances_per_video.
    f = p.single_instance_fraction
    mean_multi = max(1.0, (p.instances_per_video - f) / max(1e-9, 1 - f))
    rate = mean_multi / np.mean(p.clips_per_video)
    mean_count = rate * lengths  # (N,)
    if p.instance_count_shape > 0:
        k = p.instance_count_shape
        mean_count = mean_count * rng.gamma(k, 1.0 / k, size=n)
    counts = np.where(single, 1, np.maximum(1, rng.poisson(mean_count)))
    children = [np.flatnonzero(model.fine_to_coarse == g) for g in range(p.num_coarse_classes)]
    fine_choices = np.asarray(p.fine_per_video, dtype=np.float64)  # (F,) P(1..F fine classes)
    labels, segments = [], []
    for i in range(n):  # a loop over videos; each video's instances are vectorized
        r = ratios[i]
        gap = 1.0 / r + 0.02  # > one clip: no clip touches two instances, even after rounding
        total = lengths[i] / r - 0.02
        d = np.exp(np.log(p.instance_median_s) + p.instance_log_sigma *
                   rng.standard_normal(counts[i]))
        d = np.clip(d, p.min_instance_s, 0.8 * total)
        # Drop instances until they fit one gap apart.
        fits = np.cumsum(d) + gap * np.arange(len(d)) <= 0.9 * total
        d = d[: max(1, int(fits.sum()))]
        k = len(d)
        free = total - d.sum() - gap * (k - 1)
        g = rng.dirichlet(np.ones(k + 1)) * free
        starts = g[0] + np.concatenate([[0.0], np.cumsum(d[:-1] + gap + g[1:k])])
        seg = np.round(np.stack([starts, starts + d], axis=1), 2)
        num_coarse = 1 if single[i] else int(rng.integers(p.coarse_per_video[0],
                                                           p.coarse_per_video[1] + 1))
        coarse = rng.choice(p.num_coarse_classes, size=min(num_coarse, p.num_coarse_classes),
                            replace=False)
        pool = np.concatenate([children[c] for c in coarse])
        if len(fine_choices):
            num_fine = 1 + int(rng.choice(len(fine_choices), p=fine_choices / fine_choices.sum()))
            pool = rng.choice(pool, size=min(num_fine, len(pool)), replace=False)
        fine = rng.choice(pool, size=k)
        labels.append(np.stack([model.fine_to_coarse[fine], fine], axis=1).astype(np.int64))
        segments.append(seg)
    names = np.array([f"synth_{i:05d}" for i in range(n)])
    return VideoPlan(names, lengths.astype(np.int64), labels, segments, ratios)


# ----------------------------------------------------------------------------------------------
# Features


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
    parent = _seeds(seed)[2]
    return np.random.SeedSequence(parent.entropy, spawn_key=parent.spawn_key + (i,))


def iter_features(model: SynthModel, plan: VideoPlan, seed: int) -> Iterator[np.ndarray]:
    for i in range(len(plan.lengths)):
        yield video_features(model, plan, i, seed)


# ----------------------------------------------------------------------------------------------
# Writing


def preset_config(preset: SynthPreset, out: str | Path) -> Config:
    """The config `haan synth` writes: paths are `out` (as typed) joined with the file names."""
    o = Path(out)
    features = o / (STORE_FOLDER if preset.store_features else FEATURES_FILE)
    raw = {
        "dataset": {"name": "Synthetic"},
        "stats": {"num_training_videos": preset.num_training_videos,
                  "num_coarse_classes": preset.num_coarse_classes,
                  "num_fine_classes": preset.num_fine_classes,
                  "max_clips_per_video": preset.max_clips_per_video},
        "features": {"features_path": str(features)},
        "annotations": annotations_section(o),
        "hyperparameters": {"feature_size": preset.feature_size,
                            **dataclasses.asdict(preset.training)},
        "evaluation": load_config(preset.evaluation).to_dict()["evaluation"],
    }
    return config_from_dict(raw, source=f"synth:{preset.name}")


def config_text(config: Config, preset: SynthPreset, seed: int | None = None) -> str:
    """The config as TOML in the paper's schema (no [haan] section: its defaults apply)."""
    how = f"haan synth --preset {preset.name}" + ("" if seed is None else f" --seed {seed}")
    if preset.name in PRESETS and preset.num_videos != PRESETS[preset.name].num_videos:
        how += f" --num-videos {preset.num_videos}"
    tables = {k: v for k, v in config.to_dict().items() if k != "haan"}
    return (f"# Synthetic dataset written by `{how}`.\n"
            "# Paths are relative to the working directory haan synth ran in.\n"
            + dumps_toml(tables))


def _object_array(items: list[np.ndarray]) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    for i, x in enumerate(items):  # element-wise, so numpy never stacks equal-shaped (T, D) items
        out[i] = x
    return out


def output_files(preset: SynthPreset) -> list[str]:
    """What `generate` writes into its folder, relative to it."""
    features = ([f"{STORE_FOLDER}/{name}" for name in STORE_FILES] if preset.store_features
                else [FEATURES_FILE])
    return [*features, *ANNOTATION_FILES.values(), "synth.json", "config.toml"]


# Settings that only some presets use: synth.json records them only where they differ from their
# defaults, so that the record of a preset that does not use them stays byte for byte the same.
OPTIONAL_SETTINGS = ("store_dtype", "evaluation", "video_duration_s", "instance_count_shape",
                     "fine_per_video")


def preset_record(preset: SynthPreset) -> dict:
    """The preset as synth.json records it."""
    defaults = {f.name: f.default for f in dataclasses.fields(SynthPreset)}
    return {k: v for k, v in dataclasses.asdict(preset).items()
            if not (k in OPTIONAL_SETTINGS and v == defaults[k])}


def generate(out: str | Path, preset: str | SynthPreset = "small", seed: int = 0,
             overwrite: bool = False, num_videos: int | None = None) -> Path:
    """Write the dataset, `config.toml` and `synth.json` into `out`; returns the config's path.
    A folder that already holds any of these files is refused unless `overwrite`. `num_videos`
    scales the preset to that many videos (the same fraction of them training)."""
    if isinstance(preset, str):
        preset = get_preset(preset)
    if num_videos is not None:
        if num_videos < 2:
            raise InputError(f"--num-videos {num_videos}: expected an integer >= 2")
        preset = dataclasses.replace(preset, num_videos=num_videos)
    o = prepare_output(out, output_files(preset), overwrite)
    model = build_model(preset, seed)
    plan = plan_videos(model, seed)
    config = preset_config(preset, out)

    if preset.store_features:
        write_store(o / STORE_FOLDER, plan.video_names, plan.lengths, preset.feature_size,
                    iter_features(model, plan, seed), dtype=preset.store_dtype,
                    source=f"synth:{preset.name}", overwrite=overwrite)
    else:
        fileio.write_npy(o / FEATURES_FILE, _object_array(list(iter_features(model, plan, seed))))
    write_annotations(o, plan.video_names, plan.labels, plan.segments, plan.sec2clip_ratios,
                      model.fine_to_coarse)
    record = {
        "generator": "haan.synth", "preset": preset_record(preset), "seed": seed,
        "coarse_pools": [list(x) for x in model.coarse_pools],
        "fine_sequences": [list(x) for x in model.sequences],
        "fine_to_coarse": model.fine_to_coarse.tolist(),
    }
    fileio.write_json(o / "synth.json", record)
    fileio.write_text(o / "config.toml", config_text(config, preset, seed))
    return o / "config.toml"


__all__ = ["PRESETS", "SynthModel", "SynthPreset", "SynthTraining", "VideoPlan", "build_model",
           "generate", "get_preset", "iter_features", "output_files", "plan_videos",
           "preset_config", "preset_record", "video_features"]
