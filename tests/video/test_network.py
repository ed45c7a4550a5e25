"""--precision: auto is bf16 exactly where bf16 matmuls are native; bf16 forced elsewhere warns;
the networks run as fp32 or bf16 copies with BatchNorm folded."""

from __future__ import annotations

import warnings

import pytest
import torch

from haan.errors import DataWarning, InputError
from haan.video import network as network_module
from haan.video.network import build_network, choose_precision, runnable

CPU = torch.device("cpu")


@pytest.mark.parametrize("native, expected", [(True, "bf16"), (False, "fp32")])
def test_auto_follows_native_bf16(monkeypatch, native, expected):
    monkeypatch.setattr("haan.runtime.precision.has_native_bf16", lambda device: native)
    assert choose_precision("auto", CPU) == expected
    assert choose_precision("fp32", CPU) == "fp32"


def test_forced_bf16_without_native_support_warns(monkeypatch):
    monkeypatch.setattr("haan.runtime.precision.has_native_bf16", lambda device: False)
    with pytest.warns(DataWarning, match="^--precision bf16: this device has no native bf16"):
        assert choose_precision("bf16", CPU) == "bf16"
    with pytest.raises(InputError, match="^--precision fp16: expected one of auto, fp32, bf16$"):
        choose_precision("fp16", CPU)


def test_the_running_copies(monkeypatch):
    monkeypatch.setattr("haan.runtime.precision.has_native_bf16", lambda device: False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        net = build_network("rgb", random_weights=True, precision="auto")
    precision, rgb, flow = net.resolved(CPU)
    assert (precision, flow) == ("fp32", None) and net.resolved(CPU)[1] is rgb  # built once
    assert not any(isinstance(m, torch.nn.BatchNorm3d) for m in rgb.modules())
    assert any(isinstance(m, torch.nn.BatchNorm3d) for m in net.rgb.modules())  # kept as loaded
    assert runnable(net.rgb, CPU, "bf16").Conv3d_1a_7x7.conv3d.weight.dtype == torch.bfloat16
    assert network_module.EXTRACTOR == net.contract(network_module.GridSpec()).extractor
