"""ActivityNet-style ground-truth files: the reader (`read_activitynet`), video ids as such files
spell them (with or without a `v_` prefix), and the class hierarchy of their labels
(`coarse_classes`: the file's taxonomy, a mapping file, or flat) and the class table of a set of
annotated videos (`class_table`).

The file: `{"database": {video: {"subset": ..., "duration": seconds, "annotations": [{"segment":
[start, end], "label": name}, ...]}}, "taxonomy": [{"nodeId", "nodeName", "parentId",
"parentName"}, ...]}`. `duration` and `taxonomy` are optional, and segment bounds and durations may
be numbers or numeric strings (THUMOS14 as weakly-supervised repositories ship it).

Hierarchies: `taxonomy` (each label's parent in the file's taxonomy), `taxonomy:DEPTH` (its
ancestor at that depth, the root being depth 0), a `MAPPING.json` file `{"fine label": "coarse
label"}`, `flat` (each label its own coarse class) or `single` (one coarse class for all).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from haan import fileio
from haan.errors import DataWarning, InputError

SINGLE_GROUP = "all"  # the one coarse class of the `single` hierarchy

# ----------------------------------------------------------------------------------------------
# Values and ids


def parse_number(value: Any) -> float | None:
    """A finite number from a JSON number or a numeric string; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None


def id_variants(name: str) -> list[str]:
    """A video's id as annotation and feature files may spell it: as is, with or without a `v_`
    prefix."""
    return [name, f"v_{name}"] + ([name[2:]] if name.startswith("v_") else [])


def lookup(table: Mapping[str, Any], name: str) -> Any:
    """table[name], trying the `v_` spellings of the id; None when absent."""
    return next((table[k] for k in id_variants(name) if k in table), None)


# ----------------------------------------------------------------------------------------------
# The annotation file


@dataclass(frozen=True)
class GroundTruthVideo:
    name: str
    subset: str | None
    duration: float | None      # seconds; None where the file gives none
    labels: list[str]           # (n,) label of each instance
    segments: np.ndarray        # (n, 2) float64 seconds


def _read_video(where: str, name: str, entry: Any) -> GroundTruthVideo:
    """One `database` entry, checked; `where` names it in errors."""
    if not isinstance(entry, dict):
        raise InputError(f"{where}: expected an object")
    subset = entry.get("subset")
    if subset is not None and not isinstance(subset, str):
        raise InputError(f'{where}: "subset" must be a string, got {subset!r:.40}')
    duration = None
    if entry.get("duration") is not None:
        duration = parse_number(entry["duration"])
        if duration is None or duration <= 0:
            raise InputError(f'{where}: "duration" must be a positive number, got '
                             f'{entry["duration"]!r:.40}')
    items = entry.get("annotations", [])
    if not isinstance(items, list):
        raise InputError(f'{where}: "annotations" must be a list')
    labels, segments = [], []
    for k, item in enumerate(items):  # a loop over the file's instances: parsing, once
        seg = item.get("segment") if isinstance(item, dict) else None
        bounds = [parse_number(x) for x in seg] if isinstance(seg, list) else []
        if len(bounds) != 2 or None in bounds:
            raise InputError(f'{where}["annotations"][{k}]: "segment" must be [start, end] '
                             f"numbers or numeric strings, got {seg!r:.60}")
        if not isinstance(item.get("label"), str):
            raise InputError(f'{where}["annotations"][{k}]: "label" must be a string, got '
                             f'{item.get("label")!r:.40}')
        labels.append(item["label"])
        segments.append(bounds)
    return GroundTruthVideo(name, subset, duration, labels,
                            np.array(segments, dtype=np.float64).reshape(-1, 2))


