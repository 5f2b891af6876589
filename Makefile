# Two commands set everything up on a fresh machine:
#   make run   - venv, install, migrate an embedded SQLite database, serve on $(HOST):$(PORT)
#   make test  - venv, install with dev extras, ruff, mypy, pytest
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck pytest migrate bench lock openapi clean

$(STAMP): pyproject.toml requirements-dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements-dev.lock -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	MICROCRED_ENV=$${MICROCRED_ENV:-development} $(BIN)/microcred serve --host $(HOST) --port $(PORT)

migrate: $(STAMP)
	MICROCRED_ENV=$${MICROCRED_ENV:-development} $(BIN)/microcred migrate

LINT_PATHS := app tests $(wildcard bench)

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

openapi: $(STAMP)
	$(BIN)/microcred openapi > openapi.yaml

bench: $(STAMP)
	$(BIN)/python -m bench

# Refresh the pinned versions after changing dependencies in pyproject.toml:
# requirements.lock (what the service runs with, used by the Dockerfile) and
# requirements-dev.lock (that plus the test and lint tools, used by make run/test).
lock:
	rm -rf /tmp/microcred-lock && $(PYTHON) -m venv /tmp/microcred-lock
	/tmp/microcred-lock/bin/pip install -q .
	/tmp/microcred-lock/bin/pip freeze --exclude microcred > requirements.lock
	/tmp/microcred-lock/bin/pip install -q '.[dev]'
	/tmp/microcred-lock/bin/pip freeze --exclude microcred > requirements-dev.lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
