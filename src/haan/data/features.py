"""Per-video clip features on disk: the four layouts, read without loading a dense file whole,
and the scan that finds features no training could use.

The layout is what `[features] features_path` is on disk:
  * a .npy file holding an object array of (T_i, D) arrays (FineGym): loaded whole (it is a pickle);
  * a .npy file holding a dense (N, T, D) array (FineAction): never read whole; every video has
    T clips (there is no padding information, as in the paper);
  * a folder with `store.json`: the store of `haan.data.store` (a flat (sum T_i, D) `features.npy`
    plus `offsets.npy`), never read whole;
  * any other folder: one `<video_name>.npy` file of shape (T_i, D) per video.
The two large layouts are read like a memmap, by offset, but with plain reads of just the videos
asked for: pages read do not stay mapped, so resident memory is bounded by the batch even after
an epoch has visited the whole file (`memmap()` gives the memory-mapped array itself).

`FeatureStore.magnitudes()` is the scan: the largest |x| of every video (inf where a NaN or inf
is), streaming through the large layouts in chunks of `SCAN_CHUNK_BYTES`. `check_magnitudes`
turns it into an error naming the video (NaN, inf, or a magnitude beyond
`MAX_FEATURE_MAGNITUDE`) or a counted warning (beyond `LARGE_FEATURE_MAGNITUDE`).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, BinaryIO, Sequence

import numpy as np

from haan import fileio
from haan.errors import DataWarning, InputError

# The store (`haan.data.store` writes it): a folder of these files, store.json written last.
STORE_FORMAT = "haan-feature-store"
STORE_VERSION = 1
STORE_FILES = ("features.npy", "offsets.npy", "video_names.npy", "store.json")
# Reads of a scan: bounded memory whatever the file's size.
SCAN_CHUNK_BYTES = 32 << 20
# Training computes in float32 (largest value 3.4e38) and squares features: k-means' squared
# distances sum D squares, so |x| = 1e15 reaches 1e30 * D, about 4e33 at D = 4096; that leaves four
# orders of magnitude for the network's weights and sums before anything overflows to inf (and a
# NaN loss). Larger values are an error.
MAX_FEATURE_MAGNITUDE = 1e15
# I3D and TSN features are of order 1-100; values this large usually mean unnormalised or
# damaged data, but training can still run: a warning.
LARGE_FEATURE_MAGNITUDE = 1e6

Indices = Sequence[int] | np.ndarray


# ----------------------------------------------------------------------------------------------
# .npy helpers


def npy_header(path: Path) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """(shape, fortran_order, dtype, data offset) of a .npy file, reading only its header."""
    fmt = np.lib.format
    try:
        with open(path, "rb") as f:
            version = fmt.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = fmt.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = fmt.read_array_header_2_0(f)
            else:  # 3.0 differs from 2.0 only in the header's text encoding
                shape, fortran, dtype = fmt._read_array_header(f, version)
            return tuple(shape), bool(fortran), np.dtype(dtype), f.tell()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({fileio.describe_os_error(exc)})") from None
    except (ValueError, EOFError) as exc:
        raise InputError(f"{path}: not a .npy file ({exc})") from None


class _ProgressReader:
    """A binary file whose reads advance a tqdm bar to the file position: np.load reads a pickle
    through it, so a multi-GB object array shows how far it has got."""

    def __init__(self, f: BinaryIO, bar: Any):
        self._f, self._bar = f, bar

    def _advance(self) -> None:
        self._bar.update(self._f.tell() - self._bar.n)

    def read(self, size: int = -1) -> bytes:
        data = self._f.read(size)
        self._advance()
        return data

    def readinto(self, buffer: Any) -> int:
        n = self._f.readinto(buffer)
        self._advance()
        return n

    def readline(self, size: int = -1) -> bytes:
        line = self._f.readline(size)
        self._advance()
        return line

    def seek(self, offset: int, whence: int = 0) -> int:
        position = self._f.seek(offset, whence)
        self._advance()
        return position

    def tell(self) -> int:
        return self._f.tell()


def load_npy(path: Path, mmap: bool = False, progress: bool = False) -> np.ndarray:
    """np.load with one-line errors; `progress`: a bar over the file's bytes while it loads."""
    try:
        if mmap:
            return np.load(path, mmap_mode="r")
        if not progress:
            return np.load(path, allow_pickle=True)
        from tqdm import tqdm

        with open(path, "rb") as f, tqdm(total=path.stat().st_size, desc=f"load {path.name}",
                                          unit="B", unit_scale=True, leave=False) as bar:
            return np.load(_ProgressReader(f, bar), allow_pickle=True)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({fileio.describe_os_error(exc)})") from None
    except Exception as exc:  # pickle and format errors of a damaged file
        raise InputError(f"{path}: not a readable .npy file ({type(exc).__name__}: "
                         f"{exc})") from None


