"""The paper's command line, kept working:

    python main.py --dataset FineGym|FineAction --exp-name EXP --output-dir OUT [--seed 1] [--device cuda]
    python main.py --dataset FineGym|FineAction --evaluation-only --input-models-dir DIR

plus `--config PATH` for another config file in the paper's schema. Paths in the config resolve
against the working directory, as in the paper. `--device` defaults to `auto` (CUDA when present).
"""

import argparse
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))  # run from a checkout too

from haan.cli import run_guarded  # noqa: E402
from haan.recipes.evaluate import run_evaluation  # noqa: E402
from haan.recipes.train import run_training  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="HAAN")
    parser.add_argument("--dataset", choices=["FineAction", "FineGym"], required=True)
    parser.add_argument("--exp-name", default=str(uuid.uuid4()))
    parser.add_argument("--output-dir", default="output")
    parser.add_argument("--evaluation-only", action="store_true")
    parser.add_argument("--input-models-dir", default="")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--config", default=None, help="a config file in the paper's schema")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    config = args.config or {"FineGym": "fine_gym", "FineAction": "fine_action"}[args.dataset]
    # As the paper, outputs go to OUTPUT_DIR/<--dataset>/EXP_NAME.
    if args.evaluation_only:
        if not args.input_models_dir:
            print("main.py: error: --evaluation-only needs --input-models-dir DIR", file=sys.stderr)
            return 2
        out = Path(args.output_dir) / args.dataset / args.exp_name
        return run_guarded(lambda: run_evaluation(
            config, models_dir=args.input_models_dir, output_dir=out, device=args.device,
            paper_names=True, plots=False), "main.py")
    return run_guarded(lambda: run_training(
        config, output_dir=args.output_dir, exp_name=args.exp_name, seed=args.seed,
        device=args.device, init_models_dir=args.input_models_dir or None,
        dataset_folder=args.dataset), "main.py")


if __name__ == "__main__":
    from haan.runtime.launch import exit_process

    exit_process(main())  # as the haan program ends (a torchrun worker does not finalize)
