"""haan.runtime.precision: bf16 matmuls under autocast with fp32 weights, optimizer and losses; rows padded
to a multiple of 64 without touching dropout's random stream."""

from __future__ import annotations

import pytest
import torch

from haan.models.haan import HAAN, RowShard, dropout
from haan.models.losses import haan_losses
from haan.runtime.precision import ROW_MULTIPLE, on_rows

D, H, C, K, G = 48, 40, 6, 9, 3


def model(seed: int = 0, p: float = 0.0) -> HAAN:
    torch.manual_seed(seed)
    return HAAN(D, H, C, K, p)


def test_fp32_is_untouched_and_bf16_comes_back_as_fp32_rows():
    m = model().eval()
    x = torch.randn(37, D)
    assert torch.equal(on_rows(m.clip_scores, x, "fp32"), m.clip_scores(x))
    got = on_rows(m.clip_scores, x, "bf16")
    assert got.dtype == torch.float32 and got.shape == (37, C)
    torch.testing.assert_close(got, m.clip_scores(x), rtol=0.05, atol=0.02)
    out = on_rows(lambda r: m(r, pseudo=False), x, "bf16")  # tuples, None entries kept
    assert out.pseudo_logits is None and out.clip_features.shape == (37, H)


def test_padding_rows_get_no_mask_and_leave_the_stream_alone():
    x = torch.randn(37, 16)
    padded = torch.cat([x, torch.randn(ROW_MULTIPLE - 37, 16)])
    for fast in (False, True):
        torch.manual_seed(4)
        expected = dropout(x, 0.5, True, fast=fast)
        after = torch.rand(1)
        torch.manual_seed(4)
        got = dropout(padded, 0.5, True, RowShard(37, 0, 37), fast=fast)
        assert torch.equal(got[:37], expected) and not got[37:].any()
        assert torch.equal(torch.rand(1), after)


def batch(seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([23, 9, 31])
    features = torch.randn(3, 31, D, generator=g)
    pseudo = torch.randint(0, K, (3, 31), generator=g)
    fine = (torch.rand(3, C, generator=g) < 0.4).float()
    fine[:, 0] = 1
    fine_to_coarse = torch.arange(C) % G
    coarse = torch.zeros(3, G).index_fill_(1, fine_to_coarse[fine[0].bool()], 1.0)
    return dict(features=features, lengths=lengths, pseudo_labels=pseudo,
                concept_weights=torch.full((K,), 1 / K), fine_labels=fine,
                fine_weights=torch.ones(3, C), coarse_labels=coarse, coarse_weights=torch.ones(3, G),
                fine_to_coarse=fine_to_coarse, num_coarse=G, top_k=3, pooling="mean",
                lambdas=(1.0, 0.1, 0.1, 0.1))


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_bf16_losses_and_gradients_stay_close_to_fp32(pooling):
    args = batch() | {"pooling": pooling}
    results = {}
    for precision in ("fp32", "bf16"):
        m = model(seed=3)
        terms = haan_losses(m, **args, precision=precision)
        terms.total.backward()
        assert terms.total.dtype == torch.float32
        results[precision] = (terms, [p.grad.clone() for p in m.parameters()],
                              [p.dtype for p in m.parameters()])
    (a, ga, da), (b, gb, db) = results["fp32"], results["bf16"]
    assert da == db == [torch.float32] * len(da)  # fp32 master weights
    for name in ("total", "mil", "pseudo", "concept", "coarse"):
        torch.testing.assert_close(getattr(b, name), getattr(a, name), rtol=0.02, atol=1e-3)
    for x, y in zip(ga, gb):
        assert torch.nn.functional.cosine_similarity(x.flatten(), y.flatten(), dim=0) > 0.99


def test_bf16_training_end_to_end(tiny_dataset, tmp_path):
    from haan.cli import main
    from haan.config import load_config

    args = ["train", "--config", str(tiny_dataset), "--set", "hyperparameters.epochs=2",
            "--set", 'haan.precision="bf16"', "--output-dir", str(tmp_path), "--exp-name", "b",
            "--quiet"]
    assert main(args) == 0
    run = tmp_path / load_config(tiny_dataset).dataset.name / "b"
    rows = (run / "results.csv").read_text().splitlines()[1:]
    assert len(rows) == 2 and all(0 <= float(v) <= 100 for r in rows for v in r.split(",")[1:])
    assert main(["evaluate", "--config", str(run / "config.toml"), "--models-dir", str(run),
                 "--quiet", "--no-plots"]) == 0


def test_emulated_bf16_is_a_warning_line(tiny_dataset, tmp_path, monkeypatch, capsys):
    import haan.runtime.precision
    from haan.cli import main
    from haan.config import load_config

    assert isinstance(haan.runtime.precision.has_native_bf16(torch.device("cpu")), bool)
    assert haan.runtime.precision.emulation_warning(torch.device("cpu"), "fp32") is None
    monkeypatch.setattr(haan.runtime.precision, "has_native_bf16", lambda device: False)
    base = ["--config", str(tiny_dataset), "--set", "hyperparameters.epochs=1", "--output-dir",
            str(tmp_path), "--quiet", "--set"]
    assert main(["train", *base, 'haan.precision="fp32"', "--exp-name", "f"]) == 0
    assert "warning" not in capsys.readouterr().err
    assert main(["train", *base, 'haan.precision="bf16"', "--exp-name", "b"]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert len(warned) == 1 and "no native bf16" in warned[0] and str(tiny_dataset) in warned[0]
    run = tmp_path / load_config(tiny_dataset).dataset.name / "b"
    assert main(["evaluate", "--config", str(run / "config.toml"), "--models-dir", str(run),
                 "--quiet", "--no-plots"]) == 0
    assert "no native bf16" in capsys.readouterr().err
    monkeypatch.setattr(haan.runtime.precision, "has_native_bf16", lambda device: True)
    assert haan.runtime.precision.emulation_warning(torch.device("cpu"), "bf16") is None
