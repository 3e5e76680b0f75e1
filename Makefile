# Relationel velfærd – outcome payments and effect evaluation.
# `make` lists the targets. Every target calls `python -m analysis …`, which a user
# can also run by hand; the Makefile only knows what depends on what.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

## Variables a user can set on the command line, e.g. `make report AS_OF=2025Q4 LANGS=da`
DATA ?= data/synthetic
AS_OF ?=
LANGS ?= da en
QUARTERLY_LANGS ?= da
RESULTS ?= data/results
REPORTS ?= reports

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
ENV_STAMP := $(VENV)/.installed
CONFIG := config/contract.yaml config/synthetic.yaml
CODE_DEPS := $(ENV_STAMP) $(shell find analysis -name '*.py' -not -path '*/render/*' -not -name bench.py -not -name verify.py 2>/dev/null)
RENDER_DEPS := $(shell find analysis/render -type f 2>/dev/null)
DATA_DEPS := $(if $(filter data/synthetic,$(DATA)),data/synthetic/manifest.json,$(wildcard $(DATA)/*.csv $(DATA)/*.parquet))

.PHONY: help setup data validate results report test test-slow lint format verify bench clean lock browsers

help: ## Show this help
	@echo "Usage: make <target> [DATA=dir] [AS_OF=YYYYQn] [LANGS='da en']"
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

$(ENV_STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

setup: $(ENV_STAMP) ## Create .venv from the lock file (re-runs only when the lock changes)

data/synthetic/manifest.json: $(CODE_DEPS) $(CONFIG)
	$(PY) -m analysis synth --out data/synthetic

data: data/synthetic/manifest.json ## Generate the synthetic extract (data/synthetic)

validate: $(ENV_STAMP) $(DATA_DEPS) ## Check the extract in DATA against the data contract
	$(PY) -m analysis validate $(DATA)

# Rules for every quarterly and evaluation report, generated from the contract.
build/targets.mk: $(ENV_STAMP) $(CONFIG) params/quarterly.yaml analysis/reports/maketargets.py analysis/reports/kinds.py
	@mkdir -p build
	$(PY) -m analysis make-targets --as-of "$(AS_OF)" --langs "$(LANGS)" --quarterly-langs "$(QUARTERLY_LANGS)" > $@

ifneq ($(filter data results report verify,$(or $(MAKECMDGOALS),help)),)
include build/targets.mk
endif

results: $(QUARTERLY_RESULTS) ## Compute the quarterly results and payments up to AS_OF

report: $(REPORT_FILES) $(REPORTS)/index.html ## Render every report (quarterly up to AS_OF; midterm, preliminary final, final) to HTML and PDF, and the portal reports/index.html

$(REPORTS)/index.html: $(REPORT_FILES) $(RENDER_DEPS)
	$(PY) -m analysis portal --reports $(REPORTS)

browsers: ## Install Chromium, chromium-driver and poppler-utils (Debian, apt-get) for the browser and PDF-layout tests
	@if command -v chromium >/dev/null && command -v pdftotext >/dev/null; then echo "chromium and pdftotext are installed"; \
	else apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver poppler-utils fonts-dejavu-core; fi

test: $(ENV_STAMP) ## Run the test suite (fast tests; slow ones: make test-slow); skipped tests say why
	$(PY) -m pytest -q -rs

test-slow: $(ENV_STAMP) ## Run only the slow tests (Monte Carlo, full renders)
	$(PY) -m pytest -q -m slow

lint: $(ENV_STAMP) ## Lint and check formatting with ruff
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(ENV_STAMP) ## Format the code with ruff
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

verify: $(ENV_STAMP) ## Re-execute every report into build/verify and compare its numbers with reports/
	rm -rf build/verify
	$(MAKE) --no-print-directory report REPORTS=build/verify/reports RESULTS=build/verify/results AS_OF="$(AS_OF)"
	$(PY) -m analysis verify $(REPORTS) build/verify/reports

bench: $(ENV_STAMP) ## Run the benchmark suite (writes build/bench.json)
	$(PY) -m analysis.bench --out build/bench.json

lock: ## Re-resolve requirements.lock from pyproject.toml (needs the registry)
	rm -rf build/lockenv && $(PYTHON) -m venv build/lockenv
	build/lockenv/bin/pip install --quiet ".[dev]"
	build/lockenv/bin/pip freeze --exclude relationel-velfaerd-analysis | sed '1i # Exact versions of every package in the project environment (Python 3.11).\n# Regenerate with `make lock` after changing pyproject.toml dependencies.' > requirements.lock

clean: ## Remove generated data, results, reports and build files (keeps .venv and data/raw)
	rm -rf build data/synthetic data/results $(REPORTS)/quarterly $(REPORTS)/midterm $(REPORTS)/preliminary_final $(REPORTS)/final
