"""Typed, frozen run configuration, loaded from TOML in the paper's schema.

A config file written for the paper's code (`fine_gym.toml`, `fine_action.toml`) loads unchanged:
the sections `[dataset] [stats] [features] [annotations] [hyperparameters] [evaluation]` with the
paper's keys are all required. Settings this project adds live in optional sections whose
defaults reproduce the paper: `[haan]`, `[model]` (which method trains: HAAN, or the W-TALC
baseline) and `[wtalc]` (W-TALC's settings, only with `[model] method = "wtalc"`). A config
written back (`to_dict`, `to_toml`) leaves `[model]` out for HAAN and `[wtalc]` out unless it is
read, so HAAN's run folders hold the paper's sections plus `[haan]`, as before. Everything is validated once, in `load_config`; the result is
immutable (`dataclasses.replace` makes a changed copy).

Paths are kept as written; relative ones resolve against the working directory, as in the paper.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

from haan.errors import InputError, unknown

BUILTIN_DIR = Path(__file__).with_name("configs")
# Built-in config names; the paper's `--dataset` names map to the same files.
BUILTIN_ALIASES = {
    "fine_gym": "fine_gym",
    "finegym": "fine_gym",
    "fine_action": "fine_action",
    "fineaction": "fine_action",
    "synthetic": "synthetic",
}


@dataclass(frozen=True)
class DatasetSection:
    name: str


@dataclass(frozen=True)
class StatsSection:
    num_training_videos: int
    num_coarse_classes: int
    num_fine_classes: int
    max_clips_per_video: int


@dataclass(frozen=True)
class FeaturesSection:
    # A .npy file (object array of (T_i, D) arrays, or dense (N, T, D), memory-mapped), a folder of
    # `<video_name>.npy` files, or a store written by `haan data convert` (a folder with store.json).
    features_path: str


@dataclass(frozen=True)
class AnnotationsSection:
    video_names_path: str
    labels_path: str
    segments_path: str
    sec2clip_ratios_path: str
    fine_to_coarse_mappings_path: str


@dataclass(frozen=True)
class HyperParameters:
    feature_size: int
    encoded_feature_size: int
    batch_size: int
    clustering_sample_rate: float
    dropout_rate: float
    learning_rate: float
    epochs: int
    num_visual_concepts: int
    num_top_visual_concepts: int
    fine_to_coarse_pooling: str  # "mean" | "max"
    lambda_1: float
    lambda_2: float
    lambda_3: float
    lambda_4: float


@dataclass(frozen=True)
class EvaluationSection:
    tiou_thresholds: tuple[float, ...]
    report_thresholds: tuple[float, ...]
    alpha: float
    kmax_mod_factor: float


@dataclass(frozen=True)
class HaanSection:
    """Settings this project adds. Every default reproduces the paper's code."""

    # Re-cluster the training clips every this many epochs (the paper: 5).
    pseudo_label_interval: int = 5
    # Fraction of the training videos held out (seeded) to select the best epoch. 0 = the paper:
    # the best epoch is selected on the test set itself.
    validation_fraction: float = 0.0
    validation_seed: int = 0
    # "torch": our k-means on the training device; "sklearn": scikit-learn's KMeans(random_state=0)
    # as in the paper's code (needs scikit-learn installed).
    kmeans_backend: str = "torch"
    kmeans_max_iter: int = 300
    kmeans_tol: float = 1e-4
    # Torch backend: also stop once an iteration lowers the inertia by less than this fraction
    # (0: scikit-learn's criteria only). See haan.models.kmeans.
    kmeans_inertia_tol: float = 1e-4
    # Evaluate on the held-out set after every this many epochs (the paper: every epoch).
    eval_interval: int = 1
    # Which epoch's checkpoints a run keeps: "best" (the best avg.mAP on the held-out videos with
    # segments: the validation split, else the test set as the paper) or "last" (the last epoch,
    # no per-epoch scoring: for datasets whose only segments are the test set's, e.g. `haan data
    # import labels`; the test set is scored once, after training).
    select_epoch: str = "best"
    # Save a resumable training state (model, optimizer, pseudo labels, RNG) after every epoch.
    save_training_state: bool = True
    # Dropout masks: "fast" draws 16-bit uniforms in bulk from the seeded torch generator, ~4x
    # cheaper than nn.Dropout's element-by-element draws (the same keep probability to 2^-16 and
    # scaling; 5-seed mAP within the spread of "torch"); "torch" draws them as nn.Dropout does,
    # the paper's stream bit for bit.
    dropout_masks: str = "fast"
    # Matmul precision of the networks: "fp32" (the paper) or "bf16" (haan.precision: autocast,
    # fp32 weights, optimizer and losses).
    precision: str = "fp32"
    # Scan every video's features for NaN/inf when the dataset is loaded (streaming, in chunks).
    # false skips the up-front scan of a large dataset; each video is then checked when first read.
    check_features: bool = True
    # A JSON file {"fine": [C names], "coarse": [G names]} (written by `haan data import`): the
    # names detections, reports and plots use. "": the class ids, as strings.
    class_names_path: str = ""
    # A JSON file {"fps", "clip_frames", "stride", "streams", "feature_dim"} (written by `haan data
    # import` when every video's clip-grid file agrees): how `haan predict` extracts the features of
    # a video file for this dataset's models. "": not recorded (predict then needs --fps etc.).
    clip_grid_path: str = ""


