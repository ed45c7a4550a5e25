"""The generative model's vocabulary and hierarchy, and the seed streams of the whole generator
(one seed fixes everything).

* Vocabulary. `num_atomics` atomic actions, each a random Gaussian direction in R^D, and
  `num_background` background directions.
* Hierarchy. Coarse class g owns a pool of `atomics_per_coarse` atomics (pools of different coarse
  classes may overlap). Its fine classes are short sequences of L atomics from the pool
  (L in `atomics_per_fine`, one L per coarse class): all siblings share a core of L - 1 atomics in
  a fixed order, and each inserts one more atomic at some position. Siblings therefore differ by
  one atomic or only by its position in the sequence: telling them apart needs the atomic
  structure, which is the paper's premise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from haan.data.synth.presets import SynthPreset


@dataclass(frozen=True)
class SynthModel:
    preset: SynthPreset
    fine_to_coarse: np.ndarray              # (C,) int64
    coarse_pools: tuple[tuple[int, ...], ...]  # G pools of atomic ids
    sequences: tuple[tuple[int, ...], ...]  # C atomic sequences, in order
    atoms: np.ndarray                       # (V, D) float32
    backgrounds: np.ndarray                 # (B, D) float32

    @property
    def sequence_matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """(C, L_max) int64 atomic ids padded with 0, and (C,) lengths."""
        lengths = np.array([len(s) for s in self.sequences], dtype=np.int64)
        out = np.zeros((len(lengths), int(lengths.max())), dtype=np.int64)
        for c, s in enumerate(self.sequences):  # C rows, each a few ids
            out[c, : len(s)] = s
        return out, lengths


def seed_streams(seed: int) -> tuple[np.random.SeedSequence, ...]:
    """Independent streams: model, video plan, features (one child per video)."""
    return tuple(np.random.SeedSequence(seed).spawn(3))


def build_model(preset: SynthPreset, seed: int) -> SynthModel:
    rng = np.random.default_rng(seed_streams(seed)[0])
    lo, hi = preset.atomics_per_fine
    pools, sequences, fine_to_coarse = [], [], []
    for g, siblings in enumerate(preset.fine_per_coarse):
        for _attempt in range(100):  # redraw the pool in the rare case it allows too few
            pool = rng.choice(preset.num_atomics, size=preset.atomics_per_coarse, replace=False)
            length = int(rng.integers(lo, hi + 1))
            core = [int(a) for a in pool[: length - 1]]  # shared by every sibling, in this order
            # A sibling = the core with one more atomic of the pool inserted at some position.
            # (Pools overlap, so another coarse class may already own a sequence: skip it.)
            candidates = [seq for v in pool[length - 1:] for q in range(length)
                          if (seq := tuple(core[:q] + [int(v)] + core[q:])) not in sequences]
            if siblings <= len(candidates):
                break
        else:
            raise ValueError(f"preset {preset.name}: coarse class {g} needs {siblings} fine "
                             f"classes, more than a pool of {preset.atomics_per_coarse} allows")
        chosen = rng.choice(len(candidates), size=siblings, replace=False)
        pools.append(tuple(int(a) for a in pool))
        sequences.extend(candidates[i] for i in chosen)
        fine_to_coarse.extend([g] * siblings)
    D = preset.feature_size
    atoms = rng.standard_normal((preset.num_atomics, D)).astype(np.float32)
    backgrounds = rng.standard_normal((preset.num_background, D)).astype(np.float32)
    return SynthModel(preset, np.array(fine_to_coarse, dtype=np.int64), tuple(pools),
                      tuple(sequences), atoms, backgrounds)


__all__ = ["SynthModel", "build_model", "seed_streams"]
