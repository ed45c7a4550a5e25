"""The module paths of haan 0.2, importable for this release: `import haan.metrics` gives
haan.evaluation.metrics, with a DeprecationWarning naming the new path. A module that kept one
job is the same module object under both names (so monkeypatching either changes both); a module
that was split (haan.train, haan.runs) is a read-only view whose names are looked up, in order, in
the modules it became. docs/architecture.md lists where everything lives now.

Imports nothing but the standard library: `import haan` stays cheap.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings

# old path -> the new module(s) that hold its names
MOVED: dict[str, tuple[str, ...]] = {
    "haan.activitynet": ("haan.evaluation.activitynet",),
    "haan.checkpoints": ("haan.engine.checkpoints",),
    "haan.compare": ("haan.viz.compare",),
    "haan.distributed": ("haan.runtime.distributed",),
    "haan.evaluate": ("haan.evaluation.evaluate",),
    "haan.kmeans": ("haan.models.kmeans",),
    "haan.losses": ("haan.models.losses",),
    "haan.memory": ("haan.runtime.memory",),
    "haan.methods": ("haan.models.methods",),
    "haan.metrics": ("haan.evaluation.metrics",),
    "haan.model": ("haan.models.haan",),
    "haan.optim": ("haan.models.optim",),
    "haan.plots": ("haan.viz.plots",),
    "haan.postprocess": ("haan.evaluation.postprocess",),
    "haan.precision": ("haan.runtime.precision",),
    "haan.pseudo_labels": ("haan.models.pseudo_labels",),
    "haan.reports": ("haan.evaluation.reports",),
    "haan.runs": ("haan.recipes.train", "haan.recipes.evaluate", "haan.runtime.device",
                  "haan.runtime.console", "haan.runtime.precision", "haan.models.methods"),
    "haan.seeds": ("haan.engine.seeds",),
    "haan.synth": ("haan.data.synth",),
    "haan.train": ("haan.engine.loop", "haan.engine.state", "haan.engine.pseudo_labelling",
                   "haan.models.pseudo_labels", "haan.runtime.distributed"),
    "haan.wtalc": ("haan.models.wtalc",),
}


class _SplitModule(types.ModuleType):
    """An old module that became several: each attribute from the first new module that has it."""

    def __init__(self, name: str, targets: tuple[str, ...]) -> None:
        super().__init__(name, f"Moved: see {', '.join(targets)}.")
        self._targets = targets

    def __getattr__(self, attribute: str):
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        for target in self._targets:
            module = importlib.import_module(target)
            if hasattr(module, attribute):
                return getattr(module, attribute)
        raise AttributeError(f"module {self.__name__!r} has no attribute {attribute!r}")

    def __dir__(self) -> list[str]:
        names = set()
        for target in self._targets:
            names.update(dir(importlib.import_module(target)))
        return sorted(names)


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Consulted after the normal finders, so it only ever answers for the old paths."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec):
        targets = MOVED[spec.name]
        warnings.warn(f"{spec.name} moved to {' and '.join(targets)}; the old path will be "
                      "removed in a later release", DeprecationWarning, stacklevel=2)
        return _SplitModule(spec.name, targets) if len(targets) > 1 else None

    def exec_module(self, module) -> None:
        targets = MOVED[module.__name__]
        if len(targets) == 1:
            # The import system returns whatever sys.modules holds once this returns: the new
            # module itself, its own __spec__ untouched.
            sys.modules[module.__name__] = importlib.import_module(targets[0])


def install() -> None:
    if not any(isinstance(finder, _MovedFinder) for finder in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
