"""Video files as `haan predict` inputs: the grid their I3D features are extracted on (the run's
recorded one, or the options'), checked before anything runs, and the extraction itself
(`haan.video.extract`), each video's rate its grid's fps / stride.

Where the run recorded a feature contract (`Predictor.contract`: haan.data.contract, in its
run.json; for a run recorded before, its dataset's clip-grid file), the videos are extracted
exactly as its features were: its grid, streams and weights. Weights are matched by SHA-256:
the default Kinetics-400 weights when the run's are theirs, else the file the user gives, which
must have the recorded SHA-256. Any difference is one line naming the field, the run's value
and the input's, unless `ignore_contract` (then a warning). A run without a contract (features
haan extract did not make, or imported before contracts existed) works as before, with a
warning that its contract is unknown."""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from haan.data.contract import FeatureContract, mismatch_message
from haan.errors import DataWarning, InputError
from haan.predict.inputs import FeatureVideo
from haan.predict.predictor import Predictor
from haan.video.grid import GridSpec


@dataclass(frozen=True)
class VideoOptions:
    """How video files are turned into features: the grid (None: the run's recorded one), the
    I3D weights, the batch size."""

    fps: float | None = None
    clip_frames: int | None = None
    stride: int | None = None
    streams: str | None = None
    weights_rgb: str | None = None
    weights_flow: str | None = None
    random_weights: bool = False
    seed: int = 0
    batch_size: int = 8
    precision: str = "auto"
    ignore_contract: bool = False  # extract even where the run's feature contract differs


def contract_options(contract: FeatureContract, options: VideoOptions, source: str
                     ) -> VideoOptions:
    """The options that reproduce `contract`: its grid and streams where the options give none,
    and the weights it was made with. A given value that differs, or weights whose SHA-256 is
    not the recorded one, is one InputError line (a warning with `ignore_contract`)."""
    from haan.video.network import EXTRACTOR
    from haan.video.weights import default_weights_source, sha256_file

    grid = {"fps": contract.fps, "clip_frames": contract.clip_frames, "stride": contract.stride,
            "streams": contract.streams}
    given = {k: getattr(options, k) for k in grid}
    problems = [mismatch_message("--" + k.replace("_", "-"), (k, grid[k], v))
                for k, v in given.items() if v is not None and v != grid[k]]
    if contract.extractor != EXTRACTOR:
        problems.insert(0, mismatch_message(source, ("extractor", contract.extractor, EXTRACTOR)))
    weights = {"rgb": options.weights_rgb, "flow": options.weights_flow}
    for stream, recorded in contract.weights_sha256.items():
        flag, file = f"--weights-{stream}", weights[stream]
        if recorded == "random" and not options.random_weights:
            problems.append("--random-weights: this run's features were made by an untrained "
                            "network (--random-weights); pass --random-weights with its --seed")
        elif options.random_weights:
            if recorded != "random":
                problems.append(mismatch_message(flag, ("weights_sha256", recorded, "random")))
        elif file is not None:
            sha = sha256_file(file) if Path(file).is_file() else None
            if sha is not None and sha != recorded:
                problems.append(mismatch_message(str(file), ("weights_sha256", recorded, sha)))
        elif stream == "flow" or recorded != sha256_file(default_weights_source()):
            problems.append(f"{flag}: this run's features were made with weights whose SHA-256 "
                            f"is {recorded}; pass {flag} FILE with that file")
    problems = list(dict.fromkeys(problems))  # a line shared by both streams once
    if problems and not options.ignore_contract:
        raise InputError(problems[0])
    for problem in problems:
        warnings.warn(f"{problem} (--ignore-contract: extracting anyway)", DataWarning,
                      stacklevel=2)
    merged = {k: grid[k] if given[k] is None else given[k] for k in grid}
    return dataclasses.replace(options, **merged)


def extraction_grid(predictor: Predictor, options: VideoOptions) -> tuple[GridSpec, str]:
    """(GridSpec, streams) for the video files: each of fps, clip_frames, stride and streams
    from the options, else from the run's recorded grid; a value that differs from the recorded
    one is a warning (the model saw features of that grid), a missing one an error."""
    from haan.video.extract import STREAMS

    recorded = predictor.recorded_grid()
    given = {"fps": options.fps, "clip_frames": options.clip_frames, "stride": options.stride,
             "streams": options.streams}
    flags = {k: "--" + k.replace("_", "-") for k in given}
    if recorded is None:
        missing = [flags[k] for k, v in given.items() if v is None]
        if missing:
            raise InputError(f"{predictor.record_source()}: no recorded clip grid (haan data "
                             "import records it from haan extract's clip-grid files) to extract "
                             f"video files on; give {', '.join(missing)} as the training "
                             "features were extracted")
        grid = given
    else:
        grid = {k: recorded[k] if v is None else v for k, v in given.items()}
        differ = [f"{flags[k]} {given[k]} (recorded: {recorded[k]})" for k in given
                  if given[k] is not None and given[k] != recorded[k]]
        if differ:
            warnings.warn(f"{'; '.join(differ)}: the model was trained on features of the "
                          f"recorded grid ({predictor.record_source()})", DataWarning,
                          stacklevel=2)
    if grid["streams"] not in STREAMS:
        raise InputError(f"--streams {grid['streams']}: expected one of {', '.join(STREAMS)}")
    spec = GridSpec(float(grid["fps"]), int(grid["clip_frames"]), int(grid["stride"]))
    return spec, grid["streams"]


def extract_inputs(paths: Sequence[Path], predictor: Predictor, options: VideoOptions,
                   progress: bool = False) -> Callable[[], list[FeatureVideo]]:
    """Check what extracting these video files needs (PyAV, the grid, the feature size, the
    weights) and return the extraction itself, to run once every other input is checked."""
    from haan.video.decode import import_av
    from haan.video.extract import build_network, extract_video, video_ids
    from haan.video.i3d import FEATURE_DIM

    import_av()
    config, device, contract = predictor.config, predictor.device, predictor.contract
    if contract is None:
        warnings.warn(f"{predictor.record_source()}: the run's feature contract is unknown (its "
                      "features were not made by haan extract, or were imported before haan "
                      "recorded how features were made): the video files are extracted with the "
                      "options and default weights, unchecked", DataWarning, stacklevel=2)
    else:
        options = contract_options(contract, options, predictor.record_source())
    spec, streams = extraction_grid(predictor, options)
    dim = FEATURE_DIM * (2 if streams == "rgb+flow" else 1)
    D = config.hyperparameters.feature_size
    if dim != D:
        raise InputError(f"{paths[0]}: --streams {streams} gives {dim} values per clip, but the "
                         f"model takes [hyperparameters] feature_size = {D} ({config.source})")
    ids = video_ids(paths)
    for path in paths:
        if not path.is_file():
            raise InputError(f"{path}: {'not a file' if path.exists() else 'no such file'}")
    network = build_network(streams, options.weights_rgb, options.weights_flow,
                            options.random_weights, options.seed, options.precision)
    if options.batch_size < 1:
        raise InputError(f"--batch-size {options.batch_size}: must be at least 1")

    def extract() -> list[FeatureVideo]:
        out = []
        for name, path in zip(ids, paths):  # per video: decoding and the network stream inside
            x, grid = extract_video(path, spec, network, device, options.batch_size,
                                    progress=progress)
            out.append(FeatureVideo(name, path, grid.num_clips, network.feature_dim,
                                    grid.clips_per_second, lambda x=x: x))
        return out

    return extract


__all__ = ["VideoOptions", "contract_options", "extract_inputs", "extraction_grid"]
