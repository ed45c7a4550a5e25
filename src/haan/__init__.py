"""haan: weakly-supervised temporal action detection in fine-grained videos with HAAN
(Hierarchical Atomic Action Network; Li, He, Xu, ECCV 2022).

The library: `haan.config` (typed configs), `haan.data` (datasets, stores, importers),
`haan.video` (video files to I3D features), `haan.model`/`haan.losses` and `haan.wtalc` (the two
methods, chosen in `haan.methods`), `haan.kmeans`/`haan.pseudo_labels` (atomic actions),
`haan.train`, `haan.seeds`, `haan.evaluate`, `haan.predict`, `haan.postprocess`, `haan.metrics`,
`haan.activitynet`, `haan.reports`, `haan.plots`, `haan.compare`, `haan.distributed` (torchrun),
`haan.fileio` (every file written), `haan.cli` (the `haan` command). The README's Layout lists
them all. Importing the package imports nothing heavy.
"""

__version__ = "0.2.0"
