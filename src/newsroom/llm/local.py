"""The default provider: a local GGUF model served by an embedded llama.cpp server (xllamacpp).

One server per model and process, started lazily on the first call, bound to a loopback port,
shared by concurrent calls through parallel slots and shut down at exit. The client is the openai
SDK, so the local path exercises exactly the code a remote OpenAI-compatible server would. Which
model and which sampling settings come from the catalogue (``llm/catalogue.yaml``), or from
``--model PATH.gguf``.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsroom.errors import ProviderError
from newsroom.llm.base import ChatRequest, Completion
from newsroom.llm.catalogue import Sampling
from newsroom.llm.openai_provider import OpenAIChatModel

log = logging.getLogger(__name__)

LOCAL_API_KEY = "local-no-key"  # the embedded server checks no key; the SDK wants a non-empty one


@dataclass(frozen=True)
class ServerConfig:
    model_path: Path
    n_ctx_per_slot: int = 4096
    parallel: int = 2
    threads: int | None = None
    alias: str = field(default="")  # the model name the server reports (the ledger's response_model)
    mmap: bool = False  # reading the file into memory peaks lower than mapping it, at the same speed


class LocalServer:
    """A running llama.cpp server. Use ``LocalServer.shared(config)``; ``stop()`` is idempotent."""

    _registry: dict[ServerConfig, LocalServer] = {}
    _registry_lock = threading.Lock()

    def __init__(self, config: ServerConfig) -> None:
        import xllamacpp

        params = xllamacpp.CommonParams()
        params.model.path = str(config.model_path)
        params.n_parallel = config.parallel
        params.n_ctx = config.n_ctx_per_slot * config.parallel
        params.hostnames = ["127.0.0.1"]
        params.port = 0  # any free port
        params.endpoint_metrics = True
        params.cpuparams.n_threads = config.threads or os.cpu_count() or 2
        params.cpuparams_batch.n_threads = params.cpuparams.n_threads
        params.verbosity = -1
        params.model_alias = {config.alias or config.model_path.stem}
        if not config.mmap:
            params.load_mode = xllamacpp.llama_load_mode.LLAMA_LOAD_MODE_NONE
        started = time.perf_counter()
        try:
            self._server: Any = xllamacpp.Server(params)
        except Exception as exc:
            raise ProviderError(f"the embedded llama.cpp server failed to start: {exc}") from exc
        self.config = config
        address = self._server.listening_address
        self.base_url = address if address.startswith("http") else f"http://{address}"
        log.info("llama.cpp server on %s in %.2fs", self.base_url, time.perf_counter() - started)

    def metrics(self) -> dict[str, float]:
        """The server's own Prometheus counters (``llamacpp:*``) from ``/metrics``."""
        import re
        import urllib.request

        with urllib.request.urlopen(self.base_url + "/metrics", timeout=10) as resp:  # noqa: S310 - loopback
            text = resp.read().decode()
        found = re.findall(r"^(llamacpp:[a-z_]+)\s+([0-9.eE+-]+)$", text, flags=re.MULTILINE)
        return {name: float(value) for name, value in found}

    @classmethod
    def shared(cls, config: ServerConfig) -> LocalServer:
        with cls._registry_lock:
            server = cls._registry.get(config)
            if server is None:
                server = cls._registry[config] = cls(config)
            return server

    def stop(self) -> None:
        with LocalServer._registry_lock:
            LocalServer._registry.pop(self.config, None)
        server, self._server = self._server, None
        if server is not None:
            del server  # xllamacpp stops its threads in the destructor

    @classmethod
    def stop_all(cls) -> None:
        for server in list(cls._registry.values()):
            server.stop()


atexit.register(LocalServer.stop_all)


class LocalChatModel(OpenAIChatModel):
    """The openai SDK talking to the embedded server, which starts on the first call.

    Each call carries the model's sampling settings for its kind (``sampling.prose`` for free text,
    ``sampling.structured`` for JSON under a grammar): small models loop without a repeat penalty,
    while the same penalty would distort the JSON a grammar forces them to repeat.
    """

    def __init__(self, config: ServerConfig, *, model_name: str, timeout_s: float = 120.0,
                 sampling: Sampling | None = None) -> None:
        self._config = config
        self.sampling = sampling or Sampling()
        self._init_lock = threading.Lock()
        self._ready = False
        self._timeout_s = timeout_s
        self.model_name = model_name
        self.provider = "local"

    def _ensure(self) -> None:
        if self._ready:
            return
        with self._init_lock:
            if not self._ready:
                server = LocalServer.shared(self._config)
                OpenAIChatModel.__init__(self, self.model_name, api_key=LOCAL_API_KEY,
                                         base_url=server.base_url + "/v1",
                                         timeout_s=self._timeout_s, provider="local")
                self.base_url = server.base_url
                self._ready = True

    @property
    def server_config(self) -> ServerConfig:
        return self._config

    def _extra_body(self, request: ChatRequest) -> dict[str, Any]:
        return dict(self.sampling.structured if request.output_type is not None else self.sampling.prose)

    def server_url(self) -> str:
        """Start the server if needed and return its base URL (for /metrics and direct SDK use)."""
        self._ensure()
        return self.base_url

    def complete(self, request: ChatRequest) -> Completion:
        self._ensure()
        return super().complete(request)

    async def acomplete(self, request: ChatRequest) -> Completion:
        self._ensure()
        return await super().acomplete(request)

    def close(self) -> None:
        if self._ready:
            super().close()
