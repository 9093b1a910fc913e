"""The one place that builds providers and wraps them in ``Metered``."""

from __future__ import annotations

import socket
import uuid
from urllib.parse import urlsplit

from newsroom.config import KEY_ENV, Settings
from newsroom.errors import ConfigError
from newsroom.llm.base import ChatModel
from newsroom.llm.metered import Budget, Metered
from newsroom.llm.ratelimit import limiter_for
from newsroom.llm.replay import Replay
from newsroom.roi.db_ledger import open_ledger
from newsroom.roi.prices import PriceBook


def new_execution_id() -> str:
    return uuid.uuid4().hex[:16]


def build_model(settings: Settings) -> ChatModel:
    """The provider ``settings`` ask for. Raises ``ConfigError`` naming what to set."""
    if settings.provider == "local":
        from newsroom.llm.catalogue import resolve
        from newsroom.llm.local import LocalChatModel, ServerConfig

        label, path, sampling = resolve(settings.model, settings.models_dir)
        config = ServerConfig(model_path=path, n_ctx_per_slot=settings.local_n_ctx, alias=label,
                              parallel=settings.local_parallel, threads=settings.local_threads)
        return LocalChatModel(config, model_name=label, timeout_s=settings.call_timeout_s, sampling=sampling)
    if settings.provider == "scripted":
        raise ConfigError("the scripted provider takes its replies from code: pass "
                          "model=ScriptedModel([...]) to the API (it is for tests and examples)")
    key = settings.secret()
    if not key:
        raise ConfigError(f"provider {settings.provider!r} needs an API key: set "
                          f"{KEY_ENV[settings.provider]} (for a server that checks none, any value)")
    if settings.provider == "openai":
        from newsroom.llm.openai_provider import OpenAIChatModel

        return OpenAIChatModel(settings.model_name, api_key=key, base_url=settings.base_url,
                               timeout_s=settings.call_timeout_s)
    from newsroom.llm.anthropic_provider import AnthropicChatModel

    return AnthropicChatModel(settings.model_name, api_key=key, base_url=settings.base_url,
                              timeout_s=settings.call_timeout_s)


def preflight(settings: Settings, timeout_s: float = 3.0) -> None:
    """Fail fast with ``ConfigError`` when a configured base URL cannot be reached at all."""
    if settings.provider in ("local", "scripted") or not settings.base_url:
        return
    parts = urlsplit(settings.base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"--base-url {settings.base_url!r} is not an http(s) URL")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout_s):
            pass
    except OSError as exc:
        raise ConfigError(f"cannot reach --base-url {settings.base_url!r} ({exc.strerror or exc}); "
                          "check the URL and that the server is running") from None


def build_metered(settings: Settings, *, execution_id: str, model: ChatModel | None = None,
                  telemetry: bool = True, budget_guard: bool = True) -> Metered:
    """Wrap the provider for one run. Pass ``model`` to use one built elsewhere (tests, scripted).

    Its records go to the database ledger (mirrored to the JSONL file when embedded), which also
    answers the calls a re-executed step asks again (``llm/replay.py``); its rate limits are shared
    with every process on the same database.
    """
    budget = Budget(usd=settings.budget_usd, tokens=settings.budget_tokens) if budget_guard else Budget()
    key = settings.secret() if settings.provider in KEY_ENV else None
    provider = model.provider if model is not None else settings.provider
    ledger = open_ledger(settings, enabled=telemetry)
    return Metered(
        model or build_model(settings),
        ledger,
        execution_id=execution_id,
        prices=PriceBook(settings.prices),
        budget=budget,
        max_retries=settings.max_retries,
        secrets=(key,) if key else (),
        limiter=limiter_for(settings.db_url, provider, settings.base_url, settings.rate_limit_rpm,
                            settings.rate_limit_tpm),
        replay=Replay(execution_id, ledger),
    )
