# The same commands run locally and in CI (.ci/run calls `make test` and `make docs`).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_PIN := torch==2.13.0

.PHONY: install test lint demo bench docs docs-serve tk-env clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# torch is pinned here (the CPU wheel on local disk); pyproject accepts a range.
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q $(TORCH_PIN)
	$(BIN)/pip install -q -e '.[test,lint,demo,draw]'
	touch $@

install: $(VENV)/.installed

test: install
	$(BIN)/python -m pytest tests

lint: install
	$(BIN)/ruff check torchtn tests benchmarks
	$(BIN)/ruff format --check torchtn tests benchmarks

demo: install
	$(BIN)/python -m torchtn.examples.digits_mps

bench: install
	$(BIN)/python benchmarks/run_all.py

# Documentation site (docs/, mkdocs.yml) built into site/; --strict turns every warning
# (broken link, unrenderable docstring) into an error. The code on its pages runs in
# `make test` (tests/docs).
$(VENV)/.docs-installed: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install -q -e '.[docs]'
	touch $@

docs: $(VENV)/.docs-installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

docs-serve: $(VENV)/.docs-installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

# Separate environment with TensorKrowch 1.1.6 for side-by-side benchmarks.
# Never a dependency of torchtn. numpy only silences torch's import-time warning.
tk-env: install
	test -x .venv-tk/bin/python || $(PY) -m venv .venv-tk
	.venv-tk/bin/pip install -q $(TORCH_PIN) tensorkrowch==1.1.6 opt_einsum numpy
	.venv-tk/bin/pip install -q -e . --no-deps

clean:
	rm -rf $(VENV) .venv-tk build site *.egg-info .pytest_cache
