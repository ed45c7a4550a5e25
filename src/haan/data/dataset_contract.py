"""A dataset's feature contract (haan.data.contract): the one its videos' clip-grid files share,
recorded by `haan data import` under "contract" in the dataset's `clip_grid.json` (`[haan]
clip_grid_path`), read back by `haan train` (into run.json, where `haan predict` reads it:
`read_run_contract`) and `haan data info`.

A dataset whose features haan extract did not make has none: its contract is unknown, and
everything works as without contracts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from haan import fileio
from haan.config import Config
from haan.data.contract import CONTRACT_KEY, FeatureContract, differences
from haan.errors import InputError

# run.json's key for the contract of the features a run was trained on (the JSON, or null)
RUN_CONTRACT_KEY = "feature_contract"


def common_contract(names: Sequence[str], grid_files: Sequence[Path],
                    grids: Sequence[dict]) -> FeatureContract | None:
    """The contract every video's clip-grid file names (read_grid_file's "contract"); None when
    none names one. Videos that disagree, or a video without one beside videos with one: one
    InputError naming the first two such videos and the field."""
    contracts = [g.get("contract") for g in grids]
    known = [i for i, c in enumerate(contracts) if c is not None]
    if not known:
        return None
    first = known[0]
    reference = contracts[first]
    for i, c in enumerate(contracts):  # per video: a handful of field comparisons
        if c is None:
            raise InputError(f"{grid_files[i]}: video '{names[i]}' has no feature contract, but "
                             f"video '{names[first]}' has one ({grid_files[first].name}): were "
                             "they made by the same haan extract?")
        found = differences(reference, c)
        if found:
            field, a, b = found[0]
            raise InputError(f"{grid_files[i].parent}: videos '{names[first]}' and '{names[i]}' "
                             f"were made differently: feature contract {field} is {a!r} and "
                             f"{b!r}")
    return reference


def contract_fits(contract: FeatureContract, rates: np.ndarray, feature_dim: int,
                  where: Path) -> bool:
    """Whether the contract describes the imported features: their D (else an InputError: the
    files contradict their own grid files) and the clip rate used for every video (not with a
    --clips-per-second or --clips-per-video that differs: then the contract is not recorded)."""
    if contract.feature_dim != feature_dim:
        raise InputError(f"{where}: the feature files have {feature_dim} values per clip, but "
                         f"their clip-grid files' feature contract says feature_dim "
                         f"{contract.feature_dim}")
    return bool(np.allclose(rates, contract.clips_per_second, rtol=1e-9, atol=0))


def read_contract(path: str | Path) -> FeatureContract | None:
    """The contract a `clip_grid.json` records; None when it records none."""
    data = fileio.read_json(path)
    if not isinstance(data, dict) or data.get(CONTRACT_KEY) is None:
        return None
    return FeatureContract.from_json(data[CONTRACT_KEY], source=str(path))


def dataset_contract(config: Config) -> FeatureContract | None:
    """The contract of the config's dataset (`[haan] clip_grid_path`); None: unknown."""
    path = config.haan.clip_grid_path
    if not path or not Path(path).is_file():
        return None
    return read_contract(path)


def dataset_contract_json(config: Config) -> dict[str, Any] | None:
    """What run.json records under RUN_CONTRACT_KEY: the contract's JSON, or None (null)."""
    contract = dataset_contract(config)
    return None if contract is None else contract.to_json()


def read_run_contract(run_dir: str | Path) -> tuple[bool, FeatureContract | None]:
    """(whether the run folder's run.json records a contract at all, the contract; None:
    unknown). A run recorded before contracts existed, or a folder without run.json: (False,
    None)."""
    path = Path(run_dir) / "run.json"
    if not path.is_file():
        return False, None
    data = fileio.read_json(path)
    if not isinstance(data, dict) or RUN_CONTRACT_KEY not in data:
        return False, None
    value = data[RUN_CONTRACT_KEY]
    if value is None:
        return True, None
    return True, FeatureContract.from_json(value, source=f"{path}: {RUN_CONTRACT_KEY}")


def describe_contract(contract: dict[str, Any] | None) -> str:
    """A contract's JSON in words (`haan data info`); "unknown" without one."""
    if contract is None:
        return ("unknown (the features were not made by haan extract, or were imported before "
                "haan recorded contracts)")
    weights = ", ".join(f"{stream} {sha}" for stream, sha in contract["weights_sha256"].items())
    return (f"{contract['extractor']}, {contract['streams']} (weights SHA-256: {weights}), "
            f"{contract['fps']:g} fps, {contract['clip_frames']}-frame clips every "
            f"{contract['stride']} frames, D = {contract['feature_dim']}, "
            f"{contract['clips_per_second']:g} clips/s")


__all__ = ["RUN_CONTRACT_KEY", "common_contract", "contract_fits", "dataset_contract",
           "dataset_contract_json", "describe_contract", "read_contract", "read_run_contract"]
