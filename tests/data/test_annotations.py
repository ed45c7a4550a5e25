"""haan.data.annotations: the five files' errors (one line each, naming the file and video) and
the segment warnings (one counted line per kind)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from haan.errors import DataWarning

from helpers import edit_npy, error_of, load


def test_files_disagree_on_the_number_of_videos(tiny_dataset):
    d = tiny_dataset.parent
    edit_npy(d / "labels.npy", lambda x: x[:23])
    assert error_of(tiny_dataset) == (f"{d / 'labels.npy'}: 23 videos, but "
                                      f"{d / 'video_names.npy'} has 24 videos")


def test_labels_and_segments_disagree_within_a_video(tiny_dataset):
    d = tiny_dataset.parent

    def drop(x):
        x[3] = x[3][:-1]
        return x

    edit_npy(d / "segments.npy", drop)
    n = len(np.load(d / "labels.npy", allow_pickle=True)[3])
    assert error_of(tiny_dataset) == (f"{d / 'segments.npy'}: video 'synth_00003' has {n - 1} "
                                      f"segments, but {d / 'labels.npy'} gives it {n} labels")


@pytest.mark.parametrize("pair,message", [
    ([0, 4], "has fine id 4, outside [0, 4) ([stats] num_fine_classes = 4)"),
    ([0, -1], "has fine id -1, outside [0, 4) ([stats] num_fine_classes = 4)"),
    ([2, 0], "has coarse id 2, outside [0, 2) ([stats] num_coarse_classes = 2)"),
])
def test_label_outside_the_classes(tiny_dataset, pair, message):
    d = tiny_dataset.parent

    def put(x):
        x[6] = list(x[6])
        x[6][-1] = pair
        return x

    edit_npy(d / "labels.npy", put)
    n = len(np.load(d / "labels.npy", allow_pickle=True)[6])
    assert error_of(tiny_dataset) == (f"{d / 'labels.npy'}: video 'synth_00006' instance {n - 1} "
                                      + message)


def test_label_contradicting_the_mapping(tiny_dataset):
    d = tiny_dataset.parent
    mapping = json.loads((d / "fine_to_coarse_mappings.json").read_text())
    fine = int(np.load(d / "labels.npy", allow_pickle=True)[2][0][1])
    wrong = 1 - mapping[str(fine)]

    def put(x):
        x[2] = list(x[2])
        x[2][0] = [wrong, fine]
        return x

    edit_npy(d / "labels.npy", put)
    assert error_of(tiny_dataset) == (
        f"{d / 'labels.npy'}: video 'synth_00002' instance 0 is [{wrong}, {fine}], but "
        f"{d / 'fine_to_coarse_mappings.json'} maps fine {fine} to coarse {1 - wrong}")


def test_mapping_not_covering_every_fine_class(tiny_dataset):
    path = tiny_dataset.parent / "fine_to_coarse_mappings.json"
    mapping = json.loads(path.read_text())
    del mapping["2"]
    path.write_text(json.dumps(mapping))
    assert error_of(tiny_dataset) == (f"{path}: no coarse class for fine ids 2 (expected keys "
                                      '"0".."3", one per fine class)')


@pytest.mark.parametrize("text,message", [
    ('{"0": 0, "1": 0,', "invalid JSON: Expecting property name enclosed in double quotes at line "
                         "1 column 17"),
    ("[" * 100_000 + "]" * 100_000, "invalid JSON: nested too deeply"),
    ('{"0": 0, "one": 1}', "entry 'one': 1, expected \"<fine_id>\": <coarse_id> with integer ids"),
    ("[0, 0, 1, 1]", 'expected an object {"<fine_id>": coarse_id, ...}'),
])
def test_mapping_that_is_not_a_mapping(tiny_dataset, text, message):
    path = tiny_dataset.parent / "fine_to_coarse_mappings.json"
    path.write_text(text)
    assert error_of(tiny_dataset) == f"{path}: {message}"


def test_class_counts_smaller_than_the_labels_used(tiny_dataset):
    mapping = tiny_dataset.parent / "fine_to_coarse_mappings.json"
    assert error_of(tiny_dataset, "stats.num_fine_classes=3") == (
        f"{tiny_dataset}: [stats] num_fine_classes = 3 is smaller than the classes used "
        f"({mapping} maps fine ids up to 3)")
    assert error_of(tiny_dataset, "stats.num_coarse_classes=1") == (
        f"{tiny_dataset}: [stats] num_coarse_classes = 1 is smaller than the classes used "
        f"({mapping} maps to coarse ids up to 1)")


def test_missing_file_names_the_config_key(tiny_dataset):
    assert error_of(tiny_dataset, 'features.features_path="nowhere/x.npy"') == (
        "nowhere/x.npy: no such file or folder (config [features] features_path)")
    (tiny_dataset.parent / "segments.npy").unlink()
    assert error_of(tiny_dataset) == (f"{tiny_dataset.parent / 'segments.npy'}: no such file "
                                      "(config [annotations] segments_path)")


def test_bad_ratio(tiny_dataset):
    d = tiny_dataset.parent
    edit_npy(d / "sec2clip_ratios.npy", lambda x: np.where(np.arange(24) == 5, 0.0, x))
    assert error_of(tiny_dataset) == (f"{d / 'sec2clip_ratios.npy'}: video 'synth_00005' has ratio "
                                      "0.0, expected a positive number (clips per second)")


def test_segments_and_labels_that_are_not_pairs(tiny_dataset):
    d = tiny_dataset.parent
    edit_npy(d / "segments.npy", lambda x: np.array([*x[:3], [[1.0, np.nan]], *x[4:]],
                                                     dtype=object))
    assert error_of(tiny_dataset) == (f"{d / 'segments.npy'}: video 'synth_00003': segments must "
                                      "be finite numbers")
    edit_npy(d / "labels.npy", lambda x: np.array([*x[:1], [[0.5, 1]], *x[2:]], dtype=object))
    assert error_of(tiny_dataset) == (f"{d / 'labels.npy'}: video 'synth_00001': class ids must be "
                                      "integers, got [[0.5, 1.0]]")


# Warnings, not errors


def test_segment_warnings_one_line_per_kind(tiny_dataset):
    d = tiny_dataset.parent
    names = np.load(d / "video_names.npy")
    lengths = [len(x) for x in np.load(d / "features.npy", allow_pickle=True)]

    def bend(x):
        for i in (1, 4, 8, 9, 11):
            x[i] = [list(s) for s in x[i]]
        x[1][0] = [x[1][0][1], x[1][0][0]]  # reversed
        x[4][-1] = [x[4][-1][0], 500.0]  # far beyond the end
        x[8][0] = [x[8][0][0], x[8][0][0]]  # zero length
        x[9][0] = [-2.0, x[9][0][1]]  # negative start
        x[11][0] = [-1.0, x[11][0][1]]  # another
        return x

    edit_npy(d / "segments.npy", bend)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load(tiny_dataset)
    messages = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    seg = np.load(d / "segments.npy", allow_pickle=True)

    def where(i, k):
        return (f"(first: video '{names[i]}' [{seg[i][k][0]:g}, {seg[i][k][1]:g}] s, "
                f"{lengths[i]} clips at 1.5 clips/s)")

    assert messages == [
        f"{d / 'segments.npy'}: 1 segments end before they start {where(1, 0)}",
        f"{d / 'segments.npy'}: 1 segments have zero length {where(8, 0)}",
        f"{d / 'segments.npy'}: 2 segments start before 0 s {where(9, 0)}",
        f"{d / 'segments.npy'}: 1 segments end after the video's last clip {where(4, -1)}",
    ]
    assert data.num_videos == 24  # loaded all the same
