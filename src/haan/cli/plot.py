"""`haan plot training|ap|video`: figures of a run's training, of an evaluation report and of one
video's scores. matplotlib is imported by the handlers only.
"""

from __future__ import annotations

import argparse

from haan.cli.common import add_figure_out_args, add_model_args, add_torch_args, progress_bars


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plot", help="draw a figure of a run or a report (PNG, SVG or PDF by "
                                    "--out's extension)")
    plot_sub = p.add_subparsers(dest="plot_command", required=True, metavar="PLOT_COMMAND")
    q = plot_sub.add_parser("training",
                            help="losses and selection mAP per epoch, best epoch marked",
                            description="Draw each loss of RUN_DIR/log.csv per epoch and the mAP "
                                        "columns of RUN_DIR/results.csv, the best epoch marked.")
    q.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by haan train")
    add_figure_out_args(q)
    q.set_defaults(handler=_cmd_plot_training)
    q = plot_sub.add_parser("ap", help="mAP against tIoU and per-class AP of an evaluation report",
                            description="Draw mAP against tIoU (fine, and coarse when the report "
                                        "has it) and each class's AP averaged over the "
                                        "thresholds, grouped by coarse class when the report "
                                        "maps them.")
    q.add_argument("report", metavar="REPORT.json",
                   help="eval_report.json of haan evaluate, or haan eval-detections --output")
    add_figure_out_args(q)
    q.set_defaults(handler=_cmd_plot_ap)
    _add_plot_video_command(plot_sub)


def _add_plot_video_command(plot_sub: argparse._SubParsersAction) -> None:
    q = plot_sub.add_parser("video", help="one video's clip scores, detections and ground truth",
                            description="Score one video with a trained run and draw its clip "
                                        "scores over time for its ground-truth and top predicted "
                                        "classes, its detections and its ground-truth segments.")
    add_model_args(q)
    which = q.add_mutually_exclusive_group(required=True)
    which.add_argument("--video", metavar="NAME", help="a video of the config's dataset")
    which.add_argument("--features", metavar="FILE",
                       help="<id>.npy or <id>.csv features of another video")
    q.add_argument("--clips-per-second", type=float, default=None, metavar="R",
                   help="with --features: its clip rate, when no <id>.json clip grid is beside it "
                        "and the run's dataset has no single rate")
    add_figure_out_args(q)
    add_torch_args(q)
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
                   overwrite=args.overwrite, progress=progress_bars(args))
    print(f"wrote {args.out}")
    return 0
