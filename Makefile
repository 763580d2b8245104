# COMBAT-NORSE: the two commands a fresh machine needs are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check
SERVER_STAMP := $(VENV)/.server-stamp
DEV_STAMP    := $(VENV)/.dev-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: venv venv-dev lock static run test test-sqlite test-postgres lint migrate demo bench clean

# Two lock files generated from pyproject.toml (`make lock`): requirements.lock is the server
# (what `make run` needs), requirements-dev.lock adds the test and analysis tool chain (what
# `make test` needs). Each stamp is older than its lock after an edit, so the venv re-installs.
$(SERVER_STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements.lock
	$(PIP) --no-deps -e .
	touch $(SERVER_STAMP)

$(DEV_STAMP): $(SERVER_STAMP) requirements-dev.lock
	$(PIP) -r requirements.lock -r requirements-dev.lock
	touch $(DEV_STAMP)

venv: $(SERVER_STAMP)

venv-dev: $(DEV_STAMP)

# Re-generate both locks from pyproject.toml, keeping every pin that still fits; UPGRADE=1
# moves every package to its newest allowed release. The dev lock is constrained by the server
# lock, so the two never disagree on a shared package.
LOCK_FLAGS := --universal --python-version 3.11 --quiet --custom-compile-command "make lock" \
              $(if $(UPGRADE),--upgrade)
lock: $(DEV_STAMP)
	$(BIN)/uv pip compile pyproject.toml $(LOCK_FLAGS) -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev -c requirements.lock $(LOCK_FLAGS) \
	    -o requirements-dev.lock

migrate: venv
	mkdir -p var
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py seed_demo

# The static files (USWDS, htmx, the site's CSS) with hashed names and compressed copies, under
# var/static, where whitenoise serves them from (DEBUG=0 as in production).
# Collected again only when a file under static/ changed (compressing takes a while).
STATIC_FILES := $(shell find src/combat_norse -path '*/static/*' -type f 2>/dev/null)
var/static/staticfiles.json: $(SERVER_STAMP) $(STATIC_FILES)
	mkdir -p var
	$(BIN)/python manage.py collectstatic --noinput -v 0

static: var/static/staticfiles.json

# The web server, one background worker (e-mail), the periodic clocks (day-8 move, visit
# status, SAE clock alerts; every 60 s) and the audit sealer (seals committed events into the
# Merkle tree and signs a checkpoint every 2 s); Ctrl-C stops all four.
run: demo static
	$(BIN)/python manage.py db_worker --interval 2 & worker=$$!; \
	$(BIN)/python manage.py periodic --interval 60 >/dev/null & periodic=$$!; \
	$(BIN)/combat-norse audit seal --every 2 & sealer=$$!; \
	trap 'kill $$worker $$periodic $$sealer 2>/dev/null' EXIT INT TERM; \
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py runserver $(HOST):$(PORT)

lint: venv-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

# The whole suite on SQLite, then on PostgreSQL when reachable (REQUIRE_POSTGRES=1: must be).
test: venv-dev lint
	$(BIN)/python scripts/run_tests.py

test-sqlite: venv-dev
	$(BIN)/python scripts/run_tests.py --only sqlite

test-postgres: venv-dev
	REQUIRE_POSTGRES=1 $(BIN)/python scripts/run_tests.py --only postgres

bench: venv-dev
	$(BIN)/python benchmarks/simulation.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
