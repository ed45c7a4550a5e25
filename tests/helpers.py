"""Helpers the tests import (`from helpers import ...`; tests/ is on sys.path through
conftest.py): a dataset's paper-format files, read, edited or loaded with overrides."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch
import torch.nn as nn

from haan.config import load_config
from haan.errors import InputError
from haan.models.haan import HAAN


def annotation_paths(folder: Path) -> dict[str, str]:
    """The [annotations] table for the paper's five files in `folder`."""
    names = {"video_names_path": "video_names.npy", "labels_path": "labels.npy",
             "segments_path": "segments.npy", "sec2clip_ratios_path": "sec2clip_ratios.npy",
             "fine_to_coarse_mappings_path": "fine_to_coarse_mappings.json"}
    return {key: str(Path(folder) / name) for key, name in names.items()}


# ----------------------------------------------------------------------------------------------
# A dataset's raw files


def load(config_path: Path, *overrides: str):
    """load_dataset of a config file with `section.key=value` overrides."""
    from haan.data import load_dataset

    return load_dataset(load_config(config_path, list(overrides)))


def error_of(config_path: Path, *overrides: str) -> str:
    """The one-line InputError message of loading this dataset."""
    with pytest.raises(InputError) as err:
        load(config_path, *overrides)
    message = str(err.value)
    assert "\n" not in message
    return message


def tiny_files(config_path: Path) -> dict:
    """The tiny dataset's raw files, as the paper's code reads them."""
    d = config_path.parent
    return {
        "names": np.load(d / "video_names.npy", allow_pickle=True),
        "labels": np.load(d / "labels.npy", allow_pickle=True),
        "segments": np.load(d / "segments.npy", allow_pickle=True),
        "ratios": np.load(d / "sec2clip_ratios.npy", allow_pickle=True),
        "features": np.load(d / "features.npy", allow_pickle=True),
        "mapping": json.loads((d / "fine_to_coarse_mappings.json").read_text()),
    }


def save_object_array(path: Path, items: list) -> None:
    out = np.empty(len(items), dtype=object)
    for i, x in enumerate(items):
        out[i] = x
    np.save(path, out, allow_pickle=True)


def edit_npy(path: Path, edit: Callable[[np.ndarray], np.ndarray]) -> None:
    x = np.load(path, allow_pickle=True)
    np.save(path, edit(x), allow_pickle=True)


# ----------------------------------------------------------------------------------------------
# A small HAAN, and the paper's block written independently

D, H, C, K = 12, 10, 5, 7


def small_model(seed: int = 0, dropout: float = 0.5, **sizes: int) -> HAAN:
    torch.manual_seed(seed)
    dims = dict(feature_size=D, hidden_size=H, num_fine_classes=C, num_visual_concepts=K)
    dims.update(sizes)
    return HAAN(**dims, dropout_rate=dropout)


class PaperBlock(nn.Module):
    """The paper's block layout, written independently: a checkpoint made by it must load."""

    def __init__(self, n_in: int, n_hidden: int, n_out: int, p: float) -> None:
        super().__init__()
        self.hidden_layer = nn.Linear(n_in, n_hidden)
        self.out_layer = nn.Linear(n_hidden, n_out)
        self.dropout = nn.Dropout(p)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = torch.clamp(x @ self.hidden_layer.weight.T + self.hidden_layer.bias, min=0)
        return h, h @ self.out_layer.weight.T + self.out_layer.bias


# ----------------------------------------------------------------------------------------------
# Clusters for k-means

