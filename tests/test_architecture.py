"""The package's shape: the contracts in pyproject.toml (import-linter: each pipeline stage imports
only from the stages below it; the numeric cores read no files and no config), no import circle
anywhere, and each sub-package saying what it owns and what it may import."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "haan"
SUBPACKAGES = sorted(p.parent for p in PACKAGE.glob("*/__init__.py"))


def lint_imports(pyproject: Path, src: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import "
                           "lint_imports_command; sys.exit(lint_imports_command())",
                           "--config", str(pyproject), "--no-cache"],
                          capture_output=True, text=True, env=env, cwd=src)


def test_the_layers_contract_is_kept():
    out = lint_imports(REPO / "pyproject.toml", REPO / "src")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 kept, 0 broken" in out.stdout


@pytest.mark.parametrize("module, injected, broken", [
    # the base importing the CLI, lazily inside a function as most of haan's heavy imports are
    ("fileio.py", "from haan.cli import main", "haan.fileio -> haan.cli"),
    # a numeric core reading a config
    ("evaluation/metrics.py", "from haan.config import load_config",
     "haan.evaluation.metrics -> haan.config"),
])
def test_the_contracts_catch_a_forbidden_import(tmp_path, module, injected, broken):
    """The same check on a copy of the package with one forbidden import added."""
    shutil.copytree(PACKAGE, tmp_path / "haan", ignore=shutil.ignore_patterns("__pycache__"))
    with open(tmp_path / "haan" / module, "a", encoding="utf-8") as f:
        f.write(f"\n\ndef _forbidden():\n    {injected}\n")
    out = lint_imports(REPO / "pyproject.toml", tmp_path)
    assert out.returncode == 1
    assert "1 kept, 1 broken" in out.stdout and broken in out.stdout


def _graph() -> dict[str, set[str]]:
    import grimp

    graph = grimp.build_graph("haan", cache_dir=None)
    return {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}


def test_no_import_circle():
    """Tarjan's strongly connected components over every import (lazy ones too): each component
    must be one module. A package's __init__ that re-exports its modules is its own node."""
    edges = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(edges):
        if v not in index:
            visit(v)
    assert not circles


# A room holds one job: past these, a module or function has grown a second one and is split.
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 100


def test_no_module_or_function_has_outgrown_one_job():
    too_long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(PACKAGE.parent)
        if text.count("\n") > MAX_MODULE_LINES:
            too_long.append(f"{name}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{name}:{node.lineno} {node.name}: {length} lines")
    assert not too_long


@pytest.mark.parametrize("package", SUBPACKAGES, ids=lambda p: p.name)
def test_each_subpackage_says_what_it_owns_and_may_import(package):
    doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text(encoding="utf-8")))
    assert doc, f"{package.name}/__init__.py has no docstring"
    assert "May import:" in doc
