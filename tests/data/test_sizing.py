"""haan.data.sizing: the size-bound settings of an import fitted to the data, hand-worked, and the
paper's config kept exactly for datasets of the paper's size (the real annotation files)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from haan.config import load_config
from haan.data import import_activitynet
from haan.data.sizing import CLIPS_PER_CONCEPT, fit_hyperparameters

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


def template(name: str = "fine_gym") -> dict:
    return load_config(name).to_dict()["hyperparameters"]


def test_the_issues_toy_dataset():
    """64-d features, 348 training clips (the issue's toy run): the FineGym template would stop
    at the k-means size check (int(0.1 x 348) = 34 clips for 500 concepts)."""
    fitted, reasons = fit_hyperparameters(template(), feature_dim=64, num_training_clips=348,
                                          num_training_videos=12)
    # Every clip (rate 1) and 348 // 20 = 17 concepts of 20 clips; H = min(2048, 64).
    assert (fitted["feature_size"], fitted["encoded_feature_size"]) == (64, 64)
    assert (fitted["num_visual_concepts"], fitted["clustering_sample_rate"]) == (17, 1.0)
    assert fitted["num_top_visual_concepts"] == 5 and fitted["batch_size"] == 2
    assert fitted["epochs"] == 200 and fitted["learning_rate"] == 3e-5  # not size-bound
    assert int(fitted["clustering_sample_rate"] * 348) >= fitted["num_visual_concepts"]
    assert reasons[2] == ("num_visual_concepts = 17, clustering_sample_rate = 1: "
                          "num_visual_concepts 500 -> 17, clustering_sample_rate 0.1 -> 1: all "
                          "348 training clips make 17 concepts of 20 clips")


def test_a_higher_rate_before_fewer_concepts():
    # 18,919 clips: 0.1 gives 1,891 < 20 x 500 = 10,000; 10,000 / 18,919 = 0.52857 -> 0.529.
    fitted, _ = fit_hyperparameters(template(), feature_dim=128, num_training_clips=18919,
                                    num_training_videos=225)
    assert (fitted["num_visual_concepts"], fitted["clustering_sample_rate"]) == (500, 0.529)
    assert int(0.529 * 18919) >= CLIPS_PER_CONCEPT * 500
    assert fitted["encoded_feature_size"] == 128


def reasons_of(clips: int) -> list[str]:
    return fit_hyperparameters(template(), feature_dim=8, num_training_clips=clips,
                               num_training_videos=3)[1]


def test_tiny_data_keeps_the_config_valid():
    # 40 clips: 40 // 20 = 2 < num_top 5 -> K = 5; 3 clips: K = 3 clips, top cut to 3; 1 video.
    fitted, _ = fit_hyperparameters(template(), feature_dim=8, num_training_clips=40,
                                    num_training_videos=3)
    assert (fitted["num_visual_concepts"], fitted["num_top_visual_concepts"]) == (5, 5)
    assert reasons_of(40)[2].endswith(": all 40 training clips make 2 concepts of 20 clips, "
                                      "raised to num_top_visual_concepts = 5")
    fitted, reasons = fit_hyperparameters(template(), feature_dim=8, num_training_clips=3,
                                          num_training_videos=1)
    assert (fitted["num_visual_concepts"], fitted["num_top_visual_concepts"]) == (3, 3)
    assert reasons[2].endswith(": all 3 training clips are fewer than 20, raised to "
                               "num_top_visual_concepts = 5 but at most one concept per clip: 3")
    assert fitted["batch_size"] == 1
    assert "batch_size = 1: the template's 2 cut to the 1 training videos" in reasons


def test_wide_features_keep_the_templates_encoder():
    fitted, _ = fit_hyperparameters(template("fine_action"), feature_dim=4096,
                                    num_training_clips=10**6, num_training_videos=9000)
    assert fitted == {**template("fine_action"), "feature_size": 4096}


@pytest.mark.skipif(not (SHARED / "FineGym").is_dir(), reason="no FineGym annotation files")
def test_finegym_sized_data_gets_exactly_the_paper_config():
    """FineGym's training clips from its real files (duration x clips per second, rounded up:
    the clip count of its features), D = 2048: the paper's [hyperparameters], unchanged."""
    durations = np.load(SHARED / "FineGym" / "duration.npy", allow_pickle=True)
    ratios = np.load(SHARED / "FineGym" / "sec2clip_ratios.npy", allow_pickle=True)
    clips = np.ceil(durations.astype(np.float64).ravel() * ratios.astype(np.float64).ravel())
    train_clips = int(clips[:3775].sum())
    assert 290_000 < train_clips < 310_000  # 30,015 sampled clips: 60 per concept
    fitted, _ = fit_hyperparameters(template(), feature_dim=2048, num_training_clips=train_clips,
                                    num_training_videos=3775)
    assert fitted == template()


@pytest.mark.skipif(not (SHARED / "FineAction").is_dir(), reason="no FineAction annotations")
def test_fineaction_sized_data_gets_exactly_the_paper_config():
    """FineAction: 100 resampled clips per video, 8,440 training videos, D = 4096."""
    names = np.load(SHARED / "FineAction" / "video_names.npy", allow_pickle=True)
    assert len(names) == 12614
    fitted, _ = fit_hyperparameters(template("fine_action"), feature_dim=4096,
                                    num_training_clips=8440 * 100, num_training_videos=8440)
    assert fitted == template("fine_action")


def test_an_import_writes_the_fitted_settings(tmp_path):
    """The issue's toy shape through the importer: 12 training videos of 29 clips (348), 64-d."""
    feats = tmp_path / "feats"
    feats.mkdir()
    rng = np.random.default_rng(0)
    database = {}
    for k in range(16):
        name = f"v{k:02d}"
        np.save(feats / f"{name}.npy", rng.standard_normal((29, 64)).astype(np.float32))
        database[name] = {"subset": "training" if k < 12 else "validation", "duration": 19.33,
                          "annotations": [{"segment": [1.0, 3.0], "label": f"c{k % 3}"}]}
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"database": database}))
    s = import_activitynet(gt, feats, tmp_path / "data", hierarchy="flat", clips_per_second=1.5)
    h = load_config(s.config_path).hyperparameters
    assert (h.feature_size, h.encoded_feature_size, h.num_visual_concepts,
            h.clustering_sample_rate) == (64, 64, 17, 1.0)
    assert s.sizing[0] == "feature_size = 64: the features' D"
    # --set still wins over the fitted value.
    s = import_activitynet(gt, feats, tmp_path / "data", hierarchy="flat", clips_per_second=1.5,
                           overrides=["hyperparameters.num_visual_concepts=9"], overwrite=True)
    assert load_config(s.config_path).hyperparameters.num_visual_concepts == 9
