"""The I3D network: its state-dict keys and shapes against the PyTorch port's layout (written
down here from reading piergiaj/pytorch-i3d's pytorch_i3d.py), 'SAME' padding against the port's
rule, output shapes, and the one-line errors of weight files that do not fit."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from haan.errors import InputError
from haan.video.i3d import (
    I3D,
    ConvUnit,
    MaxPoolSame,
    check_state_dict,
    fold_batch_norm,
    load_i3d,
    pad_same,
    random_i3d,
)

# The port's InceptionI3d, endpoint by endpoint: Unit3D(in_channels, output_channels,
# kernel_shape) and InceptionModule(in_channels, [b0, b1a, b1b, b2a, b2b, b3b]), with the input
# channel sums as the port writes them.
PORT_UNITS = [("Conv3d_1a_7x7", None, 64, 7), ("Conv3d_2b_1x1", 64, 64, 1),
              ("Conv3d_2c_3x3", 64, 192, 3)]
PORT_INCEPTIONS = [
    ("Mixed_3b", 192, [64, 96, 128, 16, 32, 32]),
    ("Mixed_3c", 256, [128, 128, 192, 32, 96, 64]),
    ("Mixed_4b", 128 + 192 + 96 + 64, [192, 96, 208, 16, 48, 64]),
    ("Mixed_4c", 192 + 208 + 48 + 64, [160, 112, 224, 24, 64, 64]),
    ("Mixed_4d", 160 + 224 + 64 + 64, [128, 128, 256, 24, 64, 64]),
    ("Mixed_4e", 128 + 256 + 64 + 64, [112, 144, 288, 32, 64, 64]),
    ("Mixed_4f", 112 + 288 + 64 + 64, [256, 160, 320, 32, 128, 128]),
    ("Mixed_5b", 256 + 320 + 128 + 128, [256, 160, 320, 32, 128, 128]),
    ("Mixed_5c", 256 + 320 + 128 + 128, [384, 192, 384, 48, 128, 128]),
]


def port_state_dict_shapes(in_channels: int, classes: int = 400) -> dict[str, tuple[int, ...]]:
    """Key -> shape of the port's state dict (without num_batches_tracked, which its files,
    saved with PyTorch 0.3, do not have)."""
    shapes: dict[str, tuple[int, ...]] = {}

    def unit(name: str, cin: int, cout: int, k: int) -> None:
        shapes[f"{name}.conv3d.weight"] = (cout, cin, k, k, k)
        for p in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{name}.bn.{p}"] = (cout,)

    for name, cin, cout, k in PORT_UNITS:
        unit(name, in_channels if cin is None else cin, cout, k)
    for name, cin, out in PORT_INCEPTIONS:
        unit(f"{name}.b0", cin, out[0], 1)
        unit(f"{name}.b1a", cin, out[1], 1)
        unit(f"{name}.b1b", out[1], out[2], 3)
        unit(f"{name}.b2a", cin, out[3], 1)
        unit(f"{name}.b2b", out[3], out[4], 3)
        unit(f"{name}.b3b", cin, out[5], 1)
    shapes["logits.conv3d.weight"] = (classes, 384 + 384 + 128 + 128, 1, 1, 1)
    shapes["logits.conv3d.bias"] = (classes,)
    return shapes


def without_counters(state: dict) -> dict:
    return {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}


@pytest.fixture(scope="module")
def rgb_net() -> I3D:
    return random_i3d(3, seed=0)


@pytest.fixture(scope="module")
def port_like_file(tmp_path_factory, rgb_net) -> tuple:
    """A weights file laid out as the port's rgb_imagenet.pt (random values)."""
    path = tmp_path_factory.mktemp("weights") / "rgb.pt"
    state = without_counters(rgb_net.state_dict())
    torch.save(state, path)
    return path, state


@pytest.mark.parametrize("in_channels", [3, 2])
def test_state_dict_is_the_ports(in_channels):
    ours = {k: tuple(v.shape) for k, v in without_counters(I3D(in_channels).state_dict()).items()}
    assert ours == port_state_dict_shapes(in_channels)
    assert len(ours) == 3 * 5 + 9 * 6 * 5 + 2
    assert ours["Conv3d_1a_7x7.conv3d.weight"] == (64, in_channels, 7, 7, 7)


def test_batch_norm_settings(rgb_net):
    bns = [m for m in rgb_net.modules() if isinstance(m, torch.nn.BatchNorm3d)]
    assert len(bns) == 3 + 9 * 6
    assert all(m.eps == 0.001 and m.momentum == 0.01 for m in bns)


def port_compute_pad(size: int, kernel: int, stride: int) -> int:
    """The port's Unit3D.compute_pad, as written there."""
    if size % stride == 0:
        return max(kernel - stride, 0)
    return max(kernel - (size % stride), 0)


