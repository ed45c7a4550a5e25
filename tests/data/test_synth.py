"""The synthetic generator: deterministic, in the paper's format, and the planted structure is
really there (hierarchy, siblings sharing atomics, FineGym-like counts, separable instances)."""

from __future__ import annotations

import dataclasses
import json
import warnings
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

from haan.config import HyperParameters, load_config
from haan.data import FlatStoreFeatures, load_dataset
from haan.data.synth import (
    OPTIONAL_SETTINGS,
    PRESETS,
    build_model,
    generate,
    plan_videos,
    preset_config,
    preset_record,
    video_features,
)
from haan.errors import DataWarning, InputError

FILES = ["features.npy", "video_names.npy", "labels.npy", "segments.npy", "sec2clip_ratios.npy",
         "fine_to_coarse_mappings.json", "synth.json"]


def test_same_seed_same_files_different_seed_different(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    generate("a", "tiny", seed=5)
    generate("b", "tiny", seed=5)
    generate("c", "tiny", seed=6)
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    a_config = (tmp_path / "a" / "config.toml").read_text()
    assert a_config.replace('"a/', '"b/') == (tmp_path / "b" / "config.toml").read_text()
    for name in ("features.npy", "labels.npy", "segments.npy"):
        assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "c" / name).read_bytes(), name


def test_writes_the_papers_format_and_a_config_as_typed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config_path = generate("data/tiny", "tiny", seed=0)
    assert config_path == Path("data/tiny/config.toml")
    c = load_config(config_path)
    assert c.features.features_path == "data/tiny/features.npy"
    assert c.annotations.fine_to_coarse_mappings_path == "data/tiny/fine_to_coarse_mappings.json"
    assert "[haan]" not in config_path.read_text()  # the paper's schema only
    p = PRESETS["tiny"]
    assert (c.stats.num_training_videos, c.stats.num_fine_classes, c.stats.num_coarse_classes) == (
        18, 4, 2)
    assert c.hyperparameters.feature_size == 32
    assert c.evaluation == load_config("fine_gym").evaluation  # FineGym's evaluation settings
    features = np.load("data/tiny/features.npy", allow_pickle=True)
    assert features.dtype == object and features.shape == (24,)
    assert all(x.dtype == np.float32 and x.shape[1] == 32 for x in features)
    labels = np.load("data/tiny/labels.npy", allow_pickle=True)
    assert isinstance(labels[0], list) and isinstance(labels[0][0][0], int)
    segments = np.load("data/tiny/segments.npy", allow_pickle=True)
    assert isinstance(segments[0][0][0], float)
    np.testing.assert_array_equal(np.load("data/tiny/sec2clip_ratios.npy"), np.full(24, 1.5))
    record = json.loads(Path("data/tiny/synth.json").read_text())
    plain = {k: v for k, v in dataclasses.asdict(p).items() if k not in OPTIONAL_SETTINGS}
    # The training settings recorded in full: every [hyperparameters] setting but feature_size.
    training = {"encoded_feature_size": 32, "batch_size": 4, "clustering_sample_rate": 0.5,
                "dropout_rate": 0.5, "learning_rate": 0.001, "epochs": 3, "num_visual_concepts": 8,
                "num_top_visual_concepts": 3, "fine_to_coarse_pooling": "mean", "lambda_1": 1.0,
                "lambda_2": 0.001, "lambda_3": 0.01, "lambda_4": 0.1}
    assert record["seed"] == 0 and record["preset"] == plain | {
        "fine_per_coarse": list(p.fine_per_coarse), "clips_per_video": list(p.clips_per_video),
        "single_instance_clips": list(p.single_instance_clips),
        "atomics_per_fine": list(p.atomics_per_fine),
        "coarse_per_video": list(p.coarse_per_video), "training": training}
    assert dataclasses.asdict(c.hyperparameters) == {"feature_size": 32, **training}
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)  # nothing suspicious in generated data
        d = load_dataset(c)
    assert d.num_videos == 24


def test_presets_write_each_training_setting_once():
    """A preset's training settings are its paper config's [hyperparameters] with a few changes:
    each change is a setting of the config's own type, and differs from the paper's value."""
    settings = {f.name for f in dataclasses.fields(HyperParameters)} - {"feature_size"}
    for name, preset in PRESETS.items():
        paper = load_config(preset.paper_config).hyperparameters
        assert set(preset.training) <= settings, name
        for key, value in preset.training.items():
            assert value != getattr(paper, key) and type(value) is type(getattr(paper, key)), (
                name, key)
        assert preset.hyperparameters == dataclasses.replace(
            paper, feature_size=preset.feature_size, **preset.training)
        assert preset_config(preset, "x").hyperparameters == preset.hyperparameters
    assert PRESETS["finegym-like"].hyperparameters == load_config("fine_gym").hyperparameters
    assert PRESETS["fineaction-like"].hyperparameters == load_config("fine_action").hyperparameters


def test_the_record_keeps_its_names():
    record = preset_record(PRESETS["fineaction-like"])
    assert record["evaluation"] == "fine_action" and "paper_config" not in record
    assert "evaluation" not in preset_record(PRESETS["small"])  # the default, left out


