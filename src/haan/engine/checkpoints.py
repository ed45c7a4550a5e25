"""Checkpoint files: one `torch.save`d state_dict per block, exactly the paper's layout
(`encoder.pkl`, `fine_level_classifier.pkl`, ...), so the paper's checkpoints load here and ours
load in its code.

A set of block files is only meaningful together (one epoch's blocks). haan writes a small
manifest, `checkpoints.json`, around each set: first `{"epoch": e, "complete": false}`, then the
block files (each atomically), then `{"epoch": e, "complete": true, "sha256": {...}}`. Loading
checks the files against it, so a set that a crash left half-written, or files copied in from
another epoch, are a clear error instead of a silently mixed model. A folder without a manifest
(the paper's checkpoints) loads as it is.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Iterable

import torch
import torch.nn as nn

from haan import fileio
from haan.errors import InputError

MANIFEST = "checkpoints.json"
MANIFEST_FORMAT = "haan-checkpoints"


def checkpoint_file(block: str) -> str:
    return f"{block}.pkl"


def save_checkpoints(model: nn.Module, directory: str | Path, epoch: int) -> None:
    """Write each block of `model.block_names` to `directory/<block>.pkl`, inside the manifest."""
    folder = fileio.output_folder(directory)
    manifest = folder / MANIFEST
    fileio.write_json(manifest, {"format": MANIFEST_FORMAT, "epoch": epoch, "complete": False})
    digests = {}
    for name in model.block_names:
        buffer = io.BytesIO()
        torch.save(getattr(model, name).state_dict(), buffer)
        data = buffer.getvalue()
        digests[checkpoint_file(name)] = hashlib.sha256(data).hexdigest()
        fileio.write_bytes(folder / checkpoint_file(name), data)
    fileio.write_json(manifest, {"format": MANIFEST_FORMAT, "epoch": epoch, "complete": True,
                                 "sha256": digests})


def read_manifest(directory: str | Path) -> dict | None:
    """The folder's manifest, or None when it has none (e.g. the paper's checkpoints)."""
    path = Path(directory) / MANIFEST
    if not path.exists():
        return None
    manifest = fileio.read_json(path)
    if (not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT
            or not isinstance(manifest.get("epoch"), int)):
        raise InputError(f"{path}: not a haan checkpoint manifest")
    return manifest


def complete_epoch(directory: str | Path) -> int | None:
    """The epoch of a complete checkpoint set in `directory`, None if there is none (or it is
    incomplete, or has no manifest)."""
    try:
        manifest = read_manifest(directory)
    except InputError:
        return None
    return manifest["epoch"] if manifest and manifest.get("complete") is True else None


def existing_blocks(directory: str | Path, names: Iterable[str]) -> tuple[str, ...]:
    """The blocks of `names` whose file exists in `directory` (the paper's --input-models-dir
    loads whichever exist)."""
    found = tuple(n for n in names if (Path(directory) / checkpoint_file(n)).is_file())
    if not found:
        files = ", ".join(checkpoint_file(n) for n in names)
        raise InputError(f"{directory}: no checkpoint files found (expected some of {files})")
    return found


def _shape(shape: Iterable[int]) -> str:
    dims = tuple(shape)
    return "(" + ", ".join(str(n) for n in dims) + ("," if len(dims) == 1 else "") + ")"


def _read_state_dict(path: Path, expected_sha256: str | None, epoch: int | None,
                     map_location: str | torch.device) -> dict:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({fileio.describe_os_error(exc)})") from None
    if expected_sha256 is not None and hashlib.sha256(data).hexdigest() != expected_sha256:
        raise InputError(f"{path}: not the file saved with the other checkpoints of epoch {epoch} "
                         f"({MANIFEST}): the set mixes epochs")
    try:
        state = torch.load(io.BytesIO(data), map_location=map_location, weights_only=True)
    except Exception as exc:  # unpickling errors come in many types
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: not a readable PyTorch checkpoint ({message})") from None
    if not isinstance(state, dict):
        raise InputError(f"{path}: expected a state_dict, found {type(state).__name__}")
    return state


def check_state_dict(path: Path, state: dict, expected: dict, what: str = "") -> None:
    """That `state` has exactly `expected`'s keys and shapes; else an InputError naming `path`
    (`what` opens the message after it) and the first difference."""
    missing = [k for k in expected if k not in state]
    unexpected = [str(k) for k in state if k not in expected]
    if missing or unexpected:
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"unexpected {', '.join(unexpected)}"] if unexpected else [])
        raise InputError(f"{path}: {what}{'; '.join(parts)}")
    for key, ref in expected.items():
        got = state[key]
        if not isinstance(got, torch.Tensor) or got.shape != ref.shape:
            found = _shape(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            raise InputError(f"{path}: {what}expected {key} of shape {_shape(ref.shape)}, "
                             f"found {found}")


def load_checkpoints(model: nn.Module, directory: str | Path, blocks: Iterable[str] | None = None,
                     map_location: str | torch.device = "cpu") -> int | None:
    """Load `directory/<block>.pkl` into each named block (default: all of `model.block_names`).
    Returns the set's epoch from its manifest (None without one). A missing file, a file from
    another epoch than the manifest says, a missing or extra parameter or a wrong shape raises
    InputError naming the file."""
    directory = Path(directory)
    names = tuple(model.block_names if blocks is None else blocks)
    manifest = read_manifest(directory)
    epoch = manifest["epoch"] if manifest else None
    if manifest is not None and manifest.get("complete") is not True:
        raise InputError(f"{directory}: the checkpoints of epoch {epoch} were being written when "
                         "the run stopped, so the set may mix epochs; continue the run with "
                         "`haan train --resume` to complete it")
    digests = manifest.get("sha256", {}) if manifest else {}
    for name in names:
        if name not in model.block_names:
            raise ValueError(f"unknown block {name!r}; expected one of {model.block_names}")
        path = directory / checkpoint_file(name)
        if not path.is_file():
            raise InputError(f"{path}: no such checkpoint file")
        state = _read_state_dict(path, digests.get(path.name) if manifest else None, epoch,
                                 map_location)
        block = getattr(model, name)
        check_state_dict(path, state, block.state_dict())
        block.load_state_dict(state)
    return epoch


__all__ = ["MANIFEST", "check_state_dict", "checkpoint_file", "complete_epoch", "existing_blocks", "load_checkpoints",
           "read_manifest", "save_checkpoints"]
