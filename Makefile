# Two commands: `make run` and `make test`. Everything else is their plumbing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PORT ?= 8501

.PHONY: run test lint unit browser chromium java sample bench soak screenshots clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev,spark]"
	touch $(STAMP)

# The disk cache filled for the sample first (once per data and code; later starts only
# find its marker), so the first visit reads results instead of computing them.
run: $(STAMP)
	-$(BIN)/python -m dashboard.warm
	$(BIN)/python -m dashboard.serve --server.port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Debian's Chromium for the browser tests; Playwright's own browser download cannot work here.
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Debian's Java for PySpark (the Spark reduce and its tests start a local JVM).
java:
	@command -v java >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null; }

# Two workers (pytest-xdist), a file per worker at a time so a file's server and fixtures
# start once; the browser files first (tests/conftest.py), the longest.
test: $(STAMP) chromium java lint
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder

unit: $(STAMP) java
	$(BIN)/python -m pytest -q -m "not browser"

# The README's pictures, from the running app on the sample company.
screenshots: $(STAMP) chromium
	$(BIN)/python -m tests.screenshots

sample: $(STAMP)
	$(BIN)/cx-radar generate --out sample_data

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_load.py
	$(BIN)/python benchmarks/bench_process.py --runs 5
	$(BIN)/python benchmarks/bench_forecast.py
	$(BIN)/python benchmarks/bench_risk.py

# 10 browser sessions switching pages for 3 minutes against one server; prints JSON.
soak: $(STAMP) chromium
	$(BIN)/python benchmarks/soak.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