def read_activitynet(path: str | Path) -> tuple[list[GroundTruthVideo], list | None]:
    """The videos of an ActivityNet-style file, in file order, and its taxonomy (None if absent)."""
    data = fileio.read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("database"), dict):
        raise InputError(f'{path}: expected a JSON object with a "database" object (video -> '
                         '{"subset", "annotations"})')
    videos = [_read_video(f"{path}: database[{name!r}]", name, entry)
              for name, entry in data["database"].items()]
    taxonomy = data.get("taxonomy")
    if taxonomy is not None and not isinstance(taxonomy, list):
        raise InputError(f'{path}: "taxonomy" must be a list of nodes')
    return videos, taxonomy


# ----------------------------------------------------------------------------------------------
# Hierarchy: the coarse class of each fine label


def _taxonomy_parents(path: Path, taxonomy: list) -> tuple[dict, dict, dict]:
    """(node id -> name, node id -> parent id or None, name -> node id). Where several nodes
    share a name, the name means the one without children (a label is a leaf)."""
    names, parents = {}, {}
    for k, node in enumerate(taxonomy):
        if not (isinstance(node, dict) and isinstance(node.get("nodeName"), str)
                and "nodeId" in node and not isinstance(node["nodeId"], (dict, list))):
            raise InputError(f'{path}: taxonomy[{k}]: expected {{"nodeId", "nodeName", '
                             f'"parentId"}}, got {node!r:.80}')
        if node["nodeId"] in names:
            raise InputError(f"{path}: taxonomy[{k}]: node id {node['nodeId']!r} occurs twice")
        names[node["nodeId"]] = node["nodeName"]
        parents[node["nodeId"]] = node.get("parentId")
    has_children = {p for p in parents.values() if p is not None}
    by_name: dict[str, Any] = {}
    for node_id, name in names.items():
        if name not in by_name or (by_name[name] in has_children and node_id not in has_children):
            by_name[name] = node_id
    return names, parents, by_name


def _ancestors(path: Path, node: Any, parents: dict) -> list:
    """[node, its parent, ..., the top]: the chain ends at a node without a known parent."""
    chain = [node]
    while parents.get(chain[-1]) in parents:
        chain.append(parents[chain[-1]])
        if len(chain) > len(parents):
            raise InputError(f"{path}: the taxonomy has a cycle through node {node!r}")
    return chain


def _taxonomy_depth(hierarchy: str) -> int | None:
    """DEPTH of `taxonomy:DEPTH`; None for `taxonomy` (each label's parent)."""
    if hierarchy == "taxonomy":
        return None
    text = hierarchy.split(":", 1)[1]
    if not text.isdigit() or int(text) < 1:
        raise InputError(f"--hierarchy {hierarchy}: DEPTH must be an integer >= 1 (the root is "
                         "depth 0)")
    return int(text)


def _taxonomy_classes(hierarchy: str, labels: Sequence[str], annotations: Path,
                      taxonomy: list | None) -> dict[str, str]:
    """The coarse label of each label under `taxonomy` or `taxonomy:DEPTH`."""
    depth = _taxonomy_depth(hierarchy)
    if taxonomy is None:
        raise InputError(f'{annotations}: no "taxonomy" in the file (needed by --hierarchy '
                         f"{hierarchy}); use --hierarchy flat or MAPPING.json")
    names, parents, by_name = _taxonomy_parents(annotations, taxonomy)
    unknown = [label for label in labels if label not in by_name]
    if unknown:
        raise InputError(f"{annotations}: {len(unknown)} labels are not in the file's taxonomy "
                         f"(first: {unknown[0]!r})")
    chains = {label: _ancestors(annotations, by_name[label], parents) for label in labels}
    if depth is None:
        orphans = [label for label in labels if len(chains[label]) < 2]
        if orphans:
            raise InputError(f"{annotations}: {len(orphans)} labels have no parent in the "
                             f"taxonomy (first: {orphans[0]!r}); use taxonomy:DEPTH, flat or "
                             "MAPPING.json")
        return {label: names[chains[label][1]] for label in labels}
    # chain[k] lies at depth len(chain) - 1 - k; labels at or above DEPTH are their own class.
    shallow = [label for label in labels if len(chains[label]) - 1 <= depth]  # label order
    if shallow:
        warnings.warn(f"{annotations}: {len(shallow)} labels lie at depth {depth} or above in "
                      f"the taxonomy and are their own coarse class (first: {shallow[0]!r}, "
                      f"depth {len(chains[shallow[0]]) - 1})", DataWarning, stacklevel=5)
    return {label: (label if len(chains[label]) - 1 <= depth
                    else names[chains[label][len(chains[label]) - 1 - depth]])
            for label in labels}


