"""haan.viz.video: the classes a video figure shows, and the scores, detections and ground truth
it draws (read back from the matplotlib artists)."""

from __future__ import annotations

import numpy as np
from matplotlib.patches import StepPatch

from haan.evaluation.postprocess import VideoDetections, detect, video_scores
from haan.viz.video import _labels_that_fit, plot_video, shown_video_classes

from viz_helpers import bar_geometry


def video_case():
    """T = 12 clips at 1.5 clips per second, C = 6 classes in 3 coarse classes."""
    rng = np.random.default_rng(0)
    scores = rng.normal(-1.0, 0.3, (12, 6))
    scores[2:5, 4] += 3.0   # class 4: ground truth, detected
    scores[7:10, 1] += 2.5  # class 1: ground truth, detected
    scores[:, 0] += 1.2     # class 0: not in the ground truth, high video score
    scores[5:7, 3] += 1.0   # class 3: a weak distractor
    detections = detect(scores, 1.5, 0.1, 2.0)
    gt_labels = np.array([4, 1, 4])
    gt_segments = np.array([[1.2, 3.4], [4.6, 6.8], [7.0, 7.5]])
    names = ["salto", "split leap", "turn", "round-off", "flic-flac", "pike"]
    coarse_names = ["floor", "beam", "vault"]
    fine_to_coarse = np.array([0, 1, 1, 0, 2, 2])
    return scores, detections, gt_labels, gt_segments, names, coarse_names, fine_to_coarse


def test_shown_classes_are_the_ground_truth_then_the_top_predictions():
    gt = np.array([5, 2, 5, 7])
    class_score = np.array([0.1, 0.9, 0.3, 0.9, -0.2, 0.8, 0.0, 0.5])
    expected = [5, 2, 7]  # first appearance
    for c in sorted(range(8), key=lambda c: (-class_score[c], c)):
        if c not in expected and len(expected) < 3 + 2:
            expected.append(c)
    assert shown_video_classes(gt, class_score, top_k=2).tolist() == expected == [5, 2, 7, 1, 3]
    assert shown_video_classes(np.zeros(0, int), class_score, top_k=3).tolist() == [1, 3, 5]


def test_video_figure_draws_the_scores_detections_and_ground_truth():
    scores, _, gt_labels, gt_segments, names, coarse_names, f2c = video_case()
    c_s = video_scores(scores, 2.0)
    shown = [4, 1] + [c for c in np.argsort(-c_s, kind="stable").tolist() if c not in (4, 1)][:2]
    assert shown[2] == 0
    hidden_class = next(c for c in range(6) if c not in shown)
    det = VideoDetections(label=np.array([4, 1, hidden_class, 0, 4]),
                          start=np.array([1.0, 4.0, 2.0, 0.0, 6.0]),
                          end=np.array([2.0, 6.5, 3.0, 8.0, 7.3]),
                          score=np.array([3.1, 2.5, 0.7, 1.25, 0.4]))
    fig = plot_video(scores, 1.5, det, gt_labels, gt_segments, names, coarse_names, f2c,
                           "video_7", kmax_mod_factor=2.0, top_k=2)
    curves, bars = fig.axes

    # One step curve per shown class: clip t spans t / 1.5 .. (t + 1) / 1.5 seconds.
    steps = [p for p in curves.patches if isinstance(p, StepPatch)]
    assert len(steps) == len(shown)
    for patch, c in zip(steps, shown):
        values, edges, _ = patch.get_data()
        np.testing.assert_array_equal(values, scores[:, c])
        np.testing.assert_allclose(edges, np.arange(13) / 1.5)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    for row, c in enumerate(shown):
        assert legend[row].startswith(names[c]) and f"video score {c_s[c]:.2f}" in legend[row]
    assert ("not in the ground truth" in legend[2]) and ("not in the ground truth" not in legend[0])

    # Detections of the shown classes: bars at their seconds, in their class's row, with scores.
    det_bars, gt_bars = bars.containers
    np.testing.assert_allclose(bar_geometry(det_bars), [
        [1.0, 1.0, 0 - 0.19, 0.34], [4.0, 2.5, 1 - 0.19, 0.34], [0.0, 8.0, 2 - 0.19, 0.34],
        [6.0, 1.3, 0 - 0.19, 0.34]])
    assert [t.get_text() for t in bars.texts] == ["3.10", "2.50", "1.25", "0.40"]
    np.testing.assert_allclose([t.get_position() for t in bars.texts],
                               [[1.5, -0.19], [5.25, 0.81], [4.0, 1.81], [6.65, -0.19]])
    assert "1 more in classes not shown" in bars.get_title(loc="left")
    # Ground truth beneath, in its class's row.
    np.testing.assert_allclose(bar_geometry(gt_bars),
                               [[1.2, 2.2, 0.21, 0.26], [4.6, 2.2, 1.21, 0.26], [7.0, 0.5, 0.21, 0.26]])
    assert [t.get_text() for t in bars.get_yticklabels()] == [names[c] for c in shown]
    assert bars.get_xlim() == (0.0, 8.0)
    # The coarse classes of the ground truth, by name, in the title.
    assert fig.get_suptitle().startswith("video_7  (coarse: vault, beam;")


def test_video_without_ground_truth_names_the_predicted_coarse_classes():
    scores, det, _, _, names, coarse_names, f2c = video_case()
    fig = plot_video(scores, 1.5, det, np.zeros(0, int), np.zeros((0, 2)), names, coarse_names,
                           f2c, "new", kmax_mod_factor=2.0, top_k=3)
    curves, bars = fig.axes
    shown = np.argsort(-video_scores(scores, 2.0), kind="stable")[:3]
    assert [t.get_text() for t in bars.get_yticklabels()] == [names[c] for c in shown]
    assert len(bars.containers[1].patches) == 0
    coarse = list(dict.fromkeys(coarse_names[f2c[c]] for c in shown))
    assert fig.get_suptitle().startswith(f"new  (predicted coarse: {', '.join(coarse)};")
    assert not any("ground truth" in t.get_text() for t in fig.legends[0].get_texts())


def test_dense_detections_print_scores_that_do_not_overlap():
    row = np.array([0, 0, 0, 1, 0])
    centre = np.array([1.0, 1.5, 3.0, 1.2, 2.2])
    score = np.array([0.5, 0.9, 0.1, 0.2, 0.3])
    # Row 0 by score: 1.5 placed; 2.2 kept (0.7 away); 1.0 dropped (0.5 from 1.5); 3.0 kept.
    assert _labels_that_fit(row, centre, score, width=0.6).tolist() == [1, 2, 3, 4]

