"""`haan report`: one self-contained HTML page of a detections file, with optional ground truth
(its lanes, the mAP tables, each detection's true/false positive), video files and a diagnosis
folder; it opens offline from disk."""

from __future__ import annotations

import argparse

from haan.cli.common import add_detection_file_args


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report", help="an HTML page of detections: timelines, video, slider, tables, mAP",
        description="Write one self-contained HTML file (no network: CSS and JavaScript inline) "
                    "showing a detections file per video: a timeline lane per class, the video "
                    "with a playhead, a score slider and a class filter, a sortable table; with "
                    "--ground-truth, its lanes, the mAP tables (haan's ActivityNet evaluator) "
                    "and each detection marked true or false positive.")
    add_detection_file_args(
        p, ground_truth="ActivityNet ground truth: drawn, and the detections evaluated",
        predictions="ActivityNet results JSON (haan predict, haan evaluate, any detector)",
        drop_other_subsets="leave out of the evaluation predictions on videos of other subsets "
                           "(default: false positives, the official rule)",
        tiou_thresholds="the tIoU thresholds the page can mark true positives at (default: "
                        "numpy.linspace(0.5, 0.95, 10))",
        hierarchy='{"fine label": "coarse label"}: also the coarse mAP',
        ground_truth_required=False)
    p.add_argument("--videos", default=None, metavar="DIR",
                   help="a folder of video files named <id>.mp4 (.webm, .m4v, .ogv, .mov, .mkv; "
                        "with or without a v_ prefix), referenced from the page by relative path")
    p.add_argument("--diagnosis", default=None, metavar="DIR",
                   help="a folder of haan diagnose: its PNG figures and the numbers of "
                        "diagnosis.json's \"summary\", embedded")
    p.add_argument("--title", default=None, help="the page's title (default: the file name)")
    p.add_argument("--out", required=True, metavar="REPORT.html", help="the HTML file to write")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.set_defaults(handler=_cmd_report)


def _cmd_report(args: argparse.Namespace) -> int:
    from haan.evaluation import activitynet
    from haan.viz.report import ReportOptions, write_report

    thresholds = (activitynet.DEFAULT_TIOU_THRESHOLDS if args.tiou_thresholds is None
                  else activitynet.parse_tiou_thresholds(args.tiou_thresholds))
    options = ReportOptions(
        ground_truth=args.ground_truth, subset=args.subset, hierarchy=args.hierarchy,
        videos_dir=args.videos, tiou_thresholds=thresholds,
        other_subsets="drop" if args.drop_other_subsets else "false-positive",
        diagnosis_dir=args.diagnosis, title=args.title)
    summary = write_report(args.predictions, args.out, options, overwrite=args.overwrite)
    if summary.evaluation is not None:
        print(activitynet.format_report(summary.evaluation))
    videos = (f"; video files for {summary.num_video_files}" if args.videos is not None else "")
    print(f"wrote {summary.out} ({summary.num_bytes / 1e6:.2f} MB): {summary.num_videos} videos, "
          f"{summary.num_detections} detections{videos}")
    return 0
