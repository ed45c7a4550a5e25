"""Datasets in the paper's format: per-video features in four layouts, the five annotation files,
their validation, the split and padded batches, the memory-mapped feature store, and the figures of
`haan data info`.

    features     the layouts on disk, read without loading a dense file whole; the scan for NaN,
                 inf and impossible magnitudes
    annotations  the five files, label and segment checks
    dataset      Dataset, Instances, split_indices, load_dataset
    store        write_store, convert_features (`haan data convert`)
    info         dataset_info, format_info (`haan data info`)
    importers    import_activitynet (`haan data import activitynet`), in named steps
    label_import import_labels (`haan data import labels`): video-level labels, no segments
    sizing       the size-bound settings of an import, fitted to the data
    dataset_contract  the contract a dataset records (clip_grid.json) and a run (run.json)
    dataset_card what predicting needs of a dataset (class names, hierarchy, rate, grid), in
                 run.json so that a run folder predicts on its own
    ground_truth ActivityNet-style ground-truth files, video ids, class hierarchies
    feature_files  per-video feature files (`<id>.npy`, `<id>.csv`)
    clip_rates   clip-grid files and the one clip-rate rule (import and `haan predict`)
    export       export_ground_truth, ground_truth_json (`haan data export-gt`)
    contract     FeatureContract: how features were made (extractor, weights, grid, D)
    synth        generate (`haan synth`): the synthetic hierarchical datasets

The names below are the package's interface; `from haan.data import load_dataset, Dataset` is
how the rest of haan uses it.

May import: the base (haan.errors, haan.config, haan.fileio).
"""

from haan.data.annotations import Annotations, load_annotations
from haan.data.dataset import Dataset, Instances, load_dataset, split_indices
from haan.data.export import export_ground_truth, ground_truth_json
from haan.data.features import (
    DenseFeatures,
    FeatureStore,
    FlatStoreFeatures,
    FolderFeatures,
    ObjectArrayFeatures,
    open_features,
)
from haan.data.importers import ImportSummary, import_activitynet
from haan.data.info import dataset_info, format_info
from haan.data.label_import import import_labels
from haan.data.store import convert_features, write_store

__all__ = [
    "Annotations", "Dataset", "DenseFeatures", "FeatureStore", "FlatStoreFeatures",
    "FolderFeatures", "ImportSummary", "Instances", "ObjectArrayFeatures", "convert_features",
    "dataset_info", "export_ground_truth", "format_info", "ground_truth_json",
    "import_activitynet", "import_labels", "load_annotations", "load_dataset", "open_features", "split_indices",
    "write_store",
]
