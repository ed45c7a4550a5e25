"""`haan extract`: I3D clip features of video files (`haan.video`), each with its clip grid and
feature contract; `haan classify`: the Kinetics-400 top-5 of video files, a quick check that the
network and its weights work.

PyAV and torch are imported by the handlers only, after checking PyAV is there.
"""

from __future__ import annotations

import argparse
import sys

from haan.cli.common import add_i3d_args, add_precision_arg, add_torch_args, progress_bars


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("extract", help="I3D clip features of video files, with their clip grids")
    p.add_argument("videos", nargs="+", metavar="VIDEO",
                   help="video files (any format FFmpeg reads), or folders of them")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="writes <id>.npy (T, D) and <id>.json (the clip grid and the feature "
                        "contract) per video")
    add_i3d_args(p, own_grid=True)
    p.add_argument("--workers", type=int, default=1,
                   help="threads decoding videos ahead (default 1)")
    p.add_argument("--store", action="store_true",
                   help="write one feature store (haan data convert's layout) instead of <id>.npy "
                        "files")
    p.add_argument("--overwrite", action="store_true", help="replace files already in --out")
    add_torch_args(p)
    p.set_defaults(handler=_cmd_extract)

    c = sub.add_parser("classify", help="the Kinetics-400 top-5 classes of video files (checks "
                                        "that the I3D weights work)")
    c.add_argument("videos", nargs="+", metavar="VIDEO", help="video files")
    c.add_argument("--top", type=int, default=5, help="classes shown per video (default 5)")
    c.add_argument("--fps", type=float, default=25.0,
                   help="frames per second to resample to (default 25, the weights' training "
                        "rate)")
    c.add_argument("--clip-frames", type=int, default=16, help="frames per clip (default 16)")
    c.add_argument("--stride", type=int, default=16,
                   help="frames from one clip to the next (default 16)")
    c.add_argument("--batch-size", type=int, default=8, help="clips per forward pass (default 8)")
    add_precision_arg(c)
    add_torch_args(c)
    c.set_defaults(handler=_cmd_classify)


def _cmd_extract(args: argparse.Namespace) -> int:
    from haan.video.decode import import_av

    import_av()  # a missing PyAV is one line, before any work
    from haan.runtime.device import set_threads
    from haan.video.extract import build_network, extract_videos
    from haan.video.grid import GridSpec

    set_threads(args.threads)
    spec = GridSpec(args.fps, args.clip_frames, args.stride)
    network = build_network(args.streams, args.weights_rgb, args.weights_flow,
                            args.random_weights, args.seed, args.precision)
    result = extract_videos(args.videos, args.out, spec, network, args.device, store=args.store,
                            overwrite=args.overwrite, workers=args.workers,
                            batch_size=args.batch_size, progress=progress_bars(args))
    for line in result.failures:
        print(f"haan: error: {line}", file=sys.stderr)
    clips = sum(grid.num_clips for _, grid in result.videos)
    layout = "a feature store" if args.store else "<id>.npy files"
    if result.videos:
        print(f"wrote the {args.streams} features of {len(result.videos)} video(s) ({clips} "
              f"clips, D = {network.feature_dim}, {spec.clips_per_second:g} clips per second) to "
              f"{args.out} as {layout}, with their clip grids <id>.json")
    if len(result.failures) + len(result.videos) > 1 and result.failures:
        print(f"haan: {len(result.failures)} of {len(result.failures) + len(result.videos)} "
              "video(s) could not be extracted (nothing written for them)", file=sys.stderr)
    return 2 if result.failures else 0


def _cmd_classify(args: argparse.Namespace) -> int:
    from haan.video.decode import import_av

    import_av()
    from haan.runtime.device import set_threads
    from haan.video.classify import classify_videos, format_top
    from haan.video.grid import GridSpec

    set_threads(args.threads)
    spec = GridSpec(args.fps, args.clip_frames, args.stride)
    failed = 0
    for result in classify_videos(args.videos, spec, args.top, args.precision, args.device,
                                  args.batch_size):
        if isinstance(result, str):
            print(f"haan: error: {result}", file=sys.stderr)
            failed += 1
        else:
            print(format_top(result), flush=True)
    return 2 if failed else 0
