"""`haan eval-detections`: the ActivityNet detection mAP of any detector's predictions file.

numpy only, never torch: scoring a file must start fast (tests/cli/test_eval_cli.py checks it).
"""

from __future__ import annotations

import argparse


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval-detections",
                       help="ActivityNet detection mAP of a predictions JSON file")
    p.add_argument("--ground-truth", required=True, metavar="GT.json",
                   help="ActivityNet-style ground truth ({\"database\": {id: {\"subset\", "
                        "\"annotations\"}}}, e.g. from haan data export-gt)")
    p.add_argument("--predictions", required=True, metavar="PRED.json",
                   help="ActivityNet results ({\"results\": {id: [{\"label\", \"score\", "
                        "\"segment\"}]}}), e.g. from haan predict or haan evaluate")
    p.add_argument("--subset", default=None,
                   help="keep the ground-truth videos of this subset (default: all)")
    p.add_argument("--drop-other-subsets", action="store_true",
                   help="leave out predictions on videos of other subsets (default: false "
                        "positives, the official rule)")
    p.add_argument("--tiou-thresholds", default=None, metavar="T1,T2,...",
                   help="comma-separated tIoU thresholds (default: numpy.linspace(0.5, 0.95, 10))")
    p.add_argument("--hierarchy", default=None, metavar="MAPPING.json",
                   help='{"fine label": "coarse label"} for every ground-truth label: also '
                        "score the coarse level")
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
