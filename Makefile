# Two commands for a new user: `make run` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum requirements.txt | cut -d' ' -f1)

.PHONY: run test lint sqlite-tests services-tests bench-planner bench-ai

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

sqlite-tests: $(STAMP)
	INKFLOW_TEST_BACKEND=sqlite $(BIN)/python -m pytest -q -rs

# The PostgreSQL + Redis pass; skips without TEST_DATABASE_URL/TEST_REDIS_URL unless
# INKFLOW_REQUIRE_SERVICES=1, when it fails instead.
services-tests: $(STAMP)
	INKFLOW_TEST_BACKEND=postgres $(BIN)/python -m pytest -q -rs

test: lint sqlite-tests services-tests

bench-planner: $(STAMP)
	$(BIN)/python run.py bench planner

bench-ai: $(STAMP)
	$(BIN)/python run.py bench ai