def _read_block(path: Path, offset: int, dtype: np.dtype, start: int, count: int) -> np.ndarray:
    """`count` items of a C-ordered array in a file, from item `start`: a plain read of just those
    bytes. Unlike a memmap, the pages read do not stay mapped into the process, so resident
    memory is bounded by what the caller holds, however much of the file is visited."""
    x = np.fromfile(path, dtype=dtype, count=count, offset=offset + start * dtype.itemsize)
    if len(x) != count:
        raise InputError(f"{path}: file is shorter than its header says")
    return x


def _runs(indices: np.ndarray) -> list[np.ndarray]:
    """Split indices into runs of consecutive values, each of which is one contiguous read."""
    return np.split(indices, np.flatnonzero(np.diff(indices) != 1) + 1) if len(indices) else []


# ----------------------------------------------------------------------------------------------
# Magnitudes: the scan for features no training could use


def row_magnitudes(x: np.ndarray) -> np.ndarray:
    """(R,) float64 largest |x| of each row of x (R, K); inf for a row with a NaN or inf.
    max and -min rather than abs: no copy of the chunk, and NaN propagates through both."""
    if x.shape[-1] == 0:
        return np.zeros(x.shape[0])
    m = np.maximum(x.max(axis=-1).astype(np.float64), -x.min(axis=-1).astype(np.float64))
    m[np.isnan(m)] = np.inf
    return m


def video_magnitude(x: np.ndarray) -> float:
    """Largest |x| of one video's (T, D) features; inf if any is NaN or inf."""
    return float(row_magnitudes(np.asarray(x).reshape(1, -1))[0])


