"""haan.data.features: the four layouts, the scan for NaN, inf and impossible magnitudes (at load,
or when a video is read with the scan off), progress bars, and resident memory on a dense
FineAction-shaped file."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from tqdm import tqdm

import haan.data.features
from haan.config import load_config
from haan.data import (
    DenseFeatures,
    FolderFeatures,
    convert_features,
    dataset_info,
    load_dataset,
    open_features,
)
from haan.data.features import row_magnitudes
from haan.errors import DataWarning, InputError

from helpers import annotation_paths, edit_npy, error_of, load, save_object_array, tiny_files


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


def test_unknown_layouts(tiny_dataset, tmp_path):
    np.save(tmp_path / "flat.npy", np.zeros((10, 32), dtype=np.float32))
    assert error_of(tiny_dataset, f'features.features_path="{tmp_path / "flat.npy"}"') == (
        f"{tmp_path / 'flat.npy'}: a float32 array of shape (10, 32), expected an object array "
        "of (T_i, D) arrays or a dense (N, T, D) array")
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    assert error_of(tiny_dataset, f'features.features_path="{tmp_path / "junk.npy"}"').startswith(
        f"{tmp_path / 'junk.npy'}: not a .npy file (")


# ----------------------------------------------------------------------------------------------
# Magnitudes: NaN, inf and values float32 training cannot use


def test_magnitudes_of_every_layout_against_a_plain_loop(tiny_dataset, tmp_path, monkeypatch):
    monkeypatch.setattr(haan.data.features, "SCAN_CHUNK_BYTES", 5 * 32 * 4)  # 5 clips per read
    raw = tiny_files(tiny_dataset)
    videos = [x.astype(np.float64) for x in raw["features"]]
    videos[3][2, 7] = -3e20
    videos[5][0, 0] = np.nan
    videos[9][-1, -1] = np.inf
    videos[12][4, 4] = -np.inf
    expected = [max(abs(v) for v in x.ravel().tolist()) for x in videos]  # nan -> see below
    expected[5] = np.inf
    save_object_array(tmp_path / "objects.npy", videos)
    folder = tmp_path / "folder"
    folder.mkdir()
    for name, x in zip(raw["names"], videos):
        np.save(folder / f"{name}.npy", x)
    dense = np.zeros((24, 32, 32))
    for i, x in enumerate(videos):
        dense[i, : len(x)] = x
    np.save(tmp_path / "dense.npy", dense)
    flat = np.concatenate(videos)
    store = tmp_path / "store"
    store.mkdir()
    np.save(store / "features.npy", flat)
    np.save(store / "offsets.npy", np.cumsum([0] + [len(x) for x in videos]))
    np.save(store / "video_names.npy", raw["names"])
    (store / "store.json").write_text('{"format": "haan-feature-store", "version": 1}')
    for path in (tmp_path / "objects.npy", folder, tmp_path / "dense.npy", store):
        got = open_features(str(path), raw["names"]).magnitudes()
        assert got.tolist() == expected, path
    assert row_magnitudes(np.array([[1.0, -2.0], [np.nan, 0.0], [3.0, 4.0]])).tolist() == [
        2.0, np.inf, 4.0]


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
    monkeypatch.setattr(haan.data.features, "SCAN_CHUNK_BYTES", 3 * 40 * 32 * 4)  # 3 videos
    dense = np.ones((24, 40, 32), dtype=np.float32)
    dense[22, 39, 31] = np.inf  # the last value of a later chunk
    np.save(tmp_path / "dense.npy", dense)
    path = write_config(tiny_dataset, features={"features_path": str(tmp_path / "dense.npy")},
                        stats={"max_clips_per_video": 40})
    assert error_of(path) == (f"{tmp_path / 'dense.npy'}: video 'synth_00022' has NaN or inf "
                              "features")
    dense[22, 39, 31] = 0
    dense[[0, 5], 0, 0] = np.nan
    np.save(tmp_path / "dense.npy", dense)
    assert error_of(path) == (f"{tmp_path / 'dense.npy'}: video 'synth_00000' has NaN or inf "
                              "features (2 such videos)")


def test_magnitudes_beyond_float32_training_are_an_error(tiny_dataset, tmp_path, write_config):
    dense = np.ones((24, 40, 32), dtype=np.float64)
    dense[6, 3, 3] = 1e30
    dense[17, 0, 0] = -2e16
    np.save(tmp_path / "dense.npy", dense)
    path = write_config(tiny_dataset, features={"features_path": str(tmp_path / "dense.npy")},
                        stats={"max_clips_per_video": 40})
    assert error_of(path) == (f"{tmp_path / 'dense.npy'}: video 'synth_00006' has features of "
                              "magnitude 1e+30, beyond 1e+15 (float32 training would overflow) "
                              "(2 such videos)")
    # With the scan off, the read finds it; a float64 1e300 is inf in float32, but the message
    # gives its stored magnitude.
    dense[6, 3, 3] = 1e300
    np.save(tmp_path / "dense.npy", dense)
    lazy = load(path, "haan.check_features=false")
    lazy.padded_batch([1, 2])
    for read in (lambda: lazy.padded_batch([1, 6]), lambda: lazy.clips([6]),
                 lambda: lazy.video_features(17)):
        with pytest.raises(InputError, match=r"video 'synth_000(06|17)' has features of magnitude "
                                             r"(1e\+300|2e\+16), beyond 1e\+15"):
            read()


def test_large_magnitudes_are_one_counted_warning(tiny_dataset):
    d = tiny_dataset.parent

    def scale(x):
        x[2] = x[2] * 1e7
        x[20][0, 0] = -5e6
        return x

    edit_npy(d / "features.npy", scale)
    largest = float(np.abs(np.load(d / "features.npy", allow_pickle=True)[2]).max())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load(tiny_dataset)
    messages = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    assert messages == [f"{d / 'features.npy'}: 2 videos have features of magnitude beyond 1e+06 "
                        f"(first: video 'synth_00002', {largest:.3g}); features are usually of "
                        "order 1-100"]


# ----------------------------------------------------------------------------------------------
# Progress


class CountingBar:
    n = 0

    def update(self, k: int) -> None:
        self.n += k


def test_reads_of_an_object_array_advance_the_bar_to_the_file_size(tiny_dataset):
    path = tiny_dataset.parent / "features.npy"
    bar = CountingBar()
    with open(path, "rb") as f:
        items = np.load(haan.data.features._ProgressReader(f, bar), allow_pickle=True)
    assert bar.n == path.stat().st_size
    for x, y in zip(items, np.load(path, allow_pickle=True)):
        np.testing.assert_array_equal(x, y)


def test_progress_bars_while_an_object_array_loads_and_during_the_scan(
        tiny_dataset, tmp_path, write_config, capsys):
    quiet = load_dataset(load_config(tiny_dataset), scan_features=True)
    assert capsys.readouterr().err == ""
    d = load_dataset(load_config(tiny_dataset), scan_features=True, progress=True)
    err = capsys.readouterr().err
    # tqdm redraws at most every 0.1 s, so a fast load shows its start; the totals are right.
    size = (tiny_dataset.parent / "features.npy").stat().st_size
    assert f"load features.npy:   0%|          | 0.00/{tqdm.format_sizeof(size)} " in err
    assert "scan features:   0%|          | 0/24 " in err
    for i in range(24):
        np.testing.assert_array_equal(d.video_features(i), quiet.video_features(i))
    np.save(tmp_path / "dense.npy", np.ones((24, 40, 32), dtype=np.float32))
    path = write_config(tiny_dataset, features={"features_path": str(tmp_path / "dense.npy")},
                        stats={"max_clips_per_video": 40})
    load_dataset(load_config(path), progress=True)
    assert f"scan features:   0%|          | 0.00/{tqdm.format_sizeof(24 * 40 * 32 * 4)} " in (
        capsys.readouterr().err)


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
        d = load_dataset(load_config(config_path))  # includes the full scan
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
