"""`haan diagnose`: why a detector scores what it scores (DETAD's analyses, the hierarchy's),
from the same files as `eval-detections`. numpy and matplotlib only, never torch."""

from __future__ import annotations

import argparse

from haan.cli.common import add_detection_file_args


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("diagnose",
                       help="error analysis of a predictions JSON file (DETAD's, and the "
                            "hierarchy's): DIR/diagnosis.json and figures")
    add_detection_file_args(
        p, ground_truth="ActivityNet ground-truth file (as for eval-detections)",
        predictions="ActivityNet detection-results file",
        tiou_thresholds="comma-separated tIoU thresholds (haan protocol only; default: "
                        "numpy.linspace(0.5, 0.95, 10))",
        hierarchy='{"fine label": "coarse label"}: split label errors into siblings and '
                  "strangers")
    p.add_argument("--durations", default=None, metavar="DURATIONS.json",
                   help='{"video": seconds}, for coverage when the ground truth has no '
                        '"duration" fields')
    p.add_argument("--protocol", default="haan",
                   choices=("haan", "detad-thumos14", "detad-activitynet"),
                   help="haan's settings (default) or DETAD's exact ones for THUMOS14 "
                        "(tIoU 0.5) or ActivityNet (tIoU 0.5:0.95)")
    p.add_argument("--operating-tiou", type=float, default=0.5, metavar="T",
                   help="the tIoU of the operating points (precision, recall, F1 against the "
                        "score threshold) and of --choose-thresholds (default: 0.5)")
    p.add_argument("--choose-thresholds", default=None, metavar="FILE.json",
                   help="also write the best-F1 score threshold of each class (on this subset) "
                        "to FILE.json, for haan predict --thresholds")
    p.add_argument("--thresholds", default=None, metavar="FILE.json",
                   help="a thresholds file chosen on another subset: report the F1 it reaches "
                        "here")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="folder for diagnosis.json and the PNG figures")
    p.add_argument("--overwrite", action="store_true", help="replace DIR's earlier outputs")
    p.set_defaults(handler=_cmd_diagnose)


def _cmd_diagnose(args: argparse.Namespace) -> int:
    from haan.evaluation.activitynet import parse_tiou_thresholds
    from haan.recipes.diagnose import format_summary, run_diagnose

    thresholds = (None if args.tiou_thresholds is None
                  else parse_tiou_thresholds(args.tiou_thresholds))
    report = run_diagnose(args.ground_truth, args.predictions, args.out, subset=args.subset,
                          protocol=args.protocol, tiou_thresholds=thresholds,
                          durations=args.durations, hierarchy_path=args.hierarchy,
                          overwrite=args.overwrite, operating_tiou=args.operating_tiou,
                          thresholds=args.thresholds, choose_thresholds=args.choose_thresholds)
    print(format_summary(report))
    print(f"wrote {args.out}/diagnosis.json and its figures"
          + (f"; the chosen thresholds in {args.choose_thresholds}" if args.choose_thresholds
             else ""))
    return 0
