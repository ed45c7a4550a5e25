"""haan.evaluation.postprocess: hand-worked cases and a plain-loop reference of spec section 5 (the paper's
per-column code) compared bit for bit on random score matrices."""

from __future__ import annotations

import numpy as np
import pytest

from haan.evaluation.postprocess import detect, detect_videos, video_scores


def f32(*columns):
    """Columns -> a C-contiguous (T, C) float32 score matrix, like the network's output."""
    return np.ascontiguousarray(np.array(columns, dtype=np.float32).T)


def as_tuples(d):
    return list(zip(d.label.tolist(), d.start.tolist(), d.end.tolist(), d.score.tolist()))


def test_value_equal_to_threshold_is_not_detected():
    # x = [0, 2, 1, 1], alpha 0: thr = mean = 1; only clip 1 is > 1 (clips 2, 3 equal it).
    # c_s = mean of top ceil(4/2) = 2 values = (2 + 1) / 2 = 1.5; score = 2 + .75; ratio 2.
    d = detect(f32([0, 2, 1, 1]), sec2clip_ratio=2.0, alpha=0.0, kmax_mod_factor=2)
    assert as_tuples(d) == [(0, 0.5, 1.0, 2.75)]


def test_run_touching_the_last_clip_ends_at_T_over_ratio():
    # x = [0, 0, 3, 4]: thr = 1.75 -> clips [2, 4); end = 4 / 1.5. c_s = 3.5 -> score 4 + 1.75.
    d = detect(f32([0, 0, 3, 4]), sec2clip_ratio=1.5, alpha=0.0, kmax_mod_factor=2)
    assert as_tuples(d) == [(0, 2 / 1.5, 4 / 1.5, 5.75)]


def test_class_with_nonpositive_video_score_is_zeroed():
    # column 0: top 2 of [-1, -.5, -3, -2] average -.75 <= 0: zeroed, nothing (unzeroed, clips 0, 1
    # would exceed thr = -1.625). Column 1: top 2 of [1, -1, -2, -3] average exactly 0: zeroed too.
    # Column 2: [0, 1, 0, 0] -> c_s .5, thr .25 -> clip 1, score 1 + .25.
    d = detect(f32([-1, -0.5, -3, -2], [1, -1, -2, -3], [0, 1, 0, 0]), 1.0, 0.0, 2)
    assert as_tuples(d) == [(2, 1.0, 2.0, 1.25)]


def test_one_clip_video_has_no_detection():
    # T = 1: thr = x + alpha * 0 = x, and x > x never holds, whatever alpha.
    for alpha in (-0.8, 0.0, 0.1):
        assert len(detect(f32([0.7], [2.0]), 1.5, alpha, 2).label) == 0


def test_negative_alpha_lowers_the_threshold():
    # x = [1, 2, 3, 4], alpha -.5: thr = 2.5 - .5 * 3 = 1 -> clips 1..3; c_s = 3.5 -> score 5.75.
    d = detect(f32([1, 2, 3, 4]), 1.0, -0.5, 2)
    assert as_tuples(d) == [(0, 1.0, 4.0, 5.75)]


def test_top_k_count_is_rounded_up():
    # T = 5, factor 2: k = ceil(2.5) = 3 -> c_s = (5 + 4 + 3) / 3 = 4 (k = 2 would give 4.5).
    # thr = mean 2.4 -> clips [0, 3); score 5 + 2 = 7.
    x = f32([5, 4, 3, 0, 0])
    assert video_scores(x, 2).tolist() == [4.0]
    assert as_tuples(detect(x, 1.0, 0.0, 2)) == [(0, 0.0, 3.0, 7.0)]
    # factor 4 on T = 5: k = ceil(1.25) = 2 -> c_s 4.5
    assert video_scores(x, 4).tolist() == [4.5]


def test_several_runs_and_classes_are_ordered_by_class_then_start():
    # class 0: [3, 0, 3, 0, 5]: mean 2.2 -> runs [0,1), [2,3), [4,5); c_s (top 3) = 11/3.
    # class 1: [0, 4, 4, 0, 0]: mean 1.6 -> run [1, 3); c_s = 8/3.
    d = detect(f32([3, 0, 3, 0, 5], [0, 4, 4, 0, 0]), 1.0, 0.0, 2)
    c0 = np.float32(0.5) * np.float32(np.float32(11) / np.float32(3))
    c1 = np.float32(0.5) * np.float32(np.float32(8) / np.float32(3))
    assert d.label.tolist() == [0, 0, 0, 1]
    assert d.start.tolist() == [0, 2, 4, 1] and d.end.tolist() == [1, 3, 5, 3]
    assert d.score.tolist() == [float(np.float32(3) + c0), float(np.float32(3) + c0),
                                float(np.float32(5) + c0), float(np.float32(4) + c1)]
    assert d.label.dtype == np.int64 and d.score.dtype == np.float64


def test_detect_videos_concatenates_by_video():
    a, b = f32([0, 0, 3, 4]), f32([0, 2, 1, 1])
    d = detect_videos([a, np.zeros((0, 1), np.float32), b], [1.5, 1.0, 2.0], alpha=0.0, kmax_mod_factor=2)
    assert d.video.tolist() == [0, 2]
    assert list(zip(d.label.tolist(), d.start.tolist(), d.end.tolist(), d.score.tolist())) == [
        (0, 2 / 1.5, 4 / 1.5, 5.75), (0, 0.5, 1.0, 2.75)]
    empty = detect_videos([], [], 0.1, 2)
    assert len(empty) == 0 and empty.video.dtype == np.int64


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match=r"\(T, C\)"):
        detect(np.zeros(3), 1.0, 0.1, 2)
    with pytest.raises(ValueError, match="kmax_mod_factor"):
        detect(np.zeros((3, 2)), 1.0, 0.1, 0)
    with pytest.raises(ValueError, match="ratios"):
        detect_videos([np.zeros((3, 2))], [], 0.1, 2)


