# The one place the exact torch version is pinned (CPU wheel on the dev machines).
TORCH_VERSION := 2.13.0
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(TORCH_VERSION)
export OMP_NUM_THREADS ?= 1
export WANDB_MODE ?= offline

.DEFAULT_GOAL := help
.PHONY: help install test test-all mutation train lint format tables report report-update clean

help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==$(TORCH_VERSION)
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP) ## Create .venv, install torch==$(TORCH_VERSION), then the package with every extra (dev)

test: $(STAMP) ## Run the default test suite (excludes tests marked slow)
	$(PY) -m pytest -m "not slow" -q

test-all: $(STAMP) ## Run every test, slow ones included
	$(PY) -m pytest -q

# Mutation testing of egnn.nn, egnn.data, the autoencoder metrics and the atomic I/O (long: run
# it before closing work on those modules, not in CI's default run). mutmut copies the tree into
# mutants/ and keeps its results there (a rerun tests only what changed). One module at a time:
#   make mutation MUTANTS='egnn.atomic.*'
MUTMUT_VERSION := 3.8.1
MUTANTS ?=
MUTATION_CHILDREN ?= 1
mutation: $(STAMP) ## Mutation testing (mutmut); survivors in outputs/mutation/report.md
	$(PY) -m pip install --quiet "mutmut==$(MUTMUT_VERSION)"
	$(PY) -c "from egnn.data.qm9.dataset import load_qm9; load_qm9('$(CURDIR)/data')"
	EGNN_TEST_QM9_CACHE=$(CURDIR)/data $(VENV)/bin/mutmut run --max-children $(MUTATION_CHILDREN) $(MUTANTS)
	$(PY) scripts/mutation_report.py --out outputs/mutation/report.md $(MUTANTS)

train: $(STAMP) ## Train the paper's N-body EGNN (python train.py experiment=nbody)
	$(PY) train.py experiment=nbody

lint: $(STAMP) ## Lint and check formatting with ruff
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP) ## Format and fix with ruff
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

tables: $(STAMP) ## Regenerate the tables of README.md and report/notes/ from results/
	$(PY) -m egnn.reporting.tables --readme README.md --notes report/notes

report: $(STAMP) ## Write the report from results/ into outputs/report/ (a scratch folder; tracked files untouched)
	$(PY) -m egnn.reporting.report --out outputs/report

report-update: $(STAMP) ## Update the committed report/ from results/ (adds and rewrites, never deletes a figure)
	$(PY) -m egnn.reporting.report --out report

clean: ## Remove caches (keeps .venv, data/ and outputs/)
	rm -rf .pytest_cache .ruff_cache src/*.egg-info
