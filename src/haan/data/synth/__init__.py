"""Synthetic fine-grained action datasets in the paper's format, with a planted hierarchy
(`haan synth`). One seed fixes everything.

- `presets`: the generator's settings and the four presets: `tiny` is for tests (seconds), `small`
  the demo (trains in minutes on a laptop CPU), `finegym-like` has FineGym's size (4,968 videos,
  2048-d, 14 coarse / 99 fine classes; about 3 GB, written streaming into the memory-mapped store
  of `haan data convert` rather than an object array) and `fineaction-like` FineAction's (12,614
  videos x 100 clips, 4096-d, 14 coarse / 106 fine classes; about 10 GB, a float16 store written
  streaming). `generate(..., num_videos=N)` scales a preset down (or up).
- `model`: the atomic actions, background directions and the class hierarchy over them.
- `videos`: each video's length, instances and their classes.
- `features`: each clip's features from its video's instances.
- `writing`: the files `generate` writes.

May import: the base and the rest of haan.data.
"""

from __future__ import annotations

from haan.data.synth.features import iter_features, video_features
from haan.data.synth.model import SynthModel, build_model
from haan.data.synth.presets import PRESETS, SynthPreset, SynthTraining, get_preset
from haan.data.synth.videos import VideoPlan, plan_videos
from haan.data.synth.writing import (
    FEATURES_FILE,
    OPTIONAL_SETTINGS,
    generate,
    output_files,
    preset_config,
    preset_record,
)

__all__ = ["FEATURES_FILE", "OPTIONAL_SETTINGS", "PRESETS", "SynthModel", "SynthPreset",
           "SynthTraining", "VideoPlan", "build_model", "generate", "get_preset", "iter_features",
           "output_files", "plan_videos", "preset_config", "preset_record", "video_features"]
