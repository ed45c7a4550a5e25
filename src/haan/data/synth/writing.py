"""Writing a synthetic dataset: the features (an object array, or the memory-mapped store,
streaming), the annotation files, `config.toml` (the paper's schema, paths as typed) and
`synth.json` (the preset and the drawn hierarchy, to reproduce or inspect it).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from haan import fileio
from haan.config import Config, config_from_dict, dumps_toml
from haan.data.annotations import ANNOTATION_FILES, annotations_section, write_annotations
from haan.data.features import STORE_FILES
from haan.data.store import STORE_FOLDER, prepare_output, write_store
from haan.data.synth.features import iter_features
from haan.data.synth.model import build_model
from haan.data.synth.presets import PRESETS, SynthPreset, get_preset, load_paper_config
from haan.data.synth.videos import plan_videos
from haan.errors import InputError

FEATURES_FILE = "features.npy"  # object array (tiny, small)

# Settings that only some presets use: synth.json records them only where they differ from their
# defaults, so that the record of a preset that does not use them stays byte for byte the same.
OPTIONAL_SETTINGS = ("store_dtype", "paper_config", "video_duration_s", "instance_count_shape",
                     "fine_per_video")
# synth.json's names of the preset fields renamed since it was first written: the records of the
# same preset stay the same.
RECORD_NAMES = {"paper_config": "evaluation"}


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
        "hyperparameters": dataclasses.asdict(preset.hyperparameters),
        "evaluation": dataclasses.asdict(load_paper_config(preset.paper_config).evaluation),
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


def preset_record(preset: SynthPreset) -> dict:
    """The preset as synth.json records it; its training as every [hyperparameters] setting but
    feature_size (the preset's own)."""
    defaults = {f.name: f.default for f in dataclasses.fields(SynthPreset)}
    training = dataclasses.asdict(preset.hyperparameters)
    del training["feature_size"]
    return {RECORD_NAMES.get(k, k): training if k == "training" else v
            for k, v in dataclasses.asdict(preset).items()
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


__all__ = ["FEATURES_FILE", "OPTIONAL_SETTINGS", "RECORD_NAMES", "generate", "output_files",
           "preset_config", "preset_record"]
