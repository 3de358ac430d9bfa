# Two commands do all set-up on a fresh machine (see README.md):
#   make run   - create .venv, install, install the CJK fonts PDFs need (scripts/system-packages.sh run),
#                migrate, load the demo county and serve on 127.0.0.1:$PORT
#   make test  - create .venv with the dev extras, install the Debian packages the tests need
#                (scripts/system-packages.sh says which), start a throwaway PostgreSQL and run every test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000

.PHONY: run test test-fast lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The install compiles scoring/_plain_csv.pyx (Cython, fetched by pip for the build): it needs gcc
# and the Python headers (scripts/system-packages.sh build).
BUILT := setup.cfg pyproject.toml setup.py scoring/_plain_csv.pyx

$(VENV)/.installed-run: $(BUILT) | $(BIN)/python
	PYTHON=$(BIN)/python bash scripts/system-packages.sh build
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-dev: $(BUILT) | $(BIN)/python
	PYTHON=$(BIN)/python bash scripts/system-packages.sh build
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	bash scripts/system-packages.sh run
	$(BIN)/hygiene init-db
	$(BIN)/hygiene demo
	HYGIENE_ENV=development PORT=$(PORT) $(BIN)/hygiene serve

test: $(VENV)/.installed-dev
	bash scripts/system-packages.sh test
	bash scripts/with-postgres.sh $(BIN)/python -m pytest

# Without PostgreSQL: the SQLite half of the suite, for a quick loop while editing.
test-fast: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -x -q

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy scoring hygiene web
	$(BIN)/lint-imports --config setup.cfg

bench: $(VENV)/.installed-dev
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	$(BIN)/python benchmarks/engine_vs_duckdb.py

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache .mypy_cache .hypothesis build scoring/_plain_csv.c scoring/_plain_csv.*.so
