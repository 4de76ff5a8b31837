# Yiyang — the two commands a new machine needs are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
BENCH ?=
TEST_WORKERS ?= auto
VENDOR := yiyang/static/vendor

.PHONY: install run test test-deps test-fast lint bench assets messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# Front-end libraries come from the npm registry and are served locally (no CDN).
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

$(VENDOR)/.stamp: node_modules/.package-lock.json scripts/vendor_assets.sh
	bash scripts/vendor_assets.sh
	touch $@

assets: $(VENDOR)/.stamp

messages: $(VENV)/.installed
	$(BIN)/python -m yiyang.core.compile_messages

install: $(VENV)/.installed assets messages

run: install
	PORT=$(PORT) $(BIN)/yiyang demo --if-empty

# Browser tests use Debian's Chromium (a Playwright browser download does not work offline).
/usr/bin/chromium:
	@if [ "$$(id -u)" = "0" ]; then \
		(apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "Install Chromium (Debian package 'chromium') to run the browser tests."; fi

# Everything the tests need; independent steps run side by side under `make -j` (.ci/run does).
test-deps: install $(VENV)/.installed-test /usr/bin/chromium

# The suite runs on one pytest-xdist worker per core, each with its own test database; TEST_WORKERS=0
# runs it in one process. `--dist load` hands each worker tests in collection order, which keeps
# pytest-django's order (transactional tests, which empty the database, last).
test: test-deps
	$(BIN)/ruff check .
	$(BIN)/python manage.py check --fail-level WARNING
	$(BIN)/python manage.py makemigrations --check --dry-run >/dev/null
	$(BIN)/pytest -n $(TEST_WORKERS) --dist load

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

bench: install
	@for f in bench/*.py; do \
		name=$$(basename $$f .py); \
		case $$name in _*|*_bench_*) continue;; esac; \
		if [ -z "$(BENCH)" ] || [ "$(BENCH)" = "$$name" ]; then echo "== $$name"; $(BIN)/python $$f || exit 1; fi; \
	done

clean:
	rm -rf $(VENV) node_modules $(VENDOR) var
