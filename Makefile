# The two commands: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Tests and type checks load settings with DEBUG off: give them a throwaway key.
CHECK_ENV := SECRET_KEY=$${SECRET_KEY:-test-only-not-secret-3f9a1c7e5b2d4a6f8e0c1b3d5f7a9e2c4b6d8f0a}

.PHONY: run test lint typecheck pytest bench bench-load bench-faults sysdeps sysdeps-test venv worker clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

venv: $(STAMP)

sysdeps:
	@bash scripts/sysdeps.sh app

sysdeps-test:
	@bash scripts/sysdeps.sh test

# `make run [PORT=8101] [DEBUG=1]`: the demo as its users see it, on loopback over plain HTTP.
# DEBUG is off, so errors answer with the app's own Chinese pages (DEBUG=1: Django's debug pages);
# static files come straight from static/ and the apps (no collectstatic); the PDFs' QR codes and
# `demo_logins` give the address served here unless BULU_PUBLIC_URL says otherwise.
PORT ?= 8000
RUN_ENV := DEBUG=$${DEBUG:-0} BULU_STATIC_FROM_SOURCE=1 BULU_RUN_ADDRESS=127.0.0.1:$(PORT) \
	SECURE_SSL_REDIRECT=0 SESSION_COOKIE_SECURE=0 CSRF_COOKIE_SECURE=0 SECURE_HSTS_SECONDS=0

run: $(STAMP) sysdeps
	@mkdir -p var
	$(RUN_ENV) $(PY) manage.py migrate --noinput
	$(RUN_ENV) $(PY) manage.py seed_demo
	@$(RUN_ENV) $(PY) manage.py demo_logins
	$(RUN_ENV) $(PY) manage.py runserver 127.0.0.1:$(PORT)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(CHECK_ENV) $(VENV)/bin/mypy .

pytest: $(STAMP) sysdeps-test
	$(CHECK_ENV) $(VENV)/bin/pytest

test: lint typecheck pytest

# `make bench`: every bench script on PostgreSQL, the production database: the scratch database
# BENCH_DATABASE_URL names, else `bulu_bench` on the local server (bench/common.py starts an
# installed cluster that is down and creates the database; it is filled with fake data). The roster
# and queue benches also run on a temporary SQLite file (the database of `make run` and the tests).
# Without any PostgreSQL server only the SQLite tables are written, and the statistics and export
# benches say they skipped. Every table names its database. `make bench-load` (separate, ~40 min)
# needs BENCH_DATABASE_URL.
bench: $(STAMP) sysdeps
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	@set -e; db="$$($(PY) bench/common.py)"; export BENCH_DATABASE_URL="$$db"; \
	if [ -n "$$db" ]; then echo "bench: PostgreSQL scratch database $$db"; \
	else echo "bench: no PostgreSQL server could be reached or started: SQLite only"; fi; \
	for script in run approval_queues; do \
	  if [ -n "$$db" ]; then $(PY) bench/$$script.py; fi; \
	  BENCH_DATABASE_URL= $(PY) bench/$$script.py; \
	done; \
	for script in pdf collective stats export; do $(PY) bench/$$script.py; done

bench-load: $(STAMP) sysdeps
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	$(PY) bench/load/run.py

# `make bench-faults` (separate, ~12 min): the outbox on a bad day — the broker shut down for a
# minute while clients upload and approve, workers killed mid-job — on a scratch PostgreSQL
# database (BENCH_DATABASE_URL, dropped and made afresh) with a redis-server of its own
# (BENCH_FAULTS_REDIS_PORT, else a free port); writes docs/reliability.md, "Fault trials".
bench-faults: $(STAMP) sysdeps
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	$(PY) bench/faults.py

worker: $(STAMP)
	$(VENV)/bin/celery -A bulu worker -B --loglevel=info

clean:
	rm -rf $(VENV) var/db.sqlite3
