"""`haan predict`: detections for videos nobody labelled (features or video files), with a
trained run's best checkpoints, and optionally each video's clip scores, figure and subtitles.
"""

from __future__ import annotations

import argparse

from haan.cli.common import add_i3d_args, add_model_args, add_torch_args, progress_bars


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict", help="detections for new videos (features or video files) from a trained run",
        description="Detect actions in videos nobody labelled, with a trained run's best "
                    "checkpoints: ActivityNet results JSON (class names as labels), a summary per "
                    "video, optionally each video's clip scores, figure and subtitles.")
    p.add_argument("inputs", nargs="+", metavar="PATH",
                   help="<id>.npy (T, D) or <id>.csv features of one video, a folder of them, a "
                        "feature store, or a video file (.mp4, .mkv, .mov, .avi, .webm, ...: "
                        "extracted first)")
    add_model_args(p)
    p.add_argument("--out", required=True, metavar="DETECTIONS.json",
                   help="the detections, ActivityNet results JSON (missing folders are created)")
    p.add_argument("--clips-per-second", type=float, default=None, metavar="R",
                   help="clip rate of the feature inputs (e.g. 25 fps / 16 frames = 1.5625); "
                        "used even where a clip-grid file <id>.json disagrees (a warning), and "
                        "must agree with --durations/--annotations (default: the clip-grid "
                        "files, else the run's dataset rate)")
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
    p.add_argument("--thresholds", metavar="FILE.json",
                   help="per-class score thresholds (chosen by best F1 on another subset): "
                        "drop each detection under its class's threshold (the file's default "
                        "for classes it does not list; null default: keep them)")
    p.add_argument("--srt", metavar="DIR",
                   help="write each video's detections as subtitles <id>.srt")
    p.add_argument("--html", metavar="REPORT.html",
                   help="also write the detections as one self-contained HTML page (haan "
                        "report's): the video files among the inputs play in it, the ground "
                        "truth of --annotations is drawn")
    video = p.add_argument_group("video files", "how video files are turned into features: by "
                                 "default the grid the run's dataset was extracted on")
    add_i3d_args(video, own_grid=False)
    p.add_argument("--ignore-contract", action="store_true",
                   help="predict even where the inputs' feature contract (how they were made: "
                        "clip rate, extractor, weights...) differs from the run's: a warning "
                        "instead of an error (a different dimension stays an error)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    add_torch_args(p)
    p.set_defaults(handler=_cmd_predict)


def _cmd_predict(args: argparse.Namespace) -> int:
    from haan.predict import VideoOptions, format_summary, run_prediction
    from haan.runtime.device import set_threads

    set_threads(args.threads)
    report = run_prediction(
        args.inputs, args.out, run=args.run, models_dir=args.models_dir, config=args.config,
        overrides=args.overrides, clips_per_second=args.clips_per_second,
        durations=args.durations, annotations=args.annotations, scores_dir=args.scores_dir,
        plot_dir=args.plot, srt_dir=args.srt, html=args.html, device=args.device,
        overwrite=args.overwrite, thresholds=args.thresholds, ignore_contract=args.ignore_contract,
        progress=progress_bars(args),
        video_options=VideoOptions(args.fps, args.clip_frames, args.stride, args.streams,
                                   args.weights_rgb, args.weights_flow, args.random_weights,
                                   args.seed, args.batch_size, args.precision,
                                   args.ignore_contract))
    p = report.prediction
    print(format_summary(p.summaries, report.predictor.class_names))
    epoch = report.predictor.epoch
    print(f"{len(p.names)} videos, {len(p.detections)} detections with the checkpoints of "
          f"{report.predictor.models_dir}" + (f" (epoch {epoch})" if epoch is not None else ""))
    if args.thresholds is not None:
        print(f"dropped {p.dropped} detections under their class's threshold in {args.thresholds}")
    what = {"scores": "clip scores <id>.npy in ", "plots": "figures <id>.png in ",
            "srt": "subtitles <id>.srt in ", "html": "the report page "}
    print(f"wrote {report.out}"
          + "".join(f"; {what[key]}{path}" for key, path in report.written.items()))
    return 0
