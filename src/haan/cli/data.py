"""`haan data info|convert|import activitynet|import labels|export-gt` (a dataset's figures, its feature store,
another dataset's files turned into a haan one, its ground truth) and `haan synth` (a synthetic
dataset).
"""

from __future__ import annotations

import argparse
import sys

from haan.cli.common import add_config_args, add_overrides_arg


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="inspect or convert a dataset")
    data_sub = p.add_subparsers(dest="data_command", required=True, metavar="DATA_COMMAND")
    q = data_sub.add_parser("info", help="the dataset's figures")
    add_config_args(q)
    q.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    q.set_defaults(handler=_cmd_data_info)
    q = data_sub.add_parser("convert",
                            help="write a memory-mappable feature store and a config for it")
    add_config_args(q)
    q.add_argument("--out", required=True, metavar="DIR",
                   help="the folder the store (features/) and its config.toml go into (created "
                        "with its parents)")
    q.add_argument("--dtype", choices=["float16", "float32"], default="float32",
                   help="how the store holds the features: float16 halves its size (default: "
                        "float32)")
    q.add_argument("--overwrite", action="store_true",
                   help="replace the files of an earlier store and config in DIR")
    q.set_defaults(handler=_cmd_data_convert)
    _add_import_commands(data_sub)
    q = data_sub.add_parser("export-gt", help="the dataset's ground truth as ActivityNet JSON")
    add_config_args(q)
    q.add_argument("--subset", choices=["test", "train", "all"], default="test",
                   help="which videos' ground truth (default: test)")
    q.add_argument("--out", required=True, metavar="GT.json",
                   help="the ActivityNet-style JSON file to write (missing folders are created)")
    q.add_argument("--overwrite", action="store_true", help="replace an existing GT.json")
    q.set_defaults(handler=_cmd_data_export_gt)
    _add_synth_command(sub)


def _add_import_commands(data_sub: argparse._SubParsersAction) -> None:
    q = data_sub.add_parser("import", help="turn another dataset's annotations and features "
                                           "into a haan dataset")
    import_sub = q.add_subparsers(dest="import_format", required=True, metavar="FORMAT")
    r = import_sub.add_parser(
        "activitynet", help="an ActivityNet-style annotation JSON plus one feature file per video")
    r.add_argument("--annotations", required=True, metavar="GT.json",
                   help="ActivityNet-style annotations: {\"database\": {id: {\"subset\", "
                        "\"annotations\": [{\"segment\", \"label\"}], \"duration\"}}}, "
                        "optionally a \"taxonomy\"")
    r.add_argument("--features", required=True, metavar="DIR",
                   help="<id>.npy (T, D) or <id>.csv (a row per clip) per video, v_ prefix or not")
    r.add_argument("--train-subset", default="training",
                   help="the annotations' subset that trains (default: training)")
    r.add_argument("--test-subset", default="validation",
                   help="the subset that tests, as THUMOS14's validation/test convention "
                        "(default: validation)")
    r.add_argument("--hierarchy", default="taxonomy",
                   metavar="taxonomy|taxonomy:DEPTH|MAPPING.json|flat|single",
                   help="coarse class of each label (default: its parent in the file's taxonomy)")
    # No --config: the config is what this command writes, from --template.
    _add_import_options(r)
    r.set_defaults(handler=_cmd_data_import_activitynet)
    r = import_sub.add_parser(
        "labels", help="video-level labels (no segments) plus one feature file per video; "
                       "optionally the ground truth of test videos")
    r.add_argument("--labels", required=True, metavar="FILE",
                   help="a CSV with the header 'video,label' and one row per (video, class), or "
                        'a JSON object {"video": ["class", ...]}')
    r.add_argument("--features", required=True, metavar="DIR",
                   help="<id>.npy (T, D) or <id>.csv (a row per clip) per video, v_ prefix or not")
    r.add_argument("--annotations", default=None, metavar="GT.json",
                   help="ActivityNet-style ground truth with segments: each of its videos is a "
                        "test video, whatever its subset says")
    r.add_argument("--hierarchy", default=None, metavar="MAPPING.json",
                   help='coarse class of each label, {"fine label": "coarse label"} (default: '
                        "one coarse class for all)")
    _add_import_options(r)
    r.set_defaults(handler=_cmd_data_import_labels)


def _add_import_options(r: argparse.ArgumentParser) -> None:
    """The options every import shares: the clip grid, D, the template, --set, --out."""
    r.add_argument("--out", required=True, metavar="DIR",
                   help="the folder the haan dataset (the paper's files, a feature store and "
                        "config.toml) goes into (created with its parents)")
    grid = r.add_mutually_exclusive_group()
    grid.add_argument("--clips-per-second", type=float, default=None, metavar="R",
                      help="the clip grid, e.g. 25 fps / 16 frames = 1.5625")
    grid.add_argument("--clips-per-video", type=int, default=None, metavar="T",
                      help="features resampled to T clips per video (R = T / duration)")
    r.add_argument("--feature-dim", type=int, default=None, metavar="D",
                   help="values per clip (default: the first feature file's)")
    r.add_argument("--template", choices=["fine_gym", "fine_action"], default="fine_gym",
                   help="[hyperparameters] and [evaluation] of the written config (size-bound "
                        "settings fitted to the data; default: fine_gym)")
    add_overrides_arg(r, help="override a value of the written config")
    r.add_argument("--overwrite", action="store_true",
                   help="replace the files of an earlier dataset in DIR")