# ----------------------------------------------------------------------------------------------
# Plain-loop reference: the paper's per-column code, clip by clip.


def reference_detect(scores, ratio, alpha, factor):
    num_clips, num_classes = scores.shape
    top = -np.sort(-scores, axis=0)
    c_s = np.mean(top[: int(np.ceil(num_clips / factor)), :], axis=0)
    zeroed = scores * (c_s > 0.0)
    out = []
    for c in range(num_classes):
        x = zeroed[:, c]  # a strided 1-D column, reduced as the paper does
        thr = np.mean(x) + (np.max(x) - np.min(x)) * alpha
        t = 0
        while t < num_clips:
            if x[t] > thr:
                a = t
                while t < num_clips and x[t] > thr:
                    t += 1
                out.append((c, a / ratio, t / ratio, float(np.max(x[a:t]) + 0.5 * c_s[c])))
            else:
                t += 1
    return out


def test_detect_matches_the_plain_loop_reference_bit_for_bit():
    rng = np.random.default_rng(0)
    for n in range(300):
        num_clips, num_classes = int(rng.integers(1, 80)), int(rng.integers(1, 9))
        if n % 10 == 0:  # FineGym-long videos: past numpy's 128-element pairwise-sum block
            num_clips = int(rng.integers(129, 320))
        if n % 3 == 0:  # small integers: many values exactly at the threshold, plateaus, ties
            scores = rng.integers(-2, 4, (num_clips, num_classes)).astype(np.float32)
        else:
            scores = rng.normal(0.3, 1.0, (num_clips, num_classes)).astype(np.float32)
        if n % 7 == 0:
            scores = scores.astype(np.float64)
        alpha = float(rng.choice([-0.8, -0.3, 0.0, 0.1, 0.5]))
        factor = rng.choice([1, 2, 2.5, 4])
        ratio = float(rng.choice([1.5, 100 / 37.3]))
        want = reference_detect(scores, ratio, alpha, factor)
        assert as_tuples(detect(scores, ratio, alpha, factor)) == want


def test_threshold_is_computed_in_float32_even_for_a_numpy_alpha():
    # Clip 5 equals the float32 threshold exactly (found by a fixed-point search), so it is not
    # detected; with a float64 alpha the threshold would be 0.8736025989... < x[5] and the run
    # would start at clip 5 instead of 6.
    x = np.array([3.0, -2.0, 0.9404226541519165, 0.40490010380744934, -0.23566937446594238,
                  0.8736026287078857, 1.6040000915527344, 1.24708092212677, -0.4037352502346039,
                  -0.9654214978218079, -0.3232744634151459, 0.341325968503952], dtype=np.float32)
    assert np.mean(x) + (np.max(x) - np.min(x)) * 0.1 == x[5]
    assert np.mean(x) + (np.max(x) - np.min(x)) * np.float64(0.1) < x[5]
    d = detect(x[:, None], np.float64(1.0), np.float64(0.1), 2)
    assert list(zip(d.start.tolist(), d.end.tolist())) == [(0.0, 1.0), (2.0, 3.0), (6.0, 8.0)]


def test_class_mean_is_reduced_per_column_as_the_paper():
    # Column 0's clip 5 equals the paper's threshold (a pairwise float32 sum over the 1-D column)
    # exactly, so it is not detected; a plain np.mean(s, axis=0) over the (T, C) matrix sums in
    # another order, lands 1 ulp lower, and would detect it. Found by a fixed-point search.
    col0 = [3.0, -2.0, 1.443453073501587, 0.730485737323761, -0.09435205906629562, 0.7271096706390381,
            0.25236776471138, 1.1262181997299194, -0.3574310541152954, -0.2062891125679016,
            -0.09836128354072571, -1.2226704359054565, 0.20597417652606964, 1.1108475923538208,
            1.0676072835922241, 0.8452417850494385, -1.5370681285858154, -1.163914442062378,
            0.32167112827301025, 0.39130282402038574]
    col1 = [3.0, -2.0, -0.15261100232601166, 0.5509325861930847, -0.5624048709869385, 1.710423469543457,
            2.8223273754119873, 0.577780544757843, 1.6924692392349243, 1.8699491024017334,
            0.4859539270401001, 2.6432323455810547, -0.08511359244585037, -0.5913718342781067,
            -0.8712403774261475, -0.7441262602806091, -0.2937675714492798, 0.8532782196998596,
            0.8094465136528015, -0.053859028965234756]
    s = f32(col0, col1)
    x = s[:, 0]
    assert np.mean(x) + (np.max(x) - np.min(x)) * 0.1 == x[5]
    assert (np.mean(s, axis=0) + (np.max(s, axis=0) - np.min(s, axis=0)) * 0.1)[0] < x[5]
    d = detect(s, 1.0, 0.1, 2)
    assert as_tuples(d) == reference_detect(s, 1.0, 0.1, 2)
    assert 5.0 not in d.start[d.label == 0].tolist()
