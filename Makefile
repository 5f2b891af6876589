# Two commands set everything up on a fresh machine:
#   make run   - venv, runtime dependencies only, migrate an embedded SQLite database (./data),
#                serve on $(HOST):$(PORT); development secrets in ./.env.local
#   make test  - venv, install with dev extras, ruff, mypy, pytest
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
# One stamp per kind of install: `make run` never installs the test tools.
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test lint typecheck pytest migrate bench bench-cohort lock openapi clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

$(RUN_STAMP): pyproject.toml requirements.lock | $(BIN)/python
	@echo "microcred: installing the runtime dependencies into $(VENV) (a few minutes the first time)"
	$(BIN)/python -m pip install --progress-bar on -c requirements.lock -e .
	touch $@

$(DEV_STAMP): pyproject.toml requirements-dev.lock | $(BIN)/python
	@echo "microcred: installing the dependencies and the test tools into $(VENV)"
	$(BIN)/python -m pip install --progress-bar on -c requirements-dev.lock -e '.[dev]'
	touch $@

# The first start writes .env.local (MICROCRED_ENV=development, an admin token, a master key);
# every later `$(BIN)/microcred ...` run in this folder reads it by itself.
run: $(RUN_STAMP)
	MICROCRED_ENV=$${MICROCRED_ENV:-development} $(BIN)/microcred serve --host $(HOST) --port $(PORT)

migrate: $(RUN_STAMP)
	MICROCRED_ENV=$${MICROCRED_ENV:-development} $(BIN)/microcred migrate

LINT_PATHS := app tests $(wildcard bench)

lint: $(DEV_STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

pytest: $(DEV_STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

openapi: $(RUN_STAMP)
	$(BIN)/microcred openapi > openapi.yaml

bench: $(DEV_STAMP)
	$(BIN)/python -m bench

bench-cohort: $(DEV_STAMP)
	$(BIN)/python -m bench cohort --rows 10000

# Refresh the pinned versions after changing dependencies in pyproject.toml:
# requirements.lock (what the service runs with, used by the Dockerfile) and
# requirements-dev.lock (that plus the test and lint tools, used by make test); make run installs
# from requirements.lock.
lock:
	rm -rf /tmp/microcred-lock && $(PYTHON) -m venv /tmp/microcred-lock
	/tmp/microcred-lock/bin/pip install -q .
	/tmp/microcred-lock/bin/pip freeze --exclude microcred > requirements.lock
	/tmp/microcred-lock/bin/pip install -q '.[dev]'
	/tmp/microcred-lock/bin/pip freeze --exclude microcred > requirements-dev.lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
