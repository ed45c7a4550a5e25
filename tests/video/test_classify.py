"""`haan classify`'s arithmetic: a video's probabilities are its clips' softmax averaged, and the
top classes come most probable first, with the label file's names."""

from __future__ import annotations

import math

import numpy as np

from haan.video.classify import kinetics_labels, softmax, top_classes, video_probabilities


def test_a_videos_probabilities_are_its_clips_softmax_averaged():
    logits = np.array([[0.0, math.log(3.0), 0.0], [1000.0, 1000.0, 1000.0]])  # huge: no overflow
    # clip 0: e^0, 3, e^0 -> 1/5, 3/5, 1/5; clip 1: 1/3 each
    expected = (np.array([1 / 5, 3 / 5, 1 / 5]) + np.array([1 / 3, 1 / 3, 1 / 3])) / 2
    assert np.allclose(video_probabilities(logits), expected, rtol=1e-12)
    assert np.allclose(softmax(logits).sum(axis=1), 1.0)


def test_top_classes_and_the_label_file():
    labels = kinetics_labels()
    assert len(labels) == 400 and labels[0] == "abseiling" and "playing cricket" in labels
    p = np.zeros(400)
    p[[labels.index("playing cricket"), 7, 3]] = [0.5, 0.3, 0.2]
    assert top_classes(p, labels, 2) == [("playing cricket", 0.5), (labels[7], 0.3)]
