# Two commands on a fresh machine (README, Quick start):
#   make demo   installs syndicator into .venv and runs `syndicator demo`
#   make test   installs it with the test extras and runs lint, types and the whole suite
#   make bench  the benchmark of README "Benchmark" (~9 minutes on 2 cores); BENCH_ARGS=--smoke
#   make bench-cluster  story clustering alone, 10k and 100k entries; CLUSTER_ARGS=--smoke
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck pytest install install-test clean bench bench-cluster

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .

install-test: $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'

demo: install
	$(BIN)/syndicator demo

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-test
	$(BIN)/mypy

# Two workers (pytest-xdist): many tests wait on servers and subprocesses, and CI has 2 cores.
pytest: install-test
	$(BIN)/pytest -n 2

test: lint typecheck pytest

bench: install
	$(BIN)/python -m bench.run $(BENCH_ARGS)

bench-cluster: install
	$(BIN)/python -m bench.cluster $(CLUSTER_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
