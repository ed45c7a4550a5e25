"""`haan report`'s page in a real browser: Debian's headless Chromium driven by Selenium, the
driver's path given explicitly so that Selenium Manager never runs (it would download a browser and
send usage statistics). Skipped, with the install command, where the browser is not installed.

The page loads with no console error; the score slider hides detections and the counts change;
clicking a detection seeks the video to its start; names full of HTML and JavaScript show as text
and run nothing. A screenshot goes to /tmp/h3-report.png for a person to look at.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from haan.viz.report import ReportOptions, write_report

# The hand-made files predict a label ("swim") the ground truth never uses: a DataWarning.
pytestmark = pytest.mark.filterwarnings("ignore::haan.errors.DataWarning")

from viz_helpers import write_report_inputs

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
SKIP_REASON = "needs Debian's chromium and chromium-driver: apt-get install chromium chromium-driver"
SCREENSHOT = Path(tempfile.gettempdir()) / "h3-report.png"


@pytest.fixture(scope="module")
def browser():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip(SKIP_REASON)
    if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
        pytest.skip(SKIP_REASON)
    os.environ["SE_AVOID_STATS"] = "true"  # Selenium's usage statistics: never
    profile = tempfile.mkdtemp(prefix="haan-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--mute-audio", "--window-size=1400,1000",
                f"--user-data-dir={profile}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _open(driver, page: Path) -> list[dict]:
    """Load the page, wait until its script is done; the console messages of the load."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get_log("browser")  # drop what an earlier page logged
    driver.get(page.resolve().as_uri())
    WebDriverWait(driver, 10).until(
        lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))
    return driver.get_log("browser")


def _severe(log: list[dict]) -> list[dict]:
    return [entry for entry in log if entry["level"] == "SEVERE"]


def _write_video(driver, folder: Path) -> Path:
    """A 4 s, 64 x 48, 10 fps video in a codec this Chromium plays: H.264 in MP4 (Debian's
    chromium plays it), else VP8 in WebM."""
    from video_helpers import constant_rate

    folder.mkdir(parents=True, exist_ok=True)
    h264 = driver.execute_script(
        "return document.createElement('video').canPlayType('video/mp4; codecs=\"avc1.64000a\"')")
    if h264:
        return constant_rate(folder / "vid_a.mp4", 4.0, 10, height=48, width=64)
    return _write_vp8(folder / "vid_a.webm")


