# leadkit — `make help` lists the targets.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help venv lint format test demo bench docs clean browser

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)  ## create .venv and install leadkit with its dev tools

PY_DIRS := leadkit tests dashboards $(wildcard bench)

lint: $(STAMP)  ## ruff (lint + format check) and mypy on leadkit/
	$(BIN)/ruff check $(PY_DIRS)
	$(BIN)/ruff format --check $(PY_DIRS)
	$(BIN)/mypy leadkit

format: $(STAMP)  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix $(PY_DIRS)
	$(BIN)/ruff format $(PY_DIRS)

# The dashboard's real-browser test drives Debian's chromium (Playwright's own browser
# download cannot reach its servers from our machines).
browser:  ## install the system chromium the browser test needs (apt-get, when root)
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then \
		: ; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	else \
		echo "chromium is not installed and cannot be installed here (needs root and apt-get):"; \
		echo "  install it with: sudo apt-get install -y chromium"; \
		echo "  without it the dashboard's browser test fails."; \
	fi

test: lint browser  ## lint, then the whole test suite
	$(BIN)/python -m pytest -q

demo: $(STAMP)  ## run the main job against the built-in sandbox APIs
	$(BIN)/leadkit demo

# The dlt baseline gets its own environment: dlt is never a leadkit dependency.
DLT_VENV := bench/.venv-dlt
$(DLT_VENV)/.installed: bench/requirements-dlt.txt
	$(PYTHON) -m venv $(DLT_VENV)
	$(DLT_VENV)/bin/python -m pip install --quiet -r bench/requirements-dlt.txt
	@touch $@

bench: $(STAMP) $(DLT_VENV)/.installed  ## run the benchmarks in bench/ (slow, ~20 min; not part of the tests)
	$(BIN)/python bench/extract.py $(BENCH_ARGS)

docs: $(STAMP)  ## check that the docs cover every command and setting
	$(BIN)/python -m pytest -q tests/test_docs.py

clean:  ## remove the virtual environment, caches and demo data
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache data/*.duckdb data/*.duckdb.wal data/demo
