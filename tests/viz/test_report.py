"""`haan report`'s Python side: the data it embeds (hand-worked true/false positives, the
evaluation of haan's own evaluator, video paths relative to the page, a diagnosis folder), the
escaping that keeps the data inside its <script> element, and that the page needs no network."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest

from haan.cli import main
from haan.errors import DataWarning, InputError
from haan.evaluation import activitynet
from haan.evaluation.metrics import (
    detection_true_positives,
    evaluate_detections,
    interpolated_ap,
)
from haan.viz.report import ReportOptions, escape_json_for_html, report_data, write_report

# The hand-made files predict a label ("swim") the ground truth never uses: a DataWarning.
pytestmark = pytest.mark.filterwarnings("ignore::haan.errors.DataWarning")

from viz_helpers import (
    REPORT_BITS,
    REPORT_PRED,
    REPORT_THRESHOLDS,
    report_data_of,
    write_report_inputs,
)


def test_flags_are_the_hand_worked_greedy_matching(tmp_path):
    gt, pred = write_report_inputs(tmp_path)
    with pytest.warns(DataWarning, match="1 predictions with labels the ground truth never "
                                         "uses are ignored: swim"):
        data, report = report_data(pred, tmp_path, ReportOptions(
            ground_truth=gt, subset="validation", tiou_thresholds=REPORT_THRESHOLDS))
    videos = {v["name"]: v for v in data["videos"]}
    assert data["classes"] == ["jump", "run", "swim"]   # the ground truth's sorted, then the rest
    assert data["thresholds"] == list(REPORT_THRESHOLDS)
    for name, bits in REPORT_BITS.items():
        assert [d[4] for d in videos[name]["det"]] == bits
        # file order, times and scores as given
        assert [d[1:4] for d in videos[name]["det"]] == [
            [*p["segment"], p["score"]] for p in REPORT_PRED["results"][name]]
    # subset validation: vid_t's ground truth is neither drawn nor its video listed
    assert sorted(videos) == ["vid_a", "vid_b"]
    assert videos["vid_a"]["gt"] == [[0, 1.0, 3.0], [1, 5.0, 8.0]]
    assert videos["vid_a"]["duration"] == 12.0 and videos["vid_b"]["duration"] is None
    # the evaluation is haan's: the same numbers as eval-detections on the same files
    expected = activitynet.evaluate_files(gt, pred, subset="validation",
                                          tiou_thresholds=REPORT_THRESHOLDS)
    fine = data["evaluation"]["fine"]
    assert fine["map"] == expected.metrics.mAP.tolist()
    assert fine["ap"] == expected.metrics.per_class_ap.tolist()
    assert fine["num_gt"] == [2, 1] and report.num_ground_truths == 3
    assert data["evaluation"]["ignored_labels"] == ["swim"]


def test_without_a_subset_the_other_subsets_ground_truth_is_drawn(tmp_path):
    gt, pred = write_report_inputs(tmp_path)
    data, _ = report_data(pred, tmp_path, ReportOptions(ground_truth=gt))
    videos = {v["name"]: v for v in data["videos"]}
    assert videos["vid_t"]["det"] == [] and videos["vid_t"]["gt"] == [[1, 0.0, 1.0]]
    assert videos["vid_t"]["subset"] == "training"


def _ap_from_flags(tp: np.ndarray, score: np.ndarray, num_gt: int) -> np.ndarray:
    """VOC AP of one class from its detections' flags (M, P), ranked as the paper ranks."""
    rank = np.argsort(score)[::-1]
    # C order, as the evaluator's: numpy's sums run in another order over other layouts (last bit)
    tp = np.ascontiguousarray(tp[:, rank])
    tp_cum = np.cumsum(tp, axis=1, dtype=np.float64)
    fp_cum = np.cumsum(~tp, axis=1, dtype=np.float64)
    return interpolated_ap(tp_cum / (tp_cum + fp_cum), tp_cum / num_gt)


