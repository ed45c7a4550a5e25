"""From video files to clip features: decode (`haan.video.decode`), optical flow
(`haan.video.flow`), cut into clips (`haan.video.grid`), I3D (`haan.video.i3d`), write.

    network = build_network("rgb")   # the default Kinetics-400 weights (haan.video.weights)
    features, grid = extract_video("a.mp4", GridSpec(fps=24, clip_frames=16, stride=16), network)
    # features (T, D) float32, one row per clip of grid (grid.clip_seconds() gives their seconds)

`extract_videos` does this for many videos and writes, through `haan.fileio`, `<id>.npy`
(T, D) float32 and the clip grid `<id>.json` per video (`<id>` is the file name without its
extension; it carries the feature contract under "contract"), or with `store=True` a feature
store (`haan.data.write_store`) plus the `<id>.json` files. A video that cannot be extracted is
one failure line and the others go on (`Extracted.failures`). Everything streams: a video is decoded frame by frame and sent to the network in batches
of `batch_size` clips; only its features (a few KB per clip) are kept.
"""

from __future__ import annotations

import contextlib
import queue
import tempfile
import threading
import warnings
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence, TypeVar

import numpy as np
import torch

from haan.errors import DataWarning, InputError
from haan.video.decode import VideoFrames
from haan.video.flow import with_flow
from haan.video.grid import ClipGrid, GridSpec
from haan.video.network import STREAMS, FeatureNetwork, build_network

RESIZE, CROP = 256, 224  # shorter side, then the centre crop I3D was trained on

Item = TypeVar("Item")


def clips_of(frames: Iterable[Item], spec: GridSpec) -> Iterator[list[Item]]:
    """The clips of a stream of frames in order, each a list of `clip_frames` frames: clip t is
    frames [t * stride, t * stride + clip_frames); a stream shorter than one clip gives one clip
    padded with its last frame (the rule of `haan.video.grid`)."""
    window: deque = deque(maxlen=spec.clip_frames)
    count = 0
    for frame in frames:
        window.append(frame)
        count += 1
        first = count - spec.clip_frames
        if first >= 0 and first % spec.stride == 0:
            yield list(window)
    if 0 < count < spec.clip_frames:
        yield list(window) + [window[-1]] * (spec.clip_frames - count)


@dataclass(frozen=True)
class ClipBatch:
    rgb: np.ndarray  # (B, T, H, W, 3) uint8
    flow: np.ndarray | None  # (B, T, H, W, 2) float32 in [-1, 1], or None for RGB only


class Cancelled(Exception):
    """Raised in a decoding thread whose work is no longer wanted."""


def _until(stop: threading.Event, frames: Iterable[Item]) -> Iterator[Item]:
    for frame in frames:
        if stop.is_set():
            raise Cancelled
        yield frame


class VideoClips:
    """A video's clips in batches (an iterable of ClipBatch), streaming; `grid` is set once the
    iteration is complete. With `stop`, the iteration raises `Cancelled` at the next frame once
    the event is set."""

    def __init__(self, path: str | Path, spec: GridSpec, flow: bool, batch_size: int = 8,
                 resize: int = RESIZE, crop: int = CROP, stop: threading.Event | None = None):
        self.path, self.spec, self.flow, self.batch_size = Path(path), spec, flow, batch_size
        self.frames = VideoFrames(path, spec.fps, resize, crop)
        self.stop = stop
        self.grid: ClipGrid | None = None

    @property
    def expected_clips(self) -> int | None:
        n = self.frames.expected_frames
        return None if n is None else self.spec.count_clips(n)

    def __iter__(self) -> Iterator[ClipBatch]:
        rgb: Iterable[np.ndarray] = (self.frames if self.stop is None
                                     else _until(self.stop, self.frames))
        frames: Iterable[tuple[np.ndarray, np.ndarray | None]] = (
            with_flow(rgb) if self.flow else ((f, None) for f in rgb))
        batch: list[list[tuple[np.ndarray, np.ndarray | None]]] = []
        for clip in clips_of(frames, self.spec):
            batch.append(clip)
            if len(batch) == self.batch_size:
                yield self._stack(batch)
                batch = []
        if batch:
            yield self._stack(batch)
        self.grid = self.spec.for_video(self.frames.frames, self.frames.duration)

    def _stack(self, clips: list[list[tuple[np.ndarray, np.ndarray | None]]]) -> ClipBatch:
        rgb = np.stack([np.stack([f[0] for f in clip]) for clip in clips])
        flow = np.stack([np.stack([f[1] for f in clip]) for clip in clips]) if self.flow else None
        return ClipBatch(rgb, flow)


