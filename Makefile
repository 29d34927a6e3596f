# The two commands that do everything on a fresh machine:
#   make run    install what is needed, recalculate the embedded demo database once, print a summary
#   make test   install what is needed, run the whole test suite (PostgreSQL at TEST_DATABASE_URL)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA := $(CURDIR)/data
EMBEDDED_HOME := $(DATA)/dagster_home

.PHONY: install run test dev serve benchmark clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

$(EMBEDDED_HOME)/dagster.yaml: instances/embedded/dagster.yaml
	mkdir -p $(EMBEDDED_HOME)
	cp $< $@

run: install $(EMBEDDED_HOME)/dagster.yaml
	DAGSTER_HOME=$(EMBEDDED_HOME) $(BIN)/cpu-pipeline run

test: install
	$(BIN)/python -m pytest

# The Dagster UI and daemon on the embedded instance: http://127.0.0.1:3000
dev: install $(EMBEDDED_HOME)/dagster.yaml
	DAGSTER_HOME=$(EMBEDDED_HOME) $(BIN)/dagster dev -w workspace.yaml -h $${DAGSTER_HOST:-127.0.0.1} -p $${DAGSTER_PORT:-3000}

# The production stack on the top-level dagster.yaml: needs DAGSTER_PG_URL.
serve: install
	$(BIN)/cpu-pipeline serve

benchmark: install
	$(BIN)/python benchmarks/run_benchmark.py

clean:
	rm -rf $(VENV) $(DATA) .tmp_dagster_home_* *.egg-info
