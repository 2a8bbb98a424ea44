# Zoho Books -> PostgreSQL ELT. `make` (or `make help`) lists the targets.
# Every target runs `setup` first, so a fresh clone needs only Python 3.10+ and make.
# The warehouse is the PostgreSQL named by PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE, or,
# when PGHOST is unset, an embedded PostgreSQL 16 under .local/ (see README).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .local/tools/bin/uv
BIN := .venv/bin
# Runs a command with the PG* variables of the warehouse in use (starting the embedded one).
WH := $(BIN)/python -m loader.warehouse exec --
# The same for an analyst's commands (psql, docs, report, price-on-date): with the embedded
# server and PGDATABASE unset, the demo's database while only it has marts (one line says so).
AWH := $(BIN)/python -m loader.warehouse exec --analyst --
export DBT_PROFILES_DIR := $(CURDIR)
export PYTHONPATH := $(CURDIR)

.PHONY: help setup run serve demo demo-orgs test test-unit test-integration lint check fmt docs docs-serve \
	report price-on-date bench bench-quick psql db-stop clean orchestrate

help: ## Show this help
	@echo "Zoho Books -> PostgreSQL ELT. Usage: make <target>"
	@echo
	@grep -E '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-17s\033[0m %s\n", $$1, $$2}'
	@echo
	@echo "Warehouse: PGHOST=${PGHOST}$(if $(PGHOST),, (unset: embedded PostgreSQL in .local/pgdata))"

setup: .venv/.synced profiles.yml ## Create .venv with the locked dependencies and profiles.yml (idempotent)

$(UV):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
		{ echo "error: Python 3.10+ is needed; set PYTHON=/path/to/python3.x" >&2; exit 2; }
	$(PYTHON) -m venv .local/tools
	.local/tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# --compile-bytecode: every `make run` starts Python twice (loader, dbt); without cached
# bytecode (e.g. PYTHONDONTWRITEBYTECODE=1) dbt alone spends ~1 s more compiling its imports.
.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON) --quiet --compile-bytecode
	@touch $@

profiles.yml:
	cp profiles.example.yml profiles.yml

# make turns any failure into its own exit code 2: cron calls `python -m loader.job` directly
# (README, "Running from cron") so the job's documented exit codes reach it.
run: setup ## The production job: load Zoho into zoho_staging, then dbt build, snapshots, freshness
	$(BIN)/python -m loader.job

# The demo: the simulator's demo data set (python -m zoho_sim run starts it and passes its
# SOURCES__ZOHO_BOOKS__* settings to the job), the embedded database zoho_demo (unless PGHOST
# is set), and limits raised so the first load (about a thousand invoice details) takes
# seconds: the daily budget planner is off (DAILY_CALL_BUDGET=0), or a Free-plan day would
# spread those details over a day of runs. Its token cache, dlt state and job output stay
# apart from production's.
DEMO_ENV := $(if $(PGHOST),,PGDATABASE=$${PGDATABASE:-zoho_demo}) \
	SOURCES__ZOHO_BOOKS__TOKEN_CACHE_PATH=.local/demo/zoho_token.json \
	SOURCES__ZOHO_BOOKS__MAX_CALLS_PER_MINUTE=100000 \
	SOURCES__ZOHO_BOOKS__DETAILS_BUDGET=100000 \
	SOURCES__ZOHO_BOOKS__DAILY_CALL_BUDGET=0 \
	DLT_PIPELINES_DIR=.local/demo/dlt \
	JOB_OUTPUT_DIR=.local/demo/job ALERTS__URLS= ALERTS__COMMAND=

serve: setup ## The webhook receiver on 127.0.0.1:8000 (SERVE_ARGS="--host H --port P"; docs/webhooks.md)
	$(WH) $(BIN)/python -m loader serve $(SERVE_ARGS)

demo: setup ## The same job against the Zoho simulator (demo data), then a price change in real time
	$(DEMO_ENV) $(BIN)/python -m zoho_sim run --scale demo --seed 1 --per-minute 100000 -- \
		$(BIN)/python -m loader.job
	$(DEMO_ENV) $(BIN)/python -m zoho_sim run --per-minute 100000 -- $(BIN)/python -m zoho_sim.realtime_demo

# Two simulated organizations (the simulator's --orgs 2: the same record ids, different
# data, one refresh token) loaded at the same time into one warehouse, then each one's health.
DEMO_ORGS_LOAD := $(BIN)/python -m loader run --org 60012345678 & \
	$(BIN)/python -m loader run --org 60012345679; s2=$$?; wait $$!; s1=$$?; \
	$(BIN)/python -m loader orgs && [ $$s1 = 0 ] && [ $$s2 = 0 ]