METHODS = ("haan", "wtalc")


@dataclass(frozen=True)
class ModelSection:
    # "haan": the paper's method; "wtalc": W-TALC (Paul et al., ECCV 2018), haan.models.wtalc.
    method: str = "haan"


@dataclass(frozen=True)
class WTALCSection:
    """W-TALC's settings (read with [model] method = "wtalc" only). The defaults are the ones the
    authors publish in their code (file and option in each comment; haan.models.wtalc says more)."""

    dropout_rate: float = 0.7  # model.py: nn.Dropout(0.7)
    learning_rate: float = 1e-4  # options.py --lr
    weight_decay: float = 5e-4  # main.py: Adam(..., weight_decay=0.0005), L2 added to the gradient
    batch_size: int = 10  # options.py --batch-size: videos per step
    num_similar: int = 3  # options.py --num-similar: pairs of videos sharing a class per batch
    lambda_casl: float = 0.5  # options.py --Lambda: total = (1 - l) MILL + l CASL
    topk_divisor: float = 8.0  # train.py MILL: k = ceil(T / 8) clips per class
    casl_margin: float = 0.5  # train.py CASL: the hinge's margin


@dataclass(frozen=True)
class Config:
    dataset: DatasetSection
    stats: StatsSection
    features: FeaturesSection
    annotations: AnnotationsSection
    hyperparameters: HyperParameters
    evaluation: EvaluationSection
    haan: HaanSection = field(default_factory=HaanSection)
    model: ModelSection = field(default_factory=ModelSection)
    wtalc: WTALCSection = field(default_factory=WTALCSection)
    # Where the config came from (a path or "builtin:<name>"); not part of the TOML schema.
    source: str = field(default="<memory>", compare=False)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The TOML schema as nested dicts (tuples become lists); `source` is left out, and so are
        `[model]` for HAAN and `[wtalc]` for any other method (sections that say nothing)."""
        out: dict[str, dict[str, Any]] = {}
        for f in dataclasses.fields(self):
            if f.name == "source" or (f.name == "model" and self.model.method == "haan") or (
                    f.name == "wtalc" and self.model.method != "wtalc"):
                continue
            section = dataclasses.asdict(getattr(self, f.name))
            out[f.name] = {k: list(v) if isinstance(v, tuple) else v for k, v in section.items()}
        return out

    def to_toml(self) -> str:
        return dumps_toml(self.to_dict())


SECTION_TYPES: dict[str, type] = {
    "dataset": DatasetSection,
    "stats": StatsSection,
    "features": FeaturesSection,
    "annotations": AnnotationsSection,
    "hyperparameters": HyperParameters,
    "evaluation": EvaluationSection,
    "haan": HaanSection,
    "model": ModelSection,
    "wtalc": WTALCSection,
}
OPTIONAL_SECTIONS = {"haan", "model", "wtalc"}


# ----------------------------------------------------------------------------------------------
# Loading


def resolve_config_path(name_or_path: str | Path) -> tuple[Path, str]:
    """A built-in name (`fine_gym`, `FineGym`, `synthetic`, ...) or a path -> (file, source label)."""
    text = str(name_or_path)
    key = text.lower().replace("-", "_")
    if key in BUILTIN_ALIASES and not Path(text).exists():
        name = BUILTIN_ALIASES[key]
        return BUILTIN_DIR / f"{name}.toml", f"builtin:{name}"
    path = Path(text)
    if not path.is_file():
        names = ", ".join(sorted(set(BUILTIN_ALIASES.values())))
        raise InputError(f"{text}: no such config file (built-in configs: {names})")
    return path, str(path)


def load_config(
    name_or_path: str | Path, overrides: Sequence[str] = ()
) -> Config:
    """Read, override (`section.key=value` strings, values in TOML syntax) and validate."""
    path, source = resolve_config_path(name_or_path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read config ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: invalid TOML ({exc})") from None
    raw = apply_overrides(raw, overrides, source)
    return config_from_dict(raw, source)


def parse_override(text: str) -> tuple[str, str, Any]:
    """`section.key=value` -> (section, key, value). The value is TOML (`3e-5`, `"max"`,
    `[0.5, 0.75]`, `true`); a bare word that is not TOML is taken as a string."""
    if "=" not in text or "." not in text.split("=", 1)[0]:
        raise InputError(f"--set {text}: expected section.key=value")
    lhs, value_text = text.split("=", 1)
    section, key = (part.strip() for part in lhs.split(".", 1))
    try:
        value = tomllib.loads(f"v = {value_text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = value_text.strip()
    return section, key, value


def apply_overrides(
    raw: Mapping[str, Any], overrides: Sequence[str], source: str
) -> dict[str, Any]:
    out = {k: dict(v) if isinstance(v, Mapping) else v for k, v in raw.items()}
    for text in overrides:
        section, key, value = parse_override(text)
        if section not in SECTION_TYPES:
            raise unknown(f"--set {text}: unknown section [{section}]", section, SECTION_TYPES)
        hints = typing.get_type_hints(SECTION_TYPES[section])
        if key not in hints:
            raise unknown(f"--set {text}: unknown key '{key}' in [{section}]", key, hints)
        if hints[key] is str and not isinstance(value, str):
            # A string setting takes the text as written: `dataset.name=2022` is the name "2022".
            value = text.split("=", 1)[1].strip()
        table = out.setdefault(section, {})
        if not isinstance(table, dict):
            raise InputError(f"{source}: [{section}] must be a table")
        table[key] = value
    return out


def config_from_dict(raw: Mapping[str, Any], source: str = "<memory>") -> Config:
    for name in raw:
        if name not in SECTION_TYPES:
            raise unknown(f"{source}: unknown section [{name}]", name, SECTION_TYPES)
    sections: dict[str, Any] = {}
    for name, cls in SECTION_TYPES.items():
        if name not in raw:
            if name in OPTIONAL_SECTIONS:
                sections[name] = cls()
                continue
            raise InputError(f"{source}: missing section [{name}]")
        table = raw[name]
        if not isinstance(table, Mapping):
            raise InputError(f"{source}: [{name}] must be a table")
        sections[name] = _section_from_table(cls, name, table, source)
    config = Config(**sections, source=source)
    _validate(config)
    if "wtalc" in raw and config.model.method != "wtalc":
        # A [wtalc] setting on another method's run would be silently ignored.
        raise InputError(f"{source}: [wtalc] is read only with [model] method = \"wtalc\" "
                         f"(the method is {config.model.method!r})")
    return config


def _section_from_table(cls: type, name: str, table: Mapping[str, Any], source: str) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in table:
        if key not in fields:
            raise unknown(f"{source}: unknown key '{key}' in [{name}]", key, fields)
    values = {}
    for key, f in fields.items():
        if key not in table:
            if f.default is dataclasses.MISSING:
                raise InputError(f"{source}: missing key '{key}' in [{name}]")
            continue
        values[key] = _coerce(table[key], hints[key], f"{source}: [{name}] {key}")
    return cls(**values)


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Check a TOML value against a field's type; ints are accepted where floats are expected."""
    origin = typing.get_origin(hint)
    if origin is tuple:
        (item_hint, _ellipsis) = typing.get_args(hint)
        if not isinstance(value, (list, tuple)):
            raise InputError(f"{where}: expected a list, got {value!r}")
        return tuple(_coerce(v, item_hint, where) for v in value)
    if hint is bool:
        if not isinstance(value, bool):
            raise InputError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"{where}: expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"{where}: expected a number, got {value!r}")
        if not math.isfinite(value):
            raise InputError(f"{where}: expected a finite number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise InputError(f"{where}: expected a string, got {value!r}")
        return value
    raise TypeError(f"unsupported config type {hint!r}")  # a bug in this module, not user input


def _validate(c: Config) -> None:
    src = c.source

    def check(ok: bool, section: str, key: str, expected: str, value: Any) -> None:
        if not ok:
            raise InputError(f"{src}: [{section}] {key}: expected {expected}, got {value!r}")

    name = c.dataset.name
    # The name becomes a folder of every run's path (OUTPUT_DIR/NAME/EXP).
    check(bool(name.strip()) and "/" not in name and "\\" not in name and name not in (".", "..")
          and "\0" not in name, "dataset", "name",
          "a folder name (no path separators, not '.' or '..')", name)
    for key, value in dataclasses.asdict(c.stats).items():
        check(value >= 1, "stats", key, "an integer >= 1", value)
    h = c.hyperparameters
    for key in ("feature_size", "encoded_feature_size", "batch_size", "epochs",
                "num_visual_concepts", "num_top_visual_concepts"):
        check(getattr(h, key) >= 1, "hyperparameters", key, "an integer >= 1", getattr(h, key))
    check(h.num_top_visual_concepts <= h.num_visual_concepts, "hyperparameters",
          "num_top_visual_concepts", f"at most num_visual_concepts ({h.num_visual_concepts})",
          h.num_top_visual_concepts)
    check(0 < h.clustering_sample_rate <= 1, "hyperparameters", "clustering_sample_rate",
          "a fraction in (0, 1]", h.clustering_sample_rate)
    check(0 <= h.dropout_rate < 1, "hyperparameters", "dropout_rate", "a probability in [0, 1)",
          h.dropout_rate)
    check(h.learning_rate > 0, "hyperparameters", "learning_rate", "a positive number",
          h.learning_rate)
    check(h.fine_to_coarse_pooling in ("mean", "max"), "hyperparameters",
          "fine_to_coarse_pooling", '"mean" or "max"', h.fine_to_coarse_pooling)
    lambdas = ("lambda_1", "lambda_2", "lambda_3", "lambda_4")
    for key in lambdas:
        check(getattr(h, key) >= 0, "hyperparameters", key, "a number >= 0", getattr(h, key))
    if c.model.method == "haan" and not any(getattr(h, key) > 0 for key in lambdas):
        raise InputError(f"{src}: [hyperparameters] lambda_1 .. lambda_4 are all 0: at least one "
                         "of HAAN's losses must be on")

    e = c.evaluation
    check(len(e.tiou_thresholds) > 0, "evaluation", "tiou_thresholds", "a non-empty list",
          list(e.tiou_thresholds))
    for key in ("tiou_thresholds", "report_thresholds"):
        for t in getattr(e, key):
            check(0 < t <= 1, "evaluation", key, "tIoU values in (0, 1]", t)
    for t in e.report_thresholds:
        check(any(math.isclose(t, u) for u in e.tiou_thresholds), "evaluation",
              "report_thresholds", "values that are also in tiou_thresholds", t)
    # k = ceil(T / kmax_mod_factor) of T clips: below 1 it would ask for more clips than exist.
    check(e.kmax_mod_factor >= 1, "evaluation", "kmax_mod_factor", "a number >= 1",
          e.kmax_mod_factor)
    # thr = mean + alpha (max - min): at alpha >= 1 no clip can pass, at alpha <= -1 every clip
    # does (one detection spanning the video); the paper uses 0.1 and -0.8.
    check(-1 < e.alpha < 1, "evaluation", "alpha", "a number in (-1, 1)", e.alpha)

    x = c.haan
    check(x.pseudo_label_interval >= 1, "haan", "pseudo_label_interval", "an integer >= 1",
          x.pseudo_label_interval)
    check(0 <= x.validation_fraction < 1, "haan", "validation_fraction", "a fraction in [0, 1)",
          x.validation_fraction)
    check(x.kmeans_backend in ("torch", "sklearn"), "haan", "kmeans_backend",
          '"torch" or "sklearn"', x.kmeans_backend)
    check(x.kmeans_max_iter >= 1, "haan", "kmeans_max_iter", "an integer >= 1", x.kmeans_max_iter)
    check(x.kmeans_tol >= 0, "haan", "kmeans_tol", "a number >= 0", x.kmeans_tol)
    check(x.kmeans_inertia_tol >= 0, "haan", "kmeans_inertia_tol", "a number >= 0",
          x.kmeans_inertia_tol)
    check(x.eval_interval >= 1, "haan", "eval_interval", "an integer >= 1", x.eval_interval)
    check(x.select_epoch in ("best", "last"), "haan", "select_epoch", '"best" or "last"',
          x.select_epoch)
    check(x.dropout_masks in ("torch", "fast"), "haan", "dropout_masks", '"torch" or "fast"',
          x.dropout_masks)
    check(x.precision in ("fp32", "bf16"), "haan", "precision", '"fp32" or "bf16"', x.precision)
    check(x.class_names_path == "" or x.class_names_path.endswith(".json"), "haan",
          "class_names_path", 'the path of a .json file, or ""', x.class_names_path)
    check(x.clip_grid_path == "" or x.clip_grid_path.endswith(".json"), "haan",
          "clip_grid_path", 'the path of a .json file, or ""', x.clip_grid_path)

    check(c.model.method in METHODS, "model", "method", " or ".join(f'"{m}"' for m in METHODS),
          c.model.method)
    w = c.wtalc
    check(0 <= w.dropout_rate < 1, "wtalc", "dropout_rate", "a probability in [0, 1)",
          w.dropout_rate)
    check(w.learning_rate > 0, "wtalc", "learning_rate", "a positive number", w.learning_rate)
    check(w.weight_decay >= 0, "wtalc", "weight_decay", "a number >= 0", w.weight_decay)
    check(w.num_similar >= 0, "wtalc", "num_similar", "an integer >= 0", w.num_similar)
    check(w.batch_size >= max(1, 2 * w.num_similar), "wtalc", "batch_size",
          f"room for num_similar = {w.num_similar} pairs (>= {max(1, 2 * w.num_similar)})",
          w.batch_size)
    check(0 <= w.lambda_casl <= 1, "wtalc", "lambda_casl", "a weight in [0, 1]", w.lambda_casl)
    check(w.topk_divisor > 0, "wtalc", "topk_divisor", "a positive number", w.topk_divisor)
    check(w.casl_margin >= 0, "wtalc", "casl_margin", "a number >= 0", w.casl_margin)


# ----------------------------------------------------------------------------------------------
# Writing (the resolved config goes with every run's output)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        # TOML basic strings cannot hold raw control characters.
        escaped = "".join(ch if " " <= ch != "\x7f" else f"\\u{ord(ch):04x}"
                          for ch in escaped)
        return f'"{escaped}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


# Settings whose default changed when they were added: a config written before has the former
# behaviour, not today's default.
FORMER_DEFAULTS: dict[str, dict[str, Any]] = {"haan": {"dropout_masks": "torch"}}


def with_defaults(tables: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """A config's tables (e.g. as saved with a run) with every optional section and every setting
    it leaves out at the value the run used: its default, or the behaviour before the setting
    existed (FORMER_DEFAULTS). What this haan does not know stays as is."""
    out: dict[str, dict[str, Any]] = {}
    for name, cls in SECTION_TYPES.items():
        if name in tables or name in OPTIONAL_SECTIONS:
            defaults = {f.name: list(f.default) if isinstance(f.default, tuple) else f.default
                        for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}
            out[name] = {**defaults, **FORMER_DEFAULTS.get(name, {}), **dict(tables.get(name, {}))}
    return out | {k: dict(v) for k, v in tables.items() if k not in SECTION_TYPES}


def flatten(config_dict: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """{"section.key": value} of a config's to_dict()."""
    return {f"{s}.{k}": v for s, table in config_dict.items() for k, v in table.items()}


def dumps_toml(tables: Mapping[str, Mapping[str, Any]]) -> str:
    """Tables of scalars and flat lists, which is all the config schema has."""
    blocks = []
    for name, table in tables.items():
        lines = [f"[{name}]"] + [f"{k} = {_toml_value(v)}" for k, v in table.items()]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


__all__ = [
    "AnnotationsSection", "Config", "DatasetSection", "EvaluationSection", "FeaturesSection",
    "HaanSection", "HyperParameters", "METHODS", "ModelSection", "StatsSection", "WTALCSection",
    "apply_overrides", "config_from_dict", "dumps_toml", "flatten", "load_config", "with_defaults",
    "parse_override", "resolve_config_path",
]
