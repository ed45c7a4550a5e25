"""haan.data.dataset: loading a dataset (object-array layout), the paper's split and the
validation split, padded batches, multi-hot labels, and the errors that need annotations and
features together."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from haan.config import load_config
from haan.data import ObjectArrayFeatures, load_dataset, split_indices
from haan.errors import DataWarning, InputError
from haan.models.losses import class_balance_weights

from helpers import edit_npy, error_of, load, tiny_files


def test_object_array_layout_and_the_papers_split(tiny_dataset):
    raw = tiny_files(tiny_dataset)
    d = load(tiny_dataset)
    assert isinstance(d.features, ObjectArrayFeatures)
    assert d.num_videos == 24 and d.feature_size == 32
    assert (d.num_fine_classes, d.num_coarse_classes) == (4, 2)
    assert d.video_names.tolist() == raw["names"].tolist()
    np.testing.assert_array_equal(d.train_indices, np.arange(18))
    np.testing.assert_array_equal(d.test_indices, np.arange(18, 24))
    assert d.val_indices.shape == (0,) and d.val_indices.dtype == np.int64
    for i in range(24):
        assert d.labels[i].dtype == np.int64 and d.labels[i].shape == (len(raw["labels"][i]), 2)
        np.testing.assert_array_equal(d.labels[i], np.array(raw["labels"][i]))
        np.testing.assert_array_equal(d.segments[i], np.array(raw["segments"][i]))
        np.testing.assert_array_equal(d.video_features(i), raw["features"][i])
    np.testing.assert_array_equal(d.lengths, [len(x) for x in raw["features"]])
    assert d.lengths.dtype == np.int64 and d.lengths is d.features.lengths
    np.testing.assert_array_equal(d.sec2clip_ratios, raw["ratios"])
    np.testing.assert_array_equal(d.fine_to_coarse, [raw["mapping"][str(c)] for c in range(4)])


def test_instances_flatten_the_videos_in_order(tiny_dataset):
    d = load(tiny_dataset)
    raw = tiny_files(tiny_dataset)
    idx = [7, 2, 20]
    inst = d.instances(idx)
    rows = [(i, c, f, s, e) for i in idx
            for (c, f), (s, e) in zip(raw["labels"][i], raw["segments"][i])]
    assert list(zip(inst.video.tolist(), inst.coarse.tolist(), inst.fine.tolist(),
                    inst.segments[:, 0].tolist(), inst.segments[:, 1].tolist())) == rows
    assert d.instances([]).segments.shape == (0, 2)


def test_padded_batch_zero_pads_and_reads_only_its_videos(tiny_dataset, monkeypatch):
    d = load(tiny_dataset)
    raw = tiny_files(tiny_dataset)["features"]
    idx = np.array([5, 0, 17])
    read = []
    original = type(d.features).__getitem__
    monkeypatch.setattr(type(d.features), "__getitem__",
                        lambda self, i: read.append(i) or original(self, i))
    x, lengths = d.padded_batch(idx)
    assert sorted(read) == [0, 5, 17]
    assert x.dtype == np.float32 and lengths.dtype == np.int64
    expected = [len(raw[i]) for i in idx]
    np.testing.assert_array_equal(lengths, expected)
    assert x.shape == (3, max(expected), 32)
    for b, i in enumerate(idx):
        np.testing.assert_array_equal(x[b, : expected[b]], raw[i])
        assert not x[b, expected[b]:].any()
    clips = d.clips(idx)
    np.testing.assert_array_equal(clips, np.concatenate([raw[i] for i in idx]))


def test_multi_hot_and_class_balance(tiny_dataset):
    d = load(tiny_dataset)
    raw = tiny_files(tiny_dataset)["labels"]
    idx = d.train_indices
    fine = d.fine_multi_hot(idx)
    coarse = d.coarse_multi_hot(idx)
    assert fine.shape == (18, 4) and fine.dtype == np.float32 and coarse.shape == (18, 2)
    for row, i in enumerate(idx):
        assert set(np.flatnonzero(fine[row])) == {f for _, f in raw[i]}
        assert set(np.flatnonzero(coarse[row])) == {c for c, _ in raw[i]}
    # the paper's balancing weights, as training computes them from these multi-hot labels
    pos, neg = (w.numpy() for w in class_balance_weights(torch.from_numpy(fine)))
    P = fine.sum(axis=0)
    np.testing.assert_allclose(pos, 4 / P, rtol=1e-6)
    np.testing.assert_allclose(neg, 4 / (18 - P), rtol=1e-6)
    pos, _ = class_balance_weights(torch.from_numpy(coarse))
    np.testing.assert_allclose(pos.numpy(), 2 / coarse.sum(axis=0), rtol=1e-6)


def test_class_balance_of_an_absent_class_is_zero_not_inf(tiny_dataset):
    # The paper gets inf (C / 0); that weight is never selected by a training video, and 0 keeps
    # it from turning into NaN anywhere else.
    d = load(tiny_dataset)
    only_first = [i for i in range(24) if not d.fine_hot[i, 3]][:5]
    pos, neg = class_balance_weights(torch.from_numpy(d.fine_multi_hot(only_first)))
    assert pos[3] == 0 and neg[3].item() == pytest.approx(4 / 5)


def test_validation_split_is_seeded_and_held_out_of_training(tiny_dataset):
    d = load(tiny_dataset, "haan.validation_fraction=0.25", "haan.validation_seed=3")
    assert len(d.val_indices) == round(0.25 * 18)
    assert set(d.val_indices) | set(d.train_indices) == set(range(18))
    assert not set(d.val_indices) & set(d.train_indices)
    np.testing.assert_array_equal(d.test_indices, np.arange(18, 24))
    again = load(tiny_dataset, "haan.validation_fraction=0.25", "haan.validation_seed=3")
    np.testing.assert_array_equal(again.val_indices, d.val_indices)
    others = {tuple(split_indices(24, 18, 0.25, s)[1]) for s in range(10)}
    assert len(others) > 5
    train, val, test = split_indices(100, 80, 0.01, 0)
    assert len(val) == 1 and len(train) == 79 and len(test) == 20  # at least one video


def test_validation_fraction_leaving_no_training_video(tiny_dataset, write_config):
    path = write_config(tiny_dataset, stats={"num_training_videos": 1},
                        haan={"validation_fraction": 0.5})
    with pytest.raises(InputError) as err:
        load(path)
    assert str(err.value) == (f"{path}: [haan] validation_fraction = 0.5 leaves no training "
                              "video of 1")


def test_relative_paths_resolve_against_the_working_directory(tiny_dataset, monkeypatch):
    from haan.data.synth import generate

    monkeypatch.chdir(tiny_dataset.parent.parent)
    config = generate("rel", "tiny", 0)
    assert load_config(config).annotations.labels_path == "rel/labels.npy"
    assert load_dataset(load_config(config)).num_videos == 24


# Errors that need the annotations and the features together


def test_features_disagree_on_the_number_of_videos(tiny_dataset):
    d = tiny_dataset.parent
    edit_npy(d / "features.npy", lambda x: x[:20])
    assert error_of(tiny_dataset) == (f"{d / 'features.npy'}: features of 20 videos, but "
                                      f"{d / 'video_names.npy'} has 24 videos")


def test_feature_size_different_from_the_config(tiny_dataset):
    assert error_of(tiny_dataset, "hyperparameters.feature_size=2048") == (
        f"{tiny_dataset.parent / 'features.npy'}: features have 32 values per clip, but "
        "[hyperparameters] feature_size = 2048")


def test_video_with_no_clips(tiny_dataset):
    d = tiny_dataset.parent

    def empty(x):
        x[9] = np.zeros((0, 32), dtype=np.float32)
        return x

    edit_npy(d / "features.npy", empty)
    assert error_of(tiny_dataset) == f"{d / 'features.npy'}: video 'synth_00009' has no clips"


def test_num_training_videos_larger_than_the_videos(tiny_dataset):
    assert error_of(tiny_dataset, "stats.num_training_videos=25") == (
        f"{tiny_dataset}: [stats] num_training_videos = 25 is larger than the number of videos "
        f"(24 in {tiny_dataset.parent / 'video_names.npy'})")


def test_longer_videos_than_max_clips_warn(tiny_dataset):
    with pytest.warns(DataWarning, match=r"the longest video has 31 clips, more than \[stats\] "
                                         r"max_clips_per_video = 20"):
        load(tiny_dataset, "stats.max_clips_per_video=20")


def test_duplicate_video_names_warn(tiny_dataset):
    edit_npy(tiny_dataset.parent / "video_names.npy",
             lambda x: np.where(np.arange(24) == 5, "synth_00004", x))
    with pytest.warns(DataWarning, match=r"video_names.npy: 1 video names occur more than once "
                                         r"\(first: 'synth_00004'\)"):
        load(tiny_dataset)
