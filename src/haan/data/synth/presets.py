"""The synthetic presets: the generator's settings (`SynthPreset`), the four built-in presets
(`PRESETS`) and the training settings each writes into its config.

A preset's training settings are the [hyperparameters] of one of the paper's built-in configs
(`paper_config`, whose [evaluation] it also takes) with the changes in `training`; feature_size is
always the preset's D. So each setting is written once: in the paper's config or as a change.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import Any, Mapping

from haan.config import Config, HyperParameters, load_config
from haan.errors import InputError

# haan 0.2's class of a preset's `training`, whose fields restated [hyperparameters]. A preset now
# holds the changes to its paper config's, a dict, which `SynthTraining(epochs=3, ...)` still
# builds.
SynthTraining = dict


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
    # [hyperparameters] keys and values that differ from `paper_config`'s (HyperParameters fields).
    training: Mapping[str, Any] = field(default_factory=dict)
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
    # The built-in config (the paper's) whose [evaluation] the preset's config takes, and whose
    # [hyperparameters] it takes with `training`'s changes.
    paper_config: str = "fine_gym"
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

    @property
    def hyperparameters(self) -> HyperParameters:
        """The [hyperparameters] the preset's config holds."""
        return dataclasses.replace(load_paper_config(self.paper_config).hyperparameters,
                                   feature_size=self.feature_size, **self.training)


@functools.cache
def load_paper_config(name: str) -> Config:
    """A built-in config, read once (it is immutable)."""
    return load_config(name)


# The one place to tune the presets (the small preset's hyperparameters included).
PRESETS: dict[str, SynthPreset] = {
    "tiny": SynthPreset(
        name="tiny", fine_per_coarse=(2, 2), num_atomics=8, atomics_per_coarse=5,
        feature_size=32, num_videos=24, train_fraction=0.75, clips_per_video=(16, 32),
        single_instance_fraction=0.25, single_instance_clips=(6, 10), instances_per_video=3.0,
        coarse_per_video=(1, 2), action_level=1.5, noise_level=0.5, num_background=2,
        training={"encoded_feature_size": 32, "batch_size": 4, "clustering_sample_rate": 0.5,
                  "learning_rate": 1e-3, "epochs": 3, "num_visual_concepts": 8,
                  "num_top_visual_concepts": 3},
    ),
    "small": SynthPreset(
        name="small", fine_per_coarse=(3, 4, 3, 4, 3, 4), num_atomics=24, atomics_per_coarse=7,
        feature_size=128, num_videos=300, train_fraction=0.75, clips_per_video=(50, 160),
        single_instance_fraction=0.2, single_instance_clips=(8, 14),
        # Per-clip signal to noise: a fully supervised linear clip classifier reaches ~37%
        # average mAP on the test set, a MIL-only baseline ~13%, random scores 0.5%.
        action_level=1.5, noise_level=1.0, background_level=0.8, offset_scale=0.5,
        # HAAN reached its best test avg.mAP (~18%) by epoch 12 of 30 here.
        training={"encoded_feature_size": 128, "batch_size": 4, "learning_rate": 1e-3,
                  "epochs": 15, "num_visual_concepts": 48},
    ),
    "finegym-like": SynthPreset(
        name="finegym-like", fine_per_coarse=(6, 11, 7, 7, 10, 12, 4, 8, 4, 5, 15, 5, 2, 3),
        num_atomics=64, atomics_per_coarse=9, feature_size=2048, num_videos=4968,
        train_fraction=3775 / 4968, clips_per_video=(40, 180), single_instance_fraction=0.31,
        # Class separation grows as action_level * sqrt(D): 0.4 at D = 2048 is about small's
        # 1.5 at D = 128.
        single_instance_clips=(8, 14), action_level=0.4, noise_level=1.0, background_level=0.8,
        num_background=8, store_features=True,
        # The paper's FineGym hyperparameters (paper_config's, unchanged).
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
        store_features=True, store_dtype="float16",
        # The paper's FineAction evaluation and hyperparameters (fine_action.toml, unchanged).
        paper_config="fine_action",
    ),
}


def get_preset(name: str) -> SynthPreset:
    if name not in PRESETS:
        raise InputError(f"--preset {name}: unknown preset (known: {', '.join(PRESETS)})")
    return PRESETS[name]


__all__ = ["PRESETS", "SynthPreset", "SynthTraining", "get_preset", "load_paper_config"]
