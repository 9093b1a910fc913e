"""Integration fixtures: the real llama.cpp server (xllamacpp) serving SmolLM2 on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from newsroom.llm.local import LocalServer, ServerConfig, default_model_path


@pytest.fixture(scope="session")
def local_server() -> Iterator[LocalServer]:
    # A dedicated server (its own config key) so other tests' calls never touch its counters.
    server = LocalServer.shared(ServerConfig(model_path=default_model_path(), n_ctx_per_slot=4096, parallel=2))
    yield server
    server.stop()
