# Partner Smart Office — `make help` lists the targets.
# Everything installs itself into .venv (uv, pinned by uv.lock); nothing else is needed but Python 3.11+.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV_VERSION := 0.13.9
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
# Cosmos phones home by default; a security product must not.
export DO_NOT_TRACK := 1
export AIRFLOW__COSMOS__ENABLE_TELEMETRY := False

.DEFAULT_GOAL := help
.PHONY: help install demo test test-faults test-unit test-deploy test-distributed test-property screenshots lint fmt lock bench-emulator bench-extract bench-peer-dlt bench-dbt bench-staging clean docs

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)

MANIFEST := dbt/target/manifest.json

$(VENV)/.synced: $(BIN)/python pyproject.toml emulator/pyproject.toml dev/pyproject.toml uv.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(BIN)/uv sync --frozen --all-groups --all-packages --python $(BIN)/python
	@touch $@

# The DAG renders dbt from this manifest (Cosmos manifest mode); rebuilt when the dbt project changes.
$(MANIFEST): $(VENV)/.synced dbt/dbt_project.yml $(shell find dbt/models dbt/macros dbt/tests dbt/seeds -type f 2>/dev/null)
	$(BIN)/smart-office dbt-parse

install: $(VENV)/.synced $(MANIFEST) ## Create .venv, install the locked dependencies, build the dbt manifest

demo: install ## Run the main job on embedded defaults (embedded Postgres + the emulator)
	-sh scripts/ensure_chromium.sh  # for the customer report's PDF; without it the demo says so and goes on
	$(BIN)/smart-office-demo

test: install ## Run every test (unit, integration against the emulator and real Postgres, DAG integrity, browser, fault matrix)
	sh scripts/ensure_chromium.sh
	$(BIN)/pytest --ignore=tests/faults
	$(MAKE) --no-print-directory test-faults

test-faults: install ## The fault matrix: one fault at a time, each scenario on its own emulator and warehouse (in parallel)
	$(BIN)/pytest tests/faults -n 3 -p no:cacheprovider

test-property: install ## Explore the property tests with fresh random examples (600 each; `make test` replays a fixed 60)
	SMART_OFFICE_HYPOTHESIS_PROFILE=explore $(BIN)/pytest tests/integration/dbt/test_staging_total_property.py -p no:cacheprovider --timeout 7200

test-unit: install ## Run the fast unit tests only
	$(BIN)/pytest tests/unit

docs: install ## Regenerate docs/settings.md and the dbt docs as one file (dbt/target/static_index.html), from SMART_OFFICE_WAREHOUSE_URL or the demo's embedded PostgreSQL, migrated first
	$(BIN)/python -m smart_office.settings_reference --out docs/settings.md
	$(BIN)/smart-office-demo docs

screenshots: install ## Screenshots of each dashboard page into docs/screenshots/ (the README's), taken by the browser test
	sh scripts/ensure_chromium.sh
	SMART_OFFICE_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(BIN)/pytest tests/integration/dashboard/test_browser.py -k test_every_page_shows_the_marts_numbers -p no:cacheprovider

lint: install ## ruff + sqlfluff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint dbt/models dbt/tests plugins/smart_office/warehouse/migrations --processes 2
	$(BIN)/hadolint Dockerfile

test-deploy: install ## Deployment checks: compose schema, Dockerfile lint, image build replay, Helm values, alerts
	$(BIN)/pytest tests/deploy --deselect tests/deploy/test_distributed_run.py

test-distributed: install ## Airflow on Celery with two workers on the local Redis + PostgreSQL, the real DAG (~2 min)
	$(BIN)/pytest tests/deploy/test_distributed_run.py -v -s

fmt: install ## Format Python code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lock: $(BIN)/python ## Re-resolve uv.lock after editing pyproject.toml and regenerate requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(BIN)/uv lock
	$(BIN)/uv export --frozen --package partner-smart-office --no-dev --no-emit-project --no-emit-workspace --no-header --format requirements-txt -o requirements.txt

bench-emulator: install ## Measure the emulator's alerts_v2 throughput (pages/s, MB/s)
	$(BIN)/python bench/emulator_throughput.py

bench-extract: install ## Pipeline vs floor on 1,000 emulated tenants (TENANTS=n to change)
	$(BIN)/python bench/extract_throughput.py --tenants $(or $(TENANTS),1000)

bench-peer-dlt: install ## The pipeline vs dlt rest_api on the same emulator, ratio table (TENANTS=n, default 200)
	$(BIN)/python bench/peer_dlt.py --tenants $(or $(TENANTS),200)

bench-dbt: install ## dbt full and daily incremental build on a 1-year, 1,000-tenant warehouse
	$(BIN)/python bench/dbt_build.py --tenants $(or $(TENANTS),1000)

bench-staging: install ## Staging views' cost over 200k generated alerts (BASELINE=dir: another copy of dbt/ beside)
	$(BIN)/python bench/staging_cost.py $(if $(BASELINE),--baseline-project-dir $(BASELINE))

clean: ## Stop what the demo left running (dashboard, embedded PostgreSQL), remove the virtualenv and generated state
	@if [ -x $(BIN)/smart-office-demo ]; then $(BIN)/smart-office-demo stop; fi
	rm -rf $(VENV) .state .demo dbt/target dbt/logs