def _write_vp8(path: Path) -> Path:
    import av
    import numpy as np

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libvpx", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(40):
            image = np.full((48, 64, 3), 6 * i, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def test_page_loads_without_console_errors_and_slider_hides_detections(browser, tmp_path):
    gt, pred = write_report_inputs(tmp_path)
    page = tmp_path / "report.html"
    write_report(pred, page, ReportOptions(ground_truth=gt, subset="validation"))
    assert _severe(_open(browser, page)) == []
    shown = browser.execute_script("return Number(document.getElementById('totals').dataset.shown)")
    assert shown == 7  # every detection at the lowest threshold
    assert len(browser.find_elements("css selector", "#timeline .det")) == 6  # vid_a's
    # the slider to 0.65 of the score range [0.2, 0.9]: 0.655 hides scores 0.2, 0.4, 0.5, 0.6
    browser.execute_script("const s = document.getElementById('threshold'); s.value = 650;"
                           "s.dispatchEvent(new Event('input'));")
    bars = browser.find_elements("css selector", "#timeline .det")
    starts = sorted(float(b.get_attribute("data-start")) for b in bars)
    assert starts == [1.5, 5.5]   # jump 0.9 and run 0.7 stay in vid_a
    assert browser.execute_script(
        "return Number(document.getElementById('totals').dataset.shown)") == 3  # + vid_b's 0.8
    rows = browser.find_elements("css selector", "#det-table tbody tr")
    assert len(rows) == 2
    counts = [e.text for e in browser.find_elements("css selector", "#video-list .vcount")]
    assert counts == ["2/6", "1/1"]
    assert _severe(browser.get_log("browser")) == []


def test_clicking_a_detection_seeks_the_video_to_its_start(browser, tmp_path):
    from selenium.webdriver.support.ui import WebDriverWait

    gt, pred = write_report_inputs(tmp_path)
    _write_video(browser, tmp_path / "videos")
    page = tmp_path / "pages" / "report.html"   # the video is at ../videos/ from the page
    summary = write_report(pred, page, ReportOptions(ground_truth=gt, subset="validation",
                                                     videos_dir=tmp_path / "videos"))
    assert summary.num_video_files == 1
    assert _severe(_open(browser, page)) == []
    WebDriverWait(browser, 10).until(lambda d: d.execute_script(
        "return document.getElementById('player').readyState >= 1"))
    assert abs(browser.execute_script("return document.getElementById('player').duration")
               - 4.0) < 0.2
    bar = next(b for b in browser.find_elements("css selector", "#timeline .det")
               if b.get_attribute("data-start") == "1.5")
    bar.click()
    WebDriverWait(browser, 10).until(lambda d: d.execute_script(
        "return !document.getElementById('player').seeking"))
    assert browser.execute_script("return document.getElementById('player').currentTime") == 1.5
    # the playhead sits at 1.5 s of the 12 s timeline (vid_a's duration)
    track, head = browser.execute_script(
        "const t = document.querySelector('#timeline .lane .track');"
        "return [[t.offsetLeft, t.offsetWidth], document.getElementById('playhead').offsetLeft];")
    assert abs(head - (track[0] + 1.5 / 12.0 * track[1])) <= 2
    assert "current" in browser.find_elements(
        "css selector", "#det-table tbody tr")[2].get_attribute("class")  # by start: 0, 1, 1.5
    browser.save_screenshot(str(SCREENSHOT))
    assert _severe(browser.get_log("browser")) == []


HOSTILE_CLASS = '</script><script>window.__pwned = 1</script>'
HOSTILE_CLASS_2 = '<img src=x onerror="window.__pwned = 2"> "quoted" \'single\''
HOSTILE_VIDEO = '"><svg onload="window.__pwned = 3"><!--'


def test_names_full_of_html_and_javascript_show_as_text_and_run_nothing(browser, tmp_path):
    gt = {"database": {HOSTILE_VIDEO: {"annotations": [
        {"segment": [0, 2], "label": HOSTILE_CLASS}, {"segment": [3, 4], "label": HOSTILE_CLASS_2}]}}}
    pred = {"results": {HOSTILE_VIDEO: [
        {"segment": [0, 2], "label": HOSTILE_CLASS, "score": 0.9},
        {"segment": [3, 4], "label": HOSTILE_CLASS_2, "score": 0.8}]}}
    gt_path, pred_path = write_report_inputs(tmp_path, gt, pred)
    page = tmp_path / "report.html"
    write_report(pred_path, page, ReportOptions(ground_truth=gt_path, title=HOSTILE_CLASS_2))
    assert _severe(_open(browser, page)) == []
    assert browser.execute_script("return typeof window.__pwned") == "undefined"
    assert browser.execute_script("return document.querySelectorAll('img, svg, iframe').length") == 0
    text = browser.find_element("tag name", "body").text
    for name in (HOSTILE_CLASS, HOSTILE_CLASS_2, HOSTILE_VIDEO):
        assert name in text
    assert browser.find_element("id", "title").text == HOSTILE_CLASS_2
    assert browser.find_element("css selector", "#video-list .vname").text == HOSTILE_VIDEO
    labels = [e.text for e in browser.find_elements("css selector", "#timeline .lane-label")]
    assert f"{HOSTILE_CLASS} (1)" in labels and f"{HOSTILE_CLASS_2} (1)" in labels
    browser.find_element("css selector", '#tabs [data-tab="evaluation"]').click()
    cells = [e.text for e in browser.find_elements("css selector", "#ap-fine tbody td.text")]
    assert sorted(cells) == sorted([HOSTILE_CLASS, HOSTILE_CLASS_2])
    assert browser.execute_script("return typeof window.__pwned") == "undefined"


def test_diagnosis_figures_show_under_the_content_security_policy(browser, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _, pred = write_report_inputs(tmp_path)
    folder = tmp_path / "diagnosis"
    folder.mkdir()
    fig = plt.figure(figsize=(2, 1.5), dpi=50)
    fig.savefig(folder / "errors.png")
    plt.close(fig)
    (folder / "diagnosis.json").write_text(
        '{"summary": {"false positives": 7, "AR@100 (%)": 78.48421679571173, "tiny": 0.0012345}}')
    page = tmp_path / "report.html"
    write_report(pred, page, ReportOptions(diagnosis_dir=folder))
    assert _severe(_open(browser, page)) == []
    browser.find_element("css selector", '#tabs [data-tab="diagnosis"]').click()
    assert browser.execute_script(
        "const i = document.querySelector('#figures img'); return [i.complete, i.naturalWidth];"
    ) == [True, 100]
    assert [e.text for e in browser.find_elements("css selector", "#summary-table td")] == [
        "false positives", "7.00", "AR@100 (%)", "78.48", "tiny", "0.00123"]
    assert _severe(browser.get_log("browser")) == []
