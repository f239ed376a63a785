# `make demo` and `make test` work on a fresh machine: they build .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
STAMP := $(VENV)/.installed
# Real services the tests use when CI=true (see tests/conftest.py).
export STEPLINEAGE_TEST_PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: demo test venv constraints clean chromium compose docs bench bench-quick bench-venv bench-constraints

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(UV) pip install --python $(BIN)/python --quiet -c constraints.txt -e '.[all,dev,docs]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/steplineage demo

test: $(STAMP) chromium compose
	$(BIN)/python -m pytest -n 2 -p no:cacheprovider

# The documentation site, into site/; --strict turns every warning into a failure
# (NO_MKDOCS_2_WARNING silences mkdocs-material's end-of-life banner, not a warning).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# Browser tests use Debian's chromium (playwright cannot download browsers here).
# Installed only when missing and we are root (CI); elsewhere those tests skip.
chromium:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; fi

# `docker compose config` checks docker/compose.yaml; the client here has no compose plugin,
# so CI (root) gets Debian's docker-compose when neither is present.
compose:
	@if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null && \
		[ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-compose; fi

# Re-resolve the pinned set after changing dependencies in pyproject.toml.
constraints: $(STAMP)
	$(UV) pip compile --python $(BIN)/python --extra all --extra dev --extra docs --upgrade pyproject.toml -o constraints.txt

# Benchmarks (benchmarks/run.py): one table, and docs/performance.md. The tracking
# comparison needs MLflow 3 and Data Workspaces, which cannot share .venv with Airflow,
# so they get .venv-bench, pinned by benchmarks/constraints.txt.
BENCH_VENV := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed

$(BENCH_STAMP): pyproject.toml benchmarks/constraints.txt | $(STAMP)
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(UV) pip install --python $(BENCH_VENV)/bin/python --quiet -c benchmarks/constraints.txt \
		-e '.[postgres,ui]' -r benchmarks/requirements.in
	touch $(BENCH_STAMP)

bench-venv: $(BENCH_STAMP)

bench: $(STAMP) $(BENCH_STAMP)
	$(BIN)/python benchmarks/run.py $(ARGS)

bench-quick: $(STAMP) $(BENCH_STAMP)
	$(BIN)/python benchmarks/run.py --quick $(ARGS)

# Re-resolve the comparators' pinned set after changing benchmarks/requirements.in.
bench-constraints: $(STAMP)
	$(UV) pip compile --python $(BIN)/python --extra postgres --extra ui pyproject.toml \
		benchmarks/requirements.in -o benchmarks/constraints.txt

clean:
	rm -rf $(VENV) build dist .pytest_cache
