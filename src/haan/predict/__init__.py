"""Detections for new, unlabelled videos from a trained model (`haan predict`), and the figure of
one video (`haan plot video`).

    predictor = load_predictor(run="output/thumos14/r1")   # or models_dir=..., config=...
    videos = feature_videos(["features/"])                  # files, folders, stores
    rates = clip_rates(videos, predictor.config, clips_per_second=1.5625)
    prediction = predict_videos(predictor, videos, rates)   # detections in seconds

The model is a run's best checkpoints (`encoder.pkl`, `fine_level_classifier.pkl`, checked against
their manifest) with the run's `config.toml`: its `[evaluation]` alpha and kmax_mod_factor and its
class names (`[haan] class_names_path`, else the ids).

Inputs, each PATH one of:
  * `<id>.npy` (a (T, D) array) or `<id>.csv` (a row per clip, an optional header line, read as
    `haan data import` reads it): one video, named `<id>`;
  * a folder of such files (every .npy and .csv in it, in name order);
  * a feature store (a folder with store.json: `haan data convert`, `haan extract --store`);
  * a video file (an extension of VIDEO_EXTENSIONS): its I3D features are extracted first
    (`haan.video.extract`) on the clip grid the run's features were made with (`[haan]
    clip_grid_path`, recorded by `haan data import`), or on the grid the options give.

The clips per second of a features video, the first rule that applies:
  1. its clip-grid file `<id>.json` beside it (`haan extract` writes one);
  2. `clips_per_second`, for features on a fixed grid;
  3. T / duration, with the video's duration from `durations` (features resampled to a fixed
     length, as FineAction's);
  4. the run's dataset rate, when all its videos have one (`sec2clip_ratios.npy`);
otherwise an error naming the video. A video file's rate is its extraction grid's fps / stride.

Detection is `haan.evaluation.evaluate.detect_chunks`, the code `haan evaluate` runs, chunk by chunk: on a
dataset's own test videos, in its order, the detections are exactly those `haan evaluate` scores.

May import: every package below haan.cli except haan.recipes.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from haan import fileio
from haan.config import Config, load_config
from haan.data.annotations import load_annotations, load_class_names, load_fine_to_coarse
from haan.data.features import (
    FlatStoreFeatures,
    check_magnitudes,
    load_npy,
    video_magnitude,
)
from haan.data.importers import feature_shape, read_activitynet, read_features
from haan.engine.checkpoints import load_checkpoints
from haan.errors import DataWarning, InputError
from haan.evaluation.evaluate import chunk_clips, detect_chunks
from haan.evaluation.postprocess import Detections, VideoDetections, concat_detections, video_scores
from haan.evaluation.reports import detections_json
from haan.models.haan import HAAN
from haan.models.methods import check_model_fits
from haan.runtime.device import resolve_device
from haan.runtime.precision import warn_if_emulated
from haan.video.grid import GridSpec, read_grid

# File name extensions taken as video files (anything FFmpeg reads can be renamed to one).
VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts",
                    ".wmv", ".flv", ".3gp", ".ogv")
FEATURE_EXTENSIONS = (".npy", ".csv")
# The classes a video's summary line names, by video score.
SUMMARY_TOP_CLASSES = 3


# ----------------------------------------------------------------------------------------------
# The model


@dataclass(frozen=True)
class Predictor:
    config: Config
    model: HAAN            # encoder and fine-level classifier loaded, on `device`
    device: torch.device
    models_dir: Path
    epoch: int | None      # from the checkpoints' manifest (None: the paper's checkpoints)
    class_names: list[str]  # (C,) fine class names, the ids as strings without names


def load_predictor(run: str | Path | None = None, models_dir: str | Path | None = None,
                   config: str | Path | None = None, overrides: Sequence[str] = (),
                   device: str = "auto") -> Predictor:
    """A run folder's best checkpoints and its `config.toml` (`run`), or the checkpoints of
    `models_dir` (the paper's, or any folder) with `config`; `config` with `run` replaces the
    run's config."""
    if (run is None) == (models_dir is None):
        raise InputError("--run RUN_DIR or --models-dir DIR: give one of them")
    folder = Path(run if run is not None else models_dir)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder (expected "
                         + ("a run folder written by haan train)" if run is not None
                            else "a folder with encoder.pkl and fine_level_classifier.pkl)"))
    if config is None:
        if run is None:
            raise InputError("--models-dir: needs --config (the config the checkpoints were "
                             "trained with)")
        config = folder / "config.toml"
        if not config.is_file():
            raise InputError(f"{config}: no such file (a run folder written by haan train has "
                             "it); give --config")
    cfg = load_config(config, overrides)
    dev = resolve_device(device)
    check_model_fits(cfg, dev, training=False)
    warn_if_emulated(cfg, dev)
    model = HAAN.from_config(cfg).to(dev)
    epoch = load_checkpoints(model, folder, blocks=("encoder", "fine_level_classifier"),
                             map_location=dev)
    fine_names, _ = load_class_names(cfg)
    return Predictor(cfg, model, dev, folder, epoch, fine_names)


# ----------------------------------------------------------------------------------------------
# Feature inputs


@dataclass(frozen=True)
class FeatureVideo:
    """One video's clip features, read when needed."""

    name: str                  # `<id>`: the file name without its extension, or the store's name
    source: Path               # the feature file, store folder or video file
    num_clips: int             # T
    feature_size: int          # D
    grid_rate: float | None    # clips per second of its clip grid, where one is known
    read: Callable[[], np.ndarray] = field(repr=False)  # (T, D) as stored

    def features(self) -> np.ndarray:
        """(T, D) float32; NaN, inf or impossible magnitudes are an error naming the video."""
        with np.errstate(over="ignore"):  # a value beyond float32 is reported below
            x = np.asarray(self.read(), dtype=np.float32)
        if x.shape != (self.num_clips, self.feature_size):
            raise InputError(f"{self.source}: video '{self.name}' has features of shape "
                             f"{x.shape}, expected ({self.num_clips}, {self.feature_size})")
        check_magnitudes(np.array([video_magnitude(x)]), [self.name], self.source)
        return x


def _grid_rate(grid_file: Path) -> float | None:
    return read_grid(grid_file).clips_per_second if grid_file.is_file() else None


def _feature_file(path: Path) -> FeatureVideo:
    T, D = feature_shape(path)
    return FeatureVideo(path.stem, path, T, D, _grid_rate(path.with_suffix(".json")),
                        lambda: read_features(path))


def _store_videos(path: Path) -> list[FeatureVideo]:
    store = FlatStoreFeatures(path)
    return [FeatureVideo(str(name), path, int(store.lengths[i]), store.feature_size,
                         _grid_rate(path / f"{name}.json"), lambda i=i: store[i])
            for i, name in enumerate(store.video_names)]  # per video: a handful of fields


def is_video_file(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


def feature_videos(paths: Sequence[str | Path]) -> list[FeatureVideo]:
    """The videos of feature PATHs (files, folders of files, stores), in order; only headers are
    read (a .csv is read whole to count its rows)."""
    videos: list[FeatureVideo] = []
    for path in map(Path, paths):
        if path.is_dir():
            if (path / "store.json").exists():
                videos += _store_videos(path)
                continue
            if (path / "offsets.npy").exists():
                raise InputError(f"{path}: an unfinished feature store (no store.json); write it "
                                 "again")
            files = sorted(p for p in path.iterdir()
                           if p.suffix in FEATURE_EXTENSIONS and p.is_file())
            if not files:
                raise InputError(f"{path}: no .npy or .csv feature files in the folder")
            videos += [_feature_file(p) for p in files]
        elif not path.exists():
            raise InputError(f"{path}: no such file or folder")
        elif path.suffix in FEATURE_EXTENSIONS:
            videos.append(_feature_file(path))
        else:
            raise InputError(f"{path}: not a feature file (.npy, .csv), a folder of them, a "
                             f"feature store or a video file ({', '.join(VIDEO_EXTENSIONS)})")
    return videos


def check_videos(videos: Sequence[FeatureVideo], config: Config) -> None:
    """Every video has clips, the model's feature size and a name of its own."""
    seen: dict[str, Path] = {}
    D = config.hyperparameters.feature_size
    for v in videos:  # per video, a few comparisons
        if v.num_clips == 0:
            raise InputError(f"{v.source}: video '{v.name}' has no clips")
        if v.feature_size != D:
            raise InputError(f"{v.source}: {v.feature_size} values per clip, but the model takes "
                             f"[hyperparameters] feature_size = {D} ({config.source})")
        if v.name in seen:
            raise InputError(f"{v.source}: a second video named '{v.name}' (the first is from "
                             f"{seen[v.name]}); names are file names without their extension")
        seen[v.name] = v.source


# ----------------------------------------------------------------------------------------------
# Clip rates


def _id_variants(name: str) -> list[str]:
    """A video's id as annotation files may spell it: as is, with or without a `v_` prefix."""
    return [name, f"v_{name}"] + ([name[2:]] if name.startswith("v_") else [])


def lookup(table: Mapping[str, Any], name: str) -> Any:
    """table[name], trying the `v_` spellings of the id; None when absent."""
    return next((table[k] for k in _id_variants(name) if k in table), None)


def read_durations(path: str | Path) -> dict[str, float]:
    """`{"id": seconds}` of a durations file."""
    data = fileio.read_json(path)
    if not isinstance(data, dict):
        raise InputError(f'{path}: expected an object {{"video id": seconds, ...}}')
    for name, value in data.items():
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or not math.isfinite(value) or value <= 0):
            raise InputError(f"{path}: video '{name}': the duration must be a positive number "
                             f"of seconds, got {value!r:.40}")
    return {str(k): float(v) for k, v in data.items()}


@dataclass(frozen=True)
class GroundTruthFile:
    """What an ActivityNet-style annotation file says of each video: durations (where given) and
    annotations (label names, (n, 2) segments)."""

    path: Path
    durations: dict[str, float]
    annotations: dict[str, tuple[list[str], np.ndarray]]


def read_ground_truth_file(path: str | Path) -> GroundTruthFile:
    videos, _taxonomy = read_activitynet(path)
    return GroundTruthFile(Path(path), {v.name: v.duration for v in videos if v.duration},
                           {v.name: (v.labels, v.segments) for v in videos})


def dataset_rate(config: Config) -> tuple[float | None, str]:
    """The clips per second of every video of the config's dataset, when they all share one;
    else None and why (for the error)."""
    path = Path(config.annotations.sec2clip_ratios_path)
    if not path.is_file():
        return None, f"the run's dataset rates are not there ({path})"
    ratios = np.asarray(load_npy(path), dtype=np.float64).reshape(-1)
    distinct = np.unique(ratios)
    if len(distinct) == 1 and distinct[0] > 0:
        return float(distinct[0]), ""
    return None, f"the run's dataset has {len(distinct)} clip rates ({path})"


def clip_rates(videos: Sequence[FeatureVideo], config: Config,
               clips_per_second: float | None = None,
               durations: Mapping[str, float] | None = None,
               durations_source: str = "--durations") -> np.ndarray:
    """(V,) clips per second of each video by the rules of the module's docstring."""
    if clips_per_second is not None and not (math.isfinite(clips_per_second)
                                             and clips_per_second > 0):
        raise InputError(f"--clips-per-second {clips_per_second}: expected a positive number")
    rates = np.full(len(videos), np.nan)                                    # (V,)
    disagree = []
    for k, v in enumerate(videos):  # per video, a dictionary lookup
        duration = lookup(durations, v.name) if durations is not None else None
        option = (clips_per_second if clips_per_second is not None
                  else v.num_clips / duration if duration is not None else None)
        if v.grid_rate is not None:
            rates[k] = v.grid_rate
            if option is not None and not math.isclose(option, v.grid_rate, rel_tol=1e-3):
                disagree.append((v, option))
        elif option is not None:
            rates[k] = option
    if disagree:
        v, option = disagree[0]
        warnings.warn(f"{len(disagree)} videos have a clip-grid file whose rate differs from "
                      f"the option's (first: '{v.name}': {v.grid_rate:g} clips/s in {v.name}.json, "
                      f"{option:.4g} from the option); the clip-grid file is used", DataWarning,
                      stacklevel=2)
    missing = np.flatnonzero(np.isnan(rates))
    if len(missing):
        rate, why = dataset_rate(config)
        if rate is None:
            v = videos[int(missing[0])]
            in_durations = f", it is not in {durations_source}" if durations is not None else ""
            raise InputError(
                f"{v.source}: no clip rate for video '{v.name}' ({len(missing)} such videos): no "
                f"clip-grid file {v.name}.json beside it, no --clips-per-second{in_durations}, and "
                f"{why}; give --clips-per-second R (e.g. 25 fps / 16 frames = 1.5625) or "
                "--durations FILE.json")
        rates[missing] = rate
    return rates


# ----------------------------------------------------------------------------------------------
# Prediction


@dataclass(frozen=True)
class VideoSummary:
    name: str
    clips: int
    seconds: float
    detections: int
    top_classes: list[tuple[int, float]]  # (class, video score), highest first


@dataclass(frozen=True)
class Prediction:
    names: list[str]              # (V,) the videos
    rates: np.ndarray             # (V,) clips per second
    detections: Detections        # video = position in names; seconds
    summaries: list[VideoSummary]


def video_detections(d: Detections, video: int) -> VideoDetections:
    """One video's detections out of many."""
    mine = d.video == video
    return VideoDetections(d.label[mine], d.start[mine], d.end[mine], d.score[mine])


def predict_videos(predictor: Predictor, videos: Sequence[FeatureVideo], rates: np.ndarray,
                   each_video: Callable[[int, np.ndarray, VideoDetections], None] | None = None,
                   progress: bool = False) -> Prediction:
    """Score and detect every video, streaming chunk by chunk (`haan.evaluation.evaluate.detect_chunks`);
    `each_video(position, (T, C) scores, detections)` is called for each video as its chunk is
    done (to write its scores, figure, subtitles)."""
    ev = predictor.config.evaluation
    lengths = np.array([v.num_clips for v in videos], dtype=np.int64)   # (V,)
    rates = np.asarray(rates, dtype=np.float64)

    def clips(positions: np.ndarray) -> np.ndarray:  # (sum T_i, D) float32
        return np.concatenate([videos[int(j)].features() for j in positions])

    parts, summaries = [], []
    max_clips = chunk_clips(predictor.config.hyperparameters.feature_size)
    for _, positions, scores, found in detect_chunks(predictor.model, clips, lengths, rates, ev,
                                                     predictor.device, progress=progress,
                                                     max_clips=max_clips,
                                                     precision=predictor.config.haan.precision):
        parts.append(found)
        for j, s in zip(positions.tolist(), scores):  # per video of the chunk
            mine = video_detections(found, j)
            c_s = video_scores(s, ev.kmax_mod_factor)                     # (C,)
            top = np.argsort(-c_s, kind="stable")[:SUMMARY_TOP_CLASSES]
            summaries.append(VideoSummary(videos[j].name, int(lengths[j]),
                                          float(lengths[j] / rates[j]), len(mine.label),
                                          [(int(c), float(c_s[c])) for c in top]))
            if each_video is not None:
                each_video(j, s, mine)
    return Prediction([v.name for v in videos], rates, concat_detections(parts), summaries)


# ----------------------------------------------------------------------------------------------
# Outputs: subtitles, the summary


def srt_time(seconds: float) -> str:
    """`HH:MM:SS,mmm` of a time in seconds (rounded to the millisecond)."""
    ms = max(0, round(seconds * 1000))
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def srt_text(detections: VideoDetections, class_names: Sequence[str]) -> str:
    """SubRip subtitles of one video's detections: one cue per detection, `label (score)`, by
    start (then highest score first). Cues may overlap: players show them stacked."""
    order = np.lexsort((-detections.score, detections.start))
    cues = [f"{n}\n{srt_time(detections.start[k])} --> {srt_time(detections.end[k])}\n"
            f"{class_names[detections.label[k]]} ({detections.score[k]:.2f})\n"
            for n, k in enumerate(order.tolist(), start=1)]  # output formatting, per detection
    return "\n".join(cues)


def format_summary(summaries: Sequence[VideoSummary], class_names: Sequence[str]) -> str:
    """One line per video: its name, clips, seconds, detections, its top classes by video
    score (the c_s of detection)."""
    header = ("video", "clips", "seconds", "detections", "top classes (video score)")
    rows = [(s.name, str(s.clips), f"{s.seconds:.1f}", str(s.detections),
             ", ".join(f"{class_names[c]} ({score:.2f})" for c, score in s.top_classes))
            for s in summaries]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    return "\n".join(f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  "
                     f"{r[3]:>{widths[3]}}  {r[4]}".rstrip() for r in [header, *rows])


# ----------------------------------------------------------------------------------------------
# Video files


@dataclass(frozen=True)
class VideoOptions:
    """How video files are turned into features: the grid (None: the run's recorded one), the
    I3D weights, the batch size."""

    fps: float | None = None
    clip_frames: int | None = None
    stride: int | None = None
    streams: str | None = None
    weights_rgb: str | None = None
    weights_flow: str | None = None
    random_weights: bool = False
    seed: int = 0
    batch_size: int = 8


def recorded_grid(config: Config) -> dict[str, Any] | None:
    """The extraction grid of the config's dataset (`[haan] clip_grid_path`), None if none."""
    path = config.haan.clip_grid_path
    if not path:
        return None
    grid = fileio.read_json(path)
    kinds = {"fps": (int, float), "clip_frames": int, "stride": int, "streams": str}
    if not isinstance(grid, dict) or any(
            isinstance(grid.get(k), bool) or not isinstance(grid.get(k), t)
            for k, t in kinds.items()):
        raise InputError(f"{path}: expected {{\"fps\", \"clip_frames\", \"stride\", \"streams\"}} "
                         "(config [haan] clip_grid_path)")
    return {k: grid[k] for k in kinds}


def extraction_grid(config: Config, options: VideoOptions) -> tuple[GridSpec, str]:
    """(GridSpec, streams) for the video files: each of fps, clip_frames, stride and streams
    from the options, else from the run's recorded grid; a value that differs from the recorded
    one is a warning (the model saw features of that grid), a missing one an error."""
    from haan.video.extract import STREAMS

    recorded = recorded_grid(config)
    given = {"fps": options.fps, "clip_frames": options.clip_frames, "stride": options.stride,
             "streams": options.streams}
    flags = {k: "--" + k.replace("_", "-") for k in given}
    if recorded is None:
        missing = [flags[k] for k, v in given.items() if v is None]
        if missing:
            raise InputError(f"{config.source}: no recorded clip grid ([haan] clip_grid_path, "
                             "written by haan data import from haan extract's clip-grid files) to "
                             f"extract video files on; give {', '.join(missing)} as the training "
                             "features were extracted")
        grid = given
    else:
        grid = {k: recorded[k] if v is None else v for k, v in given.items()}
        differ = [f"{flags[k]} {given[k]} (recorded: {recorded[k]})" for k in given
                  if given[k] is not None and given[k] != recorded[k]]
        if differ:
            warnings.warn(f"{'; '.join(differ)}: the model was trained on features of the "
                          f"recorded grid ({config.haan.clip_grid_path})", DataWarning,
                          stacklevel=2)
    if grid["streams"] not in STREAMS:
        raise InputError(f"--streams {grid['streams']}: expected one of {', '.join(STREAMS)}")
    spec = GridSpec(float(grid["fps"]), int(grid["clip_frames"]), int(grid["stride"]))
    return spec, grid["streams"]


def extract_inputs(paths: Sequence[Path], config: Config, options: VideoOptions,
                   device: torch.device, progress: bool = False
                   ) -> Callable[[], list[FeatureVideo]]:
    """Check what extracting these video files needs (PyAV, the grid, the feature size, the
    weights) and return the extraction itself, to run once every other input is checked."""
    from haan.video.decode import import_av
    from haan.video.extract import build_network, extract_video, video_ids
    from haan.video.i3d import FEATURE_DIM

    import_av()
    spec, streams = extraction_grid(config, options)
    dim = FEATURE_DIM * (2 if streams == "rgb+flow" else 1)
    D = config.hyperparameters.feature_size
    if dim != D:
        raise InputError(f"{paths[0]}: --streams {streams} gives {dim} values per clip, but the "
                         f"model takes [hyperparameters] feature_size = {D} ({config.source})")
    ids = video_ids(paths)
    for path in paths:
        if not path.is_file():
            raise InputError(f"{path}: {'not a file' if path.exists() else 'no such file'}")
    network = build_network(streams, options.weights_rgb, options.weights_flow,
                            options.random_weights, options.seed)
    if options.batch_size < 1:
        raise InputError(f"--batch-size {options.batch_size}: must be at least 1")

    def extract() -> list[FeatureVideo]:
        out = []
        for name, path in zip(ids, paths):  # per video: decoding and the network stream inside
            x, grid = extract_video(path, spec, network, device, options.batch_size,
                                    progress=progress)
            out.append(FeatureVideo(name, path, grid.num_clips, network.feature_dim,
                                    grid.clips_per_second, lambda x=x: x))
        return out

    return extract


# ----------------------------------------------------------------------------------------------
# `haan predict`


@dataclass(frozen=True)
class PredictReport:
    predictor: Predictor
    prediction: Prediction
    out: Path
    written: dict[str, Path]  # "scores", "plots", "srt" -> folder, for those written


def _figure_classes(config: Config) -> tuple[list[str], list[str], np.ndarray]:
    fine_names, coarse_names = load_class_names(config)
    return fine_names, coarse_names, load_fine_to_coarse(config)


def _ground_truth_ids(labels: list[str], segments: np.ndarray,
                      class_names: list[str]) -> tuple[np.ndarray, np.ndarray, int]:
    """(known class ids (n,), their segments (n, 2), how many instances had unknown labels)."""
    index = {name: c for c, name in enumerate(class_names)}
    ids = np.array([index.get(label, -1) for label in labels], dtype=np.int64)
    known = ids >= 0
    return ids[known], segments.reshape(-1, 2)[known], int((~known).sum())


def run_prediction(
    inputs: Sequence[str | Path], out: str | Path, *, run: str | Path | None = None,
    models_dir: str | Path | None = None, config: str | Path | None = None,
    overrides: Sequence[str] = (), clips_per_second: float | None = None,
    durations: str | Path | None = None, annotations: str | Path | None = None,
    scores_dir: str | Path | None = None, plot_dir: str | Path | None = None,
    srt_dir: str | Path | None = None, video_options: VideoOptions = VideoOptions(),
    device: str = "auto", overwrite: bool = False, progress: bool = False,
) -> PredictReport:
    """`haan predict`: detections of every input video into `out` (ActivityNet results JSON,
    class names as labels), and per video `<id>.npy` (T, C) scores in `scores_dir`, `<id>.png`
    in `plot_dir` and `<id>.srt` in `srt_dir`. Every input is checked before anything is written;
    nothing is replaced without `overwrite`. `annotations` (an ActivityNet file) gives durations
    and, in the figures, the ground truth of the videos it names."""
    if not inputs:
        raise InputError("no input given (feature files, folders, stores or video files)")
    if durations is not None and annotations is not None:
        raise InputError("--durations and --annotations: give one of them")
    out = Path(out)
    if out.suffix.lower() != ".json":
        raise InputError(f"{out}: the detections file must be a .json file")
    predictor = load_predictor(run, models_dir, config, overrides, device)
    cfg = predictor.config
    figure_classes = _figure_classes(cfg) if plot_dir is not None else None
    gt = read_ground_truth_file(annotations) if annotations is not None else None
    duration_table = (read_durations(durations) if durations is not None
                      else gt.durations if gt is not None else None)

    paths = [Path(p) for p in inputs]
    video_files = [p for p in paths if is_video_file(p)]
    feature_inputs = [p for p in paths if not is_video_file(p)]
    videos = feature_videos(feature_inputs)
    check_videos(videos, cfg)
    rates = clip_rates(videos, cfg, clips_per_second, duration_table,
                       str(durations or annotations or "--durations"))
    extract = (extract_inputs(video_files, cfg, video_options, predictor.device, progress)
               if video_files else None)
    names = [v.name for v in videos] + [p.stem for p in video_files]
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)  # only on this error path
        raise InputError(f"two inputs are named '{twice}' (names are file names without their "
                         "extension; rename one)")

    folders = {key: Path(d) for key, d in (("scores", scores_dir), ("plots", plot_dir),
                                           ("srt", srt_dir)) if d is not None}
    suffix = {"scores": ".npy", "plots": ".png", "srt": ".srt"}
    planned = [out] + [folder / f"{n}{suffix[key]}" for key, folder in folders.items()
                       for n in names]
    if not overwrite:
        fileio.refuse_to_replace(planned)
    for folder in folders.values():
        fileio.output_folder(folder)

    if extract is not None:
        extracted = extract()
        check_videos(videos + extracted, cfg)
        videos = videos + extracted
        rates = np.concatenate([rates, [v.grid_rate for v in extracted]])

    unknown_labels = 0

    def write_video_outputs(j: int, scores: np.ndarray, found: VideoDetections) -> None:
        nonlocal unknown_labels
        name = videos[j].name
        if "scores" in folders:
            fileio.write_npy(folders["scores"] / f"{name}.npy", scores.astype(np.float32))
        if "srt" in folders:
            fileio.write_text(folders["srt"] / f"{name}.srt",
                              srt_text(found, predictor.class_names))
        if "plots" in folders:
            from haan.viz.plots import plot_video, save_figure

            fine_names, coarse_names, fine_to_coarse = figure_classes
            truth = lookup(gt.annotations, name) if gt is not None else None
            labels, segments = np.zeros(0, dtype=np.int64), np.zeros((0, 2))
            if truth is not None:
                labels, segments, unknown = _ground_truth_ids(*truth, fine_names)
                unknown_labels += unknown
            save_figure(plot_video(scores, float(rates[j]), found, labels, segments, fine_names,
                                   coarse_names, fine_to_coarse, name,
                                   kmax_mod_factor=cfg.evaluation.kmax_mod_factor),
                        folders["plots"] / f"{name}.png")

    prediction = predict_videos(predictor, videos, rates, write_video_outputs, progress)
    if unknown_labels:
        warnings.warn(f"{annotations}: {unknown_labels} ground-truth instances have labels the "
                      "model does not know; the figures leave them out", DataWarning,
                      stacklevel=2)
    fileio.write_json(out, detections_json(prediction.detections, prediction.names,
                                           predictor.class_names), indent=None)
    return PredictReport(predictor, prediction, out, folders)


