# Two commands for a new user: `make run` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum requirements.txt | cut -d' ' -f1)

.PHONY: run test lint sqlite-tests services-tests bench-planner bench-ai wrk

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python run.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	@# PHP syntax of the WordPress plugin and the tests' PHP helpers (php comes with ../shared/wp/wp_up.sh).
	@if command -v php >/dev/null 2>&1; then \
	  find wordpress tests -name '*.php' -print0 | xargs -0 -n1 php -l >/dev/null && echo "php -l: the plugin's PHP files are fine"; \
	else echo "php -l skipped: php is not installed (../shared/wp/wp_up.sh installs it)"; fi

# Each pass runs its tests in TEST_WORKERS processes (pytest-xdist; 0 runs them in this one).
TEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -q -rs -n $(TEST_WORKERS) --dist loadfile

sqlite-tests: $(STAMP)
	INKFLOW_TEST_BACKEND=sqlite $(PYTEST)

# The PostgreSQL + Redis pass; skips without TEST_DATABASE_URL/TEST_REDIS_URL unless
# INKFLOW_REQUIRE_SERVICES=1, when it fails instead.
services-tests: $(STAMP)
	INKFLOW_TEST_BACKEND=postgres $(PYTEST)

test: lint sqlite-tests services-tests

bench-planner: $(STAMP)
	$(BIN)/python run.py bench planner

# The planner benchmark's load generator (a C program; without it the benchmark falls back to
# its aiohttp client). Debian/Ubuntu package `wrk`; installing needs root.
wrk:
	@command -v wrk >/dev/null && echo "wrk is installed: $$(command -v wrk)" || \
		{ if [ "$$(id -u)" = 0 ]; then apt-get install -y wrk; else sudo apt-get install -y wrk; fi; }

bench-ai: $(STAMP)
	$(BIN)/python run.py bench ai
