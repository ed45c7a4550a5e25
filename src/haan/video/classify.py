"""`haan classify`: the Kinetics-400 classes the default I3D weights see in a video, the quick
check that the network, its weights and the decoding work (a video of a well-known action
should have it in its top 5).

Each clip's 400 logits (the network's `forward`: the pooled features through the logits layer)
go through a softmax; a video's probabilities are the mean over its clips. Class names are
DeepMind's `data/label_map.txt` (kinetics400_labels.txt beside this file, Apache-2.0, see
kinetics400_labels.NOTICE).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from haan.errors import InputError

LABELS_FILE = Path(__file__).with_name("kinetics400_labels.txt")


def kinetics_labels() -> list[str]:
    labels = LABELS_FILE.read_text(encoding="utf-8").splitlines()
    assert len(labels) == 400, LABELS_FILE  # shipped with the package
    return labels


def softmax(logits: np.ndarray) -> np.ndarray:
    """(N, C) -> (N, C) probabilities, rows summing to 1 (shifted by the row max: no overflow)."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def video_probabilities(clip_logits: np.ndarray) -> np.ndarray:
    """(T, C) clip logits -> (C,) the clips' softmax probabilities averaged."""
    return softmax(clip_logits.astype(np.float64)).mean(axis=0)


@dataclass(frozen=True)
class Classified:
    video: Path
    clips: int
    top: list[tuple[str, float]]  # (class name, probability), most probable first


def top_classes(probabilities: np.ndarray, labels: Sequence[str], k: int
                ) -> list[tuple[str, float]]:
    order = np.argsort(-probabilities, kind="stable")[:k]
    return [(labels[i], float(probabilities[i])) for i in order]


def format_top(result: Classified) -> str:
    """`video (T clips): name 0.912, name 0.031, ...`"""
    classes = ", ".join(f"{name} {p:.3f}" for name, p in result.top)
    return f"{result.video} ({result.clips} clips): {classes}"


def classify_videos(videos: Sequence[str | Path], spec, k: int = 5, precision: str = "auto",
                    device: str = "auto", batch_size: int = 8) -> Iterator[Classified | str]:
    """Per video, in order: its Classified, or the one line saying why it could not be read."""
    import torch

    from haan.runtime.device import resolve_device
    from haan.video.extract import VideoClips
    from haan.video.network import build_network

    if k < 1:
        raise InputError(f"--top {k}: must be at least 1")
    if batch_size < 1:
        raise InputError(f"--batch-size {batch_size}: must be at least 1")
    labels = kinetics_labels()
    network = build_network("rgb", precision=precision)
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    for video in map(Path, videos):
        clips = VideoClips(video, spec, flow=False, batch_size=batch_size)
        try:
            logits = np.concatenate([network.logits(batch, dev) for batch in clips])
        except InputError as exc:
            yield str(exc)
            continue
        yield Classified(video, len(logits), top_classes(video_probabilities(logits), labels, k))


__all__ = ["Classified", "classify_videos", "format_top", "kinetics_labels", "softmax",
           "top_classes", "video_probabilities"]
