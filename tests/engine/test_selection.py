"""haan.engine.loop.selection_rule: the epoch a run keeps is chosen only on videos with segments;
without any among the held-out videos, the last epoch; on the test set only as the paper does,
and then said loudly."""

from __future__ import annotations

import dataclasses

import numpy as np

from haan.engine.loop import selection_rule

from helpers import load


def with_labels_only(d, videos):
    """The dataset with these videos' segments unknown (labels only)."""
    has = d.has_segments.copy()
    has[videos] = False
    return dataclasses.replace(d, has_segments=has)


def test_the_papers_protocol_is_said_loudly(tiny_dataset):
    d = load(tiny_dataset)
    videos, kind, why = selection_rule(d.config, d)
    assert kind == "test" and videos.tolist() == d.test_indices.tolist()
    assert why.startswith("the best avg.mAP on the TEST set (the paper's protocol")


def test_validation_videos_without_segments_are_never_scored(tiny_dataset):
    d = load(tiny_dataset, "haan.validation_fraction=0.25")
    val = d.val_indices
    assert len(val) == 4
    # Some held out without segments: only the others choose.
    part = with_labels_only(d, val[:2])
    videos, kind, why = selection_rule(part.config, part)
    assert kind == "validation" and videos.tolist() == val[2:].tolist()
    assert why == "the best avg.mAP on 2 held-out validation videos with segments"
    # None with segments: the last epoch, never the test set in their place.
    none = with_labels_only(d, val)
    videos, kind, why = selection_rule(none.config, none)
    assert kind == "last" and videos.tolist() == d.test_indices.tolist()
    assert why.startswith("the last epoch: none of the 4 validation videos has segments")


def test_select_epoch_last(tiny_dataset):
    d = load(tiny_dataset, "haan.select_epoch=last")
    test = with_labels_only(d, d.test_indices[:1])
    videos, kind, why = selection_rule(test.config, test)
    assert kind == "last" and videos.tolist() == d.test_indices[1:].tolist()
    assert why == (f'the last epoch ([haan] select_epoch = "last"); the test set '
                   f"({len(d.test_indices) - 1} videos with segments) is scored once, after "
                   "training")
    assert np.array_equal(test.with_segments(np.arange(test.num_videos)),
                          np.setdiff1d(np.arange(test.num_videos), d.test_indices[:1]))
