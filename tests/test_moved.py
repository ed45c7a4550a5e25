"""Every public name of haan 0.2 (tests/fixtures/api_0.2.json: each module's __all__, or its own
public definitions, listed before the package was split by pipeline stage) is still importable
from its old path, with a DeprecationWarning that names the new one."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

API = json.loads((Path(__file__).parent / "fixtures" / "api_0.2.json").read_text())


@pytest.mark.parametrize("module", sorted(API))
def test_every_old_name_resolves(module):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old = importlib.import_module(module)
    missing = [name for name in API[module] if not hasattr(old, name)]
    assert not missing, f"{module}: {missing}"


def test_a_module_that_kept_its_job_is_the_same_object():
    import haan.evaluation.metrics
    import haan.metrics

    assert haan.metrics is haan.evaluation.metrics
    assert haan.metrics.__spec__.name == "haan.evaluation.metrics"
    from haan.metrics import evaluate_detections
    from haan.postprocess import detect

    assert evaluate_detections is haan.evaluation.metrics.evaluate_detections
    assert detect.__module__ == "haan.evaluation.postprocess"


def test_a_split_module_finds_each_name_where_it_went():
    from haan.engine.loop import train
    from haan.engine.state import RUN_FILES
    from haan.recipes.train import run_training
    from haan.runs import run_training as old_run_training
    from haan.runs import set_threads as old_set_threads
    from haan.runtime.device import set_threads
    from haan.train import RUN_FILES as old_run_files
    from haan.train import train as old_train

    assert (old_run_training, old_set_threads, old_train, old_run_files) == (
        run_training, set_threads, train, RUN_FILES)
    import haan.train

    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        haan.train.nothing_here


def test_old_paths_warn_with_the_new_one_and_new_paths_do_not():
    code = ("import warnings; warnings.simplefilter('error', DeprecationWarning)\n"
            "import haan.evaluation.metrics, haan.engine.loop, haan.cli\n"
            "try:\n    import haan.metrics\nexcept DeprecationWarning as w:\n    print(w)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ("haan.metrics moved to haan.evaluation.metrics; the old path "
                                  "will be removed in a later release")
