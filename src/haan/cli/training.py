"""`haan train` (a run, or one per seed, with checkpoints and results.csv) and `haan evaluate`
(checkpoints scored on the test set).
"""

from __future__ import annotations

import argparse

from haan.cli.common import add_config_args, add_torch_args
from haan.errors import InputError


def add_commands(sub: argparse._SubParsersAction) -> None:
    _add_train_command(sub)
    _add_evaluate_command(sub)


def _add_train_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train HAAN (or [model] method); writes checkpoints and "
                                     "results.csv")
    add_config_args(p, required=False,
                    extra_help="; required, except with --resume RUN_DIR (the run's own "
                               "config.toml)")
    p.add_argument("--exp-name", default=None,
                   help="run name (default: a random UUID, as the paper)")
    p.add_argument("--output-dir", default=None, metavar="DIR",
                   help="the run folder is DIR/<[dataset] name>/<exp-name> (default: output)")
    p.add_argument("--seed", type=int, default=None,
                   help="random seed (default: 1; with --resume RUN_DIR, the run's own)")
    p.add_argument("--seeds", default=None, metavar="LIST",
                   help="one run per seed (1,2,3 or 1-5) in EXP/seed_<s>/, then EXP/summary.csv "
                        "and summary.json: mean ± std over the seeds; finished seeds are not "
                        "trained again, --resume continues one that stopped")
    p.add_argument("--resume", nargs="?", const=True, default=False, metavar="auto|RUN_DIR",
                   help="continue a run from its last saved epoch: bare, the run --config and "
                        "--exp-name name (the same config: only --set "
                        "hyperparameters.epochs may change); `--resume "
                        "RUN_DIR`: the run in RUN_DIR, with the config, seed and --tensorboard "
                        "it recorded (--set hyperparameters.epochs=N trains it longer); `--resume "
                        "auto`: continue it if it saved a state, else start it (for runs that "
                        "torchrun restarts after a failure)")
    p.add_argument("--overwrite", action="store_true",
                   help="start again in a run folder that already holds a run (its files are "
                        "replaced)")
    p.add_argument("--init-models-dir", default=None, metavar="DIR",
                   help="start from the checkpoints in DIR (those of the four files that exist)")
    p.add_argument("--tensorboard", action="store_true",
                   help="also write TensorBoard curves into RUN_DIR/tensorboard/ (losses, learning "
                        "rate, fine and coarse mAP, pseudo labels, throughput; needs `pip install "
                        "'haan[tensorboard]'`)")
    add_torch_args(p)
    p.set_defaults(handler=_cmd_train)


def _add_evaluate_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="evaluate checkpoints on the test set")
    add_config_args(p, required=False,
                    extra_help=" (default: the models folder's config.toml)")
    p.add_argument("--models-dir", required=True, metavar="DIR",
                   help="folder with the checkpoints (HAAN: encoder.pkl and "
                        "fine_level_classifier.pkl; W-TALC: wtalc.pkl); a run folder's own "
                        "config.toml is the default --config and always names the method")
    p.add_argument("--output-dir", default=None, metavar="DIR",
                   help="where eval_results.csv, eval_detections.json, eval_report.json and "
                        "eval_ap.png go (default: the models folder)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace earlier evaluation outputs there")
    p.add_argument("--no-plots", action="store_true",
                   help="do not draw eval_ap.png (mAP against tIoU and per-class AP)")
    add_torch_args(p)
    p.set_defaults(handler=_cmd_evaluate)


def _cmd_train(args: argparse.Namespace) -> int:
    from haan.engine.seeds import parse_seeds
    from haan.recipes.train import run_training
    from haan.runtime.device import set_threads

    if args.seeds is not None and args.seed is not None:
        raise InputError("--seed and --seeds: choose one")
    seeds = parse_seeds(args.seeds) if args.seeds is not None else None
    # --resume takes `auto` or a run folder; bare, it continues the run --config and --exp-name name
    resume_dir = args.resume if args.resume not in (True, False, "auto") else None
    set_threads(args.threads)
    run_training(
        args.config, args.overrides, output_dir=args.output_dir, exp_name=args.exp_name,
        seed=args.seed, device=args.device, resume=args.resume if resume_dir is None else True,
        resume_dir=resume_dir, overwrite=args.overwrite, init_models_dir=args.init_models_dir,
        progress=not args.quiet, seeds=seeds, tensorboard=args.tensorboard,
    )
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from haan.recipes.evaluate import run_evaluation
    from haan.runtime.device import set_threads

    set_threads(args.threads)
    run_evaluation(
        args.config, args.overrides, models_dir=args.models_dir, output_dir=args.output_dir,
        device=args.device, progress=not args.quiet, overwrite=args.overwrite,
        plots=not args.no_plots,
    )
    return 0
