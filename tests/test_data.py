"""Loading the paper's files and the four feature layouts, the split, batches, every validation
error (its message) and warning, and resident memory on a dense FineAction-shaped file."""

from __future__ import annotations

import dataclasses
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import annotation_paths

from haan.config import load_config
from haan.data import (
    DenseFeatures, FlatStoreFeatures, FolderFeatures, ObjectArrayFeatures, convert_features,
    dataset_info, load_dataset, split_indices,
)
from haan.errors import DataWarning, InputError
from haan.losses import class_balance_weights


def load(config_path: Path, *overrides: str):
    return load_dataset(load_config(config_path, list(overrides)))


def tiny_files(config_path: Path) -> dict:
    """The tiny dataset's raw files, as the paper's code reads them."""
    d = config_path.parent
    return {
        "names": np.load(d / "video_names.npy", allow_pickle=True),
        "labels": np.load(d / "labels.npy", allow_pickle=True),
        "segments": np.load(d / "segments.npy", allow_pickle=True),
        "ratios": np.load(d / "sec2clip_ratios.npy", allow_pickle=True),
        "features": np.load(d / "features.npy", allow_pickle=True),
        "mapping": json.loads((d / "fine_to_coarse_mappings.json").read_text()),
    }


def save_object_array(path: Path, items: list) -> None:
    out = np.empty(len(items), dtype=object)
    for i, x in enumerate(items):
        out[i] = x
    np.save(path, out, allow_pickle=True)


# ----------------------------------------------------------------------------------------------
# Loading


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


def test_dense_layout(tiny_dataset, tmp_path, write_config):
    raw = tiny_files(tiny_dataset)["features"]
    dense = np.zeros((24, 40, 32), dtype=np.float16)  # every video 40 clips, as FineAction's 100
    for i, x in enumerate(raw):
        dense[i, : len(x)] = x
    np.save(tmp_path / "dense.npy", dense)
    path = write_config(tiny_dataset, features={"features_path": str(tmp_path / "dense.npy")},
                        stats={"max_clips_per_video": 40})
    d = load(path)
    assert isinstance(d.features, DenseFeatures)
    assert d.features.dtype == np.float16
    np.testing.assert_array_equal(d.lengths, np.full(24, 40))
    np.testing.assert_array_equal(d.video_features(7), dense[7].astype(np.float32))
    assert d.video_features(7).dtype == np.float32
    x, lengths = d.padded_batch([3, 4, 9])
    np.testing.assert_array_equal(x, dense[[3, 4, 9]].astype(np.float32))
    np.testing.assert_array_equal(lengths, [40, 40, 40])
    np.testing.assert_array_equal(d.clips([9, 3, 4, 5]), dense[[9, 3, 4, 5]].reshape(-1, 32))
    np.testing.assert_array_equal(d.features.memmap()[2], dense[2])


def test_folder_layout(tiny_dataset, tmp_path, write_config):
    raw = tiny_files(tiny_dataset)
    folder = tmp_path / "per_video"
    folder.mkdir()
    for name, x in zip(raw["names"], raw["features"]):
        np.save(folder / f"{name}.npy", x)
    path = write_config(tiny_dataset, features={"features_path": str(folder)})
    d = load(path)
    assert isinstance(d.features, FolderFeatures)
    for i in (0, 11, 23):
        np.testing.assert_array_equal(d.video_features(i), raw["features"][i])
    (folder / f"{raw['names'][11]}.npy").unlink()
    with pytest.raises(InputError) as err:
        load(path)
    assert str(err.value) == (f"{folder / raw['names'][11]}.npy: no such file (features of video "
                              f"'{raw['names'][11]}'; [features] features_path is a folder of "
                              "per-video files)")


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_converted_store_holds_the_same_features(tiny_dataset, tmp_path, dtype):
    config = load_config(tiny_dataset)
    new_config = convert_features(config, tmp_path / "store", dtype)
    assert new_config == tmp_path / "store" / "config.toml"
    meta = json.loads((tmp_path / "store" / "store.json").read_text())
    raw = tiny_files(tiny_dataset)
    total = sum(len(x) for x in raw["features"])
    assert meta == {"format": "haan-feature-store", "version": 1, "dtype": dtype,
                    "num_videos": 24, "num_clips": total, "feature_size": 32,
                    "source": str(config.features.features_path), "finite": True}
    flat = np.load(tmp_path / "store" / "features.npy", mmap_mode="r")
    assert flat.shape == (total, 32) and flat.dtype == np.dtype(dtype)
    offsets = np.load(tmp_path / "store" / "offsets.npy")
    np.testing.assert_array_equal(offsets, np.cumsum([0] + [len(x) for x in raw["features"]]))
    assert not list((tmp_path / "store").glob("*.tmp"))

    c2 = load_config(new_config)
    assert c2.features.features_path == str(tmp_path / "store")
    assert dataclasses.replace(c2, features=config.features) == config  # nothing else changed
    d = load_dataset(c2)
    assert isinstance(d.features, FlatStoreFeatures) and d.features.dtype == np.dtype(dtype)
    tol = 0 if dtype == "float32" else 1e-2
    for i in range(24):
        np.testing.assert_allclose(d.video_features(i), raw["features"][i], rtol=tol, atol=tol)
    np.testing.assert_allclose(d.clips([3, 4, 5, 9]),
                               np.concatenate([raw["features"][i] for i in (3, 4, 5, 9)]),
                               rtol=tol, atol=tol)


