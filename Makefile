# `make demo` and `make test` work on a fresh machine: they build .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
STAMP := $(VENV)/.installed
# Real services the tests use when CI=true (see tests/conftest.py).
export STEPLINEAGE_TEST_PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: demo test venv constraints clean chromium compose docker-engine compose-test docs bench bench-quick bench-venv bench-constraints

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(UV) pip install --python $(BIN)/python --quiet -c constraints.txt -e '.[all,dev,docs]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/steplineage demo

test: $(STAMP) chromium compose
	$(BIN)/python -m pytest -n 2 -p no:cacheprovider -m "not compose"
	@if [ "$$CI" = true ]; then $(MAKE) --no-print-directory compose-test; fi

# docker/compose.yaml for real (tests/docker/test_stack.py): images built from this repo,
# the stack up on a private dockerd, a DAG run and a flow run tracked. Needs root;
# `make test` runs it when CI=true. Base image: mmdebstrap, cached a week in .cache/.
compose-test: $(STAMP) compose docker-engine
	STEPLINEAGE_COMPOSE_TEST=1 $(BIN)/python -m pytest tests/docker/test_stack.py \
		-p no:cacheprovider -m compose -s

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

# Debian's engine (dockerd, containerd, runc) and mmdebstrap for `make compose-test`, installed
# only when missing and we are root. Installing must not start a system-wide daemon:
# policy-rc.d refuses service starts during the install (kept if the machine has one).
docker-engine:
	@if { ! command -v dockerd >/dev/null || ! command -v mmdebstrap >/dev/null; } && \
		[ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		guard=; if [ ! -e /usr/sbin/policy-rc.d ]; then guard=1; \
			printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; fi; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends docker.io mmdebstrap; status=$$?; \
		if [ -n "$$guard" ]; then rm -f /usr/sbin/policy-rc.d; fi; exit $$status; fi

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