demo-orgs: setup ## Two simulated organizations loaded at once into one warehouse, then `loader orgs`
	$(DEMO_ENV) SOURCES__ZOHO_BOOKS__ORGANIZATIONS__SECOND__ORGANIZATION_ID=60012345679 \
		$(BIN)/python -m zoho_sim run --scale demo --seed 1 --orgs 2 --per-minute 100000 -- \
		sh -c '$(DEMO_ORGS_LOAD)'

# Dagster (orchestration/, docs/scaling.md) over the embedded PostgreSQL (its instance in the
# database `dagster`, the warehouse in zoho_demo) and the simulator's demo organization, with
# the demo's raised limits. SIM_ARGS go to the simulator (SIM_ARGS="--orgs 2": a second
# organization, loaded once the configuration lists several: issue 26, docs/scaling.md);
# ORCHESTRATE_PORT chooses the UI's port.
orchestrate: setup ## Dagster's UI on http://127.0.0.1:3000: the per-organization job, schedule and dbt lineage
	$(DEMO_ENV) $(WH) $(BIN)/python -m zoho_sim run --scale demo --seed 1 --per-minute 100000 \
		$(SIM_ARGS) -- $(BIN)/python -m orchestration dev --port $(or $(ORCHESTRATE_PORT),3000)

# The tests run on TEST_WORKERS pytest-xdist workers (default: one per CPU but at least 3, at
# most 4; 0 runs them in this process, e.g. to debug with --pdb). At least 3: much of a test's
# time is spent waiting on PostgreSQL, dbt's and the loader's processes and HTTP, so two
# workers on two cores left a quarter of the CPU idle. Each module runs whole on one worker and
# the demo warehouse is built by one worker only (groups: tests/conftest.py); in the order
# collected, modules marked start_first (the longest) first. Each worker that runs integration
# tests starts its own embedded PostgreSQL.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ $$n -lt 3 ] && echo 3 || echo $$n)
PYTEST := $(BIN)/python -m pytest -n $(TEST_WORKERS) --maxprocesses 4 \
	--dist loadgroup --no-loadscope-reorder --durations 15

test: setup ## Run every test (unit and integration on embedded PostgreSQL; TEST_WORKERS=0: serial)
	$(PYTEST)

test-unit: setup ## Run the unit tests only (no database)
	$(PYTEST) tests/unit

test-integration: setup ## Run the integration tests only
	$(PYTEST) tests/integration

lint: setup ## ruff and mypy on the Python code, generated files current, sqlfluff on dbt
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy loader orchestration
	$(BIN)/python -m loader.zoho.contract --check
	$(WH) $(BIN)/sqlfluff lint dbt_project

check: setup ## Everything CI checks: lint, then every test
	$(MAKE) lint
	$(MAKE) test

fmt: setup ## Format Python (ruff) and SQL (sqlfluff fix)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(WH) $(BIN)/sqlfluff fix dbt_project

docs: setup ## Generate the dbt docs site (target/); fails when the database has no built models
	$(AWH) $(BIN)/python -m loader.ops.docs_site generate

docs-serve: setup ## Serve the docs site on http://127.0.0.1:8080 (DOCS_PORT=...; make docs first)
	$(AWH) $(BIN)/python -m loader.ops.docs_site serve

report: setup ## Write the health report, one HTML page that opens from disk (REPORT=.local/report.html)
	$(AWH) $(BIN)/python -m loader.ops.report --out $(or $(REPORT),.local/report.html)

# SKU (required), AS_OF (an instant with its offset; default now), PRICELIST (default: the
# default list) and ORG (an organization id; default: every one) choose the question;
# analytics.product_price_history answers it.
price-on-date: setup ## A product's published price at an instant: make price-on-date SKU=... AS_OF=...
	$(AWH) $(BIN)/python -m loader.ops.analyses price-on-date \
		--sku "$(SKU)" --as-of "$(AS_OF)" --pricelist "$(PRICELIST)" --org "$(ORG)"

bench: setup ## Benchmarks: API calls, landing speed, memory, dbt (writes bench/results.md)
	$(BIN)/python -m bench

bench-quick: setup ## A small benchmark run (a few minutes) for development
	$(BIN)/python -m bench --quick

psql: setup ## Open psql on the warehouse in use (the demo's database while only it has marts)
	$(BIN)/python -m loader.warehouse psql --analyst

db-stop: setup ## Stop the embedded PostgreSQL
	$(BIN)/python -m loader.warehouse stop

clean: ## Remove .venv, .local (embedded database, token cache, dlt state) and build output
	-@[ -x $(BIN)/python ] && $(BIN)/python -m loader.warehouse stop || true
	rm -rf .venv .local target logs dbt_packages .pytest_cache .ruff_cache