def test_flags_give_back_the_evaluators_ap_on_random_detections_with_ties():
    """The flags are the matching AP is computed from: AP rebuilt from them is the evaluator's.
    Scores are distinct (numpy's argsort orders equal scores differently from one array to the
    next), tIoUs tie often."""
    rng = np.random.default_rng(0)
    n, p, c, v = 60, 400, 3, 8
    gt_start = rng.integers(0, 40, n) / 2.0
    gt_segment = np.stack([gt_start, gt_start + rng.integers(1, 8, n) / 2.0], axis=1)
    start = rng.integers(0, 40, p) / 2.0
    pred_segment = np.stack([start, start + rng.integers(1, 8, p) / 2.0], axis=1)  # tIoU ties
    score = rng.permutation(p) / p
    arrays = (rng.integers(0, v, n), rng.integers(0, c, n), gt_segment,
              rng.integers(0, v, p), rng.integers(0, c, p), pred_segment, score)
    thr = np.linspace(0.1, 0.9, 9)
    flags = detection_true_positives(*arrays, tiou_thresholds=thr)                # (M, P)
    metrics = evaluate_detections(*arrays, num_classes=c, tiou_thresholds=thr)
    assert flags.shape == (9, p) and flags.any() and not flags.all()
    for k in range(c):
        mine = arrays[4] == k
        ap = _ap_from_flags(flags[:, mine], score[mine], int((arrays[1] == k).sum()))
        np.testing.assert_array_equal(ap, metrics.per_class_ap[k])


HOSTILE = ['</script><script>window.__pwned=1</script>', '<!-- <script>', '"\'&amp;',
           '<img src=x onerror="window.__pwned=2">', "line\u2028separator\u2029"]


def test_the_embedded_json_cannot_leave_its_script_element():
    text = escape_json_for_html({"names": HOSTILE})
    assert not set("<>&\u2028\u2029") & set(text)
    assert json.loads(text) == {"names": HOSTILE}
    assert "\\u003c/script\\u003e" in text


def _hostile_inputs(folder: Path) -> tuple[Path, Path]:
    gt = {"database": {HOSTILE[3]: {"annotations": [{"segment": [0, 2], "label": HOSTILE[0]}]}}}
    pred = {"results": {HOSTILE[3]: [{"segment": [0, 2], "label": HOSTILE[0], "score": 0.5},
                                     {"segment": [1, 2], "label": HOSTILE[1], "score": 0.7}]}}
    return write_report_inputs(folder, gt, pred)


def test_the_page_holds_hostile_names_only_as_escaped_data(tmp_path):
    gt, pred = _hostile_inputs(tmp_path)
    out = tmp_path / "report.html"
    write_report(pred, out, ReportOptions(ground_truth=gt, title=HOSTILE[0]))
    html = out.read_text(encoding="utf-8")
    # two script elements (the data, the code), and none of the names as markup anywhere
    assert html.count("<script") == 2 and html.count("</script>") == 2
    for name in HOSTILE:
        assert name not in html
    assert "<title>haan report: &lt;/script&gt;&lt;script&gt;" in html
    data = report_data_of(html)
    assert data["classes"] == [HOSTILE[0], HOSTILE[1]] and data["title"] == HOSTILE[0]
    assert data["videos"][0]["name"] == HOSTILE[3]