def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def blobs(sizes: list[int], dim: int, scale: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = gen(seed)
    centres = scale * torch.randn(len(sizes), dim, generator=g)
    truth = torch.cat([torch.full((n,), i) for i, n in enumerate(sizes)])
    x = centres[truth] + torch.randn(len(truth), dim, generator=g)
    return x, truth


# ----------------------------------------------------------------------------------------------
# ActivityNet-format data: a taxonomy, 12 videos, features in four formats (R: 25 fps,
# 16-frame clips, as THUMOS14's I3D features)

# Root -> Sports -> Ball sports -> Basketball, Soccer; Sports -> Water -> Diving, Surfing;
# Root -> Household -> Cleaning -> Mopping, Vacuuming; Household -> Cooking (a leaf at depth 2).
TAXONOMY = [
    (0, "Root", None), (1, "Sports", 0), (2, "Household", 0), (3, "Ball sports", 1),
    (4, "Water", 1), (5, "Cleaning", 2), (10, "Basketball", 3), (11, "Soccer", 3),
    (12, "Diving", 4), (13, "Surfing", 4), (14, "Mopping", 5), (15, "Vacuuming", 5),
    (16, "Cooking", 2),
]
PARENT = {"Basketball": "Ball sports", "Soccer": "Ball sports", "Diving": "Water",
          "Surfing": "Water", "Mopping": "Cleaning", "Vacuuming": "Cleaning",
          "Cooking": "Household"}
DEPTH_1 = {"Basketball": "Sports", "Soccer": "Sports", "Diving": "Sports", "Surfing": "Sports",
           "Mopping": "Household", "Vacuuming": "Household", "Cooking": "Household"}
LABELS = sorted(PARENT)
R = 1.5625  # 25 fps, 16-frame clips


def taxonomy_json() -> list[dict]:
    names = {i: n for i, n, _ in TAXONOMY}
    return [{"nodeId": i, "nodeName": n, "parentId": p,
             "parentName": names[p] if p is not None else None} for i, n, p in TAXONOMY]


def write_activitynet(folder: Path, seed: int = 0, D: int = 6, durations: bool = True,
                      string_segments: bool = False, taxonomy: bool = True) -> dict:
    """An ActivityNet-format file and per-video features in several formats: 6 training, 4
    validation and 2 testing videos. Returns {"gt": path, "features": folder, "json": the data,
    "arrays": name -> (T, D) float32}."""
    rng = np.random.default_rng(seed)
    feats = folder / "features"
    feats.mkdir(parents=True)
    database, arrays = {}, {}
    subsets = ["training"] * 6 + ["validation"] * 4 + ["testing"] * 2
    for k, subset in enumerate(subsets):
        name = f"vid{k:02d}-{subset[:2]}"
        duration = round(float(rng.uniform(20, 60)), 2)
        T = round(duration * R)
        x = rng.standard_normal((T, D)).astype(np.float32)
        arrays[name] = x
        anns = []
        if subset != "testing":
            for j in range(int(rng.integers(1, 4))):
                start = round(float(rng.uniform(0, duration - 5)), 2)
                end = round(start + float(rng.uniform(0.5, 4)), 2)
                label = LABELS[(k + 3 * j) % len(LABELS)]
                seg = [str(start), str(end)] if string_segments else [start, end]
                anns.append({"segment": seg, "label": label})
        entry = {"subset": subset, "annotations": anns}
        if durations:
            entry["duration"] = duration
        database[name] = entry
        fmt = k % 4  # .npy, v_.npy, .csv with a header, v_.csv without
        stem = name if fmt in (0, 2) else f"v_{name}"
        if fmt < 2:
            np.save(feats / f"{stem}.npy", x)
        else:
            rows = "\n".join(",".join(repr(float(v)) for v in row) for row in x)
            header = ",".join(f"f{d}" for d in range(D)) + "\n" if fmt == 2 else ""
            (feats / f"{stem}.csv").write_text(header + rows + "\n")
    data = {"version": "test", "database": database}
    if taxonomy:
        data["taxonomy"] = taxonomy_json()
    gt = folder / "gt.json"
    gt.write_text(json.dumps(data))
    return {"gt": gt, "features": feats, "json": data, "arrays": arrays}


# ----------------------------------------------------------------------------------------------
# THUMOS14-shaped data

THUMOS14_CLASSES = [
    "BaseballPitch", "BasketballDunk", "Billiards", "CleanAndJerk", "CliffDiving",
    "CricketBowling", "CricketShot", "Diving", "FrisbeeCatch", "GolfSwing", "HammerThrow",
    "HighJump", "JavelinThrow", "LongJump", "PoleVault", "Shotput", "SoccerPenalty",
    "TennisSwing", "ThrowDiscus", "VolleyballSpiking"]
GROUPS = {"ball": ["BaseballPitch", "BasketballDunk", "Billiards", "CricketBowling",
                   "CricketShot", "FrisbeeCatch", "GolfSwing", "SoccerPenalty", "TennisSwing",
                   "VolleyballSpiking"],
          "athletics": ["HammerThrow", "HighJump", "JavelinThrow", "LongJump", "PoleVault",
                        "Shotput", "ThrowDiscus"],
          "other": ["CleanAndJerk", "CliffDiving", "Diving"]}


def write_thumos14(folder: Path) -> dict:
    """THUMOS14 as weakly-supervised repositories ship it: subsets "validation" (200 videos,
    training) and "test" (210), string segments, no durations; stand-in features, D = 8.
    Written into `folder`: features/<id>.npy, thumos14.json (the ground truth), groups.json (a
    coarse class for each label)."""
    rng = np.random.default_rng(14)
    feats = folder / "features"
    feats.mkdir()
    database = {}
    names = [f"video_validation_{k:07d}" for k in range(1, 201)]
    names += [f"video_test_{k:07d}" for k in range(1, 211)]
    for name in names:
        T = int(rng.integers(80, 400))
        np.save(feats / f"{name}.npy", rng.random((T, 8), dtype=np.float32))
        duration = T / R
        anns = []
        for label in rng.choice(THUMOS14_CLASSES, size=int(rng.integers(1, 3)), replace=False):
            for _ in range(int(rng.integers(1, 5))):
                start = float(rng.uniform(0, duration - 6))
                seg = [f"{start:.1f}", f"{start + float(rng.uniform(0.5, 5)):.1f}"]
                anns.append({"segment": seg, "label": str(label)})
                if label == "CliffDiving":  # THUMOS14 annotates every CliffDiving as Diving too
                    anns.append({"segment": seg, "label": "Diving"})
        database[name] = {"subset": "validation" if "validation" in name else "test",
                          "annotations": anns}
    gt = folder / "thumos14.json"
    gt.write_text(json.dumps({"database": database}))
    mapping = folder / "groups.json"
    mapping.write_text(json.dumps({c: g for g, cs in GROUPS.items() for c in cs}))
    return {"gt": gt, "features": feats, "database": database, "mapping": mapping}


# A HAAN model that trains in about a second (--set on top of an imported config).
TINY_RUN = ("hyperparameters.epochs=2", "hyperparameters.encoded_feature_size=16",
            "hyperparameters.num_visual_concepts=8", "hyperparameters.num_top_visual_concepts=2",
            "hyperparameters.batch_size=8", "hyperparameters.learning_rate=0.001")


def sets(overrides) -> list[str]:
    """`--set` options for the command line: ["--set", o1, "--set", o2, ...]."""
    return [x for o in overrides for x in ("--set", o)]
