"""Helpers of the figure tests: the file formats' first bytes, bar geometry read back from the
artists, and writing a run folder's CSV files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.container import BarContainer

MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "svg": b"<?xml", "pdf": b"%PDF-"}


def bar_geometry(container: BarContainer) -> np.ndarray:
    """(n, 4) left, width, y centre, height of horizontal bars."""
    return np.array([[r.get_x(), r.get_width(), r.get_y() + r.get_height() / 2, r.get_height()]
                     for r in container.patches]).reshape(-1, 4)


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    path.write_text("\n".join(",".join(str(v) for v in r) for r in [header, *rows]) + "\n")



# ----------------------------------------------------------------------------------------------
# `haan report`: a small, hand-worked pair of files

# tIoU of each detection with its class's ground truth, worked by hand (all exact in binary):
# vid_a jump GT [1, 3]: [1.5, 3] -> 1.5/2 = 0.75; [1, 3] -> 1; [0, 1.5] -> 0.5/3 = 1/6.
# vid_a run GT [5, 8]: [5.5, 8] -> 2.5/3 = 0.833...; [9, 10] -> 0.
# vid_b jump GT [2, 4]: [2, 3] -> 1/2 = 0.5.
REPORT_THRESHOLDS = (0.5, 0.75, 0.8, 0.95)
REPORT_GT = {"database": {
    "vid_a": {"subset": "validation", "duration": 12.0, "annotations": [
        {"segment": [1.0, 3.0], "label": "jump"}, {"segment": [5.0, 8.0], "label": "run"}]},
    "vid_b": {"subset": "validation", "annotations": [{"segment": [2.0, 4.0], "label": "jump"}]},
    "vid_t": {"subset": "training", "annotations": [{"segment": [0.0, 1.0], "label": "run"}]},
}}
REPORT_PRED = {"results": {
    "vid_a": [{"segment": [1.5, 3.0], "label": "jump", "score": 0.9},
              {"segment": [1.0, 3.0], "label": "jump", "score": 0.6},
              {"segment": [0.0, 1.5], "label": "jump", "score": 0.5},
              {"segment": [5.5, 8.0], "label": "run", "score": 0.7},
              {"segment": [9.0, 10.0], "label": "run", "score": 0.2},
              {"segment": [2.0, 3.0], "label": "swim", "score": 0.4}],
    "vid_b": [{"segment": [2.0, 3.0], "label": "jump", "score": 0.8}],
}}
# The greedy matching at (0.5, 0.75, 0.8, 0.95), as bits (bit m: TP at threshold m):
# jump 0.9 takes vid_a's GT at 0.5 and 0.75 (tIoU 0.75), so jump 0.6 (tIoU 1, ranked after it)
# finds it taken there and takes it only at 0.8 and 0.95; jump 0.5 never reaches 0.5; run 0.7
# (0.833) is a TP up to 0.8; swim is a label the ground truth never uses: not scored (-1).
REPORT_BITS = {"vid_a": [0b0011, 0b1100, 0, 0b0111, 0, -1], "vid_b": [0b0001]}


def write_report_inputs(folder: Path, gt: dict | None = None, pred: dict | None = None
                        ) -> tuple[Path, Path]:
    """(GT.json, PRED.json) in `folder`: the hand-worked pair unless others are given."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    gt_path, pred_path = folder / "gt.json", folder / "pred.json"
    gt_path.write_text(json.dumps(REPORT_GT if gt is None else gt), encoding="utf-8")
    pred_path.write_text(json.dumps(REPORT_PRED if pred is None else pred), encoding="utf-8")
    return gt_path, pred_path


def report_data_of(html: str) -> dict:
    """The JSON data embedded in a report page."""
    import json
    import re

    found = re.search(r'<script id="report-data" type="application/json">(.*?)</script>', html,
                      re.S)
    assert found is not None
    return json.loads(found.group(1))