def test_store_of_another_dataset_is_refused(tiny_dataset, tmp_path, write_config):
    convert_features(load_config(tiny_dataset), tmp_path / "store")
    names = np.load(tmp_path / "store" / "video_names.npy")
    names[2] = "other"
    np.save(tmp_path / "store" / "video_names.npy", names)
    with pytest.raises(InputError) as err:
        load(tmp_path / "store" / "config.toml")
    assert str(err.value) == (f"{tmp_path / 'store'}: video 2 is 'other' in the store but "
                              f"'synth_00002' in {tiny_dataset.parent / 'video_names.npy'}; "
                              "convert this dataset again")


def test_convert_refuses_to_overwrite_its_source(tiny_dataset, tmp_path):
    convert_features(load_config(tiny_dataset), tmp_path / "store")
    with pytest.raises(InputError, match="is the features_path being converted"):
        convert_features(load_config(tmp_path / "store" / "config.toml"), tmp_path / "store")


def test_convert_to_float16_refuses_overflow(tiny_dataset, tmp_path):
    raw = tiny_files(tiny_dataset)["features"]
    raw[4][0, 0] = 1e6
    save_object_array(tiny_dataset.parent / "features.npy", list(raw))
    with pytest.raises(InputError) as err:
        convert_features(load_config(tiny_dataset), tmp_path / "store", "float16")
    assert str(err.value) == (f"{tiny_dataset.parent / 'features.npy'}: video 'synth_00004' has "
                              "values beyond float16's range (largest magnitude 65504); use "
                              "--dtype float32")
    assert not (tmp_path / "store" / "features.npy").exists()
    assert not (tmp_path / "store" / "features.npy.tmp").exists()


def test_relative_paths_resolve_against_the_working_directory(tiny_dataset, monkeypatch):
    from haan.synth import generate

    monkeypatch.chdir(tiny_dataset.parent.parent)
    config = generate("rel", "tiny", 0)
    assert load_config(config).annotations.labels_path == "rel/labels.npy"
    assert load_dataset(load_config(config)).num_videos == 24


# ----------------------------------------------------------------------------------------------
# Validation errors: one line each, naming the file or video


def edit_npy(path: Path, edit) -> None:
    x = np.load(path, allow_pickle=True)
    x = edit(x)
    np.save(path, x, allow_pickle=True)


def error_of(config_path: Path, *overrides: str) -> str:
    with pytest.raises(InputError) as err:
        load(config_path, *overrides)
    message = str(err.value)
    assert "\n" not in message
    return message


def test_files_disagree_on_the_number_of_videos(tiny_dataset):
    d = tiny_dataset.parent
    edit_npy(d / "labels.npy", lambda x: x[:23])
    assert error_of(tiny_dataset) == (f"{d / 'labels.npy'}: 23 videos, but "
                                      f"{d / 'video_names.npy'} has 24 videos")


def test_features_disagree_on_the_number_of_videos(tiny_dataset):
    d = tiny_dataset.parent
    edit_npy(d / "features.npy", lambda x: x[:20])
    assert error_of(tiny_dataset) == (f"{d / 'features.npy'}: features of 20 videos, but "
                                      f"{d / 'video_names.npy'} has 24 videos")