def test_unknown_preset():
    with pytest.raises(InputError, match=r"--preset huge: unknown preset \(known: tiny, small, "
                                         r"finegym-like, fineaction-like\)"):
        generate("x", "huge")


def test_hierarchy_and_siblings_sharing_atomics():
    for name, preset in PRESETS.items():
        model = build_model(preset, seed=0)
        assert len(model.sequences) == preset.num_fine_classes
        np.testing.assert_array_equal(np.bincount(model.fine_to_coarse), preset.fine_per_coarse)
        assert len(set(model.sequences)) == len(model.sequences)  # every fine class distinct
        lo, hi = preset.atomics_per_fine
        for g, pool in enumerate(model.coarse_pools):
            siblings = [model.sequences[c] for c in np.flatnonzero(model.fine_to_coarse == g)]
            for s in siblings:
                assert lo <= len(s) <= hi and set(s) <= set(pool) and len(set(s)) == len(s)
            for s, t in combinations(siblings, 2):
                # Siblings share all atomics but one, or all of them in another order.
                assert len(s) == len(t) and len(set(s) & set(t)) >= len(s) - 1, (name, s, t)


def check_plan(preset, seed=0):
    model = build_model(preset, seed)
    plan = plan_videos(model, seed)
    for T, lab, seg, r in zip(plan.lengths, plan.labels, plan.segments, plan.sec2clip_ratios):
        assert len(lab) >= 1 and seg.shape == lab.shape
        assert (seg[:, 0] >= 0).all() and (seg[:, 1] > seg[:, 0]).all()
        assert seg[-1, 1] <= T / r  # inside the video
        assert (seg[1:, 0] - seg[:-1, 1] >= 1 / r).all()  # sorted, at least a clip apart
        np.testing.assert_array_equal(model.fine_to_coarse[lab[:, 1]], lab[:, 0])
    counts = np.array([len(x) for x in plan.labels])
    durations = np.concatenate([s[:, 1] - s[:, 0] for s in plan.segments])
    return plan, counts, durations


def test_small_has_finegym_like_counts_and_durations():
    plan, counts, durations = check_plan(PRESETS["small"])
    assert 6.0 <= counts.mean() <= 8.0  # FineGym: 7.0 instances per video
    assert 1.1 <= np.median(durations) <= 1.5  # FineGym: median 1.27 s
    assert 0.15 <= (counts == 1).mean() <= 0.3  # one-instance short videos
    assert 60 <= np.median(plan.lengths) <= 200


def test_finegym_like_has_finegym_size(real_datasets):
    preset = PRESETS["finegym-like"]
    plan, counts, durations = check_plan(preset)
    real = real_datasets / "FineGym"
    mapping = json.loads((real / "fine_to_coarse_mappings.json").read_text())
    np.testing.assert_array_equal(np.bincount(list(mapping.values())), preset.fine_per_coarse)
    real_counts = np.array([len(x) for x in np.load(real / "labels.npy", allow_pickle=True)])
    assert len(plan.lengths) == len(real_counts) == 4968
    assert preset.num_training_videos == 3775
    assert abs(counts.mean() - real_counts.mean()) < 0.5
    assert abs((counts == 1).mean() - (real_counts == 1).mean()) < 0.05
    assert 1.1 <= np.median(durations) <= 1.5
    assert preset.feature_size == 2048 and preset_config(preset, "x").stats.num_fine_classes == 99


def test_instance_clips_carry_their_classes_atomics():
    preset = PRESETS["small"]
    model = build_model(preset, seed=0)
    plan = plan_videos(model, seed=0)
    r = preset.clips_per_second
    unit = model.atoms / np.linalg.norm(model.atoms, axis=1, keepdims=True)  # (V, D)
    own, background, other = [], [], []
    for i in range(40):
        x = video_features(model, plan, i, seed=0)
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
        inside = np.zeros(len(x), dtype=np.int64) - 1  # fine class of clips well inside
        for (start, end), fine in zip(plan.segments[i], plan.labels[i][:, 1]):
            a, b = int(np.ceil(start * r)), int(np.floor(end * r))  # clips wholly inside
            inside[a:b] = fine
        touched = np.zeros(len(x), dtype=bool)
        for start, end in plan.segments[i]:
            touched[int(np.floor(start * r)):int(np.ceil(end * r))] = True
        for t in np.flatnonzero(inside >= 0):
            atoms = list(model.sequences[inside[t]])
            foreign = [a for a in range(preset.num_atomics) if a not in atoms]
            own.append((x[t] @ unit[atoms].T).max())
            other.append((x[t] @ unit[foreign].T).max())
            bg = np.flatnonzero(~touched)
            background.append((x[bg] @ unit[atoms].T).max(axis=1).mean())
    own, background, other = map(np.array, (own, background, other))
    assert len(own) > 100
    # Instance clips point towards their class's atomics, background clips do not.
    assert own.mean() > background.mean() + 0.1
    assert (own > background).mean() > 0.85
    assert own.mean() > other.mean()


