"""`haan diagnose --protocol detad-*` against DETAD's own numbers on a fixed pair: DETAD's real
THUMOS14 test annotations and a seeded synthetic detector (see
tests/fixtures/detad_reference/make_reference.py, which ran DETAD's code to make them). The
scores are all distinct, so no tie decides anything; the numbers agree to float round-off."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pytest

from haan.recipes.diagnose import run_diagnose

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "detad_reference"
NAMES = {"True Positive": "true positive", "Double Detection Err": "double detection",
         "Wrong Label Err": "wrong label", "Localization Err": "localization",
         "Confusion Err": "confusion", "Background Err": "background"}
TOL = 1e-12


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pair")
    for name in ("thumos14_test_gt.json", "predictions.json"):
        (folder / name).write_bytes(gzip.decompress((FIXTURES / f"{name}.gz").read_bytes()))
    return folder / "thumos14_test_gt.json", folder / "predictions.json"


@pytest.fixture(scope="module", params=["thumos14", "activitynet"])
def both(request, pair, tmp_path_factory):
    setting = request.param
    out = tmp_path_factory.mktemp(setting)
    report = run_diagnose(str(pair[0]), str(pair[1]), str(out), subset="testing",
                          protocol=f"detad-{setting}")
    reference = json.loads((FIXTURES / f"{setting}.json").read_text())
    return report["detad"], reference


def close(a, b):
    return (a is None and math.isnan(b)) or a == pytest.approx(b, abs=TOL)


def test_normalized_map_and_n(both):
    ours, ref = both
    fp = ours["false_positives"]
    assert fp["tiou_thresholds"] == pytest.approx(ref["tiou_thresholds"], abs=0)
    assert fp["N"] == ref["N"] and fp["num_predictions"] == ref["fp_num_predictions"]
    assert close(fp["average_mAP_N"], ref["fp_average_mAP_N"])
    assert close(ours["sensitivity"]["average_mAP_N"], ref["sensitivity_base"])


def test_error_shares_overall_and_per_rank_slice(both):
    ours, ref = both
    fp = ours["false_positives"]
    columns = [str(t) for t in ref["tiou_thresholds"]]
    for detad_name, name in NAMES.items():
        shares = ref["fp_all"][detad_name]
        assert all(close(a, shares[c]) for a, c in zip(fp["all"][name]["per_threshold"], columns))
        assert close(fp["all"][name]["average"], shares["avg"])
        for k in range(10):
            assert close(fp["rank_slices"][k][name]["average"], ref["fp_slices"][k][detad_name]["avg"])


def test_removal_gains(both):
    ours, ref = both
    for detad_name, gain in ref["removal_gain"].items():
        assert close(ours["false_positives"]["removal"][NAMES[detad_name]]["gain"], gain)


def test_false_negative_rates_per_bin(both):
    ours, ref = both
    for characteristic, per_threshold in ref["false_negative"].items():
        section = ours["false_negatives"][characteristic]
        rates = dict(zip(section["bins"], section["miss_rate"]))
        for column, by_bin in per_threshold.items():
            for bin_name, value in by_bin.items():   # DETAD lists the bins that have ground truth
                got = rates[bin_name]["average" if column == "avg" else "per_threshold"]
                if column != "avg":
                    got = got[[str(t) for t in ref["tiou_thresholds"]].index(column)]
                assert close(got, value), (characteristic, column, bin_name)
        empty = [b for b, n in zip(section["bins"], section["count"]) if n == 0]
        assert set(empty).isdisjoint(per_threshold["avg"])


def test_sensitivity_per_bin(both):
    ours, ref = both
    for characteristic, by_bin in ref["sensitivity"].items():
        section = ours["sensitivity"][characteristic]
        got = dict(zip(section["bins"], section["average_mAP_N"]))
        assert set(got) == set(by_bin)
        for bin_name, value in by_bin.items():
            assert close(got[bin_name], value), (characteristic, bin_name)


def test_the_matching_gives_the_official_ap(pair):
    """With N = the class's own count, AP_N is the usual AP: on the real annotations, the matching
    here gives haan.evaluation.metrics' AP (the official evaluator's, to 1e-12) for every class."""
    import numpy as np

    from haan.evaluation.diagnosis.analyses import class_ranks, match_all
    from haan.evaluation.diagnosis.matching import rank_by_score
    from haan.evaluation.diagnosis.normalized_ap import normalized_ap
    from haan.evaluation.diagnosis.protocol import PROTOCOLS
    from haan.evaluation.metrics import evaluate_detections
    from haan.recipes.diagnose_inputs import read_inputs

    data = read_inputs(pair[0], pair[1], "testing", PROTOCOLS["haan"]).data
    thr = np.linspace(0.5, 0.95, 10)
    order = rank_by_score(data.pred_score)
    keep = np.ones(len(order), dtype=bool)
    matched = match_all(data, keep, order, thr)
    ranks = class_ranks(data, keep, order)
    counts = np.bincount(data.gt_label, minlength=data.num_classes)
    official = evaluate_detections(data.gt_video, data.gt_label, data.gt_segment, data.pred_video,
                                   data.pred_label, data.pred_segment, data.pred_score,
                                   data.num_classes, thr)
    for c in range(data.num_classes):
        ours = normalized_ap(matched[:, ranks[c]] >= 0, counts[c], float(counts[c]))
        np.testing.assert_allclose(ours, official.per_class_ap[c], rtol=0, atol=1e-12)