def test_labels_and_segments_disagree_within_a_video(tiny_dataset):
    d = tiny_dataset.parent

    def drop(x):
        x[3] = x[3][:-1]
        return x

    edit_npy(d / "segments.npy", drop)
    n = len(np.load(d / "labels.npy", allow_pickle=True)[3])
    assert error_of(tiny_dataset) == (f"{d / 'segments.npy'}: video 'synth_00003' has {n - 1} "
                                      f"segments, but {d / 'labels.npy'} gives it {n} labels")


@pytest.mark.parametrize("pair,message", [
    ([0, 4], "has fine id 4, outside [0, 4) ([stats] num_fine_classes = 4)"),
    ([0, -1], "has fine id -1, outside [0, 4) ([stats] num_fine_classes = 4)"),
    ([2, 0], "has coarse id 2, outside [0, 2) ([stats] num_coarse_classes = 2)"),
])
def test_label_outside_the_classes(tiny_dataset, pair, message):
    d = tiny_dataset.parent

    def put(x):
        x[6] = list(x[6])
        x[6][-1] = pair
        return x

    edit_npy(d / "labels.npy", put)
    n = len(np.load(d / "labels.npy", allow_pickle=True)[6])
    assert error_of(tiny_dataset) == (f"{d / 'labels.npy'}: video 'synth_00006' instance {n - 1} "
                                      + message)


def test_label_contradicting_the_mapping(tiny_dataset):
    d = tiny_dataset.parent
    mapping = json.loads((d / "fine_to_coarse_mappings.json").read_text())
    fine = int(np.load(d / "labels.npy", allow_pickle=True)[2][0][1])
    wrong = 1 - mapping[str(fine)]

    def put(x):
        x[2] = list(x[2])
        x[2][0] = [wrong, fine]
        return x

    edit_npy(d / "labels.npy", put)
    assert error_of(tiny_dataset) == (
        f"{d / 'labels.npy'}: video 'synth_00002' instance 0 is [{wrong}, {fine}], but "
        f"{d / 'fine_to_coarse_mappings.json'} maps fine {fine} to coarse {1 - wrong}")


def test_mapping_not_covering_every_fine_class(tiny_dataset):
    path = tiny_dataset.parent / "fine_to_coarse_mappings.json"
    mapping = json.loads(path.read_text())
    del mapping["2"]
    path.write_text(json.dumps(mapping))
    assert error_of(tiny_dataset) == (f"{path}: no coarse class for fine ids 2 (expected keys "
                                      '"0".."3", one per fine class)')


def test_class_counts_smaller_than_the_labels_used(tiny_dataset):
    mapping = tiny_dataset.parent / "fine_to_coarse_mappings.json"
    assert error_of(tiny_dataset, "stats.num_fine_classes=3") == (
        f"{tiny_dataset}: [stats] num_fine_classes = 3 is smaller than the classes used "
        f"({mapping} maps fine ids up to 3)")
    assert error_of(tiny_dataset, "stats.num_coarse_classes=1") == (
        f"{tiny_dataset}: [stats] num_coarse_classes = 1 is smaller than the classes used "
        f"({mapping} maps to coarse ids up to 1)")


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


def test_missing_file_names_the_config_key(tiny_dataset):
    assert error_of(tiny_dataset, 'features.features_path="nowhere/x.npy"') == (
        "nowhere/x.npy: no such file or folder (config [features] features_path)")
    (tiny_dataset.parent / "segments.npy").unlink()
    assert error_of(tiny_dataset) == (f"{tiny_dataset.parent / 'segments.npy'}: no such file "
                                      "(config [annotations] segments_path)")


def test_bad_ratio_and_unknown_layout(tiny_dataset, tmp_path):
    d = tiny_dataset.parent
    np.save(tmp_path / "flat.npy", np.zeros((10, 32), dtype=np.float32))
    assert error_of(tiny_dataset, f'features.features_path="{tmp_path / "flat.npy"}"') == (
        f"{tmp_path / 'flat.npy'}: a float32 array of shape (10, 32), expected an object array "
        "of (T_i, D) arrays or a dense (N, T, D) array")
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    assert error_of(tiny_dataset, f'features.features_path="{tmp_path / "junk.npy"}"').startswith(
        f"{tmp_path / 'junk.npy'}: not a .npy file (")
    edit_npy(d / "sec2clip_ratios.npy", lambda x: np.where(np.arange(24) == 5, 0.0, x))
    assert error_of(tiny_dataset) == (f"{d / 'sec2clip_ratios.npy'}: video 'synth_00005' has ratio "
                                      "0.0, expected a positive number (clips per second)")


