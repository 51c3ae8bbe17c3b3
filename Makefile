# The unified customer store. `make run` on a fresh clone does everything.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME := $(abspath dagster_home)
# The instance a sync or the UI uses: dagster_home/ (SQLite), or dagster_home/postgres/
# (generated from dagster_home/dagster.yaml plus PostgreSQL storage) when DAGSTER_PG_HOST is set.
INSTANCE_HOME = $$($(BIN)/python -m pipelines.ops.instance)
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

# Regenerated only when missing or written by an older generator (or other size/seed).
demo: install
	@$(BIN)/python -m sources.demo --out "$(DEMO_DATA_DIR)" --customers $(DEMO_CUSTOMERS) --seed 42 --if-stale

# FULL_REFRESH=1 re-reads every source table in full and rebuilds the snapshots.
sync: install
	DAGSTER_HOME="$(INSTANCE_HOME)" FULL_REFRESH=$(FULL_REFRESH) $(BIN)/python -m pipelines sync

# The UI on http://127.0.0.1:3000 with the daemon (schedules, sensors, run queue, retries).
dev: install demo
	DAGSTER_HOME="$(INSTANCE_HOME)" $(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

# Two worker processes (pytest-xdist): most long tests wait on Python, a JVM or a child
# process rather than keep both cores busy (736 tests in ~10 min here; one process took
# 20-22 min in the previous session, on a slower day).
TEST_WORKERS ?= 2

test: install
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist worksteal

test-fast: install
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist worksteal -m "not slow"

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf data/work data/store
