"""Detections for new, unlabelled videos from a trained model (`haan predict`), and the figure of
one video (`haan plot video`).

    predictor = load_predictor(run="output/thumos14/r1")   # or models_dir=..., config=...
    videos = feature_videos(["features/"])                  # files, folders, stores
    rates = clip_rates(videos, predictor.config, clips_per_second=1.5625)
    prediction = predict_videos(predictor, videos, rates)   # detections in seconds

    predictor    Predictor, load_predictor: the model
    inputs       FeatureVideo, feature_videos, check_videos, read_durations, the ground-truth file
    rates        clip_rates (haan.data.clip_rates' rule), dataset_rate
    video_files  VideoOptions, extraction_grid, extract_inputs: video files as inputs
    detection    predict_videos, Prediction, VideoSummary
    outputs      srt_text, format_summary
    run          run_prediction (`haan predict`), plot_run_video (`haan plot video`)

The model is a run's best checkpoints (`encoder.pkl`, `fine_level_classifier.pkl`, checked against
their manifest) with the run's `config.toml` (its `[evaluation]` alpha and kmax_mod_factor), and
what run.json records of the training dataset (class names, hierarchy, clip rate, clip grid,
feature contract), so that a run folder predicts on its own (haan.predict.predictor).

Inputs, each PATH one of:
  * `<id>.npy` (a (T, D) array) or `<id>.csv` (a row per clip, an optional header line, read as
    `haan data import` reads it): one video, named `<id>`;
  * a folder of such files (every .npy and .csv in it, in name order);
  * a feature store (a folder with store.json: `haan data convert`, `haan extract --store`);
  * a video file (an extension of VIDEO_EXTENSIONS): its I3D features are extracted first
    (`haan.video.extract`) on the clip grid the run's features were made with (recorded by
    `haan data import` and `haan train`), or on the grid the options give.

The clips per second of a features video follow `haan.data.clip_rates`' rule, the one `haan data
import` follows:
  1. `--clips-per-second R` and the video's duration from `--durations` or `--annotations` (ids
     with or without a `v_` prefix) must agree: T within 2 clips of duration x R; else an error
     naming the video and both values;
  2. what is given is used: R; else T / duration (features resampled to a fixed length, as
     FineAction's), or the clip-grid file's rate where that file agrees with it;
  3. a clip-grid file `<id>.json` beside it (`haan extract` writes one) that disagrees with the
     given rate is a counted warning, and the given rate is used;
  4. nothing given: the clip-grid file's rate; else the run's dataset rate, when all its videos
     have one (`sec2clip_ratios.npy`);
otherwise an error naming the video. A video file's rate is its extraction grid's fps / stride.

Detection is `haan.evaluation.evaluate.detect_chunks`, the code `haan evaluate` runs, chunk by
chunk: on a dataset's own test videos, in its order, the detections are exactly those `haan
evaluate` scores.

May import: every package below haan.cli except haan.recipes.
"""

from haan.data.dataset_card import recorded_grid
from haan.predict.detection import Prediction, VideoSummary, predict_videos, video_detections
from haan.predict.inputs import (
    FEATURE_EXTENSIONS,
    VIDEO_EXTENSIONS,
    FeatureVideo,
    GroundTruthFile,
    check_videos,
    feature_videos,
    is_video_file,
    lookup,
    read_durations,
    read_ground_truth_file,
)
from haan.predict.outputs import format_summary, srt_text, srt_time
from haan.predict.predictor import Predictor, load_predictor
from haan.predict.rates import clip_rates, dataset_rate
from haan.predict.run import PredictReport, plot_run_video, run_prediction
from haan.predict.video_files import VideoOptions, extract_inputs, extraction_grid

__all__ = [
    "FEATURE_EXTENSIONS", "VIDEO_EXTENSIONS", "FeatureVideo", "GroundTruthFile", "Prediction",
    "PredictReport", "Predictor", "VideoOptions", "VideoSummary", "clip_rates", "check_videos",
    "dataset_rate", "extract_inputs", "extraction_grid", "feature_videos", "format_summary",
    "is_video_file", "load_predictor", "lookup", "plot_run_video", "predict_videos",
    "read_durations", "read_ground_truth_file", "recorded_grid", "run_prediction", "srt_text",
    "srt_time", "video_detections",
]