# NaN / inf: found by the scan at load, or when the video is read if the scan is off.


def test_nan_in_object_array_features(tiny_dataset):
    d = tiny_dataset.parent

    def poison(x):
        x[13][2, 5] = np.nan
        return x

    edit_npy(d / "features.npy", poison)
    message = f"{d / 'features.npy'}: video 'synth_00013' has NaN or inf features"
    assert error_of(tiny_dataset) == message
    lazy = load(tiny_dataset, "haan.check_features=false")
    x, _ = lazy.padded_batch([1, 2])  # other videos are fine
    assert np.isfinite(x).all()
    for read in (lambda: lazy.video_features(13), lambda: lazy.padded_batch([1, 13]),
                 lambda: lazy.clips([12, 13])):
        with pytest.raises(InputError) as err:
            read()
        assert str(err.value) == message


def test_inf_in_dense_features_is_found_by_the_streaming_scan(tiny_dataset, tmp_path,
                                                               write_config, monkeypatch):
    import haan.data

    monkeypatch.setattr(haan.data, "SCAN_CHUNK_BYTES", 3 * 40 * 32 * 4)  # 3 videos per read
    dense = np.ones((24, 40, 32), dtype=np.float32)
    dense[22, 39, 31] = np.inf  # the last value of a later chunk
    np.save(tmp_path / "dense.npy", dense)
    path = write_config(tiny_dataset, features={"features_path": str(tmp_path / "dense.npy")},
                        stats={"max_clips_per_video": 40})
    assert error_of(path) == f"{tmp_path / 'dense.npy'}: video 'synth_00022' has NaN or inf features"
    dense[22, 39, 31] = 0
    dense[[0, 5], 0, 0] = np.nan
    np.save(tmp_path / "dense.npy", dense)
    assert error_of(path) == (f"{tmp_path / 'dense.npy'}: video 'synth_00000' has NaN or inf "
                              "features (2 such videos)")


def test_nan_put_into_a_store_after_convert(tiny_dataset, tmp_path):
    convert_features(load_config(tiny_dataset), tmp_path / "store")
    flat = np.load(tmp_path / "store" / "features.npy", mmap_mode="r+")
    offsets = np.load(tmp_path / "store" / "offsets.npy")
    flat[offsets[20], 3] = np.nan  # the first clip of video 20
    flat.flush()
    del flat
    message = f"{tmp_path / 'store'}: video 'synth_00020' has NaN or inf features"
    config = load_config(tmp_path / "store" / "config.toml")
    # convert checked every video, so loading does not scan again; reading still checks.
    d = load_dataset(config)
    assert not d.features_checked
    d.padded_batch([19, 21])
    with pytest.raises(InputError) as err:
        d.padded_batch([19, 20])
    assert str(err.value) == message
    with pytest.raises(InputError) as err:  # a full scan, as `haan data info` does
        load_dataset(config, scan_features=True)
    assert str(err.value) == message


def test_convert_refuses_nan(tiny_dataset, tmp_path):
    d = tiny_dataset.parent

    def poison(x):
        x[7][0, 0] = np.inf
        return x

    edit_npy(d / "features.npy", poison)
    with pytest.raises(InputError) as err:
        convert_features(load_config(tiny_dataset), tmp_path / "store")
    assert str(err.value) == f"{d / 'features.npy'}: video 'synth_00007' has NaN or inf features"
    assert not (tmp_path / "store" / "store.json").exists()


# Warnings, not errors


def test_segment_warnings(tiny_dataset):
    d = tiny_dataset.parent
    names = np.load(d / "video_names.npy")
    lengths = [len(x) for x in np.load(d / "features.npy", allow_pickle=True)]

    def bend(x):
        x[1] = [list(s) for s in x[1]]
        x[1][0] = [x[1][0][1], x[1][0][0]]  # reversed
        x[4] = [list(s) for s in x[4]]
        x[4][-1] = [x[4][-1][0], 500.0]  # far beyond the end
        return x

    edit_npy(d / "segments.npy", bend)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load(tiny_dataset)
    messages = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    seg = np.load(d / "segments.npy", allow_pickle=True)
    assert messages == [
        f"{d / 'segments.npy'}: 1 segments end before they start (first: video '{names[1]}' "
        f"[{seg[1][0][0]:g}, {seg[1][0][1]:g}] s, {lengths[1]} clips at 1.5 clips/s)",
        f"{d / 'segments.npy'}: 1 segments end after the video's last clip (first: video "
        f"'{names[4]}' [{seg[4][-1][0]:g}, 500] s, {lengths[4]} clips at 1.5 clips/s)",
    ]
    assert data.num_videos == 24  # loaded all the same


