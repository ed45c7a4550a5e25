"""haan.engine.checkpoints: the paper's file layout, and the manifest that keeps a set from mixing epochs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from haan.engine.checkpoints import MANIFEST, checkpoint_file, load_checkpoints, save_checkpoints
from haan.errors import InputError
from haan.models.haan import BLOCK_NAMES

from helpers import C, D, H, K, PaperBlock, small_model  # the same model helpers

FILES = [checkpoint_file(b) for b in BLOCK_NAMES]


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    model = small_model(seed=0)
    save_checkpoints(model, tmp_path / "ckpt", epoch=3)
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == sorted(
        FILES + [MANIFEST])  # no temporary files left behind
    for name in FILES:
        state = torch.load(tmp_path / "ckpt" / name, weights_only=True)
        assert list(state) == ["hidden_layer.weight", "hidden_layer.bias", "out_layer.weight",
                               "out_layer.bias"]
    other = small_model(seed=1)
    assert not torch.equal(other.encoder.hidden_layer.weight, model.encoder.hidden_layer.weight)
    assert load_checkpoints(other, tmp_path / "ckpt") == 3
    for (k, v), (k2, v2) in zip(model.state_dict().items(), other.state_dict().items()):
        assert k == k2 and torch.equal(v, v2)


def test_load_selected_blocks_only(tmp_path: Path) -> None:
    model = small_model(seed=0)
    save_checkpoints(model, tmp_path, epoch=0)
    (tmp_path / "pseudo_label_classifier.pkl").unlink()
    (tmp_path / "coarse_level_classifier.pkl").unlink()
    other = small_model(seed=1)
    before = other.coarse_level_classifier.out_layer.weight.clone()
    load_checkpoints(other, tmp_path, blocks=("encoder", "fine_level_classifier"))
    assert torch.equal(other.encoder.out_layer.weight, model.encoder.out_layer.weight)
    assert torch.equal(other.coarse_level_classifier.out_layer.weight, before)
    with pytest.raises(InputError, match="pseudo_label_classifier.pkl: no such checkpoint"):
        load_checkpoints(other, tmp_path)


def test_paper_layout_checkpoint_loads_with_identical_outputs(tmp_path: Path) -> None:
    torch.manual_seed(3)
    paper = {
        "encoder": PaperBlock(D, H, H, 0.5),
        "fine_level_classifier": PaperBlock(H, H, C, 0.5),
        "pseudo_label_classifier": PaperBlock(H, H, K, 0.5),
        "coarse_level_classifier": PaperBlock(H, H, 1, 0.5),
    }
    for name, block in paper.items():
        torch.save(block.state_dict(), tmp_path / f"{name}.pkl")  # as the paper's trainer
    model = small_model(seed=0)
    load_checkpoints(model, tmp_path)
    model.eval()
    x = torch.randn(2, 6, D)
    _, e = paper["encoder"](x)
    f, s = paper["fine_level_classifier"](e)
    _, p = paper["pseudo_label_classifier"](e)
    out = model(x)
    torch.testing.assert_close(out.clip_features, f, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(out.clip_scores, s, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(out.pseudo_logits, p, rtol=1e-6, atol=1e-6)
    _, z = paper["coarse_level_classifier"](f)
    torch.testing.assert_close(model.coarse_level_classifier(f)[1], z, rtol=1e-6, atol=1e-6)


def test_shape_mismatch_message(tmp_path: Path) -> None:
    save_checkpoints(small_model(num_fine_classes=4), tmp_path, epoch=0)
    with pytest.raises(InputError) as info:
        load_checkpoints(small_model(), tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert message == (f"{tmp_path / 'fine_level_classifier.pkl'}: expected out_layer.weight of "
                       f"shape ({C}, {H}), found (4, {H})")


def test_missing_key_and_unreadable_file(tmp_path: Path) -> None:
    model = small_model()
    save_checkpoints(model, tmp_path, epoch=0)
    state = model.encoder.state_dict()
    del state["out_layer.bias"]
    (tmp_path / MANIFEST).unlink()  # hand-made files, as the paper's: no manifest
    torch.save(state, tmp_path / "encoder.pkl")
    with pytest.raises(InputError, match=r"encoder.pkl: missing out_layer.bias"):
        load_checkpoints(model, tmp_path)
    (tmp_path / "encoder.pkl").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match=r"encoder.pkl: not a readable PyTorch checkpoint"):
        load_checkpoints(model, tmp_path)


def test_a_set_left_half_written_is_refused(tmp_path: Path) -> None:
    save_checkpoints(small_model(seed=0), tmp_path, epoch=4)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    manifest["complete"] = False  # what a crash while writing the set leaves
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(InputError, match=r"checkpoints of epoch 4 were being written.*--resume"):
        load_checkpoints(small_model(), tmp_path)


def test_a_file_from_another_epoch_is_refused(tmp_path: Path) -> None:
    save_checkpoints(small_model(seed=0), tmp_path / "a", epoch=1)
    save_checkpoints(small_model(seed=1), tmp_path / "b", epoch=2)
    (tmp_path / "b" / "encoder.pkl").replace(tmp_path / "a" / "encoder.pkl")
    with pytest.raises(InputError, match=r"encoder.pkl: not the file saved with the other "
                                         r"checkpoints of epoch 1.*mixes epochs"):
        load_checkpoints(small_model(), tmp_path / "a")
    # Loading only the untouched blocks is fine.
    assert load_checkpoints(small_model(), tmp_path / "a", blocks=("fine_level_classifier",)) == 1


def test_a_foreign_manifest_is_an_error(tmp_path: Path) -> None:
    save_checkpoints(small_model(seed=0), tmp_path, epoch=0)
    (tmp_path / MANIFEST).write_text("[1, 2]")
    with pytest.raises(InputError, match="not a haan checkpoint manifest"):
        load_checkpoints(small_model(), tmp_path)