def port_pad(x: torch.Tensor, kernel, stride) -> torch.Tensor:
    """The port's forward padding: total pad per dimension, front = total // 2."""
    pads = []
    for dim in (2, 1, 0):  # W, H, T: F.pad's order
        total = port_compute_pad(x.shape[2 + dim], kernel[dim], stride[dim])
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


@pytest.mark.parametrize("kernel,stride", [((7, 7, 7), (2, 2, 2)), ((3, 3, 3), (1, 1, 1)),
                                           ((1, 3, 3), (1, 2, 2)), ((2, 2, 2), (2, 2, 2))])
def test_same_padding_matches_the_port(kernel, stride):
    torch.manual_seed(0)
    x = torch.randn(2, 3, 9, 15, 12)  # odd and even sizes
    unit = ConvUnit(3, 4, kernel, stride).eval()
    with torch.no_grad():
        unit.bn.running_mean.uniform_(-1, 1)
        unit.bn.running_var.uniform_(0.5, 2)
        # the port: pad, then an unpadded convolution (haan's pads itself where that is the same)
        conv = F.conv3d(port_pad(x, kernel, stride), unit.conv3d.weight, stride=stride)
        expected = F.relu(unit.bn(conv))
        assert torch.allclose(unit(x), expected, atol=1e-6)
        assert unit(x).shape[2:] == tuple(-(-s // st) for s, st in zip(x.shape[2:], stride))
        relu_x = x.clamp(min=0)  # the port's max pools pad with zeros after a ReLU
        pooled = MaxPoolSame(kernel, stride)(relu_x)
        assert torch.equal(pooled, F.max_pool3d(port_pad(relu_x, kernel, stride), kernel, stride))


def test_one_clip_at_full_size(rgb_net):
    """A 16-frame 224x224 clip: the final map is (1024, 2, 7, 7), the port's 2x7x7 average pool
    covers it whole and gives the 1024-d feature."""
    final = {}
    hook = rgb_net.Mixed_5c.register_forward_hook(lambda m, i, o: final.setdefault("map", o))
    x = torch.rand(1, 3, 16, 224, 224, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.inference_mode():
        features = rgb_net.features(x)
    hook.remove()
    assert final["map"].shape == (1, 1024, 2, 7, 7)
    port = F.avg_pool3d(final["map"], kernel_size=(2, 7, 7), stride=1)  # the port's avg_pool
    assert port.shape == (1, 1024, 1, 1, 1)
    assert features.shape == (1, 1024)
    assert torch.allclose(features, port.flatten(1), rtol=1e-5, atol=1e-6)
    assert features.abs().mean() > 0.05  # He initialisation keeps an untrained network alive


def test_logits_and_small_inputs(rgb_net):
    x = torch.rand(2, 3, 8, 32, 40) * 2 - 1
    with torch.inference_mode():
        assert rgb_net.features(x).shape == (2, 1024)
        logits = rgb_net(x)
    assert logits.shape == (2, 400)
    flow = I3D(in_channels=2, num_classes=157).eval()
    with torch.inference_mode():
        assert flow(torch.zeros(1, 2, 16, 32, 32)).shape == (1, 157)


def test_random_weights_are_seeded_and_leave_the_global_rng_alone(rgb_net):
    state = torch.get_rng_state()
    again = random_i3d(3, seed=0)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(a, b) for a, b in zip(rgb_net.state_dict().values(),
                                                 again.state_dict().values()))
    other = random_i3d(3, seed=1)
    assert not torch.equal(other.Conv3d_1a_7x7.conv3d.weight, rgb_net.Conv3d_1a_7x7.conv3d.weight)


def test_load_a_file_in_the_ports_layout(port_like_file, rgb_net):
    path, state = port_like_file
    model = load_i3d(path, in_channels=3)
    assert not model.training
    for key, value in state.items():
        assert torch.equal(model.state_dict()[key], value)
    x = torch.rand(1, 3, 8, 32, 32) * 2 - 1
    with torch.inference_mode():
        assert torch.equal(model.features(x), rgb_net.features(x))


def test_state_dicts_that_do_not_fit(port_like_file, rgb_net):
    _path, state = port_like_file

    def error(changed: dict) -> str:
        with pytest.raises(InputError) as info:
            check_state_dict(changed, rgb_net, "w.pt")
        assert "\n" not in str(info.value)
        return str(info.value)

    head = "w.pt: not an I3D state dict with 3 input channels"
    missing = dict(state)
    del missing["Mixed_4c.b1b.bn.running_var"]
    assert error(missing) == f"{head}: 1 missing keys (Mixed_4c.b1b.bn.running_var)"
    extra = dict(state) | {"fc.weight": torch.zeros(1), "fc.bias": torch.zeros(1)}
    assert error(extra) == f"{head}: 2 unexpected keys (fc.weight, fc.bias)"
    prefixed = {f"module.{k}": v for k, v in state.items()}  # a DataParallel save
    message = error(prefixed)
    assert message.startswith(f"{head}: {len(state)} missing keys (Conv3d_1a_7x7.conv3d.weight, ")
    assert f" and {len(state) - 3} more); {len(state)} unexpected keys (module.Conv3d_1a_7x7" in message
    wrong = dict(state) | {"Mixed_5b.b2b.conv3d.weight": torch.zeros(128, 32, 3, 3, 1)}
    assert error(wrong) == (f"{head}: Mixed_5b.b2b.conv3d.weight has shape (128, 32, 3, 3, 1), "
                            "expected (128, 32, 3, 3, 3)")
    flow = without_counters(I3D(in_channels=2).state_dict())  # a flow file given for RGB
    assert error(flow) == (f"{head}: Conv3d_1a_7x7.conv3d.weight has shape (64, 2, 7, 7, 7), "
                           "expected (64, 3, 7, 7, 7) (a network for 2 input channels: rgb "
                           "takes 3, flow 2)")
    check_state_dict(dict(state) | {"Conv3d_1a_7x7.bn.num_batches_tracked": torch.tensor(5)},
                     rgb_net, "w.pt")  # counters are neither required nor refused


def test_weight_files_that_cannot_be_used(tmp_path, port_like_file):
    def error(path, in_channels: int = 3) -> str:
        with pytest.raises(InputError) as info:
            load_i3d(path, in_channels)
        assert "\n" not in str(info.value)
        return str(info.value)

    assert error(tmp_path / "none.pt") == f"{tmp_path / 'none.pt'}: no such weights file"
    assert error(tmp_path).startswith(f"{tmp_path}: not a file")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint at all")
    assert error(tmp_path / "junk.pt").startswith(f"{tmp_path / 'junk.pt'}: not a readable torch weights file (")
    torch.save(torch.zeros(3), tmp_path / "tensor.pt")
    assert error(tmp_path / "tensor.pt") == (f"{tmp_path / 'tensor.pt'}: not a state dict (a dict "
                                             "of tensors), as rgb_imagenet.pt is")
    path, _state = port_like_file
    assert error(path, in_channels=2).startswith(
        f"{path}: not an I3D state dict with 2 input channels: Conv3d_1a_7x7.conv3d.weight has "
        "shape (64, 3, 7, 7, 7)")


def test_logits_of_another_dataset_load(tmp_path, port_like_file):
    _path, state = port_like_file
    charades = dict(state) | {"logits.conv3d.weight": torch.zeros(157, 1024, 1, 1, 1),
                              "logits.conv3d.bias": torch.zeros(157)}
    torch.save(charades, tmp_path / "rgb_charades.pt")
    model = load_i3d(tmp_path / "rgb_charades.pt", in_channels=3)
    assert model.logits.conv3d.weight.shape == (157, 1024, 1, 1, 1)


@pytest.mark.parametrize("shape", [(1, 2, 8, 112, 112), (1, 2, 7, 113, 111), (2, 2, 4, 14, 14),
                                   (1, 2, 3, 15, 16), (1, 2, 1, 1, 1), (1, 2, 2, 3, 5)])
@pytest.mark.parametrize("kernel, stride", [((1, 3, 3), (1, 2, 2)), ((3, 3, 3), (2, 2, 2)),
                                            ((2, 2, 2), (2, 2, 2)), ((3, 3, 3), (1, 1, 1))])
def test_pools_without_a_padded_copy_equal_the_ports_pool(shape, kernel, stride):
    # inputs >= 0, as every pool's in I3D (after a ReLU); exact: a maximum is a comparison
    x = torch.rand(shape) * (torch.rand(shape) > 0.3)
    padded = pad_same(x, kernel, stride)
    assert torch.equal(MaxPoolSame(kernel, stride)(x), F.max_pool3d(padded, kernel, stride))


def test_folded_batch_norm_gives_the_same_features():
    model = random_i3d(3, seed=4)
    generator = torch.Generator().manual_seed(5)
    for bn in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm3d)):
        c = bn.num_features
        bn.weight.data = torch.rand(c, generator=generator) + 0.5
        bn.bias.data = torch.randn(c, generator=generator) * 0.1
        bn.running_mean.data = torch.randn(c, generator=generator) * 0.1
        bn.running_var.data = torch.rand(c, generator=generator) + 0.5
    folded = fold_batch_norm(model)
    assert not any(isinstance(m, torch.nn.BatchNorm3d) for m in folded.modules())
    assert any(isinstance(m, torch.nn.BatchNorm3d) for m in model.modules())  # a copy
    x = torch.rand(2, 3, 8, 40, 40, generator=generator) * 2 - 1
    with torch.inference_mode():
        expected = model.features(x)
        got = folded.features(x.contiguous(memory_format=torch.channels_last_3d))
    assert torch.allclose(got, expected, rtol=1e-4, atol=1e-5 * expected.abs().max().item())
