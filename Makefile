# Relationel velfærd – outcome payments and effect evaluation.
# `make` lists the targets. Every target calls `python -m analysis …`, which a user
# can also run by hand; the Makefile only knows what depends on what.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules
# The steps of a goal run side by side on every core: `make report` is `make -j<cores>
# report` (JOBS=1 or -j1: one at a time). Not when `clean` is one of the goals (it would
# race the others), nor in a recursive make (it shares its caller's job slots).
JOBS ?= $(shell nproc 2>/dev/null || sysctl -n hw.ncpu 2>/dev/null || echo 1)
ifeq ($(MAKELEVEL),0)
ifeq ($(filter clean,$(MAKECMDGOALS)),)
MAKEFLAGS += -j$(JOBS)
endif
endif
# make already runs the steps side by side: a step's own processes (the evaluation's
# sensitivity analyses, analysis/reports/stage.py jobs()) would take the core of the
# chain of quarterly results. ANALYSIS_JOBS=2 on the command line gives them back.
ifneq ($(JOBS),1)
export ANALYSIS_JOBS ?= 1
endif
# Bytecode Python compiles (unless PYTHONDONTWRITEBYTECODE is set) goes under build/, not
# into .venv or beside the sources: running the reports leaves the environment as installed.
export PYTHONPYCACHEPREFIX ?= $(CURDIR)/build/pycache

## Variables a user can set on the command line, e.g. `make report AS_OF=2025Q4 LANGS=da`
DATA ?= data/synthetic
AS_OF ?=
LANGS ?= da en
QUARTERLY_LANGS ?= da
LAB_ARGS ?=
RESULTS ?= data/results
REPORTS ?= reports
# The settlement record (SQLite): money settled and paid, kept outside the results and
# never deleted by `make clean`. Empty: data/settlement/synthetic-<digest>.sqlite for the
# synthetic demo (one per generator configuration and contract), settlement.sqlite for
# real data (`python -m analysis settlement path` prints it).
LEDGER ?=
LEDGER_ARG := $(if $(LEDGER),--ledger $(LEDGER))
# Comparison-pool sizes of `make bench` (comma-separated), and more options (--no-peers, --no-report).
BENCH_SIZES ?= 10000,100000,1000000
BENCH_ARGS ?=
# Options of `make sweep` (python -m analysis.sweep --help), e.g. --programmes 5 --all-quarters.
SWEEP_ARGS ?=
# The contract every step reads (`make report CONTRACT=config/other.yaml`).
CONTRACT ?= config/contract.yaml
# Steps run in one pre-imported worker (analysis/pipeline/worker.py) instead of paying imports each;
# ANALYSIS_WORKER=0 runs every step in its own interpreter.
ANALYSIS_WORKER ?= 1

