# The same commands run locally and in CI (.ci/run calls `make test`).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_PIN := torch==2.13.0

.PHONY: install test lint demo bench tk-env clean

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

# Separate environment with TensorKrowch 1.1.6 for side-by-side benchmarks.
# Never a dependency of torchtn. numpy only silences torch's import-time warning.
tk-env: install
	test -x .venv-tk/bin/python || $(PY) -m venv .venv-tk
	.venv-tk/bin/pip install -q $(TORCH_PIN) tensorkrowch==1.1.6 opt_einsum numpy
	.venv-tk/bin/pip install -q -e . --no-deps

clean:
	rm -rf $(VENV) .venv-tk build *.egg-info .pytest_cache
