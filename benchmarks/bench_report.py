"""`haan report` at the sizes the issue names: a THUMOS14-size file (210 videos, 20 classes,
~3,400 ground truths, ~9,000 detections) and a large one (1,000 videos x 100 detections, 200
classes), both with ground truth.

For each: the time to write the page (`haan.viz.report.write_report`: reading, the evaluation, the
true/false-positive flags, the page) against a baseline measured in the same run, the evaluation
alone (`haan.evaluation.activitynet.evaluate_files`, what `haan eval-detections` computes), and the
page's size. With Debian's chromium and chromium-driver installed (and selenium), it also opens
each page headless and times the load (navigation start to the page's script done) and one move
of the score slider (the event handler: counts over every video, the list, the selected video).

    python benchmarks/bench_report.py            # both cases
    python benchmarks/bench_report.py --quick    # the THUMOS14-size case only
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

from haan.evaluation.activitynet import evaluate_files  # noqa: E402
from haan.viz.report import ReportOptions, write_report  # noqa: E402

CASES = {  # name: (videos, classes, ground truths per video, detections per video)
    "THUMOS14-size": (210, 20, 16, 43),
    "1,000 x 100": (1000, 200, 10, 100),
}


def make_files(folder: Path, videos: int, classes: int, gts: int, dets: int, seed: int = 0
               ) -> tuple[Path, Path]:
    """Ground truth (Poisson(gts) per video) and exactly `dets` detections per video: half near a
    ground truth (jittered), half anywhere, scores uniform."""
    rng = np.random.default_rng(seed)
    names = [f"video_test_{i:07d}" for i in range(videos)]
    labels = [f"class_{c:03d}" for c in range(classes)]
    database, results = {}, {}
    for name in names:
        duration = float(rng.uniform(60, 600))
        n = max(1, int(rng.poisson(gts)))
        length = rng.uniform(1, 15, n)
        start = rng.uniform(0, duration - length)
        label = rng.integers(0, classes, n)
        database[name] = {"subset": "test", "duration": round(duration, 2), "annotations": [
            {"segment": [round(s, 2), round(s + w, 2)], "label": labels[c]}
            for s, w, c in zip(start.tolist(), length.tolist(), label.tolist())]}
        near = rng.integers(0, n, dets // 2)
        jitter = rng.normal(0, 0.3, (len(near), 2)) * length[near, None]
        seg = np.sort(np.stack([start[near], start[near] + length[near]], 1) + jitter, axis=1)
        free_start = rng.uniform(0, duration - 5, dets - len(near))
        seg = np.concatenate([seg, np.stack([free_start, free_start + rng.uniform(1, 10, len(
            free_start))], 1)])
        lab = np.concatenate([label[near], rng.integers(0, classes, len(free_start))])
        results[name] = [{"segment": [round(a, 3), round(b, 3)], "label": labels[c],
                          "score": round(s, 4)}
                         for (a, b), c, s in zip(seg.tolist(), lab.tolist(),
                                                 rng.random(dets).tolist())]
    gt, pred = folder / "gt.json", folder / "pred.json"
    gt.write_text(json.dumps({"database": database}))
    pred.write_text(json.dumps({"results": results}))
    return gt, pred


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def browser_timings(pages: list[Path]) -> list[tuple[float, float]] | None:
    """(load ms, slider ms) of each page in headless Debian chromium; None without it."""
    if not (Path("/usr/bin/chromium").is_file() and Path("/usr/bin/chromedriver").is_file()):
        return None
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.support.ui import WebDriverWait
    except ImportError:
        return None
    os.environ["SE_AVOID_STATS"] = "true"
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", f"--user-data-dir={tempfile.mkdtemp()}",
                "--window-size=1400,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    out = []
    try:
        for page in pages:
            driver.get(page.resolve().as_uri())
            WebDriverWait(driver, 60).until(
                lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))
            load = driver.execute_script(
                "const e = performance.getEntriesByType('navigation')[0];"
                "return e.domContentLoadedEventEnd - e.startTime;")
            slider = driver.execute_script(
                "const s = document.getElementById('threshold'); s.value = 500;"
                "const t = performance.now(); s.dispatchEvent(new Event('input'));"
                "return performance.now() - t;")
            out.append((load, slider))
    finally:
        driver.quit()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the THUMOS14-size case only")
    parser.add_argument("--repeat", type=int, default=3, help="best of N timings (default 3)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    rows, pages = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (videos, classes, gts, dets) in CASES.items():
            if args.quick and name != "THUMOS14-size":
                continue
            folder = Path(tmp) / name.replace(",", "").replace(" ", "")
            folder.mkdir()
            gt, pred = make_files(folder, videos, classes, gts, dets)
            page = folder / "report.html"
            options = ReportOptions(ground_truth=gt)
            baseline = best_of(args.repeat, lambda: evaluate_files(gt, pred))
            report = best_of(args.repeat, lambda: write_report(pred, page, options,
                                                               overwrite=True))
            summary = write_report(pred, page, options, overwrite=True)
            rows.append((name, summary, gt.stat().st_size + pred.stat().st_size, baseline,
                         report))
            pages.append(page)
        timings = browser_timings(pages)
        print("case           videos  detections  ground truths  inputs MB  page MB  "
              "evaluate s  report s  report/evaluate")
        for name, s, inputs, baseline, report in rows:
            print(f"{name:<14} {s.num_videos:>6}  {s.num_detections:>10}  "
                  f"{s.evaluation.num_ground_truths:>13}  {inputs / 1e6:>9.2f}  "
                  f"{s.num_bytes / 1e6:>7.2f}  {baseline:>10.2f}  {report:>8.2f}  "
                  f"{report / baseline:>15.2f}x")
        if timings is None:
            print("browser: not timed (needs chromium, chromium-driver and selenium)")
        else:
            for (name, *_), (load, slider) in zip(rows, timings):
                print(f"browser, {name}: page loaded and drawn in {load:.0f} ms; one slider move "
                      f"{slider:.1f} ms")


if __name__ == "__main__":
    main()
