"""The parser tree of `haan`: every command and sub-command builds, in the order `haan --help`
lists them, each leaf with a handler of the command line's own modules and each group asking for
one of its sub-commands; and the I3D options of `haan extract` and `haan predict` are written
alike (one helper writes both)."""

from __future__ import annotations

import argparse
from typing import Iterator

import pytest

from haan.cli import build_parser

COMMANDS = [  # the pipeline's order: data, features, training, prediction, results, analysis
    "data", "data info", "data convert", "data import", "data import activitynet",
    "data import labels",
    "data export-gt",
    "synth", "extract", "classify", "train", "evaluate",
    "predict", "plot", "plot training", "plot ap", "plot video",
    "report", "compare", "eval-detections", "diagnose",
]
I3D_OPTIONS = ["--fps", "--clip-frames", "--stride", "--streams", "--weights-rgb",
               "--weights-flow", "--random-weights", "--seed", "--batch-size", "--precision"]


def subcommands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
    found = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(found) <= 1
    return found[0] if found else None


def walk(parser: argparse.ArgumentParser,
         path: str = "") -> Iterator[tuple[str, argparse.ArgumentParser]]:
    action = subcommands(parser)
    for name, child in (action.choices.items() if action is not None else ()):
        child_path = f"{path} {name}".strip()
        yield child_path, child
        yield from walk(child, child_path)


def command(path: str) -> argparse.ArgumentParser:
    return dict(walk(build_parser()))[path]


def test_every_command_in_the_order_help_lists_them():
    assert [path for path, _ in walk(build_parser())] == COMMANDS


@pytest.mark.parametrize("path", COMMANDS)
def test_each_leaf_has_a_handler_and_each_group_wants_a_subcommand(path):
    parser = command(path)
    handler = parser.get_default("handler")
    group = subcommands(parser)
    if group is None:
        assert callable(handler), f"haan {path} has no handler"
        assert handler.__module__.startswith("haan.cli."), handler.__module__
        assert parser.format_help().startswith(f"usage: haan {path} ")
    else:
        assert handler is None, f"haan {path} has sub-commands and a handler"
        assert group.required and group.choices


def i3d_actions(path: str) -> list[argparse.Action]:
    actions = [a for a in command(path)._actions if a.option_strings]
    flags = [a.option_strings[0] for a in actions]
    start = flags.index(I3D_OPTIONS[0])
    return actions[start:start + len(I3D_OPTIONS)]


def test_extract_and_predict_spell_the_i3d_options_alike():
    extract, predict = i3d_actions("extract"), i3d_actions("predict")
    for actions in (extract, predict):
        assert [a.option_strings for a in actions] == [[flag] for flag in I3D_OPTIONS]

    def shape(a: argparse.Action) -> tuple:
        return type(a), a.dest, a.type, a.choices, a.metavar, a.nargs, a.const, a.required

    assert [shape(a) for a in extract] == [shape(a) for a in predict]
    argv = ["--fps", "25", "--clip-frames", "8", "--stride", "4", "--streams", "rgb+flow",
            "--weights-rgb", "r.pt", "--weights-flow", "f.pt", "--random-weights", "--seed", "3",
            "--batch-size", "2", "--precision", "bf16"]
    parser = build_parser()
    from_extract = vars(parser.parse_args(["extract", "v.mp4", "--out", "d", *argv]))
    from_predict = vars(parser.parse_args(["predict", "v.mp4", "--out", "o.json", *argv]))
    dests = [a.dest for a in extract]
    assert [from_extract[d] for d in dests] == [from_predict[d] for d in dests]
    assert [from_extract[d] for d in dests] == [25.0, 8, 4, "rgb+flow", "r.pt", "f.pt", True, 3, 2,
                                                   "bf16"]


def test_extract_has_a_grid_of_its_own_and_predict_takes_the_runs():
    parser = build_parser()
    extract = vars(parser.parse_args(["extract", "v.mp4", "--out", "d"]))
    predict = vars(parser.parse_args(["predict", "v.mp4", "--out", "o.json"]))
    grid = ["fps", "clip_frames", "stride", "streams"]
    assert [extract[d] for d in grid] == [24.0, 16, 16, "rgb"]
    assert [predict[d] for d in grid] == [None, None, None, None]
    rest = ["weights_rgb", "weights_flow", "random_weights", "seed", "batch_size", "precision"]
    assert [extract[d] for d in rest] == [predict[d] for d in rest] == [None, None, False, 0, 8,
                                                                        "auto"]


def options(parser: argparse.ArgumentParser,
            path: str = "") -> Iterator[tuple[str, argparse.Action]]:
    """Every option of every command (not -h, not --version), with its command's path."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from options(child, f"{path} {name}".strip())
        elif action.option_strings and not isinstance(action, (argparse._HelpAction,
                                                               argparse._VersionAction)):
            yield path, action


def test_every_option_has_help_that_shows_its_default():
    """A default worth knowing (anything but None, False or an empty list) is in the help text,
    as `(default: ...)`; an option without a value of its own says what it does."""
    missing = []
    for path, action in options(build_parser()):
        flag = f"haan {path} {action.option_strings[0]}"
        text = action.help or ""
        if not text.strip() or text == argparse.SUPPRESS:
            missing.append(f"{flag}: no help")
        elif action.default not in (None, False, []) and "default" not in text:
            missing.append(f"{flag}: default {action.default!r} not shown")
    assert not missing, "\n".join(missing)
    assert len(list(options(build_parser()))) > 100  # the walk reached every command


@pytest.mark.parametrize("path,flag,shown", [
    ("train", "--output-dir", "(default: output)"),
    ("predict", "--fps", "(default: the run's dataset's grid)"),
    ("extract", "--fps", "(default: 24.0)"),
    ("data import activitynet", "--train-subset", "(default: training)"),
])
def test_help_shows_defaults(path, flag, shown):
    help_text = " ".join(command(path).format_help().split())
    assert shown in help_text


def test_commands_that_score_a_detections_file_spell_its_options_alike():
    flags = ["--ground-truth", "--predictions", "--subset", "--tiou-thresholds", "--hierarchy"]
    argv = ["--ground-truth", "g.json", "--predictions", "p.json", "--subset", "test",
            "--tiou-thresholds", "0.3,0.5", "--hierarchy", "h.json"]
    parser = build_parser()
    parsed = {name: vars(parser.parse_args([name, *argv, *out]))
              for name, out in (("eval-detections", []), ("report", ["--out", "r.html"]),
                                ("diagnose", ["--out", "d"]))}
    for name, values in parsed.items():
        actions = {a.option_strings[0]: a for a in command(name)._actions if a.option_strings}
        assert [actions[f].metavar for f in flags] == ["GT.json", "PRED.json", None,
                                                      "T1,T2,...", "MAPPING.json"], name
        assert [values[d] for d in ("ground_truth", "predictions", "subset", "tiou_thresholds",
                                    "hierarchy")] == ["g.json", "p.json", "test", "0.3,0.5",
                                                      "h.json"], name
    # Only the report can do without ground truth (it then draws the detections alone).
    assert [command(name)._option_string_actions["--ground-truth"].required
            for name in parsed] == [True, False, True]
