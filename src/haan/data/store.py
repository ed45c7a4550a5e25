"""The feature store: a folder holding a flat (sum T_i, D) `features.npy`, its (N+1,) `offsets.npy`,
`video_names.npy` and `store.json` (format, version, dtype, counts). It is written streaming, one
video in memory at a time, and read by offset without ever being loaded whole
(`haan.data.features.FlatStoreFeatures`).

Every video is checked as it is written (NaN, inf, magnitudes beyond `MAX_FEATURE_MAGNITUDE`, values
beyond the store's dtype), so loading a store does not scan it again. store.json is written last:
a folder without it is not a finished store.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Iterable

import numpy as np

from haan import fileio
from haan.config import Config, FeaturesSection
from haan.data.dataset import load_dataset
from haan.data.features import (
    STORE_FILES,
    STORE_FORMAT,
    STORE_VERSION,
    check_magnitudes,
    video_magnitude,
)
from haan.errors import InputError

# The store's folder inside a dataset folder written by haan (synth, import).
STORE_FOLDER = "features"


def prepare_output(out_dir: str | Path, files: Iterable[str], overwrite: bool) -> Path:
    """`out_dir` as a writable folder in which none of `files` exists, unless `overwrite`;
    with `overwrite`, what an interrupted earlier write left behind is removed."""
    out = Path(out_dir)
    if not overwrite:
        fileio.refuse_to_replace([out / name for name in files])
    fileio.output_folder(out)
    if overwrite:
        fileio.remove_stale_temporaries(out)
    return out


def write_store(out_dir: str | Path, video_names: np.ndarray, lengths: np.ndarray,
                feature_size: int, videos: Iterable[np.ndarray], dtype: str = "float32",
                source: str = "features", overwrite: bool = False) -> Path:
    """Write the store into `out_dir`, streaming: one video in memory at a time.

    `videos` yields (T_i, D) arrays in order. A store already there is replaced only with
    `overwrite`; its store.json goes first, so that an interrupted rewrite never looks finished.
    """
    out = prepare_output(out_dir, STORE_FILES, overwrite)
    try:
        (out / "store.json").unlink(missing_ok=True)
    except OSError as exc:
        raise InputError(f"{out / 'store.json'}: cannot remove the old store's description "
                         f"({fileio.describe_os_error(exc)})") from None
    dt = np.dtype(dtype)
    names = np.asarray(video_names).astype(str)
    lengths = np.asarray(lengths, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)  # (N+1,)
    magnitudes = np.zeros(len(lengths))  # (N,) largest |x| of each video, for one warning
    header = {"descr": np.lib.format.dtype_to_descr(dt), "fortran_order": False,
              "shape": (int(offsets[-1]), int(feature_size))}
    count = 0
    with fileio.atomic_write(out / "features.npy", "wb") as f:
        np.lib.format.write_array_header_2_0(f, header)
        for i, x in enumerate(videos):
            if i >= len(lengths):
                raise InputError(f"{source}: more than the {len(lengths)} videos expected")
            x = np.asarray(x)
            if x.shape != (lengths[i], feature_size):
                raise InputError(f"{source}: video '{names[i]}' has features of shape {x.shape}, "
                                 f"expected ({lengths[i]}, {feature_size})")
            magnitudes[i] = video_magnitude(x)
            check_magnitudes(magnitudes[i:i + 1], names[i:i + 1], source, warn=False)
            with np.errstate(over="ignore"):  # overflow is reported just below
                y = np.ascontiguousarray(x, dtype=dt)
            if not np.isfinite(y).all():
                raise InputError(f"{source}: video '{names[i]}' has values beyond {dt}'s range "
                                 f"(largest magnitude {np.finfo(dt).max:g}); use --dtype "
                                 "float32")
            f.write(y.tobytes())
            count += 1
        if count != len(lengths):
            raise InputError(f"{source}: features of {count} videos, expected {len(lengths)}")
    check_magnitudes(magnitudes, names, source)  # the counted warning for large values
    fileio.write_npy(out / "offsets.npy", offsets)
    fileio.write_npy(out / "video_names.npy", names)
    meta = {"format": STORE_FORMAT, "version": STORE_VERSION, "dtype": dt.name,
            "num_videos": len(lengths), "num_clips": int(offsets[-1]),
            "feature_size": int(feature_size), "source": str(source),
            "finite": True}  # every video was checked above
    fileio.write_json(out / "store.json", meta, indent=2)
    return out


def convert_features(config: Config, out_dir: str | Path, dtype: str = "float32",
                     overwrite: bool = False, progress: bool = False) -> Path:
    """`haan data convert`: validate the dataset, stream its features into a store at out_dir and
    write `out_dir/config.toml`: the same config with features_path = out_dir (as given, so it
    resolves from the same working directory as the other paths). Returns the config's path.
    Files of an earlier store or config in out_dir are replaced only with `overwrite`."""
    out = Path(out_dir)
    source = Path(config.features.features_path)
    if source.exists() and out.exists() and out.resolve() == source.resolve():
        raise InputError(f"{out}: is the features_path being converted; choose another --out")
    prepare_output(out, (*STORE_FILES, "config.toml"), overwrite)
    # The streaming write below checks every video, so an up-front scan would read twice.
    from tqdm import tqdm

    d = load_dataset(config, scan_features=False, progress=progress)
    store = d.features
    videos = (store[i] for i in tqdm(range(d.num_videos), desc="write store", unit="video",
                                     leave=False, disable=not progress))
    write_store(out, d.video_names, store.lengths, store.feature_size, videos, dtype=dtype,
                source=str(source), overwrite=overwrite)
    new = dataclasses.replace(config, features=FeaturesSection(features_path=str(out)))
    text = (f"# Written by `haan data convert` from {config.source}: the same settings, with the\n"
            f"# features in the memory-mapped store {out} ({dtype}).\n" + new.to_toml())
    fileio.write_text(out / "config.toml", text)
    return out / "config.toml"


__all__ = ["STORE_FOLDER", "convert_features", "prepare_output", "write_store"]