def _device(device: str | torch.device) -> torch.device:
    from haan.runtime.device import resolve_device

    return device if isinstance(device, torch.device) else resolve_device(device)


def _run_network(clips: VideoClips, batches: Iterable[ClipBatch], network: FeatureNetwork,
                 device: torch.device, progress: bool) -> np.ndarray:
    """(T, D) float32: the network over a video's batches, with a progress bar of its clips."""
    from tqdm import tqdm

    parts = [np.zeros((0, network.feature_dim), dtype=np.float32)]
    with tqdm(desc=clips.path.name, unit="clip", disable=not progress, leave=False) as bar:
        for batch in batches:
            if bar.total is None and clips.expected_clips is not None:
                bar.total = clips.expected_clips  # an estimate from the container's duration
            parts.append(network.features(batch, device))
            bar.update(len(batch.rgb))
    return np.concatenate(parts)


def extract_video(path: str | Path, spec: GridSpec, network: FeatureNetwork,
                  device: str | torch.device = "auto", batch_size: int = 8, resize: int = RESIZE,
                  crop: int = CROP, progress: bool = False) -> tuple[np.ndarray, ClipGrid]:
    """The features of one video: ((T, D) float32, its ClipGrid), T = grid.num_clips."""
    dev = _device(device)
    network.to(dev)
    clips = VideoClips(path, spec, network.flow is not None, batch_size, resize, crop)
    features = _run_network(clips, clips, network, dev, progress)
    short_video_warning(clips)
    return features, clips.grid


# ----------------------------------------------------------------------------------------------
# Many videos: decoding in background threads, writing the outputs


_DONE = object()


class _Prefetch:
    """Decodes videos (and their flow) in up to `workers` background threads, in order, each
    into a bounded queue, while the caller runs the network: `batches(i)` yields video i's
    batches. FFmpeg, OpenCV and torch release the GIL, so the threads overlap. A worker waits
    while its queue (2 batches) is full, so memory is bounded by a few batches per worker;
    leaving the `with` block stops them all within a frame (`stop` is the videos' stop event)."""

    def __init__(self, videos: Sequence[VideoClips], workers: int, stop: threading.Event):
        self._videos = videos
        self._queues = [queue.Queue(maxsize=2) for _ in videos]
        self._stop = stop
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="haan-decode")

    def __enter__(self) -> _Prefetch:
        # Started in order, so video i always has a thread while the caller waits for it.
        for video, q in zip(self._videos, self._queues):
            self._pool.submit(self._produce, video, q)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _put(self, q: queue.Queue, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self, video: VideoClips, q: queue.Queue) -> None:
        try:
            for batch in video:
                if not self._put(q, batch):
                    return
            self._put(q, _DONE)
        except BaseException as exc:  # handed to the caller, who raises it
            self._put(q, exc)

    def batches(self, i: int) -> Iterator[ClipBatch]:
        while True:
            item = self._queues[i].get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item


def grid_json(grid: ClipGrid, network: FeatureNetwork, video: str | Path,
              device: torch.device | None = None) -> dict[str, Any]:
    """The `<id>.json` of a video: its grid, the feature size, streams, source and weights, the
    feature contract (`haan.data.contract`, key "contract") and the precision it ran in (not
    part of the contract: bf16 and fp32 features agree to a cosine of 0.999)."""
    from haan.data.contract import CONTRACT_KEY

    data = grid.to_json(network.feature_dim, network.streams, str(video), network.weights)
    data[CONTRACT_KEY] = network.contract(grid.spec).to_json()
    if device is not None:
        data["precision"] = network.resolved_precision(device)
    return data


def short_video_warning(clips: VideoClips) -> None:
    """A video shorter than one clip makes one clip padded with its last frame: say so."""
    grid = clips.grid
    if grid is not None and 0 < grid.frames < grid.clip_frames:
        warnings.warn(f"{clips.path}: shorter than one clip ({grid.frames} frames at "
                      f"{grid.fps:g} fps, a clip is {grid.clip_frames}): its one clip is padded "
                      "with its last frame", DataWarning, stacklevel=2)


def video_ids(videos: Sequence[str | Path]) -> list[str]:
    """Each video's id, its file name without the extension; two videos with one id are an error."""
    ids: dict[str, Path] = {}
    for video in map(Path, videos):
        if video.stem in ids:
            raise InputError(f"{video}: has the id '{video.stem}' of {ids[video.stem]} too (ids "
                             "are file names without their extension; rename one)")
        ids[video.stem] = video
    return list(ids)