# ----------------------------------------------------------------------------------------------
# `haan plot video`


def plot_run_video(
    out: str | Path, *, run: str | Path | None = None, models_dir: str | Path | None = None,
    config: str | Path | None = None, overrides: Sequence[str] = (), video: str | None = None,
    features: str | Path | None = None, clips_per_second: float | None = None,
    device: str = "auto", overwrite: bool = False, progress: bool = False,
) -> Any:
    """`haan plot video`: `haan.viz.plots.plot_video` of one video scored by the model, written to
    `out` (PNG, SVG or PDF), returned. `video`: a video of the config's dataset (its ground truth
    drawn); `features`: a feature file of another video (its ground truth drawn when the
    dataset has a video of that name)."""
    from haan.data import load_dataset
    from haan.viz.plots import figure_format, plot_video, save_figure

    if (video is None) == (features is None):
        raise InputError("--video NAME or --features FILE: give one of them")
    figure_format(out)
    if not overwrite:
        fileio.refuse_to_replace([out])
    predictor = load_predictor(run, models_dir, config, overrides, device)
    cfg = predictor.config
    fine_names, coarse_names, fine_to_coarse = _figure_classes(cfg)
    gt_labels, gt_segments = np.zeros(0, dtype=np.int64), np.zeros((0, 2))
    if video is not None:
        dataset = load_dataset(cfg, scan_features=False, progress=progress)
        found = np.flatnonzero(dataset.video_names == video)
        if len(found) == 0:
            raise InputError(f"--video {video}: no such video in the dataset of {cfg.source} "
                             f"({dataset.num_videos} videos, e.g. '{dataset.video_names[0]}')")
        i = int(found[0])
        target = FeatureVideo(video, Path(cfg.features.features_path), int(dataset.lengths[i]),
                              dataset.feature_size, None, lambda: dataset.video_features(i))
        rate = float(dataset.sec2clip_ratios[i])
        gt_labels, gt_segments = dataset.labels[i][:, 1], dataset.segments[i]
    else:
        path = Path(features)
        if path.is_dir() or is_video_file(path):
            raise InputError(f"{path}: --features takes one feature file (.npy or .csv)")
        (target,) = feature_videos([path])
        check_videos([target], cfg)
        rate = float(clip_rates([target], cfg, clips_per_second)[0])
        if Path(cfg.annotations.video_names_path).is_file():
            a = load_annotations(cfg)
            found = np.flatnonzero(np.isin(a.video_names, _id_variants(target.name)))
            if len(found):
                gt_labels, gt_segments = a.labels[found[0]][:, 1], a.segments[found[0]]
    drawn: list[tuple[np.ndarray, VideoDetections]] = []
    predict_videos(predictor, [target], np.array([rate]),
                   lambda _j, scores, det: drawn.append((scores, det)), progress)
    scores, detections = drawn[0]
    fig = plot_video(scores, rate, detections, gt_labels, gt_segments, fine_names, coarse_names,
                     fine_to_coarse, target.name,
                     kmax_mod_factor=cfg.evaluation.kmax_mod_factor)
    save_figure(fig, out)
    return fig


__all__ = [
    "FEATURE_EXTENSIONS", "VIDEO_EXTENSIONS", "FeatureVideo", "GroundTruthFile", "Prediction",
    "PredictReport", "Predictor", "VideoOptions", "VideoSummary", "clip_rates", "check_videos",
    "dataset_rate", "extract_inputs", "extraction_grid", "feature_videos", "format_summary",
    "is_video_file", "load_predictor", "lookup", "plot_run_video", "predict_videos",
    "read_durations", "read_ground_truth_file", "recorded_grid", "run_prediction", "srt_text",
    "srt_time", "video_detections",
]