# Python 3.11, 3.12 or 3.13. `make test PYTHON=python3.13` builds and uses its own
# .venv-3.13, so environments of different versions live side by side; the stamp
# file records the version, so a .venv made by another interpreter is rebuilt.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
# A pyenv shim of a version that is installed but not active in this shell
# ("pyenv: python3.13: command not found") runs that installed version.
PYTHON_EXE := $(shell $(PYTHON) -c 'import sys; print(sys.executable)' 2>/dev/null || { v=$$(pyenv versions --bare 2>/dev/null | grep -m1 -E '^$(subst .,\.,$(patsubst python%,%,$(notdir $(PYTHON))))(\.|$$)'); test -n "$$v" && PYENV_VERSION=$$v $(PYTHON) -c 'import sys; print(sys.executable)'; } 2>/dev/null)
PY_VERSION := $(if $(PYTHON_EXE),$(shell $(PYTHON_EXE) -c 'import sys; print("%d.%d" % sys.version_info[:2])'))
VENV ?= $(if $(filter command line,$(origin PYTHON)),.venv-$(PY_VERSION),.venv)
PY := $(VENV)/bin/python
# Two locks from one pyproject.toml: requirements.lock pins what the reports need (the
# runtime, all `make report` installs); requirements-dev.lock adds the test-only tools and
# reference implementations (extra `dev`: pytest, ruff, pyfixest, moderndid, csdid, ...),
# which `make test`, `make lint` and `make bench` install on top.
# Left out of requirements.lock though the Jupyter kernel's packages name them: IPython's
# completion (jedi, with parso) and ipykernel's debugger (debugpy), which both import only
# if present and which papermill never uses (48 MB of the runtime environment). The runtime
# lock is installed with --no-deps, so it is all `make report` installs; the dev lock pins them.
RUNTIME_OMITS := jedi parso debugpy
ENV_STAMP := $(VENV)/.installed-$(PY_VERSION)
DEV_STAMP := $(VENV)/.dev-installed
LAB_STAMP := $(VENV)/.lab-installed
CONFIG := $(CONTRACT) config/synthetic.yaml
# The registered analysis plan every evaluation step reads.
PLAN := config/analysis_plan.yaml
# The pipeline (analysis/pipeline/: the build without make, the rules, the worker that runs the steps,
# bench, timings, verify, lab) and the benchmarks of methods (backtest.py, size.py, sweep.py) feed
# no report; the command line every step runs (analysis/pipeline/cli.py) does.
CODE_DEPS := $(ENV_STAMP) $(shell find analysis -name '*.py' -not -path '*/render/*' -not -path analysis/backtest.py -not -path analysis/size.py -not -path analysis/sweep.py \( -not -path 'analysis/pipeline/*' -o -path analysis/pipeline/cli.py -o -path analysis/pipeline/__init__.py \) 2>/dev/null)
# The renderer, and the words of the reports: the Markdown the notebooks include, the catalogue
# and the forecast backtest's summary the reports quote (`make backtest`).
RENDER_DEPS := $(shell find analysis/render -type f 2>/dev/null) $(wildcard notebooks/_*.md) analysis/catalogue.yaml docs/forecast_backtest.json
# Code that only presents results (the reports' tables, figures and texts): the synthetic
# extract, the quarterly results and the evaluation stages do not depend on it, so a change
# to a table or figure re-renders without re-estimating (analysis/pipeline/build.py PRESENTATION).
PRESENTATION := analysis/reports/evaluation.py analysis/reports/sections.py analysis/reports/dashboard.py analysis/reports/quarterly_view.py analysis/reports/forecast_text.py
RESULTS_DEPS := $(filter-out $(PRESENTATION),$(CODE_DEPS))
# A folder of deliveries (<DATA>/<YYYYQn>/) or a single extract.
DATA_DEPS := $(if $(filter data/synthetic,$(DATA)),data/synthetic/manifest.json,$(wildcard $(DATA)/*.csv $(DATA)/*.parquet $(DATA)/*Q?/*.csv $(DATA)/*Q?/*.parquet))

.PHONY: help setup python-version lab data validate results report report-files build test test-slow lint format verify bench backtest size sweep clean lock browsers settlement reset-demo-ledger

help: ## Show this help
	@echo "Usage: make <target> [DATA=dir] [AS_OF=YYYYQn] [LANGS='da en']"
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

$(ENV_STAMP): requirements.lock pyproject.toml
	@test -n "$(PY_VERSION)" || { echo "error: '$(PYTHON)' does not run; give an installed interpreter, e.g. make setup PYTHON=python3.12" >&2; exit 1; }
	@case "$(PY_VERSION)" in 3.11|3.12|3.13) ;; *) echo "error: Python $(PY_VERSION) is not supported; use 3.11, 3.12 or 3.13 (PYTHON=python3.12)" >&2; exit 1;; esac
	@# A venv made by another Python version cannot be upgraded in place.
	if [ -x $(PY) ] && [ "$$($(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])')" != "$(PY_VERSION)" ]; then rm -rf $(VENV); fi
	rm -f $(VENV)/.installed* $(DEV_STAMP) $(LAB_STAMP)
	$(PYTHON_EXE) -m venv $(VENV)
	@# --no-compile: Python compiles what it imports, on first use, instead of every module
	@# of every package at install time (smaller and quicker to install). --no-deps: the
	@# lock is the whole environment (RUNTIME_OMITS above).
	$(PY) -m pip install --quiet --disable-pip-version-check --no-compile --no-deps -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@# The reports need no installer: pip (and setuptools on 3.11) leave the venv, and the
	@# targets that install more (setup, test, lab) bring pip back from the standard library.
	$(PY) -m pip uninstall --quiet --yes pip setuptools
	touch $@

$(DEV_STAMP): $(ENV_STAMP) requirements-dev.lock
	$(PY) -m ensurepip --default-pip >/dev/null
	$(PY) -m pip install --quiet --disable-pip-version-check --no-compile -r requirements.lock -r requirements-dev.lock
	touch $@

setup: $(DEV_STAMP) ## Create .venv with the runtime and the test locks (re-runs only when a lock changes)

python-version: # The Python version PYTHON runs (used by .ci/run)
	@echo $(PY_VERSION)

$(LAB_STAMP): $(DEV_STAMP) requirements-lab.lock
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock -r requirements-dev.lock -r requirements-lab.lock
	touch $@

lab: $(LAB_STAMP) ## Open the report notebooks in JupyterLab (installs the lab extra; synthetic data)
	$(PY) -m analysis.pipeline.lab --data $(DATA) $(if $(AS_OF),--as-of $(AS_OF)) $(LAB_ARGS)

# The synthetic extract's rule (data/synthetic/manifest.json) is one of the generated rules
# (analysis/pipeline/rules.py), which the build without make runs too.
data: data/synthetic/manifest.json ## Generate the synthetic extract (data/synthetic)

validate: $(ENV_STAMP) $(DATA_DEPS) ## Check the extract in DATA against the data contract
	$(PY) -m analysis --config $(CONTRACT) validate $(DATA)

# The extract is checked once, before the steps that read it: the check leaves a
# receipt in build/validated (analysis/data/receipt.py) and those steps, finding the
# files unchanged, skip their own. A step whose files do not match checks in full.
VALIDATION_CODE := $(wildcard analysis/config.py analysis/quarters.py analysis/data/*.py)
VALIDATED := build/validated/$(subst /,_,$(subst ..,__,$(DATA))).done
$(VALIDATED): $(ENV_STAMP) $(DATA_DEPS) $(CONFIG) $(VALIDATION_CODE)
	@mkdir -p $(@D)
	$(PY) -m analysis --config $(CONTRACT) validate $(DATA) > /dev/null
	touch $@

# Rules for every quarterly and evaluation report, generated from the contract.
# build/targets.args changes (and the rules are regenerated) when AS_OF, a language list
# or JOBS does (with JOBS of 2 or more, the evaluations' estimates run in JOBS-1 lanes
# beside the chain of quarterly results, so that the chain always has a slot, and the
# other steps after the chain wait for the final stage's inputs, so that it starts
# first: rules._lanes), or DATA does, and when the contract does: another
# CONTRACT path, or the same file with other contents, however old (a contract older
# than the last build's rules would not make them out of date by its time).
TARGET_ARGS := --as-of "$(AS_OF)" --langs "$(LANGS)" --quarterly-langs "$(QUARTERLY_LANGS)" --jobs "$(JOBS)" --data "$(DATA)"
CONTRACT_SUM = $(firstword $(shell cksum < '$(CONTRACT)' 2>/dev/null))
build/targets.args: FORCE
	@mkdir -p build
	@args='$(TARGET_ARGS) --contract "$(CONTRACT)" $(CONTRACT_SUM)'; echo "$$args" | cmp -s - $@ || echo "$$args" > $@

# The rules depend on a real extract's files (the reports its deliveries reach); the
# synthetic demo reaches every report, and its extract is made by one of these rules.
TARGETS_DATA_DEPS := $(if $(filter data/synthetic,$(DATA)),,$(DATA_DEPS))
build/targets.mk: build/targets.args $(ENV_STAMP) $(CONFIG) $(TARGETS_DATA_DEPS) params/quarterly.yaml analysis/pipeline/rules.py analysis/reports/kinds.py analysis/data/deliveries.py
	$(PY) -m analysis --config $(CONTRACT) make-targets $(TARGET_ARGS) > $@

FORCE:

# `make report` keeps going after a failed step: a failed estimate stops the evaluation
# reports that need it, never the quarterly payment reports (the exit status is still 2).
ifneq ($(filter report report-files,$(MAKECMDGOALS)),)
MAKEFLAGS += --keep-going
endif

# What changes with the contract's path and contents, for the rule that writes its sections.
CONTRACT_ARGS := build/targets.args
# Where the contract's sections are written (analysis/pipeline/sections.py).
SECTIONS := build/contract

# The steps of these goals (and of what they need) use the worker.
data results report report-files verify build: export ANALYSIS_WORKER := $(ANALYSIS_WORKER)

ifneq ($(filter data validate results report report-files verify,$(or $(MAKECMDGOALS),help)),)
include build/targets.mk
$(QUARTERLY_RESULTS) $(LEDGER_FILES) $(ESTIMATE_RESULTS) $(EVALUATION_RESULTS): | $(VALIDATED)
endif

results: $(QUARTERLY_RESULTS) $(LEDGER_FILES) $(EVALUATION_RESULTS) ## Compute the quarterly results, payments and settlement ledger up to AS_OF, and every evaluation's estimates

# make has no rule that runs after a prerequisite failed, and the portal needs every
# report: so `report` makes them in a make of its own (sharing the job slots). When a step
# failed, a second pass without the order of the steps (WAITS=no: with two or more job
# slots the other evaluations wait for the final one's estimates, build/targets.mk) makes
# what does not need the failed step, the portal is written from the reports there are
# (AFTER_FAILURE, the portal's command from build/targets.mk), and the exit status is the
# first pass's. The failed step's target is on make's "*** [...] Error" line.
report: ## Render every report (quarterly up to AS_OF; midterm, preliminary final, final) to HTML and PDF, and the portal reports/index.html
	@$(MAKE) --no-print-directory report-files || { status=$$?; \
	echo "make report: a step failed (its target is on a '***' line above); making what does not need it, then the portal" >&2; \
	$(if $(filter-out 0 1,$(JOBS)),$(MAKE) --no-print-directory report-files WAITS=no || true;) \
	$(AFTER_FAILURE); exit $$status; }

report-files: $(REPORT_FILES) $(PORTAL)

browsers: ## Install Chromium, chromium-driver and poppler-utils (Debian, apt-get) for the browser and PDF-layout tests
	@if command -v chromium >/dev/null && command -v pdftotext >/dev/null; then echo "chromium and pdftotext are installed"; \
	else apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver poppler-utils fonts-dejavu-core; fi

test: $(DEV_STAMP) ## Run the test suite (fast tests; slow ones: make test-slow); skipped tests say why
	$(PY) -m pytest -q -rs

build: $(ENV_STAMP) ## Same as `make report`, run by `python -m analysis build` (the way without make)
	$(PY) -m analysis --config $(CONTRACT) build --data $(DATA) --as-of "$(AS_OF)" --langs "$(LANGS)" --quarterly-langs "$(QUARTERLY_LANGS)" --results $(RESULTS) --reports $(REPORTS)

test-slow: $(DEV_STAMP) ## Run only the slow tests (Monte Carlo, full renders)
	$(PY) -m pytest -q -m slow

lint: $(DEV_STAMP) ## Lint and check formatting with ruff
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(DEV_STAMP) ## Format the code with ruff
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

verify: $(ENV_STAMP) ## Re-execute every report into build/verify and compare its numbers with reports/
	rm -rf build/verify
	ANALYSIS_REEXECUTION=1 $(MAKE) --no-print-directory report REPORTS=build/verify/reports RESULTS=build/verify/results AS_OF="$(AS_OF)"
	$(PY) -m analysis --config $(CONTRACT) verify $(REPORTS) build/verify/reports --data $(DATA) $(LEDGER_ARG)

size: $(DEV_STAMP) ## Monte Carlo size and coverage of every test and interval (niced, resumable; writes build/size.jsonl; table for docs/evaluation.md); SIZE_ARGS='--extracts 200 --jobs 2' ('--verdict-only': only what a verdict rests on)
	nice -n 10 $(PY) -m analysis.size --out build/size.jsonl $(SIZE_ARGS)

bench: $(DEV_STAMP) ## Run the benchmark suite (writes build/bench.json); BENCH_SIZES=10000,100000,1000000,5000000 BENCH_ARGS=--no-peers
	$(PY) -m analysis.pipeline.bench --out build/bench.json --sizes "$(BENCH_SIZES)" $(BENCH_ARGS)

# Programmes and workers of `make backtest` (empty: config/synthetic.yaml backtest.programmes);
# BACKTEST_ARGS=--resume continues an unfinished run (build/backtest.jsonl). The summary the
# reports quote and the table in the docs are written by the same run, so they never disagree.
BACKTEST_PROGRAMMES ?=
BACKTEST_JOBS ?= 2
BACKTEST_ARGS ?=
backtest: $(DEV_STAMP) ## Backtest the payment forecast over synthetic programmes (build/backtest.json, .md; docs/forecast_backtest.json and the table in README.md and docs/payments.md)
	nice $(PY) -m analysis.backtest --out build/backtest.json --jobs $(BACKTEST_JOBS) $(if $(BACKTEST_PROGRAMMES),--programmes $(BACKTEST_PROGRAMMES)) --docs $(BACKTEST_ARGS)

sweep: $(ENV_STAMP) ## Build every report for 30 seeded valid programmes (sizes, ratios, shortfalls, shifted timelines, empty areas): build/sweep/sweep.md; SWEEP_ARGS=--programmes 5
	$(PY) -m analysis.sweep $(SWEEP_ARGS)

lock: ## Re-resolve requirements.lock, requirements-dev.lock and requirements-lab.lock from pyproject.toml (needs the registry)
	rm -rf build/lockenv && $(PYTHON_EXE) -m venv build/lockenv
	build/lockenv/bin/pip install --quiet .
	build/lockenv/bin/pip freeze --exclude relationel-velfaerd-analysis $(foreach p,$(RUNTIME_OMITS),--exclude $(p)) | sed '1i # Exact versions of the runtime environment, all that `make report` installs (Python 3.11, 3.12, 3.13).\n# Regenerate with `make lock` after changing pyproject.toml dependencies.' > requirements.lock
	build/lockenv/bin/pip install --quiet -c requirements.lock ".[dev]"
	build/lockenv/bin/pip freeze --exclude relationel-velfaerd-analysis | grep -vxFf requirements.lock | sed '1i # Exact versions of the test-only tools and reference implementations (extra `dev`; `make test`),\n# on top of requirements.lock (resolved against it, for Python 3.11, 3.12, 3.13).\n# Regenerate with `make lock` after changing pyproject.toml dependencies.' > requirements-dev.lock
	build/lockenv/bin/pip install --quiet -c requirements.lock -c requirements-dev.lock ".[lab]"
	build/lockenv/bin/pip freeze --exclude relationel-velfaerd-analysis | grep -vxFf requirements.lock | grep -vxFf requirements-dev.lock | sed '1i # Exact versions of the optional JupyterLab environment (`make lab`, extra `lab`),\n# on top of requirements.lock (resolved against it and requirements-dev.lock, for Python 3.11-3.13).\n# Regenerate with `make lock` after changing pyproject.toml dependencies.' > requirements-lab.lock

settlement: $(ENV_STAMP) ## Show the settlement record of DATA (or LEDGER=path), its hash chain verified
	$(PY) -m analysis --config $(CONTRACT) settlement show --data $(DATA) $(LEDGER_ARG)

reset-demo-ledger: $(ENV_STAMP) ## Delete the synthetic demo's settlement record (refuses one with real settlements)
	$(PY) -m analysis --config $(CONTRACT) settlement reset-demo --data $(DATA) $(LEDGER_ARG)

clean: ## Remove generated data, results, reports and build files (keeps .venv, data/raw and the settlement records in data/settlement)
	rm -rf build data/synthetic data/results $(REPORTS)/quarterly $(REPORTS)/midterm $(REPORTS)/preliminary_final $(REPORTS)/final $(REPORTS)/index.html
