"""The `haan` command line: argparse subcommands, each of which parses, calls library functions
and reports. This package owns the parser (`build_parser`, assembled here from one module per
command group, in the pipeline's order: data, video, training, predict, plot, report, compare,
evaluation, diagnose), the options commands share (common), and how a command ends (guard: `run_guarded`). Heavy modules (torch) are imported
inside the commands that need them, so that `haan eval-detections` starts fast.

Bad input raises `haan.errors.InputError`; `main` prints its one-line message and exits with 2.

May import: anything (it is the top).
"""

from __future__ import annotations

import argparse
from typing import Sequence

from haan.cli import compare, data, diagnose, evaluation, plot, predict, report, training, video
from haan.cli.guard import run_guarded
from haan.runtime.launch import exit_process

__all__ = ["build_parser", "entry", "main", "run_guarded"]


def build_parser() -> argparse.ArgumentParser:
    from haan import __version__

    parser = argparse.ArgumentParser(
        prog="haan",
        description="HAAN: weakly-supervised temporal action detection with hierarchical atomic "
                    "actions.",
    )
    parser.add_argument("--version", action="version", version=f"haan {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # The order of these calls is the order `haan --help` lists the commands in: the pipeline's.
    data.add_commands(sub)        # data, synth
    video.add_commands(sub)       # extract, classify
    training.add_commands(sub)    # train, evaluate
    predict.add_commands(sub)     # predict
    plot.add_commands(sub)        # plot
    report.add_commands(sub)      # report
    compare.add_commands(sub)     # compare
    evaluation.add_commands(sub)  # eval-detections
    diagnose.add_commands(sub)    # diagnose
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_guarded(lambda: args.handler(args))


def entry() -> None:
    """The `haan` program (`python -m haan`, the console script): `main`, then
    `haan.runtime.launch.exit_process` (a torchrun worker leaves without finalizing)."""
    exit_process(main())
