# The two commands that do everything on a fresh machine:
#   make run    install what is needed, recalculate the embedded demo database once, print a summary
#   make test   install what is needed, provide or check PostgreSQL (TEST_DATABASE_URL) and Chromium, run every test
# Beside them: make test-fast (no PostgreSQL, served stack, browser or slow test), make lint, make lock.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA := $(CURDIR)/data
EMBEDDED_HOME := $(DATA)/dagster_home
# The exact versions CI installs (the test extra included), hashed; `make lock` regenerates it.
LOCK := requirements.lock
# The installer and the lock tool, exact like the lock: a new release of either can change what gets installed.
PIP_VERSION := 26.3
UV_VERSION := 0.13.8
# What needs neither PostgreSQL, nor the served stack, nor Chromium, and is not slow by nature (a
# hypothesis test, or one starting the project's command line programs); conftest.py sets the markers.
FAST := not postgres and not served and not ui and not slow

.PHONY: install lock lock-upgrade run test test-fast lint dev serve benchmark clean

install: $(VENV)/.installed

# The lock's versions, then the project itself without resolving anything again; `pip check` fails
# if pyproject.toml asks for a package the lock lacks (run `make lock`). The long part, the lock, is
# not quiet: pip names each package as it goes, with a bar for each download.
$(VENV)/.installed: pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet pip==$(PIP_VERSION)
	@echo "installing the locked dependencies into $(VENV): about 4 minutes the first time (Dagster, pandas, SQLAlchemy ...)"
	$(BIN)/pip install --progress-bar on -r $(LOCK)
	$(BIN)/pip install --quiet -e . --no-deps
	$(BIN)/pip check
	touch $@

# Regenerates the lock from pyproject.toml's pins for CI's Python and platform, keeping every locked
# version that still satisfies them; `make lock-upgrade` moves each to the newest the pins allow.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv==$(UV_VERSION)
	$(BIN)/uv pip compile pyproject.toml --extra test --python-version 3.11 --generate-hashes \
		--custom-compile-command 'make lock' --quiet $(UV_FLAGS) -o $(LOCK)

lock-upgrade:
	$(MAKE) lock UV_FLAGS=--upgrade

# The embedded instance (the top-level dagster.yaml), kept in data/ so runs outlive a session.
$(EMBEDDED_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(EMBEDDED_HOME)
	cp $< $@

run: install $(EMBEDDED_HOME)/dagster.yaml
	DAGSTER_HOME=$(EMBEDDED_HOME) $(BIN)/cpu-pipeline run

# First what the suite needs beyond Python (cpu_pipeline_tests/needs.py): it starts a local PostgreSQL
# that is down and installs Debian's Chromium where it can, else fails at once, one line per need.
test: install
	$(BIN)/python -m cpu_pipeline_tests.needs
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "$(FAST)"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The Dagster UI and daemon on the embedded instance: http://127.0.0.1:3000. Dagster logs at
# DAGSTER_LOG_LEVEL (settings.py; warning: no line for a sensor tick that did nothing, nor its own
# "Serving" line, hence the echo). First `cpu-pipeline preflight`, as `serve` does: it refuses a storage
# that needs `cpu-pipeline migrate` and a second daemon on the instance (an older `make dev` still running).
dev: install $(EMBEDDED_HOME)/dagster.yaml
	DAGSTER_HOME=$(EMBEDDED_HOME) $(BIN)/cpu-pipeline preflight
	@echo "Dagster UI on http://$${DAGSTER_HOST:-127.0.0.1}:$${DAGSTER_PORT:-3000} once it has loaded; Ctrl-C stops it."
	@echo "(Dagster's warning that the dagster.yaml in this folder 'will not be used' is expected: $(EMBEDDED_HOME)/dagster.yaml is a copy of it.)"
	@# `dagster dev` warns that `dg dev` supersedes it; `dg dev` lacks the log-level options used here.
	PYTHONWARNINGS='ignore:Function `dev_command` is superseded' DAGSTER_HOME=$(EMBEDDED_HOME) $(BIN)/dagster dev -w workspace.yaml -h $${DAGSTER_HOST:-127.0.0.1} -p $${DAGSTER_PORT:-3000} \
		--log-level $${DAGSTER_LOG_LEVEL:-warning} --code-server-log-level $${DAGSTER_LOG_LEVEL:-warning}

# The production stack on instances/production/dagster.yaml: needs DAGSTER_PG_URL and DATABASE_URL.
serve: install
	$(BIN)/cpu-pipeline serve

# make benchmark SIZE=10m: 10,000,000 listings (default 1m); PROFILE=lopsided: listings spread as a
# real marketplace's (default even); see benchmarks/README.md.
SIZE ?= 1m
PROFILE ?= even
LISTINGS_1m := 1000000
LISTINGS_10m := 10000000
benchmark: install
	$(BIN)/python benchmarks/run_benchmark.py --listings $(or $(LISTINGS_$(SIZE)),$(error SIZE is 1m or 10m)) --profile $(PROFILE)

clean:
	rm -rf $(VENV) $(DATA) .tmp_dagster_home_* *.egg-info .ruff_cache
