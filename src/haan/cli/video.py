"""`haan extract`: I3D clip features of video files (`haan.video`), each with its clip grid.

PyAV and torch are imported by the handler only, after checking PyAV is there.
"""

from __future__ import annotations

import argparse

from haan.cli.common import add_i3d_args, add_torch_args, progress_bars


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("extract", help="I3D clip features of video files, with their clip grids")
    p.add_argument("videos", nargs="+", metavar="VIDEO",
                   help="video files (any format FFmpeg reads)")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="writes <id>.npy (T, D) and <id>.json (the clip grid) per video")
    add_i3d_args(p, own_grid=True)
    p.add_argument("--workers", type=int, default=1,
                   help="threads decoding videos ahead (default 1)")
    p.add_argument("--store", action="store_true",
                   help="write one feature store (haan data convert's layout) instead of <id>.npy "
                        "files")
    p.add_argument("--overwrite", action="store_true", help="replace files already in --out")
    add_torch_args(p)
    p.set_defaults(handler=_cmd_extract)


def _cmd_extract(args: argparse.Namespace) -> int:
    from haan.video.decode import import_av

    import_av()  # a missing PyAV is one line, before any work
    from haan.runtime.device import set_threads
    from haan.video.extract import build_network, extract_videos
    from haan.video.grid import GridSpec

    set_threads(args.threads)
    spec = GridSpec(args.fps, args.clip_frames, args.stride)
    network = build_network(args.streams, args.weights_rgb, args.weights_flow,
                            args.random_weights, args.seed)
    results = extract_videos(args.videos, args.out, spec, network, args.device, store=args.store,
                             overwrite=args.overwrite, workers=args.workers,
                             batch_size=args.batch_size, progress=progress_bars(args))
    clips = sum(grid.num_clips for _, grid in results)
    layout = "a feature store" if args.store else "<id>.npy files"
    print(f"wrote the {args.streams} features of {len(results)} video(s) ({clips} clips, "
          f"D = {network.feature_dim}, {spec.clips_per_second:g} clips per second) to {args.out} "
          f"as {layout}, with their clip grids <id>.json")
    return 0
