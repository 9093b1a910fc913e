"""Integration fixtures: the real llama.cpp server (xllamacpp) serving the fast SmolLM2 on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from newsroom.llm.catalogue import resolve
from newsroom.llm.local import LocalServer, ServerConfig

# The machinery tests (exact metering, structured output, the crewAI adapter) run on the fast model.
FAST_MODEL = "smollm2-135m"


@pytest.fixture(scope="session")
def local_server() -> Iterator[LocalServer]:
    # A dedicated server (its own config key) so other tests' calls never touch its counters.
    label, path, _ = resolve(FAST_MODEL)
    server = LocalServer.shared(ServerConfig(model_path=path, n_ctx_per_slot=4096, parallel=2, alias=label))
    yield server
    server.stop()