def _scan_rows(path: Path, offset: int, dtype: np.dtype, num_rows: int, row_size: int,
               progress: bool = False) -> np.ndarray:
    """(num_rows,) largest |x| of each row of a C-ordered array in a file (inf: NaN or inf).

    Plain reads into one reusable buffer rather than a memmap, so that neither anonymous nor
    mapped memory grows with the file.
    """
    from tqdm import tqdm

    out = np.zeros(num_rows)
    rows_per_chunk = max(1, SCAN_CHUNK_BYTES // max(1, row_size * dtype.itemsize))
    buf = np.empty(min(rows_per_chunk, num_rows) * row_size, dtype=dtype)
    with open(path, "rb") as f, tqdm(total=num_rows * row_size * dtype.itemsize, unit="B",
                                      unit_scale=True, desc="scan features", leave=False,
                                      disable=not progress) as bar:
        f.seek(offset)
        for start in range(0, num_rows, rows_per_chunk):
            n = min(rows_per_chunk, num_rows - start)
            chunk = buf[: n * row_size]
            if f.readinto(memoryview(chunk).cast("B")) != chunk.nbytes:
                raise InputError(f"{path}: file is shorter than its header says")
            out[start:start + n] = row_magnitudes(chunk.reshape(n, row_size))
            bar.update(chunk.nbytes)
    return out


def check_magnitudes(magnitudes: np.ndarray, video_names: Sequence[str], source: Any,
                     warn: bool = True) -> None:
    """An InputError naming the first video with NaN/inf features or features beyond
    MAX_FEATURE_MAGNITUDE (with the count of such videos); with `warn`, one counted DataWarning
    for the videos beyond LARGE_FEATURE_MAGNITUDE. `magnitudes` (N,) as `FeatureStore.magnitudes`.
    """
    m = np.asarray(magnitudes, dtype=np.float64)
    for bad, what in ((np.isinf(m), "has NaN or inf features"),
                      (m > MAX_FEATURE_MAGNITUDE, "has features of magnitude {:.3g}, beyond "
                       f"{MAX_FEATURE_MAGNITUDE:.0e} (float32 training would overflow)")):
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            count = int(bad.sum())
            raise InputError(f"{source}: video '{video_names[i]}' {what.format(m[i])}"
                             + (f" ({count} such videos)" if count > 1 else ""))
    large = m > LARGE_FEATURE_MAGNITUDE
    if warn and large.any():
        i = int(np.flatnonzero(large)[0])
        warnings.warn(f"{source}: {int(large.sum())} videos have features of magnitude beyond "
                      f"{LARGE_FEATURE_MAGNITUDE:.0e} (first: video '{video_names[i]}', "
                      f"{m[i]:.3g}); features are usually of order 1-100", DataWarning,
                      stacklevel=3)


# ----------------------------------------------------------------------------------------------
# Feature stores


class FeatureStore:
    """Read-only per-video features; subclasses are the layouts on disk.

    `__getitem__` returns (T_i, D) in the stored dtype: the loaded item of an object array, or
    a fresh array read from disk for the other layouts.
    """

    layout: str
    path: Path
    num_videos: int
    feature_size: int
    dtype: np.dtype
    lengths: np.ndarray  # (N,) int64

    def __len__(self) -> int:
        return self.num_videos

    def __getitem__(self, i: int) -> np.ndarray:  # (T_i, D)
        raise NotImplementedError

    @property
    def num_clips(self) -> int:
        return int(self.lengths.sum())

    @property
    def nbytes(self) -> int:
        return self.num_clips * self.feature_size * self.dtype.itemsize

    def gather(self, indices: Indices) -> np.ndarray:
        """(sum T_i, D) in the stored dtype: these videos' clips one after another."""
        parts = [self[int(i)] for i in indices]
        if not parts:
            return np.zeros((0, self.feature_size), dtype=self.dtype)
        return np.concatenate(parts, axis=0)

    def magnitudes(self, progress: bool = False) -> np.ndarray:
        """(N,) float64 largest |x| of each video, inf where a NaN or inf is. Bounded memory:
        video by video (the large layouts stream in chunks)."""
        from tqdm import tqdm

        return np.array([video_magnitude(self[i]) for i in tqdm(
            range(self.num_videos), desc="scan features", unit="video", leave=False,
            disable=not progress)])


class ObjectArrayFeatures(FeatureStore):
    """An (N,) object array of (T_i, D) arrays, as the paper's FineGym file. Loaded whole."""

    layout = "object"

    def __init__(self, path: Path, items: np.ndarray):
        self.path = path
        videos = [np.asarray(x) for x in items]  # loop over videos: items are separate objects
        for i, x in enumerate(videos):
            if x.ndim != 2 or x.dtype.kind not in "fiu":
                raise InputError(f"{path}: item {i} is a {x.dtype} array of shape {x.shape}, "
                                 "expected a (T, D) array of floats")
        sizes = np.array([x.shape[1] for x in videos], dtype=np.int64)
        if len(videos) and (sizes != sizes[0]).any():
            i = int(np.flatnonzero(sizes != sizes[0])[0])
            raise InputError(f"{path}: item {i} has {sizes[i]} values per clip, item 0 has "
                             f"{sizes[0]}")
        self._videos = videos
        self.num_videos = len(videos)
        self.feature_size = int(sizes[0]) if len(videos) else 0
        self.dtype = np.result_type(*[x.dtype for x in videos]) if videos else np.dtype("float32")
        self.lengths = np.array([x.shape[0] for x in videos], dtype=np.int64)

    def __getitem__(self, i: int) -> np.ndarray:
        return self._videos[i]


class DenseFeatures(FeatureStore):
    """A dense (N, T, D) .npy array, never read whole: only the videos asked for are read, by
    offset (`memmap()` gives the memory-mapped array itself)."""

    layout = "dense"

    def __init__(self, path: Path, shape: tuple[int, ...], dtype: np.dtype, offset: int):
        self.path = path
        self._offset = offset
        self.num_videos, self._clips, self.feature_size = shape
        self.dtype = dtype
        self.lengths = np.full(self.num_videos, self._clips, dtype=np.int64)
        expected = offset + self.num_videos * self._clips * self.feature_size * dtype.itemsize
        if path.stat().st_size < expected:
            raise InputError(f"{path}: file is shorter than its header says")

    def memmap(self) -> np.ndarray:  # (N, T, D), read-only
        return load_npy(self.path, mmap=True)

    def __getitem__(self, i: int) -> np.ndarray:
        video = self._clips * self.feature_size
        return _read_block(self.path, self._offset, self.dtype, int(i) * video,
                           video).reshape(self._clips, self.feature_size)

    def gather(self, indices: Indices) -> np.ndarray:
        video = self._clips * self.feature_size
        parts = [_read_block(self.path, self._offset, self.dtype, int(r[0]) * video,
                             len(r) * video) for r in _runs(np.asarray(indices, dtype=np.int64))]
        if not parts:
            return np.zeros((0, self.feature_size), dtype=self.dtype)
        return np.concatenate(parts).reshape(-1, self.feature_size)

    def magnitudes(self, progress: bool = False) -> np.ndarray:
        return _scan_rows(self.path, self._offset, self.dtype, self.num_videos,
                          self._clips * self.feature_size, progress)


class FolderFeatures(FeatureStore):
    """A folder of `<video_name>.npy` files of shape (T_i, D); each is read when asked for."""

    layout = "folder"

    def __init__(self, path: Path, video_names: np.ndarray):
        self.path = path
        self._files = [path / f"{name}.npy" for name in video_names]
        shapes, dtypes = [], []
        for name, file in zip(video_names, self._files):  # headers only
            if not file.is_file():
                raise InputError(f"{file}: no such file (features of video '{name}'; [features] "
                                 "features_path is a folder of per-video files)")
            shape, _fortran, dtype, _offset = npy_header(file)
            if len(shape) != 2 or dtype.kind not in "fiu":
                raise InputError(f"{file}: a {dtype} array of shape {shape}, expected a (T, D) "
                                 "array of floats")
            shapes.append(shape)
            dtypes.append(dtype)
        sizes = np.array([s[1] for s in shapes], dtype=np.int64)
        if len(shapes) and (sizes != sizes[0]).any():
            i = int(np.flatnonzero(sizes != sizes[0])[0])
            raise InputError(f"{self._files[i]}: {sizes[i]} values per clip, but "
                             f"{self._files[0].name} has {sizes[0]}")
        self.num_videos = len(shapes)
        self.feature_size = int(sizes[0]) if len(shapes) else 0
        self.dtype = np.result_type(*dtypes) if dtypes else np.dtype("float32")
        self.lengths = np.array([s[0] for s in shapes], dtype=np.int64)

    def __getitem__(self, i: int) -> np.ndarray:
        return np.asarray(load_npy(self._files[i]))


class FlatStoreFeatures(FeatureStore):
    """The store of `haan.data.store`: a flat (sum T_i, D) array plus (N+1,) offsets, never read
    whole."""

    layout = "store"

    def __init__(self, path: Path):
        self.path = path
        meta_path = path / "store.json"
        meta = fileio.read_json(meta_path)
        if not isinstance(meta, dict) or meta.get("format") != STORE_FORMAT:
            raise InputError(f"{meta_path}: not a {STORE_FORMAT} description")
        if meta.get("version") != STORE_VERSION:
            raise InputError(f"{meta_path}: store version {meta.get('version')!r}, this haan "
                             f"reads version {STORE_VERSION}")
        for name in STORE_FILES:
            if not (path / name).is_file():
                raise InputError(f"{path / name}: no such file (part of the feature store)")
        shape, fortran, dtype, self._offset = npy_header(path / "features.npy")
        if len(shape) != 2 or fortran or dtype.kind != "f":
            raise InputError(f"{path / 'features.npy'}: a {dtype} array of shape {shape}, "
                             "expected a C-ordered (clips, D) float array")
        size = self._offset + shape[0] * shape[1] * dtype.itemsize
        if (path / "features.npy").stat().st_size < size:
            raise InputError(f"{path / 'features.npy'}: file is shorter than its header says")
        self.offsets = np.asarray(load_npy(path / "offsets.npy"), dtype=np.int64)  # (N+1,)
        self.video_names = np.asarray(load_npy(path / "video_names.npy")).astype(str)
        # Every video was checked (finite, within MAX_FEATURE_MAGNITUDE) when it was written.
        self.verified_finite = meta.get("finite") is True
        o = self.offsets
        if (o.ndim != 1 or len(o) != len(self.video_names) + 1 or o[0] != 0
                or o[-1] != shape[0] or (np.diff(o) < 0).any()):
            raise InputError(f"{path / 'offsets.npy'}: expected {len(self.video_names) + 1} "
                             f"non-decreasing offsets from 0 to {shape[0]}")
        self.num_videos = len(self.video_names)
        self.feature_size = int(shape[1])
        self.dtype = dtype
        self.lengths = np.diff(o)

    def memmap(self) -> np.ndarray:  # (sum T_i, D), read-only
        return load_npy(self.path / "features.npy", mmap=True)

    def __getitem__(self, i: int) -> np.ndarray:
        start, stop = int(self.offsets[i]), int(self.offsets[i + 1])
        return self._read(start, stop)

    def _read(self, start: int, stop: int) -> np.ndarray:  # clips [start, stop) -> (n, D)
        D = self.feature_size
        return _read_block(self.path / "features.npy", self._offset, self.dtype, start * D,
                           (stop - start) * D).reshape(stop - start, D)

    def gather(self, indices: Indices) -> np.ndarray:
        parts = [self._read(int(self.offsets[r[0]]), int(self.offsets[r[-1] + 1]))
                 for r in _runs(np.asarray(indices, dtype=np.int64))]
        if not parts:
            return np.zeros((0, self.feature_size), dtype=self.dtype)
        return np.concatenate(parts)

    def magnitudes(self, progress: bool = False) -> np.ndarray:
        rows = _scan_rows(self.path / "features.npy", self._offset, self.dtype,
                          int(self.offsets[-1]), self.feature_size, progress)  # (sum T_i,)
        out = np.zeros(self.num_videos)
        nonempty = self.lengths > 0
        if nonempty.any():  # reduceat over the non-empty videos' first rows: each its own run
            out[nonempty] = np.maximum.reduceat(rows, self.offsets[:-1][nonempty])
        return out


def open_features(features_path: str, video_names: np.ndarray,
                  progress: bool = False) -> FeatureStore:
    """The layout is what is on disk at `features_path` (see the module's docstring).
    `progress`: a bar while an object array (a pickle, loaded whole) loads."""
    path = Path(features_path)
    if path.is_dir():
        if (path / "store.json").exists():
            return FlatStoreFeatures(path)
        if (path / "offsets.npy").exists():  # a store's files without the one written last
            raise InputError(f"{path}: an unfinished feature store (no store.json); write it "
                             "again")
        return FolderFeatures(path, video_names)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder (config [features] features_path)")
    shape, fortran, dtype, offset = npy_header(path)
    if dtype.hasobject:
        items = load_npy(path, progress=progress)
        if items.ndim != 1:
            raise InputError(f"{path}: an object array of shape {items.shape}, expected (N,) "
                             "items of shape (T_i, D)")
        return ObjectArrayFeatures(path, items)
    if len(shape) == 3 and dtype.kind in "fiu":
        if fortran:
            raise InputError(f"{path}: a Fortran-ordered array; re-save it C-ordered "
                             "(np.save(path, np.ascontiguousarray(x)))")
        return DenseFeatures(path, shape, dtype, offset)
    raise InputError(f"{path}: a {dtype} array of shape {shape}, expected an object array of "
                     "(T_i, D) arrays or a dense (N, T, D) array")


__all__ = [
    "LARGE_FEATURE_MAGNITUDE", "MAX_FEATURE_MAGNITUDE", "SCAN_CHUNK_BYTES", "STORE_FILES",
    "STORE_FORMAT", "STORE_VERSION", "DenseFeatures",
    "FeatureStore", "FlatStoreFeatures", "FolderFeatures", "Indices", "ObjectArrayFeatures",
    "check_magnitudes", "load_npy", "npy_header", "open_features", "row_magnitudes",
    "video_magnitude",
]
