"""The `haan` command line: argparse subcommands, each of which parses, calls library functions
and reports. Heavy modules (torch) are imported inside the commands that need them, so that
`haan eval-detections` starts fast.

Bad input raises `haan.errors.InputError`; `main` prints its one-line message and exits with 2.

May import: anything (it is the top).
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from typing import Callable, Sequence

from haan.errors import DataWarning, InputError


def _add_config_args(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("--config", required=required,
                   help="built-in config name (fine_gym, fine_action, synthetic) or a TOML file")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a config value (TOML syntax), e.g. --set hyperparameters.epochs=10")


def _add_torch_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda or cuda:N")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="CPU threads for torch (default: $HAAN_THREADS, else torch's choice; on a "
                        "busy machine, fewer threads than cores can be much faster)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", metavar="RUN_DIR",
                   help="a run folder of haan train: its best checkpoints and its config.toml")
    p.add_argument("--models-dir", metavar="DIR",
                   help="instead of --run: a folder with encoder.pkl and fine_level_classifier.pkl "
                        "(the paper's, or any), with --config")
    _add_config_args(p, required=False)


def build_parser() -> argparse.ArgumentParser:
    from haan import __version__

    parser = argparse.ArgumentParser(
        prog="haan",
        description="HAAN: weakly-supervised temporal action detection with hierarchical atomic actions.",
    )
    parser.add_argument("--version", action="version", version=f"haan {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    # -- evaluation of any detector's output ----------------------------------------------------
    p = sub.add_parser("eval-detections", help="ActivityNet detection mAP of a predictions JSON file")
    p.add_argument("--ground-truth", required=True, metavar="GT.json")
    p.add_argument("--predictions", required=True, metavar="PRED.json")
    p.add_argument("--subset", default=None, help="keep the ground-truth videos of this subset (default: all)")
    p.add_argument("--drop-other-subsets", action="store_true",
                   help="leave out predictions on videos of other subsets (default: false positives, "
                        "the official rule)")
    p.add_argument("--tiou-thresholds", default=None, metavar="T1,T2,...",
                   help="comma-separated tIoU thresholds (default: numpy.linspace(0.5, 0.95, 10))")
    p.add_argument("--hierarchy", default=None, metavar="MAPPING.json",
                   help='{"fine label": "coarse label"} for every ground-truth label: also score the '
                        "coarse level")
    p.add_argument("--output", default=None, metavar="REPORT.json", help="write the report as JSON")
    p.add_argument("--overwrite", action="store_true", help="replace --output if it exists")
    p.set_defaults(handler=_cmd_eval_detections)

    # -- data -----------------------------------------------------------------------------------
    p = sub.add_parser("data", help="inspect or convert a dataset")
    data_sub = p.add_subparsers(dest="data_command", required=True, metavar="DATA_COMMAND")
    q = data_sub.add_parser("info", help="the dataset's figures")
    _add_config_args(q)
    q.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    q.set_defaults(handler=_cmd_data_info)
    q = data_sub.add_parser("convert", help="write a memory-mappable feature store and a config for it")
    _add_config_args(q)
    q.add_argument("--out", required=True, metavar="DIR")
    q.add_argument("--dtype", choices=["float16", "float32"], default="float32")
    q.add_argument("--overwrite", action="store_true",
                   help="replace the files of an earlier store and config in DIR")
    q.set_defaults(handler=_cmd_data_convert)

    q = data_sub.add_parser("import", help="turn another dataset's annotations and features "
                                           "into a haan dataset")
    import_sub = q.add_subparsers(dest="import_format", required=True, metavar="FORMAT")
    r = import_sub.add_parser(
        "activitynet", help="an ActivityNet-style annotation JSON plus one feature file per video")
    r.add_argument("--annotations", required=True, metavar="GT.json")
    r.add_argument("--features", required=True, metavar="DIR",
                   help="<id>.npy (T, D) or <id>.csv (a row per clip) per video, v_ prefix or not")
    r.add_argument("--out", required=True, metavar="DIR")
    r.add_argument("--train-subset", default="training")
    r.add_argument("--test-subset", default="validation")
    r.add_argument("--hierarchy", default="taxonomy",
                   metavar="taxonomy|taxonomy:DEPTH|MAPPING.json|flat",
                   help="coarse class of each label (default: its parent in the file's taxonomy)")
    grid = r.add_mutually_exclusive_group()
    grid.add_argument("--clips-per-second", type=float, default=None, metavar="R",
                      help="the clip grid, e.g. 25 fps / 16 frames = 1.5625")
    grid.add_argument("--clips-per-video", type=int, default=None, metavar="T",
                      help="features resampled to T clips per video (R = T / duration)")
    r.add_argument("--feature-dim", type=int, default=None, metavar="D")
    r.add_argument("--template", choices=["fine_gym", "fine_action"], default="fine_gym",
                   help="[hyperparameters] and [evaluation] of the written config")
    r.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="SECTION.KEY=VALUE", help="override a value of the written config")
    r.add_argument("--overwrite", action="store_true",
                   help="replace the files of an earlier dataset in DIR")
    r.set_defaults(handler=_cmd_data_import_activitynet)
    q = data_sub.add_parser("export-gt", help="the dataset's ground truth as ActivityNet JSON")
    _add_config_args(q)
    q.add_argument("--subset", choices=["test", "train", "all"], default="test")
    q.add_argument("--out", required=True, metavar="GT.json")
    q.add_argument("--overwrite", action="store_true", help="replace an existing GT.json")
    q.set_defaults(handler=_cmd_data_export_gt)

    p = sub.add_parser("synth", help="generate a synthetic hierarchical dataset and its config")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--preset", choices=["tiny", "small", "finegym-like", "fineaction-like"],
                   default="small")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--num-videos", type=int, default=None, metavar="N",
                   help="scale the preset to N videos (the same fraction training)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the files of an earlier dataset in DIR")
    p.set_defaults(handler=_cmd_synth)

    # -- training and evaluation ----------------------------------------------------------------
    p = sub.add_parser("train", help="train HAAN (or [model] method); writes checkpoints and "
                                     "results.csv")
    _add_config_args(p)
    p.add_argument("--exp-name", default=None, help="run name (default: a random UUID, as the paper)")
    p.add_argument("--output-dir", default="output")
    p.add_argument("--seed", type=int, default=None, help="random seed (default 1)")
    p.add_argument("--seeds", default=None, metavar="LIST",
                   help="one run per seed (1,2,3 or 1-5) in EXP/seed_<s>/, then EXP/summary.csv "
                        "and summary.json: mean ± std over the seeds; finished seeds are not "
                        "trained again, --resume continues one that stopped")
    p.add_argument("--resume", nargs="?", const=True, default=False, choices=[True, "auto"],
                   metavar="auto", help="continue the run in its folder from its last saved "
                   "epoch; `--resume auto`: continue it if it saved a state, else start it (for "
                   "runs that torchrun restarts after a failure)")
    p.add_argument("--overwrite", action="store_true",
                   help="start again in a run folder that already holds a run (its files are replaced)")
    p.add_argument("--init-models-dir", default=None, metavar="DIR",
                   help="start from the checkpoints in DIR (those of the four files that exist)")
    _add_torch_args(p)
    p.set_defaults(handler=_cmd_train)

    p = sub.add_parser("evaluate", help="evaluate checkpoints on the test set")
    _add_config_args(p, required=False)
    p.add_argument("--models-dir", required=True, metavar="DIR",
                   help="folder with the checkpoints (HAAN: encoder.pkl and "
                        "fine_level_classifier.pkl; W-TALC: wtalc.pkl); a run folder's own "
                        "config.toml is the default --config and always names the method")
    p.add_argument("--output-dir", default=None, metavar="DIR",
                   help="where eval_results.csv, eval_detections.json, eval_report.json and "
                        "eval_ap.png go (default: the models folder)")
    p.add_argument("--overwrite", action="store_true", help="replace earlier evaluation outputs there")
    p.add_argument("--no-plots", action="store_true",
                   help="do not draw eval_ap.png (mAP against tIoU and per-class AP)")
    _add_torch_args(p)
    p.set_defaults(handler=_cmd_evaluate)
    _add_plot_commands(sub)

    p = sub.add_parser(
        "predict", help="detections for new videos (features or video files) from a trained run",
        description="Detect actions in videos nobody labelled, with a trained run's best "
                    "checkpoints: ActivityNet results JSON (class names as labels), a summary per "
                    "video, optionally each video's clip scores, figure and subtitles.")
    p.add_argument("inputs", nargs="+", metavar="PATH",
                   help="<id>.npy (T, D) or <id>.csv features of one video, a folder of them, a "
                        "feature store, or a video file (.mp4, .mkv, .mov, .avi, .webm, ...: "
                        "extracted first)")
    _add_model_args(p)
    p.add_argument("--out", required=True, metavar="DETECTIONS.json")
    p.add_argument("--clips-per-second", type=float, default=None, metavar="R",
                   help="clip rate of features without a clip-grid file <id>.json beside them "
                        "(e.g. 25 fps / 16 frames = 1.5625; default: the run's dataset rate, when "
                        "it has one)")
    durations = p.add_mutually_exclusive_group()
    durations.add_argument("--durations", metavar="FILE.json",
                           help='{"id": seconds}: for features resampled to a fixed length, '
                                "clips per second = T / duration")
    durations.add_argument("--annotations", metavar="GT.json",
                           help="an ActivityNet-style file: its durations as --durations, and "
                                "the ground truth it gives drawn in the --plot figures")
    p.add_argument("--scores-dir", metavar="DIR",
                   help="write each video's (T, C) clip scores as <id>.npy")
    p.add_argument("--plot", metavar="DIR", help="draw each video's timeline as <id>.png")
    p.add_argument("--srt", metavar="DIR", help="write each video's detections as subtitles <id>.srt")
    video = p.add_argument_group("video files", "how video files are turned into features: by "
                                 "default the grid the run's dataset was extracted on")
    video.add_argument("--fps", type=float, default=None)
    video.add_argument("--clip-frames", type=int, default=None)
    video.add_argument("--stride", type=int, default=None)
    video.add_argument("--streams", choices=["rgb", "rgb+flow"], default=None)
    video.add_argument("--weights-rgb", metavar="FILE", help="I3D RGB weights (rgb_imagenet.pt)")
    video.add_argument("--weights-flow", metavar="FILE", help="I3D flow weights (flow_imagenet.pt)")
    video.add_argument("--random-weights", action="store_true",
                       help="an untrained I3D, for tests and smoke runs (its features mean nothing)")
    video.add_argument("--seed", type=int, default=0, help="seed of --random-weights")
    video.add_argument("--batch-size", type=int, default=8, help="clips per I3D forward pass")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    _add_torch_args(p)
    p.set_defaults(handler=_cmd_predict)

    p = sub.add_parser("compare", help="runs and seed summaries side by side: mAP tables and a "
                                       "figure")
    p.add_argument("inputs", nargs="+", metavar="RUN_OR_SUMMARY",
                   help="a run folder, a folder of haan train --seeds, or its summary.json")
    p.add_argument("--out", default=None, metavar="TABLE.md", help="also write the tables here")
    p.add_argument("--plot", default=None, metavar="FIGURE",
                   help="mAP against tIoU with error bars (.png, .svg or .pdf)")
    p.add_argument("--overwrite", action="store_true", help="replace --out and --plot if they exist")
    p.set_defaults(handler=_cmd_compare)

    # -- features from video files (haan.video) -------------------------------------------------
    p = sub.add_parser("extract", help="I3D clip features of video files, with their clip grids")
    p.add_argument("videos", nargs="+", metavar="VIDEO", help="video files (any format FFmpeg reads)")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="writes <id>.npy (T, D) and <id>.json (the clip grid) per video")
    p.add_argument("--fps", type=float, default=24.0, help="frames per second to resample to (default 24)")
    p.add_argument("--clip-frames", type=int, default=16, help="frames per clip (default 16)")
    p.add_argument("--stride", type=int, default=16, help="frames from one clip to the next (default 16)")
    p.add_argument("--streams", choices=["rgb", "rgb+flow"], default="rgb",
                   help="rgb: 1024-d features; rgb+flow: 2048-d, with TV-L1 optical flow (slow)")
    p.add_argument("--weights-rgb", metavar="FILE", help="I3D RGB weights (rgb_imagenet.pt)")
    p.add_argument("--weights-flow", metavar="FILE", help="I3D flow weights (flow_imagenet.pt)")
    p.add_argument("--random-weights", action="store_true",
                   help="an untrained network, for tests and smoke runs (its features mean nothing)")
    p.add_argument("--seed", type=int, default=0, help="seed of --random-weights")
    p.add_argument("--batch-size", type=int, default=8, help="clips per forward pass (default 8)")
    p.add_argument("--workers", type=int, default=1, help="threads decoding videos ahead (default 1)")
    p.add_argument("--store", action="store_true",
                   help="write one feature store (haan data convert's layout) instead of <id>.npy files")
    p.add_argument("--overwrite", action="store_true", help="replace files already in --out")
    _add_torch_args(p)
    p.set_defaults(handler=_cmd_extract)
    return parser


def _cmd_extract(args: argparse.Namespace) -> int:
    from haan.video.decode import import_av

    import_av()  # a missing PyAV is one line, before any work
    from haan.runtime.device import set_threads
    from haan.video.extract import build_network, extract_videos

    set_threads(args.threads)
    from haan.video.grid import GridSpec

    spec = GridSpec(args.fps, args.clip_frames, args.stride)
    network = build_network(args.streams, args.weights_rgb, args.weights_flow,
                            args.random_weights, args.seed)
    results = extract_videos(args.videos, args.out, spec, network, args.device, store=args.store,
                             overwrite=args.overwrite, workers=args.workers,
                             batch_size=args.batch_size, progress=not args.quiet and sys.stderr.isatty())
    clips = sum(grid.num_clips for _, grid in results)
    layout = "a feature store" if args.store else "<id>.npy files"
    print(f"wrote the {args.streams} features of {len(results)} video(s) ({clips} clips, "
          f"D = {network.feature_dim}, {spec.clips_per_second:g} clips per second) to {args.out} "
          f"as {layout}, with their clip grids <id>.json")
    return 0


# ----------------------------------------------------------------------------------------------
# Command handlers: parse -> library call -> report. Each returns the exit status.


def _cmd_eval_detections(args: argparse.Namespace) -> int:
    from haan.evaluation import activitynet  # numpy only: this command never imports torch
    from haan.fileio import refuse_to_replace

    if args.output is not None and not args.overwrite:
        refuse_to_replace([args.output])
    thresholds = (activitynet.DEFAULT_TIOU_THRESHOLDS if args.tiou_thresholds is None
                  else activitynet.parse_tiou_thresholds(args.tiou_thresholds))
    report = activitynet.evaluate_files(
        args.ground_truth, args.predictions, subset=args.subset, tiou_thresholds=thresholds,
        other_subsets="drop" if args.drop_other_subsets else "false-positive",
        hierarchy_path=args.hierarchy)
    print(activitynet.format_report(report))
    if args.output is not None:
        activitynet.write_report(report, args.output)
    return 0


def _cmd_data_info(args: argparse.Namespace) -> int:
    import json

    from haan.config import load_config
    from haan.data import dataset_info, format_info, load_dataset

    # info always scans every video (streaming), whatever haan.check_features says.
    dataset = load_dataset(load_config(args.config, args.overrides), scan_features=True,
                           progress=sys.stderr.isatty())
    info = dataset_info(dataset)
    print(json.dumps(info) if args.json else format_info(info))
    return 0


def _cmd_data_convert(args: argparse.Namespace) -> int:
    from haan.config import load_config
    from haan.data import convert_features

    config_path = convert_features(load_config(args.config, args.overrides), args.out, args.dtype,
                                   overwrite=args.overwrite, progress=sys.stderr.isatty())
    print(f"wrote the feature store {args.out} ({args.dtype}) and {config_path}")
    print(f"use it with: --config {config_path}")
    return 0


def _cmd_data_import_activitynet(args: argparse.Namespace) -> int:
    from haan.data import import_activitynet

    s = import_activitynet(
        args.annotations, args.features, args.out, train_subset=args.train_subset,
        test_subset=args.test_subset, hierarchy=args.hierarchy,
        clips_per_second=args.clips_per_second, clips_per_video=args.clips_per_video,
        feature_dim=args.feature_dim, template=args.template, overrides=args.overrides,
        overwrite=args.overwrite, progress=sys.stderr.isatty())
    d = s.dataset
    train = d.instances(range(s.num_train))
    test = d.instances(d.test_indices)
    left = "; ".join(f"{n} videos of subset {k!r}" for k, n in sorted(s.left_out.items()))
    print(f"clip grid: {s.grid}")
    print(f"videos: {s.num_train} training (subset {s.train_subset!r}), {s.num_test} test (subset "
          f"{s.test_subset!r}); left out: {left or 'none'}")
    print(f"instances: {len(train.fine)} training, {len(test.fine)} test")
    print(f"classes: {d.num_fine_classes} fine, {d.num_coarse_classes} coarse, {s.hierarchy}")
    print(f"features: D = {d.feature_size}, {d.features.num_clips} clips, store {d.features.path}")
    if s.extraction_grid is not None:
        g = s.extraction_grid
        print(f"extraction grid: {g['fps']:g} fps, {g['clip_frames']}-frame clips every "
              f"{g['stride']} frames, {g['streams']}; recorded in {d.config.haan.clip_grid_path} "
              "for haan predict on video files")
    print(f"wrote {s.config_path}; train with: haan train --config {s.config_path}")
    return 0


def _cmd_data_export_gt(args: argparse.Namespace) -> int:
    from haan.config import load_config
    from haan.data import export_ground_truth

    videos, instances = export_ground_truth(load_config(args.config, args.overrides), args.out,
                                            args.subset, overwrite=args.overwrite,
                                            progress=sys.stderr.isatty())
    print(f"wrote {args.out}: {videos} videos (subset {args.subset}), {instances} instances")
    print(f"score a detector with: haan eval-detections --ground-truth {args.out} "
          "--predictions PRED.json")
    return 0


def _cmd_synth(args: argparse.Namespace) -> int:
    from haan.data.synth import generate

    config_path = generate(args.out, args.preset, args.seed, overwrite=args.overwrite,
                           num_videos=args.num_videos)
    print(f"wrote the {args.preset} synthetic dataset (seed {args.seed}) and {config_path}")
    print(f"train with: haan train --config {config_path}")
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from haan.predict import VideoOptions, format_summary, run_prediction
    from haan.runtime.device import set_threads

    set_threads(args.threads)
    report = run_prediction(
        args.inputs, args.out, run=args.run, models_dir=args.models_dir, config=args.config,
        overrides=args.overrides, clips_per_second=args.clips_per_second,
        durations=args.durations, annotations=args.annotations, scores_dir=args.scores_dir,
        plot_dir=args.plot, srt_dir=args.srt, device=args.device, overwrite=args.overwrite,
        progress=not args.quiet and sys.stderr.isatty(),
        video_options=VideoOptions(args.fps, args.clip_frames, args.stride, args.streams,
                                   args.weights_rgb, args.weights_flow, args.random_weights,
                                   args.seed, args.batch_size))
    p = report.prediction
    print(format_summary(p.summaries, report.predictor.class_names))
    epoch = report.predictor.epoch
    print(f"{len(p.names)} videos, {len(p.detections)} detections with the checkpoints of "
          f"{report.predictor.models_dir}" + (f" (epoch {epoch})" if epoch is not None else ""))
    what = {"scores": "clip scores <id>.npy", "plots": "figures <id>.png", "srt": "subtitles <id>.srt"}
    print(f"wrote {report.out}"
          + "".join(f"; {what[key]} in {folder}" for key, folder in report.written.items()))
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from haan.engine.seeds import parse_seeds
    from haan.recipes.train import run_training
    from haan.runtime.device import set_threads

    if args.seeds is not None and args.seed is not None:
        raise InputError("--seed and --seeds: choose one")
    seeds = parse_seeds(args.seeds) if args.seeds is not None else None
    set_threads(args.threads)
    run_training(
        args.config, args.overrides, output_dir=args.output_dir, exp_name=args.exp_name,
        seed=1 if args.seed is None else args.seed, device=args.device, resume=args.resume,
        overwrite=args.overwrite, init_models_dir=args.init_models_dir, progress=not args.quiet,
        seeds=seeds,
    )
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from haan.viz.compare import run_compare

    _, text = run_compare(args.inputs, out=args.out, plot=args.plot, overwrite=args.overwrite)
    print(text, end="")
    for path in (args.out, args.plot):
        if path is not None:
            print(f"wrote {path}")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from haan.recipes.evaluate import run_evaluation
    from haan.runtime.device import set_threads

    set_threads(args.threads)
    run_evaluation(
        args.config, args.overrides, models_dir=args.models_dir, output_dir=args.output_dir,
        device=args.device, progress=not args.quiet, overwrite=args.overwrite,
        plots=not args.no_plots,
    )
    return 0


# ----------------------------------------------------------------------------------------------
# Figures: `haan plot training|ap|video` (matplotlib is imported by the handlers only)


def _add_figure_out(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, metavar="FIGURE", help="a .png, .svg or .pdf file")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")


def _add_plot_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plot", help="draw a figure of a run or a report (PNG, SVG or PDF by --out's extension)")
    plot_sub = p.add_subparsers(dest="plot_command", required=True, metavar="PLOT_COMMAND")
    q = plot_sub.add_parser("training", help="losses and selection mAP per epoch, best epoch marked",
                            description="Draw each loss of RUN_DIR/log.csv per epoch and the mAP "
                                        "columns of RUN_DIR/results.csv, the best epoch marked.")
    q.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by haan train")
    _add_figure_out(q)
    q.set_defaults(handler=_cmd_plot_training)
    q = plot_sub.add_parser("ap", help="mAP against tIoU and per-class AP of an evaluation report",
                            description="Draw mAP against tIoU (fine, and coarse when the report has "
                                        "it) and each class's AP averaged over the thresholds, "
                                        "grouped by coarse class when the report maps them.")
    q.add_argument("report", metavar="REPORT.json",
                   help="eval_report.json of haan evaluate, or haan eval-detections --output")
    _add_figure_out(q)
    q.set_defaults(handler=_cmd_plot_ap)
    q = plot_sub.add_parser("video", help="one video's clip scores, detections and ground truth",
                            description="Score one video with a trained run and draw its clip "
                                        "scores over time for its ground-truth and top predicted "
                                        "classes, its detections and its ground-truth segments.")
    _add_model_args(q)
    which = q.add_mutually_exclusive_group(required=True)
    which.add_argument("--video", metavar="NAME", help="a video of the config's dataset")
    which.add_argument("--features", metavar="FILE",
                       help="<id>.npy or <id>.csv features of another video")
    q.add_argument("--clips-per-second", type=float, default=None, metavar="R",
                   help="with --features: its clip rate, when no <id>.json clip grid is beside it "
                        "and the run's dataset has no single rate")
    _add_figure_out(q)
    _add_torch_args(q)
    q.set_defaults(handler=_cmd_plot_video)


def _cmd_plot_training(args: argparse.Namespace) -> int:
    from haan.viz.plots import plot_training_run

    plot_training_run(args.run_dir, args.out, overwrite=args.overwrite)
    print(f"wrote {args.out}")
    return 0


def _cmd_plot_ap(args: argparse.Namespace) -> int:
    from haan.viz.plots import plot_ap_report

    plot_ap_report(args.report, args.out, overwrite=args.overwrite)
    print(f"wrote {args.out}")
    return 0


def _cmd_plot_video(args: argparse.Namespace) -> int:
    from haan.predict import plot_run_video
    from haan.runtime.device import set_threads

    set_threads(args.threads)
    plot_run_video(args.out, run=args.run, models_dir=args.models_dir, config=args.config,
                   overrides=args.overrides, video=args.video, features=args.features,
                   clips_per_second=args.clips_per_second, device=args.device,
                   overwrite=args.overwrite, progress=not args.quiet and sys.stderr.isatty())
    print(f"wrote {args.out}")
    return 0


# ----------------------------------------------------------------------------------------------


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    if issubclass(category, DataWarning):
        print(f"warning: {message}", file=sys.stderr)
    else:
        _default_showwarning(message, category, filename, lineno, file, line)


_default_showwarning = warnings.showwarning


# A reader that closed the pipe early (`haan data info --json | head -c 10`): stop quietly with
# the status a shell gives a program killed by SIGPIPE, as `ls | head` does.
BROKEN_PIPE_STATUS = 128 + 13


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def run_guarded(action: Callable[[], object], prog: str = "haan") -> int:
    """Run a command; 0 unless it returns an int status. DataWarnings as `warning:` lines, an
    InputError as one `error:` line and exit status 2, Ctrl-C as status 130, a closed stdout
    pipe as a quiet exit."""
    warnings.showwarning = _show_warning
    try:
        status = action()
        sys.stdout.flush()
        return status if isinstance(status, int) else 0
    except InputError as exc:
        # In a torchrun launch every process meets the same input: the first one reports it.
        if os.environ.get("RANK", "0") == "0":
            print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        _silence_stdout()
        return BROKEN_PIPE_STATUS
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    finally:
        warnings.showwarning = _default_showwarning


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_guarded(lambda: args.handler(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