def test_longer_videos_than_max_clips_warn(tiny_dataset):
    with pytest.warns(DataWarning, match=r"the longest video has 31 clips, more than \[stats\] "
                                         r"max_clips_per_video = 20"):
        load(tiny_dataset, "stats.max_clips_per_video=20")


# ----------------------------------------------------------------------------------------------
# Resident memory: a dense FineAction-shaped file is never read whole


def rss_bytes() -> tuple[int, int]:
    """(RssAnon, VmRSS) of this process. Memory-mapped file pages count in VmRSS only."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    if "RssAnon" not in fields:
        pytest.skip("no RssAnon in /proc/self/status")
    return tuple(int(fields[k].split()[0]) * 1024 for k in ("RssAnon", "VmRSS"))


def test_dense_file_and_store_keep_resident_memory_far_below_their_size(tmp_path, write_config):
    if not Path("/proc/self/status").exists():
        pytest.skip("needs Linux /proc")
    N, T, D = 2000, 100, 512  # 410 MB of float32, FineAction's shape with a smaller D
    path = tmp_path / "dense.npy"
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(N, T, D))
    rng = np.random.default_rng(0)
    for start in range(0, N, 100):
        out[start:start + 100] = rng.random((100, T, D), dtype=np.float32)
    out.flush()
    del out
    size = path.stat().st_size
    assert size > 400e6

    ann = tmp_path / "ann"
    ann.mkdir()
    np.save(ann / "video_names.npy", np.array([f"v_{i:05d}" for i in range(N)]))
    labels = np.empty(N, dtype=object)
    segments = np.empty(N, dtype=object)
    for i in range(N):
        labels[i] = [[i % 2, i % 4]]
        segments[i] = [[1.0, 3.0]]
    np.save(ann / "labels.npy", labels, allow_pickle=True)
    np.save(ann / "segments.npy", segments, allow_pickle=True)
    np.save(ann / "sec2clip_ratios.npy", np.full(N, 1.0))
    (ann / "fine_to_coarse_mappings.json").write_text('{"0": 0, "1": 1, "2": 0, "3": 1}')
    config_path = write_config(
        "fine_action",
        stats={"num_training_videos": 1600, "num_fine_classes": 4, "num_coarse_classes": 2},
        features={"features_path": str(path)},
        annotations=annotation_paths(ann),
        hyperparameters={"feature_size": D})

    def exercise(config_path: Path) -> np.ndarray:
        before = np.array(rss_bytes())
        d = load_dataset(load_config(config_path))  # includes the full NaN/inf scan
        info = dataset_info(d)
        assert info["num_clips"] == N * T and info["feature_bytes"] == N * T * D * 4
        rng = np.random.default_rng(1)
        for _ in range(20):
            x, lengths = d.padded_batch(rng.choice(d.train_indices, size=8, replace=False))
            assert x.shape == (8, T, D)
        clips = d.clips(d.test_indices[:50])
        assert clips.shape == (50 * T, D)
        del x, clips
        return np.array(rss_bytes()) - before

    started = time.perf_counter()
    growth_dense = exercise(config_path)
    before = np.array(rss_bytes())
    convert_features(load_config(config_path), tmp_path / "store", "float32")
    growth_convert = np.array(rss_bytes()) - before
    growth_store = exercise(tmp_path / "store" / "config.toml")
    mib = lambda g: f"RssAnon {g[0] / 2**20:+.1f} MiB, VmRSS {g[1] / 2**20:+.1f} MiB"  # noqa: E731
    print(f"\nfile {size / 2**20:.0f} MiB; dense: {mib(growth_dense)}; convert: "
          f"{mib(growth_convert)}; store: {mib(growth_store)}; "
          f"{time.perf_counter() - started:.1f} s")
    for growth in (growth_dense, growth_convert, growth_store):
        assert (growth < size / 8).all()