def test_store_features_are_written_streaming(tmp_path):
    preset = dataclasses.replace(PRESETS["tiny"], store_features=True)
    config = load_config(generate(tmp_path / "s", preset, seed=0))
    assert config.features.features_path == str(tmp_path / "s" / "features")
    d = load_dataset(config)
    assert isinstance(d.features, FlatStoreFeatures)
    objects = load_dataset(load_config(generate(tmp_path / "o", "tiny", seed=0)))
    for i in range(24):
        np.testing.assert_array_equal(d.video_features(i), objects.video_features(i))


def test_fineaction_like_has_fineaction_shape(real_datasets):
    preset = PRESETS["fineaction-like"]
    plan, counts, durations = check_plan(preset)
    real = real_datasets / "FineAction"
    mapping = json.loads((real / "fine_to_coarse_mappings.json").read_text())
    real_labels = np.load(real / "labels.npy", allow_pickle=True)
    used = {f for x in real_labels for _c, f in x}
    assert used == set(range(len(mapping)))  # every fine class of the mapping has instances
    np.testing.assert_array_equal(np.bincount(list(mapping.values())), preset.fine_per_coarse)
    real_counts = np.array([len(x) for x in real_labels])
    assert len(plan.lengths) == len(real_counts) == 12614 and preset.num_training_videos == 8440
    np.testing.assert_array_equal(plan.lengths, np.full(12614, 100))  # resampled, as FineAction
    real_ratios = np.load(real / "sec2clip_ratios.npy", allow_pickle=True).astype(float)
    # sec2clip = 100 / duration; durations spread as FineAction's (median 97 s).
    real_durations, video_durations = 100 / real_ratios, 100 / plan.sec2clip_ratios
    for q in (5, 50, 95):
        assert abs(np.log(np.percentile(video_durations, q) / np.percentile(real_durations, q))) \
            < 0.15, q
    assert np.median(counts) == np.median(real_counts) == 2
    assert abs((counts == 1).mean() - (real_counts == 1).mean()) < 0.03
    assert abs(counts.mean() - real_counts.mean()) < 1.0
    real_d = np.concatenate([np.diff(np.array(x, dtype=float), axis=1)[:, 0]
                             for x in np.load(real / "segments.npy", allow_pickle=True)])
    assert abs(np.median(durations) - np.median(real_d)) < 0.15
    distinct = np.array([len(set(x[:, 1])) for x in plan.labels])
    real_distinct = np.array([len({f for _c, f in x}) for x in real_labels])
    assert abs((distinct == 1).mean() - (real_distinct == 1).mean()) < 0.03
    assert all(len(set(x[:, 0])) == 1 for x in plan.labels)  # FineAction: 99% one coarse class
    c = preset_config(preset, "x")
    assert (c.stats.num_fine_classes, c.stats.num_coarse_classes) == (106, 14)
    assert c.hyperparameters == load_config("fine_action").hyperparameters
    assert c.evaluation == load_config("fine_action").evaluation


def test_fineaction_like_scaled_down_is_a_float16_store(tmp_path, capsys):
    from haan.cli import main

    assert main(["synth", "--out", str(tmp_path / "fa"), "--preset", "fineaction-like",
                 "--num-videos", "30", "--seed", "2"]) == 0
    capsys.readouterr()
    config_path = tmp_path / "fa" / "config.toml"
    assert config_path.read_text().startswith(
        "# Synthetic dataset written by `haan synth --preset fineaction-like --seed 2 "
        "--num-videos 30`.")
    meta = json.loads((tmp_path / "fa" / "features" / "store.json").read_text())
    assert (meta["dtype"], meta["num_videos"], meta["num_clips"], meta["feature_size"]) == (
        "float16", 30, 3000, 4096)
    flat = np.load(tmp_path / "fa" / "features" / "features.npy", mmap_mode="r")
    assert flat.shape == (3000, 4096) and flat.dtype == np.float16
    c = load_config(config_path)
    assert c.stats.num_training_videos == round(30 * 8440 / 12614) == 20
    assert (c.stats.num_fine_classes, c.stats.num_coarse_classes) == (106, 14)
    assert c.hyperparameters == load_config("fine_action").hyperparameters
    mapping = json.loads((tmp_path / "fa" / "fine_to_coarse_mappings.json").read_text())
    np.testing.assert_array_equal(np.bincount(list(mapping.values())),
                                  PRESETS["fineaction-like"].fine_per_coarse)
    record = json.loads((tmp_path / "fa" / "synth.json").read_text())["preset"]
    assert record["num_videos"] == 30 and record["store_dtype"] == "float16"
    assert record["video_duration_s"] == [97.0, 0.97, 1.5, 3600.0]
    d = load_dataset(c)
    np.testing.assert_array_equal(d.lengths, np.full(30, 100))
    preset = dataclasses.replace(PRESETS["fineaction-like"], num_videos=30)
    model = build_model(preset, 2)
    plan = plan_videos(model, 2)
    np.testing.assert_array_equal(d.sec2clip_ratios, plan.sec2clip_ratios)
    for i in (0, 17, 29):
        np.testing.assert_array_equal(d.video_features(i),
                                      video_features(model, plan, i, 2).astype(np.float16))
