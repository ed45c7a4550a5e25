"""The commands: `haan predict` (`run_prediction`: every input checked, then detections, scores,
subtitles and figures written video by video) and `haan plot video` (`plot_run_video`)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from haan import fileio
from haan.config import Config
from haan.data.annotations import load_annotations
from haan.data.ground_truth import id_variants, lookup
from haan.errors import DataWarning, InputError
from haan.evaluation.postprocess import VideoDetections
from haan.evaluation.reports import detections_json
from haan.evaluation.thresholds import read_thresholds
from haan.predict.contract_check import check_feature_contract
from haan.predict.detection import Prediction, predict_videos
from haan.predict.inputs import (
    FeatureVideo,
    GroundTruthFile,
    check_videos,
    feature_videos,
    is_video_file,
    read_durations,
    read_ground_truth_file,
)
from haan.predict.outputs import srt_text
from haan.predict.predictor import Predictor, load_predictor
from haan.predict.rates import clip_rates
from haan.predict.video_files import VideoOptions, extract_inputs

# The files written per video, by output folder.
SUFFIX = {"scores": ".npy", "plots": ".png", "srt": ".srt"}


@dataclass(frozen=True)
class PredictReport:
    predictor: Predictor
    prediction: Prediction
    out: Path
    written: dict[str, Path]  # "scores", "plots", "srt" -> folder, "html" -> file, if written


def _ground_truth_ids(labels: list[str], segments: np.ndarray,
                      class_names: list[str]) -> tuple[np.ndarray, np.ndarray, int]:
    """(known class ids (n,), their segments (n, 2), how many instances had unknown labels)."""
    index = {name: c for c, name in enumerate(class_names)}
    ids = np.array([index.get(label, -1) for label in labels], dtype=np.int64)
    known = ids >= 0
    return ids[known], segments.reshape(-1, 2)[known], int((~known).sum())


# ----------------------------------------------------------------------------------------------
# `haan predict`


@dataclass(frozen=True)
class _Inputs:
    videos: list[FeatureVideo]       # the feature inputs' videos
    rates: np.ndarray                # (V,) their clips per second
    extract: Callable[[], list[FeatureVideo]] | None  # the video files', run once all is checked
    names: list[str]                 # every input video, the video files' last


def _read_inputs(inputs: Sequence[str | Path], predictor: Predictor,
                 clips_per_second: float | None, durations: str | Path | None,
                 annotations: str | Path | None, gt: GroundTruthFile | None,
                 video_options: VideoOptions, progress: bool,
                 ignore_contract: bool = False) -> _Inputs:
    """Every input checked (features' headers, clip rates, the run's feature contract, what
    extraction needs, names)."""
    cfg = predictor.config
    duration_table = (read_durations(durations) if durations is not None
                      else gt.durations if gt is not None else None)
    paths = [Path(p) for p in inputs]
    video_files = [p for p in paths if is_video_file(p)]
    videos = feature_videos([p for p in paths if not is_video_file(p)])
    rates = clip_rates(videos, cfg, clips_per_second, duration_table,
                       str(durations or annotations or "--durations"),
                       "--annotations" if annotations is not None else "--durations",
                       training_rate=predictor.dataset_rate)
    check_feature_contract(videos, rates, predictor.contract, predictor.models_dir,
                           ignore_contract)
    check_videos(videos, cfg)
    extract = (extract_inputs(video_files, predictor, video_options, progress)
               if video_files else None)
    names = [v.name for v in videos] + [p.stem for p in video_files]
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)  # only on this error path
        raise InputError(f"two inputs are named '{twice}' (names are file names without their "
                         "extension; rename one)")
    return _Inputs(videos, rates, extract, names)


def _output_folders(out: Path, names: Sequence[str], folders: dict[str, Path],
                    overwrite: bool) -> None:
    """Refuse to replace any file (without `overwrite`), then make the folders."""
    planned = [out] + [folder / f"{n}{SUFFIX[key]}" for key, folder in folders.items()
                       for n in names]
    if not overwrite:
        fileio.refuse_to_replace(planned)
    for folder in folders.values():
        fileio.output_folder(folder)


@dataclass
class _VideoOutputs:
    """Each video's scores, subtitles and figure, written as its chunk is done (predict_videos'
    `each_video`); counts the ground-truth instances the figures leave out."""

    videos: Sequence[FeatureVideo]
    rates: np.ndarray                # (V,)
    folders: dict[str, Path]
    predictor: Predictor
    gt: GroundTruthFile | None
    figure_classes: tuple[list[str], list[str], np.ndarray] | None  # with "plots"
    unknown_labels: int = 0

    def __call__(self, j: int, scores: np.ndarray, found: VideoDetections) -> None:
        name = self.videos[j].name
        if "scores" in self.folders:
            fileio.write_npy(self.folders["scores"] / f"{name}.npy", scores.astype(np.float32))
        if "srt" in self.folders:
            fileio.write_text(self.folders["srt"] / f"{name}.srt",
                              srt_text(found, self.predictor.class_names))
        if "plots" in self.folders:
            self._plot(j, name, scores, found)

    def _plot(self, j: int, name: str, scores: np.ndarray, found: VideoDetections) -> None:
        from haan.viz.plots import plot_video, save_figure

        fine_names, coarse_names, fine_to_coarse = self.figure_classes
        kmax_mod_factor = self.predictor.config.evaluation.kmax_mod_factor
        truth = lookup(self.gt.annotations, name) if self.gt is not None else None
        labels, segments = np.zeros(0, dtype=np.int64), np.zeros((0, 2))
        if truth is not None:
            labels, segments, unknown = _ground_truth_ids(*truth, fine_names)
            self.unknown_labels += unknown
        save_figure(plot_video(scores, float(self.rates[j]), found, labels, segments, fine_names,
                               coarse_names, fine_to_coarse, name,
                               kmax_mod_factor=kmax_mod_factor),
                    self.folders["plots"] / f"{name}.png")


def run_prediction(
    inputs: Sequence[str | Path], out: str | Path, *, run: str | Path | None = None,
    models_dir: str | Path | None = None, config: str | Path | None = None,
    overrides: Sequence[str] = (), clips_per_second: float | None = None,
    durations: str | Path | None = None, annotations: str | Path | None = None,
    scores_dir: str | Path | None = None, plot_dir: str | Path | None = None,
    srt_dir: str | Path | None = None, html: str | Path | None = None,
    video_options: VideoOptions = VideoOptions(), device: str = "auto", overwrite: bool = False,
    progress: bool = False, thresholds: str | Path | None = None, ignore_contract: bool = False,
) -> PredictReport:
    """`haan predict`: detections of every input video into `out` (ActivityNet results JSON,
    class names as labels), and per video `<id>.npy` (T, C) scores in `scores_dir`, `<id>.png`
    in `plot_dir` and `<id>.srt` in `srt_dir`. Every input is checked before anything is written;
    nothing is replaced without `overwrite`. `annotations` (an ActivityNet file) gives durations
    and, in the figures, the ground truth of the videos it names. Feature inputs are checked
    against the run's feature contract (haan.predict.contract_check; `ignore_contract`: a
    mismatch other than the dimension is a warning).

    `thresholds`: a thresholds file (`haan.evaluation.thresholds`): detections under their class's
    threshold (the file's default for classes it does not list; null: keep them) are dropped
    everywhere (detections file, summaries, subtitles, figures), and the output JSON records it
    under "thresholds" ({"file", "tiou", "subset", "thresholds", "default", "dropped"}). A class
    of the file the model does not have is an error.

    `html`: also the report page of the detections (`haan.viz.report`), with the video files
    among the inputs and the ground truth of `annotations` drawn (not evaluated: it may hold
    other videos)."""
    if not inputs:
        raise InputError("no input given (feature files, folders, stores or video files)")
    if durations is not None and annotations is not None:
        raise InputError("--durations and --annotations: give one of them")
    out = Path(out)
    if out.suffix.lower() != ".json":
        raise InputError(f"{out}: the detections file must be a .json file")
    if html is not None and Path(html).suffix.lower() not in (".html", ".htm"):
        raise InputError(f"{html}: --html must name an .html file")
    predictor = load_predictor(run, models_dir, config, overrides, device)
    cfg = predictor.config
    chosen = read_thresholds(thresholds) if thresholds is not None else None
    min_scores = chosen.min_scores(predictor.class_names) if chosen is not None else None
    figure_classes = predictor.figure_classes() if plot_dir is not None else None
    gt = read_ground_truth_file(annotations) if annotations is not None else None
    given = _read_inputs(inputs, predictor, clips_per_second, durations, annotations, gt,
                         video_options, progress, ignore_contract)
    folders = {key: Path(d) for key, d in (("scores", scores_dir), ("plots", plot_dir),
                                           ("srt", srt_dir)) if d is not None}
    _output_folders(out, given.names, folders, overwrite)
    if html is not None and not overwrite:
        fileio.refuse_to_replace([html])

    videos, rates = given.videos, given.rates
    if given.extract is not None:
        extracted = given.extract()
        check_videos(videos + extracted, cfg)
        videos = videos + extracted
        rates = np.concatenate([rates, [v.grid_rate for v in extracted]])
    write = _VideoOutputs(videos, rates, folders, predictor, gt, figure_classes)
    prediction = predict_videos(predictor, videos, rates, write, progress, min_scores)
    if write.unknown_labels:
        warnings.warn(f"{annotations}: {write.unknown_labels} ground-truth instances have labels "
                      "the model does not know; the figures leave them out", DataWarning,
                      stacklevel=2)
    results = detections_json(prediction.detections, prediction.names, predictor.class_names)
    if chosen is not None:  # where the detections were cut; evaluators ignore the extra key
        results["thresholds"] = {"file": str(thresholds), **chosen.to_dict(),
                                 "dropped": prediction.dropped}
    fileio.write_json(out, results, indent=None)
    written = dict(folders)
    if html is not None:
        written["html"] = _write_html(out, Path(html), inputs, annotations, durations, gt)
    return PredictReport(predictor, prediction, out, written)


def _write_html(out: Path, html: Path, inputs: Sequence[str | Path],
                annotations: str | Path | None, durations: str | Path | None,
                gt: GroundTruthFile | None) -> Path:
    """The report page of the detections just written: the video files among the inputs play in
    it; `annotations`' ground truth is drawn, not evaluated."""
    from haan.viz.report import ReportOptions, write_report

    videos = {Path(p).stem: Path(p) for p in inputs if is_video_file(p)}
    seconds = read_durations(durations) if durations is not None else (
        gt.durations if gt is not None else {})
    write_report(out, html, ReportOptions(ground_truth=annotations, video_files=videos,
                                          durations=seconds, evaluate=False),
                 overwrite=True)  # refused above, before any work, unless --overwrite
    return html


# ----------------------------------------------------------------------------------------------
# `haan plot video`


@dataclass(frozen=True)
class _PlotTarget:
    video: FeatureVideo
    rate: float                      # clips per second
    labels: np.ndarray               # (n,) fine class of each ground-truth instance
    segments: np.ndarray             # (n, 2) seconds


def _dataset_video(cfg: Config, video: str, progress: bool) -> _PlotTarget:
    """A video of the config's dataset, with its rate and ground truth."""
    from haan.data import load_dataset

    dataset = load_dataset(cfg, scan_features=False, progress=progress)
    found = np.flatnonzero(dataset.video_names == video)
    if len(found) == 0:
        raise InputError(f"--video {video}: no such video in the dataset of {cfg.source} "
                         f"({dataset.num_videos} videos, e.g. '{dataset.video_names[0]}')")
    i = int(found[0])
    target = FeatureVideo(video, Path(cfg.features.features_path), int(dataset.lengths[i]),
                          dataset.feature_size, None, lambda: dataset.video_features(i))
    return _PlotTarget(target, float(dataset.sec2clip_ratios[i]), dataset.labels[i][:, 1],
                       dataset.segments[i])


def _feature_file_video(predictor: Predictor, features: str | Path,
                        clips_per_second: float | None) -> _PlotTarget:
    """A feature file, its rate by clip_rates, the ground truth of the dataset's video of that
    name where there is one."""
    path = Path(features)
    if path.is_dir() or is_video_file(path):
        raise InputError(f"{path}: --features takes one feature file (.npy or .csv)")
    (target,) = feature_videos([path])
    cfg = predictor.config
    check_videos([target], cfg)
    rate = float(clip_rates([target], cfg, clips_per_second,
                            training_rate=predictor.dataset_rate)[0])
    labels, segments = np.zeros(0, dtype=np.int64), np.zeros((0, 2))
    if Path(cfg.annotations.video_names_path).is_file():
        a = load_annotations(cfg)
        found = np.flatnonzero(np.isin(a.video_names, id_variants(target.name)))
        if len(found):
            labels, segments = a.labels[found[0]][:, 1], a.segments[found[0]]
    return _PlotTarget(target, rate, labels, segments)


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
    from haan.viz.plots import figure_format, plot_video, save_figure

    if (video is None) == (features is None):
        raise InputError("--video NAME or --features FILE: give one of them")
    figure_format(out)
    if not overwrite:
        fileio.refuse_to_replace([out])
    predictor = load_predictor(run, models_dir, config, overrides, device)
    cfg = predictor.config
    fine_names, coarse_names, fine_to_coarse = predictor.figure_classes()
    t = (_dataset_video(cfg, video, progress) if video is not None
         else _feature_file_video(predictor, features, clips_per_second))
    drawn: list[tuple[np.ndarray, VideoDetections]] = []
    predict_videos(predictor, [t.video], np.array([t.rate]),
                   lambda _j, scores, det: drawn.append((scores, det)), progress)
    scores, detections = drawn[0]
    fig = plot_video(scores, t.rate, detections, t.labels, t.segments, fine_names, coarse_names,
                     fine_to_coarse, t.video.name,
                     kmax_mod_factor=cfg.evaluation.kmax_mod_factor)
    save_figure(fig, out)
    return fig


__all__ = ["PredictReport", "plot_run_video", "run_prediction"]
