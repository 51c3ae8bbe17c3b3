# The unified customer store. `make run` on a fresh clone does everything.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME := $(abspath dagster_home)
DEMO_DATA_DIR ?= data/demo
DEMO_CUSTOMERS ?= 2000
export DEMO_DATA_DIR

.PHONY: run install demo sync dev test test-fast lint clean

run: install demo sync

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

demo: install
	@if [ ! -f "$(DEMO_DATA_DIR)/_SUCCESS" ]; then \
		echo "generating demo source systems in $(DEMO_DATA_DIR)"; \
		$(BIN)/python -m sources.demo --out "$(DEMO_DATA_DIR)" --customers $(DEMO_CUSTOMERS) --seed 42; \
	fi

# FULL_REFRESH=1 re-reads every source table in full and rebuilds the snapshots.
sync: install
	FULL_REFRESH=$(FULL_REFRESH) $(BIN)/python -m pipelines sync

dev: install demo
	$(BIN)/dagster dev -w workspace.yaml

test: install
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow"

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf data/work data/store
