"""Config loading: the paper's files unchanged, built-in names, errors, typed overrides, TOML."""

from __future__ import annotations

import dataclasses
import math
import sys
from pathlib import Path

import pytest

from haan.config import BUILTIN_DIR, HaanSection, config_from_dict, dumps_toml, load_config
from haan.errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def paper_text(name: str) -> str:
    """The built-in file without its leading comment: byte for byte the paper's config."""
    text = (BUILTIN_DIR / f"{name}.toml").read_text()
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("#"))


def test_builtin_fine_gym_has_the_papers_values():
    c = load_config("fine_gym")
    assert c.source == "builtin:fine_gym"
    assert c.dataset.name == "FineGym"
    assert (c.stats.num_training_videos, c.stats.num_coarse_classes, c.stats.num_fine_classes,
            c.stats.max_clips_per_video) == (3775, 14, 99, 309)
    assert c.features.features_path == "dataset/FineGym/FineGym_i3d_fps24.npy"
    assert c.annotations.labels_path == "dataset/FineGym/labels.npy"
    h = c.hyperparameters
    assert (h.feature_size, h.encoded_feature_size, h.batch_size, h.epochs) == (2048, 2048, 2, 200)
    assert (h.clustering_sample_rate, h.dropout_rate, h.learning_rate) == (0.1, 0.5, 3e-5)
    assert (h.num_visual_concepts, h.num_top_visual_concepts, h.fine_to_coarse_pooling) == (
        500, 5, "mean")
    assert (h.lambda_1, h.lambda_2, h.lambda_3, h.lambda_4) == (1.0, 0.001, 0.01, 0.1)
    assert isinstance(h.lambda_1, float)
    e = c.evaluation
    assert e.tiou_thresholds == (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
    assert e.report_thresholds == (0.1, 0.2, 0.3, 0.4, 0.5)
    assert (e.alpha, e.kmax_mod_factor) == (0.1, 2.0)
    assert c.haan == HaanSection()  # no [haan] section: the defaults, i.e. the paper


def test_builtin_fine_action_has_the_papers_values():
    c = load_config("fine_action")
    assert (c.stats.num_training_videos, c.stats.num_fine_classes, c.stats.max_clips_per_video) == (
        8440, 106, 100)
    h = c.hyperparameters
    assert (h.feature_size, h.encoded_feature_size, h.epochs, h.fine_to_coarse_pooling) == (
        4096, 1024, 50, "max")
    assert (h.clustering_sample_rate, h.dropout_rate, h.lambda_4) == (0.03, 0.3, 1.0)
    e = c.evaluation
    assert len(e.tiou_thresholds) == 10 and e.tiou_thresholds[-1] == 0.95
    assert e.report_thresholds == (0.5, 0.75, 0.95)
    assert (e.alpha, e.kmax_mod_factor) == (-0.8, 4.0)


@pytest.mark.parametrize("name,expected", [("FineGym", "fine_gym"), ("fine-gym", "fine_gym"),
                                           ("FineAction", "fine_action"),
                                           ("synthetic", "synthetic")])
def test_builtin_aliases(name, expected):
    assert load_config(name).source == f"builtin:{expected}"


@pytest.mark.parametrize("name", ["fine_gym", "fine_action"])
def test_the_papers_file_loads_unchanged(tmp_path, name):
    text = paper_text(name)
    assert text.startswith("[dataset]\nname = ")
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    assert load_config(path) == load_config(name)
    assert load_config(path).source == str(path)


def test_synthetic_builtin_is_what_synth_small_writes():
    from haan.data.synth import PRESETS, preset_config

    c = load_config("synthetic")
    assert c == preset_config(PRESETS["small"], "data/synthetic")
    assert c.features.features_path == "data/synthetic/features.npy"
    assert c.dataset.name == "Synthetic"


def test_missing_config_file_lists_the_builtins(tmp_path):
    with pytest.raises(InputError, match=r"nope\.toml: no such config file \(built-in configs: "
                                         r"fine_action, fine_gym, synthetic\)"):
        load_config(tmp_path / "nope.toml")


def edited(tmp_path: Path, old: str, new: str, name: str = "fine_gym") -> Path:
    text = paper_text(name)
    assert old in text
    path = tmp_path / "edited.toml"
    path.write_text(text.replace(old, new))
    return path


def test_unknown_section_names_it_and_the_file(tmp_path):
    path = edited(tmp_path, "[evaluation]", "[optimizer]\nlr = 1\n\n[evaluation]")
    with pytest.raises(InputError) as err:
        load_config(path)
    assert str(err.value) == f"{path}: unknown section [optimizer]"


def test_unknown_key_names_it_and_the_file(tmp_path):
    path = edited(tmp_path, "batch_size = 2", "batch_size = 2\nbatch_sise = 4")
    with pytest.raises(InputError) as err:
        load_config(path)
    assert str(err.value) == (f"{path}: unknown key 'batch_sise' in [hyperparameters]; did you "
                              "mean 'batch_size'?")


def test_missing_key_and_section(tmp_path):
    path = edited(tmp_path, "epochs = 200\n", "")
    with pytest.raises(InputError, match=r"edited\.toml: missing key 'epochs' in \[hyperparameters\]"):
        load_config(path)
    text = paper_text("fine_gym").split("[evaluation]")[0]
    path.write_text(text)
    with pytest.raises(InputError, match=r"edited\.toml: missing section \[evaluation\]"):
        load_config(path)


@pytest.mark.parametrize("old,new,message", [
    ("epochs = 200", 'epochs = "200"', "[hyperparameters] epochs: expected an integer, got '200'"),
    ("epochs = 200", "epochs = 200.0", "[hyperparameters] epochs: expected an integer, got 200.0"),
    ("learning_rate = 3e-5", "learning_rate = true",
     "[hyperparameters] learning_rate: expected a number, got True"),
    ('name = "FineGym"', "name = 3", "[dataset] name: expected a string, got 3"),
    ("alpha = 0.1", "alpha = [0.1]", "[evaluation] alpha: expected a number, got [0.1]"),
    ("alpha = 0.1", "alpha = nan", "[evaluation] alpha: expected a finite number, got nan"),
    ("report_thresholds = [0.1, 0.2, 0.3, 0.4, 0.5]", "report_thresholds = 0.1",
     "[evaluation] report_thresholds: expected a list, got 0.1"),
])
def test_wrong_types(tmp_path, old, new, message):
    path = edited(tmp_path, old, new)
    with pytest.raises(InputError) as err:
        load_config(path)
    assert str(err.value) == f"{path}: {message}"


@pytest.mark.parametrize("old,new,message", [
    ("learning_rate = 3e-5", "learning_rate = -3e-5",
     "[hyperparameters] learning_rate: expected a positive number, got -3e-05"),
    ("batch_size = 2", "batch_size = 0",
     "[hyperparameters] batch_size: expected an integer >= 1, got 0"),
    ("dropout_rate = 0.5", "dropout_rate = 1.0",
     "[hyperparameters] dropout_rate: expected a probability in [0, 1), got 1.0"),
    ("clustering_sample_rate = 0.1", "clustering_sample_rate = 0",
     "[hyperparameters] clustering_sample_rate: expected a fraction in (0, 1], got 0.0"),
    ('fine_to_coarse_pooling = "mean"', 'fine_to_coarse_pooling = "sum"',
     "[hyperparameters] fine_to_coarse_pooling: expected \"mean\" or \"max\", got 'sum'"),
    ("num_top_visual_concepts = 5", "num_top_visual_concepts = 501",
     "[hyperparameters] num_top_visual_concepts: expected at most num_visual_concepts (500), "
     "got 501"),
    ("lambda_2 = 0.001", "lambda_2 = -1",
     "[hyperparameters] lambda_2: expected a number >= 0, got -1.0"),
    ("num_fine_classes = 99", "num_fine_classes = 0",
     "[stats] num_fine_classes: expected an integer >= 1, got 0"),
    ("0.45, 0.5]", "0.45, 1.5]",
     "[evaluation] tiou_thresholds: expected tIoU values in (0, 1], got 1.5"),
    ("tiou_thresholds = [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5]", "tiou_thresholds = []",
     "[evaluation] tiou_thresholds: expected a non-empty list, got []"),
    ("report_thresholds = [0.1, 0.2, 0.3, 0.4, 0.5]", "report_thresholds = [0.0]",
     "[evaluation] report_thresholds: expected tIoU values in (0, 1], got 0.0"),
    ("report_thresholds = [0.1, 0.2, 0.3, 0.4, 0.5]", "report_thresholds = [0.6]",
     "[evaluation] report_thresholds: expected values that are also in tiou_thresholds, got 0.6"),
    ("kmax_mod_factor = 2", "kmax_mod_factor = 0",
     "[evaluation] kmax_mod_factor: expected a number >= 1, got 0.0"),
    ("kmax_mod_factor = 2", "kmax_mod_factor = 0.5",
     "[evaluation] kmax_mod_factor: expected a number >= 1, got 0.5"),
    ("alpha = 0.1", "alpha = 1.0", "[evaluation] alpha: expected a number in (-1, 1), got 1.0"),
    ("alpha = 0.1", "alpha = -1", "[evaluation] alpha: expected a number in (-1, 1), got -1.0"),
    ('name = "FineGym"', 'name = "../elsewhere"',
     "[dataset] name: expected a folder name (no path separators, not '.' or '..'), got "
     "'../elsewhere'"),
    ('name = "FineGym"', 'name = ".."',
     "[dataset] name: expected a folder name (no path separators, not '.' or '..'), got '..'"),
])
def test_out_of_range_values(tmp_path, old, new, message):
    path = edited(tmp_path, old, new)
    with pytest.raises(InputError) as err:
        load_config(path)
    assert str(err.value) == f"{path}: {message}"


def test_haan_section_is_validated(tmp_path):
    path = edited(tmp_path, "kmax_mod_factor = 2", "kmax_mod_factor = 2\n\n[haan]\n"
                  "validation_fraction = 1.0")
    with pytest.raises(InputError) as err:
        load_config(path)
    assert str(err.value) == (f"{path}: [haan] validation_fraction: expected a fraction in [0, 1), "
                              "got 1.0")
    path = edited(tmp_path, "kmax_mod_factor = 2", "kmax_mod_factor = 2\n\n[haan]\n"
                  'kmeans_backend = "faiss"')
    with pytest.raises(InputError, match=r"\[haan\] kmeans_backend: expected \"torch\" or "
                                         r"\"sklearn\", got 'faiss'"):
        load_config(path)


def test_invalid_toml(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[dataset\nname = 1\n")
    with pytest.raises(InputError, match=r"bad\.toml: invalid TOML \("):
        load_config(path)


def test_overrides_are_typed():
    c = load_config("fine_gym", [
        "hyperparameters.epochs=10", "hyperparameters.learning_rate=1e-3",
        "hyperparameters.fine_to_coarse_pooling=max",  # a bare word is a string
        "evaluation.tiou_thresholds=[0.3, 0.5]", "evaluation.report_thresholds=[0.5]",
        "haan.validation_fraction=0.2", "haan.check_features=false",
        "features.features_path=/data/x.npy", "dataset.name=2022",  # a string key keeps the text
        "hyperparameters.lambda_1=2",
    ])
    h = c.hyperparameters
    assert (h.epochs, h.learning_rate, h.fine_to_coarse_pooling, h.lambda_1) == (10, 1e-3, "max", 2.0)
    assert type(h.epochs) is int and type(h.lambda_1) is float
    assert c.evaluation.tiou_thresholds == (0.3, 0.5)
    assert (c.haan.validation_fraction, c.haan.check_features) == (0.2, False)
    assert c.features.features_path == "/data/x.npy"
    assert c.dataset.name == "2022"
    # The file's other values are untouched.
    assert dataclasses.replace(c.hyperparameters, epochs=200, learning_rate=3e-5,
                               fine_to_coarse_pooling="mean", lambda_1=1.0) == \
        load_config("fine_gym").hyperparameters


@pytest.mark.parametrize("override,message", [
    ("hyperparameters.epochs", "--set hyperparameters.epochs: expected section.key=value"),
    ("epochs=3", "--set epochs=3: expected section.key=value"),
    ("optimizer.lr=3", "--set optimizer.lr=3: unknown section [optimizer]"),
    ("hyperparameters.epoch=3", "--set hyperparameters.epoch=3: unknown key 'epoch' in "
                                "[hyperparameters]; did you mean 'epochs'?"),
    ("hyperparameter.epochs=3", "--set hyperparameter.epochs=3: unknown section "
                                "[hyperparameter]; did you mean 'hyperparameters'?"),
    ("haan.zzz=3", "--set haan.zzz=3: unknown key 'zzz' in [haan]"),
    ("hyperparameters.epochs=ten", "builtin:fine_gym: [hyperparameters] epochs: expected an "
                                   "integer, got 'ten'"),
    ("hyperparameters.learning_rate=-1", "builtin:fine_gym: [hyperparameters] learning_rate: "
                                         "expected a positive number, got -1.0"),
    ("haan.check_features=1", "builtin:fine_gym: [haan] check_features: expected true or false, "
                              "got 1"),
    ("haan.class_names_path=names.txt", "builtin:fine_gym: [haan] class_names_path: expected the "
                                        "path of a .json file, or \"\", got 'names.txt'"),
    ("haan.clip_grid_path=grid.toml", "builtin:fine_gym: [haan] clip_grid_path: expected the "
                                      "path of a .json file, or \"\", got 'grid.toml'"),
])
def test_bad_overrides(override, message):
    with pytest.raises(InputError) as err:
        load_config("fine_gym", [override])
    assert str(err.value) == message


@pytest.mark.parametrize("name", ["fine_gym", "fine_action", "synthetic"])
def test_round_trip_through_to_toml(tmp_path, name):
    c = load_config(name, ["haan.validation_fraction=0.1", "haan.validation_seed=7"])
    path = tmp_path / "c.toml"
    path.write_text(c.to_toml())
    again = load_config(path)
    assert again == c
    assert again.haan.validation_seed == 7


def test_to_toml_escapes_strings():
    c = load_config("fine_gym", ['features.features_path="a\\\\b \\"q\\"\\tx"'])
    assert c.features.features_path == 'a\\b "q"\tx'
    again = config_from_dict(tomllib.loads(c.to_toml()))
    assert again.features.features_path == c.features.features_path


def test_dumps_toml_numbers():
    text = dumps_toml({"t": {"a": 3e-5, "b": 2, "c": True, "d": [0.1, 0.5], "e": math.pi}})
    assert tomllib.loads(text) == {"t": {"a": 3e-5, "b": 2, "c": True, "d": [0.1, 0.5],
                                         "e": math.pi}}


def test_model_and_wtalc_sections():
    """[model] is optional (HAAN); [wtalc] is read with method = "wtalc" only, and written back
    only then, so HAAN's configs write the same TOML as before."""
    haan = load_config("fine_gym")
    assert haan.model.method == "haan"
    assert "model" not in haan.to_dict() and "wtalc" not in haan.to_dict()
    assert "[model]" not in haan.to_toml() and "[wtalc]" not in haan.to_toml()
    wtalc = load_config("fine_gym", ['model.method="wtalc"', "wtalc.learning_rate=0.001"])
    tables = wtalc.to_dict()
    assert tables["model"] == {"method": "wtalc"}
    assert tables["wtalc"] == dict(dropout_rate=0.7, learning_rate=0.001, weight_decay=5e-4,
                                   batch_size=10, num_similar=3, lambda_casl=0.5,
                                   topk_divisor=8.0, casl_margin=0.5)
    assert config_from_dict(tomllib.loads(wtalc.to_toml())) == wtalc
    with pytest.raises(InputError) as err:
        load_config("fine_gym", ["wtalc.learning_rate=0.001"])
    assert str(err.value) == ('builtin:fine_gym: [wtalc] is read only with [model] method = '
                              '"wtalc" (the method is \'haan\')')
    with pytest.raises(InputError, match=r'\[model\] method: expected "haan" or "wtalc", got'):
        load_config("fine_gym", ['model.method="mil"'])


def test_switching_every_haan_loss_off_is_an_error():
    off = [f"hyperparameters.lambda_{i}=0" for i in range(1, 5)]
    with pytest.raises(InputError, match="lambda_1 .. lambda_4 are all 0"):
        load_config("fine_gym", off)
    assert load_config("fine_gym", off[1:]).hyperparameters.lambda_1 == 1.0  # L_mil alone
    assert load_config("fine_gym", [*off, 'model.method="wtalc"']).model.method == "wtalc"
