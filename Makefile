# COMBAT-NORSE: the two commands a fresh machine needs are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: venv run test test-sqlite test-postgres lint migrate demo bench clean

# The virtual environment installs exactly the tested versions from requirements.lock.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

migrate: venv
	mkdir -p var
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py seed_demo

# The web server and one background worker (e-mail, clocks); Ctrl-C stops both.
run: demo
	$(BIN)/python manage.py db_worker --interval 2 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py runserver $(HOST):$(PORT)

lint: venv
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

# The whole suite on SQLite, then on PostgreSQL when reachable (REQUIRE_POSTGRES=1: must be).
test: venv lint
	$(BIN)/python scripts/run_tests.py

test-sqlite: venv
	$(BIN)/python scripts/run_tests.py --only sqlite

test-postgres: venv
	REQUIRE_POSTGRES=1 $(BIN)/python scripts/run_tests.py --only postgres

bench: venv
	$(BIN)/python benchmarks/simulation.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
