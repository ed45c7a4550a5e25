"""`haan eval-detections`: the ActivityNet detection mAP of any detector's predictions file.

numpy only, never torch: scoring a file must start fast (tests/cli/test_eval_cli.py checks it).
"""

from __future__ import annotations

import argparse

from haan.cli.common import add_detection_file_args


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval-detections",
                       help="ActivityNet detection mAP of a predictions JSON file")
    add_detection_file_args(
        p, ground_truth="ActivityNet-style ground truth ({\"database\": {id: {\"subset\", "
                        "\"annotations\"}}}, e.g. from haan data export-gt)",
        predictions="ActivityNet results ({\"results\": {id: [{\"label\", \"score\", "
                    "\"segment\"}]}}), e.g. from haan predict or haan evaluate",
        drop_other_subsets="leave out predictions on videos of other subsets (default: false "
                           "positives, the official rule)",
        tiou_thresholds="comma-separated tIoU thresholds (default: numpy.linspace(0.5, 0.95, "
                        "10))",
        hierarchy='{"fine label": "coarse label"} for every ground-truth label: also score the '
                  "coarse level")
    p.add_argument("--output", default=None, metavar="REPORT.json", help="write the report as JSON")
    p.add_argument("--overwrite", action="store_true", help="replace --output if it exists")
    p.set_defaults(handler=_cmd_eval_detections)


def _cmd_eval_detections(args: argparse.Namespace) -> int:
    from haan.evaluation import activitynet
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
