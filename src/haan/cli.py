"""The `haan` command line: argparse subcommands, each of which parses, calls library functions
and reports. Heavy modules (torch) are imported inside the commands that need them, so that
`haan eval-detections` starts fast.

Bad input raises `haan.errors.InputError`; `main` prints its one-line message and exits with 2.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import Callable, Sequence

from haan.errors import DataWarning, InputError


def _add_config_args(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("--config", required=required,
                   help="built-in config name (fine_gym, fine_action, synthetic) or a TOML file")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a config value (TOML syntax), e.g. --set hyperparameters.epochs=10")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="haan",
        description="HAAN: weakly-supervised temporal action detection with hierarchical atomic actions.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    # -- evaluation of any detector's output ----------------------------------------------------
    p = sub.add_parser("eval-detections", help="ActivityNet detection mAP of a predictions JSON file")
    p.add_argument("--ground-truth", required=True, metavar="GT.json")
    p.add_argument("--predictions", required=True, metavar="PRED.json")
    p.add_argument("--subset", default=None, help="keep the ground-truth videos of this subset (default: all)")
    p.add_argument("--tiou-thresholds", default=None, metavar="T1,T2,...",
                   help="comma-separated tIoU thresholds (default: 0.5,0.55,...,0.95)")
    p.add_argument("--output", default=None, metavar="REPORT.json", help="write the report as JSON")
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
    q.set_defaults(handler=_cmd_data_convert)

    p = sub.add_parser("synth", help="generate a synthetic hierarchical dataset and its config")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--preset", choices=["tiny", "small", "finegym-like"], default="small")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=_cmd_synth)

    # -- training and evaluation of HAAN --------------------------------------------------------
    p = sub.add_parser("train", help="train HAAN; writes checkpoints and results.csv")
    _add_config_args(p)
    p.add_argument("--exp-name", default=None, help="run name (default: a random UUID, as the paper)")
    p.add_argument("--output-dir", default="output")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--resume", action="store_true", help="continue the run in its folder from its last saved epoch")
    p.add_argument("--init-models-dir", default=None, metavar="DIR",
                   help="start from the checkpoints in DIR (those of the four files that exist)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(handler=_cmd_train)

    p = sub.add_parser("evaluate", help="evaluate checkpoints on the test set")
    _add_config_args(p)
    p.add_argument("--models-dir", required=True, metavar="DIR",
                   help="folder with encoder.pkl and fine_level_classifier.pkl")
    p.add_argument("--output-dir", default=None, metavar="DIR", help="default: the models folder")
    p.add_argument("--device", default="auto")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(handler=_cmd_evaluate)

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
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--batch-size", type=int, default=8, help="clips per forward pass (default 8)")
    p.add_argument("--workers", type=int, default=1, help="threads decoding videos ahead (default 1)")
    p.add_argument("--store", action="store_true",
                   help="write one feature store (haan data convert's layout) instead of <id>.npy files")
    p.add_argument("--overwrite", action="store_true", help="replace files already in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(handler=_cmd_extract)
    return parser


def _cmd_extract(args: argparse.Namespace) -> int:
    from haan.video.decode import import_av

    import_av()  # a missing PyAV is one line, before any work
    from haan.video.extract import build_network, extract_videos
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
    from haan import activitynet  # numpy only: this command never imports torch

    thresholds = (activitynet.DEFAULT_TIOU_THRESHOLDS if args.tiou_thresholds is None
                  else activitynet.parse_tiou_thresholds(args.tiou_thresholds))
    report = activitynet.evaluate_files(args.ground_truth, args.predictions, subset=args.subset,
                                        tiou_thresholds=thresholds)
    print(activitynet.format_report(report))
    if args.output is not None:
        activitynet.write_report(report, args.output)
    return 0


def _cmd_data_info(args: argparse.Namespace) -> int:
    import json

    from haan.config import load_config
    from haan.data import dataset_info, format_info, load_dataset

    # info always scans every video for NaN/inf (streaming), whatever haan.check_features says.
    info = dataset_info(load_dataset(load_config(args.config, args.overrides), scan_features=True))
    print(json.dumps(info) if args.json else format_info(info))
    return 0


def _cmd_data_convert(args: argparse.Namespace) -> int:
    from haan.config import load_config
    from haan.data import convert_features

    config_path = convert_features(load_config(args.config, args.overrides), args.out, args.dtype)
    print(f"wrote the feature store {args.out} ({args.dtype}) and {config_path}")
    print(f"use it with: --config {config_path}")
    return 0


def _cmd_synth(args: argparse.Namespace) -> int:
    from haan.synth import generate

    config_path = generate(args.out, args.preset, args.seed)
    print(f"wrote the {args.preset} synthetic dataset (seed {args.seed}) and {config_path}")
    print(f"train with: haan train --config {config_path}")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from haan.runs import run_training

    run_training(
        args.config, args.overrides, output_dir=args.output_dir, exp_name=args.exp_name,
        seed=args.seed, device=args.device, resume=args.resume,
        init_models_dir=args.init_models_dir, progress=not args.quiet,
    )
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from haan.runs import run_evaluation

    run_evaluation(
        args.config, args.overrides, models_dir=args.models_dir, output_dir=args.output_dir,
        device=args.device, progress=not args.quiet,
    )
    return 0


# ----------------------------------------------------------------------------------------------


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    if issubclass(category, DataWarning):
        print(f"warning: {message}", file=sys.stderr)
    else:
        _default_showwarning(message, category, filename, lineno, file, line)


_default_showwarning = warnings.showwarning


def run_guarded(action: Callable[[], object], prog: str = "haan") -> int:
    """Run a command; 0 unless it returns an int status. DataWarnings as `warning:` lines, an InputError as one `error:` line and
    exit status 2, Ctrl-C as status 130."""
    warnings.showwarning = _show_warning
    try:
        status = action()
        return status if isinstance(status, int) else 0
    except InputError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
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