def test_the_page_fetches_nothing_and_allows_only_its_own_script(tmp_path):
    gt, pred = write_report_inputs(tmp_path)
    out = tmp_path / "report.html"
    write_report(pred, out, ReportOptions(ground_truth=gt))
    html = out.read_text(encoding="utf-8")
    assert not re.search(r"https?://|//cdn|@import|url\(", html, re.I)
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', html).group(1)
    assert csp.startswith("default-src &#x27;none&#x27;;")
    script = re.search(r"<script>(.*?)</script>", html, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src &#x27;sha256-{digest}&#x27;;" in csp
    assert " src=" not in html.replace('id="report-data"', "")  # no element loads anything


def test_videos_are_found_by_id_and_referenced_relative_to_the_page(tmp_path):
    gt, pred = write_report_inputs(tmp_path)
    videos = tmp_path / "my videos"
    videos.mkdir()
    (videos / "vid_a.webm").write_bytes(b"")
    (videos / "vid_a.mp4").write_bytes(b"")   # preferred over .webm
    (videos / "v_vid_b.mkv").write_bytes(b"")  # with a v_ prefix
    (videos / "vid_c.txt").write_bytes(b"")
    out = tmp_path / "pages" / "deep" / "report.html"
    summary = write_report(pred, out, ReportOptions(videos_dir=videos))
    data = report_data_of(out.read_text(encoding="utf-8"))
    assert [v["src"] for v in data["videos"]] == ["../../my%20videos/vid_a.mp4",
                                                  "../../my%20videos/v_vid_b.mkv"]
    assert summary.num_video_files == 2 and summary.num_bytes == out.stat().st_size
    assert data["evaluation"] is None and data["thresholds"] == []
    assert all(len(d) == 4 for v in data["videos"] for d in v["det"])  # no flags without truth


def _png(path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(1, 1))
    fig.savefig(path)
    plt.close(fig)
    return path


def test_a_diagnosis_folder_is_embedded(tmp_path):
    _, pred = write_report_inputs(tmp_path)
    folder = tmp_path / "diag"
    folder.mkdir()
    first, second = _png(folder / "b_confusion.png"), _png(folder / "a_errors.png")
    (folder / "diagnosis.json").write_text(json.dumps(
        {"summary": {"false positives": 12, "localization error": 0.25, "nan": None},
         "other": {"ignored": "text"}}))
    data, _ = report_data(pred, tmp_path, ReportOptions(diagnosis_dir=folder))
    images = data["diagnosis"]["images"]
    assert [name for name, _ in images] == ["a_errors.png", "b_confusion.png"]
    for (name, uri), path in zip(images, [second, first]):
        assert uri.startswith("data:image/png;base64,")
        assert base64.b64decode(uri.split(",", 1)[1]) == path.read_bytes()
    assert data["diagnosis"]["summary"] == [["false positives", 12],
                                            ["localization error", 0.25], ["nan", None]]
    (folder / "diagnosis.json").write_text(json.dumps({"summary": {"kind": "text"}}))
    with pytest.raises(InputError, match="summary\\['kind'\\] must be a number"):
        report_data(pred, tmp_path, ReportOptions(diagnosis_dir=folder))


def test_cli_writes_the_page_and_refuses_bad_input_in_one_line(tmp_path, capsys):
    gt, pred = write_report_inputs(tmp_path)
    out = tmp_path / "r.html"
    args = ["report", "--predictions", str(pred), "--ground-truth", str(gt), "--subset",
            "validation", "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "ActivityNet detection mAP (subset validation): 3 ground truths" in printed
    assert f"wrote {out}" in printed and "2 videos, 7 detections" in printed
    before = out.read_bytes()
    assert main(args) == 2                                   # exists: not replaced
    assert "already exists; pass --overwrite" in capsys.readouterr().err
    assert out.read_bytes() == before
    assert main(args + ["--overwrite"]) == 0 and out.read_bytes() == before  # deterministic
    for extra, message in ((["--videos", str(tmp_path / "none")], "no such folder"),
                           (["--diagnosis", str(pred)], "must be a folder"),
                           (["--subset", "testing"], "no video of subset 'testing'")):
        capsys.readouterr()
        assert main(args + ["--overwrite"] + extra) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
    assert main(["report", "--predictions", str(pred), "--out", str(tmp_path / "r.txt")]) == 2
    assert ".html file" in capsys.readouterr().err


def test_hierarchy_adds_the_coarse_level(tmp_path):
    gt, pred = write_report_inputs(tmp_path)
    mapping = tmp_path / "h.json"
    mapping.write_text(json.dumps({"jump": "move", "run": "move"}))
    data, report = report_data(pred, tmp_path, ReportOptions(
        ground_truth=gt, subset="validation", hierarchy=mapping))
    coarse = data["evaluation"]["coarse"]
    assert coarse["names"] == ["move"] and coarse["num_gt"] == [3]
    assert coarse["map"] == report.coarse.mAP.tolist()


def test_the_slider_range_is_that_of_the_scores_the_page_holds(tmp_path):
    # 9.500080367175201e-05 is 9.50008e-05 in the page: a range from the exact value would hide
    # that detection with the slider at its lowest end
    scores = [9.500080367175201e-05, 0.5, 0.987654321]
    pred = tmp_path / "pred.json"
    pred.write_text(json.dumps({"results": {"v": [
        {"segment": [i, i + 1], "label": "a", "score": s} for i, s in enumerate(scores)]}}))
    data, _ = report_data(pred, tmp_path, ReportOptions())
    held = [d[3] for d in data["videos"][0]["det"]]
    assert data["score_range"] == [min(held), max(held)] == [9.50008e-05, 0.987654]
