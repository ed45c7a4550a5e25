"""`haan compare`: runs and seed summaries side by side, as mAP tables and a figure."""

from __future__ import annotations

import argparse


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="runs and seed summaries side by side: mAP tables and a "
                                       "figure")
    p.add_argument("inputs", nargs="+", metavar="RUN_OR_SUMMARY",
                   help="a run folder, a folder of haan train --seeds, or its summary.json")
    p.add_argument("--out", default=None, metavar="TABLE.md", help="also write the tables here")
    p.add_argument("--plot", default=None, metavar="FIGURE",
                   help="mAP against tIoU with error bars (.png, .svg or .pdf)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace --out and --plot if they exist")
    p.set_defaults(handler=_cmd_compare)


def _cmd_compare(args: argparse.Namespace) -> int:
    from haan.viz.compare import run_compare

    _, text = run_compare(args.inputs, out=args.out, plot=args.plot, overwrite=args.overwrite)
    print(text, end="")
    for path in (args.out, args.plot):
        if path is not None:
            print(f"wrote {path}")
    return 0
