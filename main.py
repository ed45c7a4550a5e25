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

from haan.cli import main as haan_main  # noqa: E402
from haan.config import load_config  # noqa: E402
from haan.errors import InputError  # noqa: E402


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
    if args.evaluation_only:
        if not args.input_models_dir:
            print("main.py: error: --evaluation-only needs --input-models-dir DIR", file=sys.stderr)
            return 2
        # The paper writes the evaluation's results.csv into OUTPUT_DIR/DATASET/EXP_NAME (DATASET
        # as the config names it, like `haan train`'s run folders).
        try:
            name = load_config(config).dataset.name
        except InputError as exc:
            print(f"main.py: error: {exc}", file=sys.stderr)
            return 2
        out = str(Path(args.output_dir) / name / args.exp_name)
        return haan_main(["evaluate", "--config", config, "--models-dir", args.input_models_dir,
                          "--output-dir", out, "--device", args.device])
    command = ["train", "--config", config, "--exp-name", args.exp_name, "--output-dir", args.output_dir,
               "--seed", str(args.seed), "--device", args.device]
    if args.input_models_dir:  # the paper starts training from these checkpoints
        command += ["--init-models-dir", args.input_models_dir]
    return haan_main(command)


if __name__ == "__main__":
    sys.exit(main())
