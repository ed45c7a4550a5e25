"""haan: weakly-supervised temporal action detection in fine-grained videos with HAAN
(Hierarchical Atomic Action Network; Li, He, Xu, ECCV 2022).

The library by pipeline stage, each package importing only from those before it:

    errors, config, fileio   the base: input errors, the typed config, the one output layer
    runtime/     device, threads, precision, memory, distributed (torchrun)
    data/        features, annotations, datasets, stores, importers, synthetic data
    video/       video files to I3D features
    models/      HAAN and W-TALC, their losses, k-means and pseudo labels
    evaluation/  post-processing, metrics, ActivityNet files, reports
    engine/      the epoch loop, run state and resume, checkpoints, seeds
    viz/         figures and comparisons
    predict/     detections for new videos or features
    recipes/     `haan train` / `haan evaluate` (and the paper's main.py), top to bottom
    cli/         the `haan` command

docs/architecture.md draws the map. Importing the package imports nothing heavy.
"""

from haan import _moved

__version__ = "0.2.0"

_moved.install()