def expand_folders(paths: Sequence[str | Path]) -> list[Path]:
    """Each path, a folder replaced by the files in it (sorted by name, hidden files skipped,
    not recursive): every one of them is tried as a video."""
    out: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir()
                              if p.is_file() and not p.name.startswith(".")))
        else:
            out.append(path)
    return out


def output_paths(out_dir: str | Path, ids: Sequence[str], store: bool) -> list[Path]:
    """Every file `extract_videos` writes into out_dir."""
    from haan.data.features import STORE_FILES

    out = Path(out_dir)
    features = [out / name for name in STORE_FILES] if store else [out / f"{i}.npy" for i in ids]
    return features + [out / f"{i}.json" for i in ids]


@dataclass(frozen=True)
class Extracted:
    """What `extract_videos` did: (id, grid) of each video written, in order, and one line per
    video that could not be extracted (it names the file; nothing of it was written)."""

    videos: list[tuple[str, ClipGrid]]
    failures: list[str]


def _check_request(videos: Sequence[Path], ids: list[str], store: bool, workers: int,
                   batch_size: int) -> None:
    if workers < 1:
        raise InputError(f"--workers {workers}: must be at least 1")
    if batch_size < 1:
        raise InputError(f"--batch-size {batch_size}: must be at least 1")
    if not videos:
        raise InputError("no video given (or only empty folders)")
    if store and "store" in ids:
        raise InputError(f"{videos[ids.index('store')]}: the id 'store' would overwrite the store's "
                         "store.json; rename the video or write one file per video")


def extract_videos(videos: Sequence[str | Path], out_dir: str | Path, spec: GridSpec,
                   network: FeatureNetwork, device: str | torch.device = "auto", *,
                   store: bool = False, overwrite: bool = False, workers: int = 1,
                   batch_size: int = 8, resize: int = RESIZE, crop: int = CROP,
                   progress: bool = False) -> Extracted:
    """Extract every video (a folder stands for its files) and write its features and clip grid
    into out_dir (see the module's docstring). A video that cannot be read or decoded (missing,
    empty, truncated, audio only, not a video) is a failure line and the others go on; nothing
    of a failed video is written. A file already in out_dir that would be written is refused
    unless `overwrite`. `workers` threads decode ahead of the network."""
    from tqdm import tqdm

    from haan.fileio import output_folder, refuse_to_replace, write_json, write_npy

    paths = expand_folders(videos)
    ids = video_ids(paths)
    _check_request(paths, ids, store, workers, batch_size)
    out = output_folder(out_dir)
    if not overwrite:
        refuse_to_replace(output_paths(out, ids, store))
    dev = _device(device)
    network.to(dev)
    stop = threading.Event()
    clips = [VideoClips(v, spec, network.flow is not None, batch_size, resize, crop, stop)
             for v in paths]
    done: list[int] = []
    failures: list[str] = []
    # A store's videos are staged as .npy files (removed at the end) and streamed into it.
    staging = tempfile.TemporaryDirectory(dir=out, prefix=".haan-extract-") if store else None
    with staging or contextlib.nullcontext(), _Prefetch(clips, workers, stop) as prefetch:
        for i in tqdm(range(len(clips)), desc="videos", unit="video",
                      disable=not progress or len(clips) == 1):
            try:
                features = _run_network(clips[i], prefetch.batches(i), network, dev, progress)
            except InputError as exc:  # this video only: the line names it
                failures.append(str(exc))
                continue
            short_video_warning(clips[i])
            write_npy(Path(staging.name if staging else out) / f"{ids[i]}.npy", features)
            if not store:  # the grid marks a finished video
                write_json(out / f"{ids[i]}.json", grid_json(clips[i].grid, network, paths[i], dev))
            done.append(i)
        if staging and done:
            from haan.data import write_store

            write_store(out, np.array([ids[i] for i in done]),
                        np.array([clips[i].grid.num_clips for i in done]), network.feature_dim,
                        (np.load(Path(staging.name) / f"{ids[i]}.npy", mmap_mode="r")
                         for i in done), source="haan extract")
            for i in done:
                write_json(out / f"{ids[i]}.json", grid_json(clips[i].grid, network, paths[i], dev))
    return Extracted([(ids[i], clips[i].grid) for i in done], failures)


__all__ = ["CROP", "RESIZE", "STREAMS", "Cancelled", "ClipBatch", "Extracted", "FeatureNetwork",
           "VideoClips", "build_network", "clips_of", "expand_folders", "extract_video",
           "extract_videos", "grid_json", "output_paths", "short_video_warning",
           "video_ids"]