def _mapped_classes(mapping_file: str, labels: Sequence[str],
                    annotations: Path) -> dict[str, str]:
    """The coarse label of each label in a `{"fine label": "coarse label"}` file."""
    mapping = fileio.read_json(mapping_file)
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise InputError(f'{mapping_file}: expected an object {{"fine label": "coarse label", '
                         '...}')
    unknown = [label for label in labels if label not in mapping]
    if unknown:
        raise InputError(f"{mapping_file}: no coarse class for {len(unknown)} labels of "
                         f"{annotations} (first: {unknown[0]!r})")
    return {label: mapping[label] for label in labels}


def coarse_classes(hierarchy: str, labels: Sequence[str], annotations: Path,
                   taxonomy: list | None) -> dict[str, str]:
    """The coarse label of each of `labels` under `hierarchy` (see the module's docstring)."""
    if hierarchy == "flat":
        return {label: label for label in labels}
    if hierarchy == "single":
        return {label: SINGLE_GROUP for label in labels}
    if hierarchy == "taxonomy" or hierarchy.startswith("taxonomy:"):
        return _taxonomy_classes(hierarchy, labels, annotations, taxonomy)
    return _mapped_classes(hierarchy, labels, annotations)


@dataclass(frozen=True)
class ClassTable:
    """The classes of a list of annotated videos, fine and coarse, numbered in sorted name order."""

    fine_names: list[str]       # (C,) the labels the videos use
    coarse_names: list[str]     # (G,) what the hierarchy maps them to
    labels: list[np.ndarray]    # per video (n, 2) int64 [coarse id, fine id] of each instance
    fine_to_coarse: np.ndarray  # (C,) int64


def class_table(videos: Sequence[GroundTruthVideo], hierarchy: str, annotations: Path,
                taxonomy: list | None) -> ClassTable:
    """Fine classes from the videos' labels, coarse ones from `hierarchy` (coarse_classes)."""
    fine_names = sorted({label for v in videos for label in v.labels})
    coarse_of = coarse_classes(hierarchy, fine_names, annotations, taxonomy)
    coarse_names = sorted(set(coarse_of.values()))
    fine_id = {name: i for i, name in enumerate(fine_names)}
    coarse_id = {name: g for g, name in enumerate(coarse_names)}
    fine_to_coarse = np.array([coarse_id[coarse_of[f]] for f in fine_names], dtype=np.int64)
    labels = [np.array([[fine_to_coarse[fine_id[x]], fine_id[x]] for x in v.labels],
                       dtype=np.int64).reshape(-1, 2) for v in videos]
    return ClassTable(fine_names, coarse_names, labels, fine_to_coarse)


def describe_hierarchy(hierarchy: str) -> str:
    """A hierarchy in words, for the import's summary."""
    if hierarchy == "flat":
        return "flat (each class its own coarse class)"
    if hierarchy == "single":
        return f"single (one coarse class, {SINGLE_GROUP!r})"
    if hierarchy == "taxonomy":
        return "taxonomy (each label's parent)"
    if hierarchy.startswith("taxonomy:"):
        return f"{hierarchy} (each label's ancestor at depth {hierarchy.split(':', 1)[1]})"
    return f"the mapping {hierarchy}"


__all__ = ["ClassTable", "GroundTruthVideo", "class_table", "coarse_classes", "describe_hierarchy",
           "id_variants", "lookup", "parse_number", "read_activitynet"]
