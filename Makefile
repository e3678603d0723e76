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

run: $(STAMP) sysdeps
	@mkdir -p var
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(PY) manage.py seed_demo
	@DEBUG=$${DEBUG:-1} $(PY) manage.py demo_logins
	DEBUG=$${DEBUG:-1} $(PY) manage.py runserver 127.0.0.1:8000

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(CHECK_ENV) $(VENV)/bin/mypy .

pytest: $(STAMP) sysdeps-test
	$(CHECK_ENV) $(VENV)/bin/pytest

test: lint typecheck pytest

# `make bench`: roster validation and approval queues on SQLite, PDF forms, collective credits (on
# BENCH_DATABASE_URL when set), plus the queues, the statistics page and the export batches on
# PostgreSQL when BENCH_DATABASE_URL names a scratch database (the last two say they skipped
# otherwise). `make bench-load` (separate, ~40 min) needs it.
bench: $(STAMP) sysdeps
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	@$(PY) -c 'import os, bench.common as c; c.database_ensure(os.environ.get("BENCH_DATABASE_URL", ""))'
	BENCH_DATABASE_URL= $(PY) bench/run.py
	BENCH_DATABASE_URL= $(PY) bench/approval_queues.py
	$(PY) bench/pdf.py
	$(PY) bench/collective.py
	@if [ -n "$${BENCH_DATABASE_URL:-}" ]; then $(PY) bench/approval_queues.py; \
	else echo "bench: set BENCH_DATABASE_URL=postgres://…/scratch for the PostgreSQL queue table"; fi
	$(PY) bench/stats.py
	$(PY) bench/export.py

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
