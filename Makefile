# Every target uses the project's own virtual environment in .venv; `make install` builds it.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA ?= ./linqd-data

.PHONY: install run test chromium postgresql lint typecheck bench docs screenshots clean

$(BIN)/linqd: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(BIN)/linqd

install: $(BIN)/linqd

run: install
	$(BIN)/linqd run --data-dir $(DATA)

test: install chromium postgresql
	$(BIN)/pytest

# The console's browser tests drive Debian's Chromium (Playwright cannot download its own here).
chromium:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get install -y -q chromium >/dev/null || \
		{ apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; \
	else echo "Chromium is missing: run 'sudo apt-get install -y chromium' for the browser tests"; fi

# The metadata tests also run on a real PostgreSQL, started by the tests from Debian's binaries.
postgresql:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get install -y -q postgresql >/dev/null || \
		{ apt-get update -q >/dev/null && apt-get install -y -q postgresql >/dev/null; }; \
	else echo "PostgreSQL is missing: run 'sudo apt-get install -y postgresql' for its tests"; fi

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install
	$(BIN)/mypy

bench: install
	@for script in benchmarks/[!_]*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

docs: install
	$(BIN)/linqd docs functions > docs/linq-functions.md

screenshots: install chromium
	$(BIN)/python docs/screenshots.py

clean:
	rm -rf $(VENV) $(DATA) build *.egg-info src/*.egg-info
