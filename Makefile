# pytest-aistack — every target is idempotent and sets up what it needs itself.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
RESULTS ?= results
PYTEST_ARGS ?=

.PHONY: help venv demo test lint typecheck unit bench soak-resilience test-docker docker-lane nightly clean
.PHONY: llamacpp llamacpp-lane test-llamacpp verdict-power

help:
	@echo "make demo   - set up .venv and run the main job on the embedded default stack"
	@echo "make test   - set up .venv and run lint, type check and the whole suite"
	@echo "make lint   - ruff"
	@echo "make bench  - every benchmark under benchmarks/"
	@echo "make soak-resilience - the resilience scenarios 10 times in a row, failure count"
	@echo "make verdict-power - the resilience suite once per seeded defect + HEALTHY_RUNS healthy runs: catch table"
	@echo "make test-docker - the resilience scenarios on the docker backend (builds images, starts dockerd as root)"
	@echo "make nightly     - the nightly job locally: strict resilience suite + burst SLO gate on docker, Markdown summary"
	@echo "make llamacpp    - set up the llama.cpp variant (builds llama-cpp-python once, cached; tiny model)"
	@echo "make test-llamacpp - the resilience scenarios on real llama.cpp backends (set-up failure is an error)"

# The venv is rebuilt when pyproject.toml changes; the stamp makes re-runs cheap.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "pytest-aistack needs Python >= 3.11; set PYTHON=/path/to/python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# scripts/ensure-chromium: the HTML report's browser test needs a headless Chromium
# (installed with apt-get when run as root; otherwise that test skips with the reason).
unit: $(STAMP)
	scripts/ensure-chromium
	$(BIN)/pytest $(PYTEST_ARGS)

# The docker lane runs when a Docker engine can be had (as root, dockerd is started
# and stopped again); otherwise it prints why it was skipped and does not fail.
test: lint typecheck unit docker-lane llamacpp-lane

docker-lane: $(STAMP)
	RESULTS='$(RESULTS)' PYTEST_ARGS='$(PYTEST_ARGS)' scripts/docker-lane

test-docker: $(STAMP)
	RESULTS='$(RESULTS)' PYTEST_ARGS='$(PYTEST_ARGS)' scripts/docker-lane --require

nightly: $(STAMP)
	RESULTS='$(RESULTS)' PYTEST_ARGS='$(PYTEST_ARGS)' scripts/docker-lane --nightly

# The llama.cpp variant of the reference stack (README "Real backend: the llama.cpp
# variant"): the wheel, venv and model live in ~/.cache/pytest-aistack, shared by clones.
llamacpp: $(STAMP)
	scripts/llamacpp

# Like the docker lane: when llama-cpp-python cannot be built here, prints why, skips.
llamacpp-lane: $(STAMP)
	RESULTS='$(RESULTS)' PYTEST_ARGS='$(PYTEST_ARGS)' scripts/llamacpp-lane

test-llamacpp: $(STAMP)
	RESULTS='$(RESULTS)' PYTEST_ARGS='$(PYTEST_ARGS)' scripts/llamacpp-lane --require

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

# The resilience scenarios SOAK_RUNS times in a row, each run with a fresh stack; prints
# how many runs failed and exits non-zero if any did. Logs: $(RESULTS)/soak/run-N.log.
SOAK_RUNS ?= 10
soak-resilience: $(STAMP)
	@mkdir -p $(RESULTS)/soak
	@failed=0; for i in $$(seq 1 $(SOAK_RUNS)); do \
	  start=$$(date +%s); \
	  if $(BIN)/pytest scenarios -m resilience -q -p no:cacheprovider \
	      --aistack-report-dir=$(RESULTS)/soak/run-$$i $(PYTEST_ARGS) > $(RESULTS)/soak/run-$$i.log 2>&1; \
	  then echo "run $$i: ok ($$(( $$(date +%s) - start )) s)"; \
	  else failed=$$((failed + 1)); echo "run $$i: FAILED ($(RESULTS)/soak/run-$$i.log)"; fi; \
	done; \
	echo "soak-resilience: $$failed of $(SOAK_RUNS) runs failed"; \
	test $$failed -eq 0

# The resilience suite on a copy of the reference stack per seeded defect
# (benchmarks/seeded_defects.py), then HEALTHY_RUNS times on the healthy stack; prints
# defect -> caught? -> by which scenario, the catch rate and the healthy pass count.
# DEFECTS='rpm|allowed_fails' runs only the defects whose name contains one of them.
# Results: $(RESULTS)/verdict-power/. ~1.5 min per run on a 2-core machine.
HEALTHY_RUNS ?= 20
DEFECTS ?=
verdict-power: $(STAMP)
	$(BIN)/python -m benchmarks.verdict_power --healthy $(HEALTHY_RUNS) \
	  --out $(RESULTS)/verdict-power $(foreach d,$(subst |, ,$(DEFECTS)),--only '$(d)') \
	  $(if $(PYTEST_ARGS),-- $(PYTEST_ARGS))

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache $(RESULTS)
