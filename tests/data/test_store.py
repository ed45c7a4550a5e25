"""haan.data.store: the store holds the same features, is checked as it is written, replaces
nothing without `overwrite`, and is never left looking finished when a write stops halfway."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from haan.config import load_config
from haan.data import FlatStoreFeatures, convert_features, load_dataset, write_store
from haan.errors import DataWarning, InputError

from helpers import edit_npy, save_object_array, tiny_files

STORE = ["features.npy", "offsets.npy", "video_names.npy", "store.json"]


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
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == sorted(STORE + ["config.toml"])
    assert {p.stat().st_mode & 0o777 for p in (tmp_path / "store").iterdir()} == {0o644}

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


def test_store_of_another_dataset_is_refused(tiny_dataset, tmp_path):
    convert_features(load_config(tiny_dataset), tmp_path / "store")
    names = np.load(tmp_path / "store" / "video_names.npy")
    names[2] = "other"
    np.save(tmp_path / "store" / "video_names.npy", names)
    with pytest.raises(InputError) as err:
        load_dataset(load_config(tmp_path / "store" / "config.toml"))
    assert str(err.value) == (f"{tmp_path / 'store'}: video 2 is 'other' in the store but "
                              f"'synth_00002' in {tiny_dataset.parent / 'video_names.npy'}; "
                              "convert this dataset again")


def test_store_description_is_read_as_json(tiny_dataset, tmp_path):
    convert_features(load_config(tiny_dataset), tmp_path / "store")
    config = load_config(tmp_path / "store" / "config.toml")
    meta = tmp_path / "store" / "store.json"
    meta.write_text('{"format": "haan-feature-store", "version": 1,,}')
    with pytest.raises(InputError) as err:
        load_dataset(config)
    assert str(err.value) == (f"{meta}: invalid JSON: Expecting property name enclosed in double "
                              "quotes at line 1 column 47")
    meta.write_text('{"format": "haan-feature-store", "version": 7}')
    with pytest.raises(InputError, match=r"store.json: store version 7, this haan reads version 1"):
        load_dataset(config)


def test_convert_refuses_to_overwrite_its_source(tiny_dataset, tmp_path):
    convert_features(load_config(tiny_dataset), tmp_path / "store")
    with pytest.raises(InputError, match="is the features_path being converted"):
        convert_features(load_config(tmp_path / "store" / "config.toml"), tmp_path / "store",
                         overwrite=True)


def test_convert_replaces_nothing_without_overwrite(tiny_dataset, tmp_path):
    out = tmp_path / "store"
    out.mkdir()
    (out / "config.toml").write_text("mine")
    with pytest.raises(InputError) as err:
        convert_features(load_config(tiny_dataset), out)
    assert str(err.value) == (f"{out / 'config.toml'}: already exists; pass --overwrite to "
                              "replace it")
    assert (out / "config.toml").read_text() == "mine" and len(list(out.iterdir())) == 1
    (out / "config.toml").unlink()
    convert_features(load_config(tiny_dataset), out, "float16")
    with pytest.raises(InputError) as err:
        convert_features(load_config(tiny_dataset), out)
    assert str(err.value) == (f"{out / 'features.npy'}: already exists (and 4 more); pass "
                              "--overwrite to replace it")
    convert_features(load_config(tiny_dataset), out, overwrite=True)
    d = load_dataset(load_config(out / "config.toml"))
    assert d.features.dtype == np.float32
    np.testing.assert_array_equal(d.video_features(3), tiny_files(tiny_dataset)["features"][3])


def test_output_folder_problems_are_one_line(tiny_dataset, tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError) as err:
        convert_features(load_config(tiny_dataset), tmp_path / "file")
    assert str(err.value) == f"{tmp_path / 'file'}: exists and is not a folder"
    with pytest.raises(InputError) as err:
        convert_features(load_config(tiny_dataset), tmp_path / "file" / "store")
    assert str(err.value).startswith(f"{tmp_path / 'file' / 'store'}: cannot create the folder (")


def test_an_interrupted_rewrite_never_looks_finished(tiny_dataset, tmp_path):
    raw = tiny_files(tiny_dataset)
    names, videos = raw["names"], list(raw["features"])
    lengths = [len(x) for x in videos]
    out = write_store(tmp_path / "store", names, lengths, 32, videos)
    assert (out / "store.json").exists()

    def stops_halfway():
        yield from videos[:10]
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_store(out, names, lengths, 32, stops_halfway(), overwrite=True)
    assert not (out / "store.json").exists()
    assert not list(out.glob(".*haan-tmp"))
    with pytest.raises(InputError) as err:
        load_dataset(load_config(tiny_dataset, [f'features.features_path="{out}"']))
    assert str(err.value) == f"{out}: an unfinished feature store (no store.json); write it again"


def test_write_store_checks_what_it_is_given(tiny_dataset, tmp_path):
    raw = tiny_files(tiny_dataset)
    names, videos = raw["names"], list(raw["features"])
    lengths = [len(x) for x in videos]
    with pytest.raises(InputError) as err:
        write_store(tmp_path / "a", names, lengths, 32, videos[:-1], source="src")
    assert str(err.value) == "src: features of 23 videos, expected 24"
    with pytest.raises(InputError) as err:
        write_store(tmp_path / "b", names, lengths, 32, videos + videos[:1], source="src")
    assert str(err.value) == "src: more than the 24 videos expected"
    bad = videos[:4] + [videos[4][:, :31]] + videos[5:]
    with pytest.raises(InputError) as err:
        write_store(tmp_path / "c", names, lengths, 32, bad, source="src")
    assert str(err.value) == (f"src: video 'synth_00004' has features of shape ({lengths[4]}, 31), "
                              f"expected ({lengths[4]}, 32)")
    huge = videos[:6] + [videos[6] * 1e20] + videos[7:]
    with pytest.raises(InputError) as err:
        write_store(tmp_path / "d", names, lengths, 32, huge, source="src")
    assert str(err.value).startswith("src: video 'synth_00006' has features of magnitude ")
    for folder in "abcd":
        assert not (tmp_path / folder / "store.json").exists()
        assert not list((tmp_path / folder).glob("*npy*"))


def test_large_values_warn_once_when_written(tiny_dataset, tmp_path):
    raw = tiny_files(tiny_dataset)
    videos = [x * (1e7 if i in (3, 8) else 1) for i, x in enumerate(raw["features"])]
    with pytest.warns(DataWarning, match=r"^src: 2 videos have features of magnitude beyond 1e\+06 "
                                         r"\(first: video 'synth_00003', "):
        write_store(tmp_path / "s", raw["names"], [len(x) for x in videos], 32, videos,
                    source="src")
    assert (tmp_path / "s" / "store.json").exists()


def test_convert_to_float16_refuses_overflow(tiny_dataset, tmp_path):
    raw = tiny_files(tiny_dataset)["features"]
    raw[4][0, 0] = 1e5
    save_object_array(tiny_dataset.parent / "features.npy", list(raw))
    with pytest.raises(InputError) as err:
        convert_features(load_config(tiny_dataset), tmp_path / "store", "float16")
    assert str(err.value) == (f"{tiny_dataset.parent / 'features.npy'}: video 'synth_00004' has "
                              "values beyond float16's range (largest magnitude 65504); use "
                              "--dtype float32")
    assert not list((tmp_path / "store").iterdir())


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