def _add_synth_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("synth", help="generate a synthetic hierarchical dataset and its config")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="the folder the dataset's files and config.toml go into (created with "
                        "its parents)")
    p.add_argument("--preset", choices=["tiny", "small", "finegym-like", "fineaction-like"],
                   default="small", help="the dataset's size and shape (default: small)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the generated features and labels (default: 0)")
    p.add_argument("--num-videos", type=int, default=None, metavar="N",
                   help="scale the preset to N videos (the same fraction training)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the files of an earlier dataset in DIR")
    p.set_defaults(handler=_cmd_synth)


def _cmd_data_info(args: argparse.Namespace) -> int:
    import json

    from haan.config import load_config
    from haan.data import dataset_info, format_info, load_dataset

    # info always scans every video (streaming), whatever haan.check_features says.
    dataset = load_dataset(load_config(args.config, args.overrides), scan_features=True,
                           progress=sys.stderr.isatty())
    info = dataset_info(dataset)
    print(json.dumps(info) if args.json else format_info(info))
    return 0


def _cmd_data_convert(args: argparse.Namespace) -> int:
    from haan.config import load_config
    from haan.data import convert_features

    config_path = convert_features(load_config(args.config, args.overrides), args.out, args.dtype,
                                   overwrite=args.overwrite, progress=sys.stderr.isatty())
    print(f"wrote the feature store {args.out} ({args.dtype}) and {config_path}")
    print(f"use it with: --config {config_path}")
    return 0


def _cmd_data_import_activitynet(args: argparse.Namespace) -> int:
    from haan.data import import_activitynet

    s = import_activitynet(
        args.annotations, args.features, args.out, train_subset=args.train_subset,
        test_subset=args.test_subset, hierarchy=args.hierarchy,
        clips_per_second=args.clips_per_second, clips_per_video=args.clips_per_video,
        feature_dim=args.feature_dim, template=args.template, overrides=args.overrides,
        overwrite=args.overwrite, progress=sys.stderr.isatty())
    d = s.dataset
    train = d.instances(range(s.num_train))
    test = d.instances(d.test_indices)
    left = "; ".join(f"{n} videos of subset {k!r}" for k, n in sorted(s.left_out.items()))
    print(f"clip grid: {s.grid}")
    print(f"videos: {s.num_train} training (subset {s.train_subset!r}), {s.num_test} test (subset "
          f"{s.test_subset!r}); left out: {left or 'none'}")
    print(f"instances: {len(train.fine)} training, {len(test.fine)} test")
    print(f"classes: {d.num_fine_classes} fine, {d.num_coarse_classes} coarse, {s.hierarchy}")
    print(f"features: D = {d.feature_size}, {d.features.num_clips} clips, store {d.features.path}")
    if s.extraction_grid is not None:
        g = s.extraction_grid
        print(f"extraction grid: {g['fps']:g} fps, {g['clip_frames']}-frame clips every "
              f"{g['stride']} frames, {g['streams']}; recorded in {d.config.haan.clip_grid_path} "
              "for haan predict on video files")
    _print_fitted(s)
    return 0


def _print_fitted(s) -> None:
    """The settings fitted to the data, the contract, where the config is."""
    print("settings fitted to the data (--set overrides them):")
    for line in s.sizing:
        print(f"  {line}")
    if s.contract is not None:
        print(f"feature contract: {s.contract.extractor}, {s.contract.streams}, "
              f"D = {s.contract.feature_dim}, {s.contract.clips_per_second:g} clips/s; recorded "
              f"in {s.dataset.config.haan.clip_grid_path}")
    else:
        print(f"feature contract: {s.contract_note}")
    print(f"wrote {s.config_path}; train with: haan train --config {s.config_path}")


def _cmd_data_import_labels(args: argparse.Namespace) -> int:
    from haan.data import import_labels

    s = import_labels(
        args.labels, args.features, args.out, annotations=args.annotations,
        hierarchy=args.hierarchy, clips_per_second=args.clips_per_second,
        clips_per_video=args.clips_per_video, feature_dim=args.feature_dim,
        template=args.template, overrides=args.overrides, overwrite=args.overwrite,
        progress=sys.stderr.isatty())
    d = s.dataset
    print(f"clip grid: {s.grid}")
    print(f"videos: {s.num_train} training, labels only (from {s.train_subset}); {s.num_test} "
          f"test, with segments (from {s.test_subset})")
    print(f"labels: {sum(len(d.labels[i]) for i in range(s.num_train))} (video, class) pairs "
          f"for training; {len(d.instances(d.test_indices).fine)} test instances")
    print(f"classes: {d.num_fine_classes} fine, {d.num_coarse_classes} coarse, {s.hierarchy}")
    print(f"features: D = {d.feature_size}, {d.features.num_clips} clips, store {d.features.path}")
    print("model selection: the last epoch ([haan] select_epoch = \"last\"): no training video "
          "has segments to score an epoch on")
    _print_fitted(s)
    return 0


def _cmd_data_export_gt(args: argparse.Namespace) -> int:
    from haan.config import load_config
    from haan.data import export_ground_truth

    videos, instances = export_ground_truth(load_config(args.config, args.overrides), args.out,
                                            args.subset, overwrite=args.overwrite,
                                            progress=sys.stderr.isatty())
    print(f"wrote {args.out}: {videos} videos (subset {args.subset}), {instances} instances")
    print(f"score a detector with: haan eval-detections --ground-truth {args.out} "
          "--predictions PRED.json")
    return 0


def _cmd_synth(args: argparse.Namespace) -> int:
    from haan.data.synth import generate

    config_path = generate(args.out, args.preset, args.seed, overwrite=args.overwrite,
                           num_videos=args.num_videos)
    print(f"wrote the {args.preset} synthetic dataset (seed {args.seed}) and {config_path}")
    print(f"train with: haan train --config {config_path}")
    return 0
