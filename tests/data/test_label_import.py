"""haan.data.label_import: video-level labels (no segments) become a haan dataset; bad rows are
reported one line each with their row number, and nothing is written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from haan.config import load_config
from haan.data import import_labels, load_dataset
from haan.data.annotations import ANNOTATION_FILES
from haan.data.label_import import read_labels
from haan.errors import InputError

R = 1.5


def write_features(folder: Path, lengths: dict[str, int], D: int = 4, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for name, T in lengths.items():
        np.save(folder / f"{name}.npy", rng.standard_normal((T, D)).astype(np.float32))
    return folder


def write_gt(path: Path, database: dict) -> Path:
    path.write_text(json.dumps({"database": database}))
    return path


@pytest.fixture
def small(tmp_path) -> dict:
    """Four training videos with labels only, two test videos with segments."""
    feats = write_features(tmp_path / "feats", {"a": 30, "b": 24, "c": 36, "d": 30, "t1": 30,
                                                "t2": 45})
    labels = tmp_path / "labels.csv"
    labels.write_text("video,label\na,jump\na,spin\nb,jump\nc,spin\nd,flip\n")
    gt = write_gt(tmp_path / "gt.json", {
        "t1": {"subset": "validation", "duration": 20.0,
               "annotations": [{"segment": [2.0, 5.5], "label": "jump"}]},
        "t2": {"subset": "training", "duration": 30.0,
               "annotations": [{"segment": [1.0, 4.0], "label": "spin"},
                               {"segment": [10.0, 12.0], "label": "flip"}]}})
    return {"feats": feats, "labels": labels, "gt": gt, "out": tmp_path / "data"}


def test_labels_only_import_needs_no_invented_segments(small):
    """The issue's trap: with only video-level labels, the import must not need (or write)
    segments [0, duration] for the training videos."""
    s = import_labels(small["labels"], small["feats"], small["out"], annotations=small["gt"],
                      clips_per_second=R)
    segments = np.load(small["out"] / ANNOTATION_FILES["segments_path"], allow_pickle=True)
    labels = np.load(small["out"] / ANNOTATION_FILES["labels_path"], allow_pickle=True)
    names = np.load(small["out"] / ANNOTATION_FILES["video_names_path"], allow_pickle=True)
    assert names.tolist() == ["a", "b", "c", "d", "t1", "t2"]
    # Classes sorted: flip 0, jump 1, spin 2; one coarse class (0) for all.
    assert labels.tolist() == [[[0, 1], [0, 2]], [[0, 1]], [[0, 2]], [[0, 0]], [[0, 1]],
                               [[0, 2], [0, 0]]]
    assert segments.tolist()[:4] == [[], [], [], []]  # labels only: no segment at all
    assert segments.tolist()[4:] == [[[2.0, 5.5]], [[1.0, 4.0], [10.0, 12.0]]]
    d = s.dataset
    assert (s.num_train, s.num_test) == (4, 2) and d.test_indices.tolist() == [4, 5]
    assert d.has_segments.tolist() == [False] * 4 + [True] * 2
    assert d.fine_multi_hot([0, 3]).tolist() == [[0, 1, 1], [1, 0, 0]]
    assert d.with_segments(np.arange(6)).tolist() == [4, 5]
    assert d.coarse_names == ["all"] and d.fine_names == ["flip", "jump", "spin"]
    config = load_config(s.config_path)
    assert config.haan.select_epoch == "last" and config.stats.num_training_videos == 4
    # The test instances (t2 was "training" in its file: it is a test video all the same).
    test = d.instances(d.test_indices)
    assert test.fine.tolist() == [1, 2, 0] and test.segments.tolist() == [[2, 5.5], [1, 4],
                                                                         [10, 12]]


def test_json_labels_and_a_hierarchy(small, tmp_path):
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"a": ["jump", "spin"], "b": ["jump"], "c": ["spin"],
                                  "d": ["flip"]}))
    groups = tmp_path / "groups.json"
    groups.write_text(json.dumps({"jump": "air", "flip": "air", "spin": "ground"}))
    s = import_labels(labels, small["feats"], small["out"], annotations=small["gt"],
                      hierarchy=str(groups), clips_per_second=R)
    d = s.dataset
    assert d.coarse_names == ["air", "ground"] and d.fine_to_coarse.tolist() == [0, 0, 1]
    assert [x.tolist() for x in d.labels[:4]] == [[[0, 1], [1, 2]], [[0, 1]], [[1, 2]], [[0, 0]]]


def test_without_annotations_every_video_trains(small):
    s = import_labels(small["labels"], small["feats"], small["out"], clips_per_second=R)
    assert (s.num_train, s.num_test) == (4, 0)
    assert not s.dataset.has_segments.any()


def test_bad_rows_one_line_each_nothing_written(small, tmp_path):
    labels = tmp_path / "bad.csv"
    labels.write_text("video,label\na,jump\nzz,jump\nb,\n\na,jump\nc,spin,extra\n,spin\n")
    with pytest.raises(InputError) as e:
        import_labels(labels, small["feats"], small["out"], clips_per_second=R)
    assert str(e.value).splitlines() == [
        f"{labels}: row 3: unknown video 'zz': no zz.npy or .csv in {small['feats']}",
        f"{labels}: row 4: video 'b': empty label",
        f"{labels}: row 6: video 'a', label 'jump': a duplicate",
        f"{labels}: row 7: 3 fields, expected 2 (video,label)",
        f"{labels}: row 8: empty video name",
        f"{labels}: 5 bad rows; nothing imported"]
    assert not small["out"].exists()


def test_bad_json_entries_are_named(small, tmp_path):
    labels = tmp_path / "bad.json"
    labels.write_text(json.dumps({"a": ["jump", "jump"], "b": "jump", "c": [3], "q": ["x"]}))
    with pytest.raises(InputError) as e:
        read_labels(labels, small["feats"])
    assert str(e.value).splitlines() == [
        f"{labels}: ['a'][1]: video 'a', label 'jump': a duplicate",
        f"{labels}: ['b']: expected a list of class names",
        f"{labels}: ['c'][0]: expected a class name, got 3",
        f"{labels}: ['q'][0]: unknown video 'q': no q.npy or .csv in {small['feats']}",
        f"{labels}: 4 bad rows; nothing imported"]


def test_header_and_overlap(small, tmp_path):
    labels = tmp_path / "noheader.csv"
    labels.write_text("a,jump\n")
    with pytest.raises(InputError, match="the first line must be the header 'video,label'"):
        read_labels(labels, small["feats"])
    both = tmp_path / "both.csv"
    both.write_text("video,label\na,jump\nt1,spin\n")
    with pytest.warns(UserWarning, match="1 videos also have segments in .*gt.json and are test "
                                         "videos; their labels-file rows are not used"):
        s = import_labels(both, small["feats"], small["out"], annotations=small["gt"],
                          clips_per_second=R)
    assert s.dataset.video_names.tolist() == ["a", "t1", "t2"] and s.num_train == 1


def test_refuses_to_replace_and_checks_grid_options(small):
    import_labels(small["labels"], small["feats"], small["out"], clips_per_second=R)
    with pytest.raises(InputError, match="already exists"):
        import_labels(small["labels"], small["feats"], small["out"], clips_per_second=R)
    with pytest.raises(InputError, match="give one of them"):
        import_labels(small["labels"], small["feats"], small["out"], clips_per_second=R,
                      clips_per_video=3, overwrite=True)
    again = import_labels(small["labels"], small["feats"], small["out"], clips_per_second=R,
                          overwrite=True)
    assert load_dataset(load_config(again.config_path)).num_videos == 4


def test_export_gt_leaves_labels_only_videos_out(small):
    from haan.data import ground_truth_json

    s = import_labels(small["labels"], small["feats"], small["out"], annotations=small["gt"],
                      clips_per_second=R)
    gt = ground_truth_json(s.dataset, "all")
    assert list(gt["database"]) == ["t1", "t2"]
    assert gt["database"]["t2"]["annotations"] == [{"segment": [1.0, 4.0], "label": "spin"},
                                                   {"segment": [10.0, 12.0], "label": "flip"}]


def test_segments_must_still_match_labels_where_given(small):
    """Only a video with no segment at all has labels only; 1 segment for 2 labels is an error."""
    from haan.data.annotations import ANNOTATION_FILES

    s = import_labels(small["labels"], small["feats"], small["out"], annotations=small["gt"],
                      clips_per_second=R)
    path = small["out"] / ANNOTATION_FILES["segments_path"]
    segments = np.load(path, allow_pickle=True)
    segments[5] = [[1.0, 4.0]]
    np.save(path, segments)
    with pytest.raises(InputError, match="video 't2' has 1 segments, but .*labels.npy gives it 2 "
                                         "labels"):
        load_dataset(load_config(s.config_path))
