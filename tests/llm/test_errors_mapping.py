"""SDK exceptions become ProviderError: transient faults retryable, the caller's mistakes not."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

import anthropic
import httpx
import openai
import pytest

from newsroom.errors import ProviderError
from newsroom.llm.anthropic_provider import AnthropicChatModel, map_anthropic_error
from newsroom.llm.base import ChatRequest
from newsroom.llm.metered import Metered
from newsroom.llm.openai_provider import OpenAIChatModel, map_openai_error
from newsroom.roi.ledger import RoiLedger

REFUSED = "http://127.0.0.1:9"  # the discard port: nothing listens, the connection is refused at once


def http_module(sdk: ModuleType) -> Any:
    """The HTTP library the SDK's exceptions are built on (newer anthropic SDKs use httpx2)."""
    exceptions = importlib.import_module(f"{sdk.__name__}._exceptions")
    return getattr(exceptions, "httpx2", None) or httpx


def status_error(sdk: ModuleType, cls: type[Exception], status: int) -> Exception:
    http = http_module(sdk)
    request = http.Request("POST", "https://api.example.test/v1/chat")
    response = http.Response(status, request=request, json={"error": {"message": "nope"}})
    return cls(f"Error code: {status}", response=response, body={"error": {"message": "nope"}})


def transport_error(sdk: ModuleType, cls: type[Exception]) -> Exception:
    request = http_module(sdk).Request("POST", "https://api.example.test/v1/chat")
    return cls(request=request)


SDKS = [(openai, lambda e: map_openai_error(e, "openai")), (anthropic, map_anthropic_error)]
SDK_IDS = ["openai", "anthropic"]


@pytest.mark.parametrize(("sdk", "mapper"), SDKS, ids=SDK_IDS)
@pytest.mark.parametrize(("name", "status"), [
    ("RateLimitError", 429),
    ("InternalServerError", 500),
    ("InternalServerError", 502),
    ("InternalServerError", 503),
    ("APIStatusError", 529),
])
def test_rate_limits_and_server_errors_are_retryable(sdk: ModuleType, mapper: Any, name: str,
                                                     status: int) -> None:
    mapped = mapper(status_error(sdk, getattr(sdk, name), status))
    assert isinstance(mapped, ProviderError)
    assert mapped.retryable is True
    assert str(status) in str(mapped)


@pytest.mark.parametrize(("sdk", "mapper"), SDKS, ids=SDK_IDS)
@pytest.mark.parametrize("body", [
    {"error": {"message": "model 'gpt-9' not found", "type": "invalid_request_error"}},  # openai's shape
    {"type": "error", "error": {"type": "not_found_error", "message": "model 'gpt-9' not found"}},  # anthropic's
    {"message": "model 'gpt-9' not found"},
    "model 'gpt-9' not found",
])
def test_a_status_error_carries_the_servers_reason(sdk: ModuleType, mapper: Any, body: Any) -> None:
    http = http_module(sdk)
    request = http.Request("POST", "https://api.example.test/v1/chat")
    exc = sdk.NotFoundError("Error code: 404", response=http.Response(404, request=request), body=body)
    expected = f"{sdk.__name__} answered HTTP 404 (NotFoundError), saying " + '"model \'gpt-9\' not found"'
    assert str(mapper(exc)) == expected


@pytest.mark.parametrize(("sdk", "mapper"), SDKS, ids=SDK_IDS)
@pytest.mark.parametrize(("name", "status", "mentions_key"), [
    ("BadRequestError", 400, False),
    ("AuthenticationError", 401, True),
    ("PermissionDeniedError", 403, True),
    ("NotFoundError", 404, False),
])
def test_client_errors_are_not_retryable(sdk: ModuleType, mapper: Any, name: str, status: int,
                                         mentions_key: bool) -> None:
    mapped = mapper(status_error(sdk, getattr(sdk, name), status))
    assert mapped.retryable is False
    assert f"HTTP {status}" in str(mapped)
    assert ("API key" in str(mapped)) is mentions_key


@pytest.mark.parametrize(("sdk", "mapper"), SDKS, ids=SDK_IDS)
@pytest.mark.parametrize("name", ["APITimeoutError", "APIConnectionError"])
def test_timeouts_and_connection_errors_are_retryable(sdk: ModuleType, mapper: Any, name: str) -> None:
    mapped = mapper(transport_error(sdk, getattr(sdk, name)))
    assert mapped.retryable is True
    assert ("timed out" if name == "APITimeoutError" else "cannot connect") in str(mapped)


@pytest.mark.parametrize(("sdk", "mapper"), SDKS, ids=SDK_IDS)
def test_anything_else_is_not_retryable(sdk: ModuleType, mapper: Any) -> None:
    mapped = mapper(RuntimeError("weird"))
    assert mapped.retryable is False
    assert "RuntimeError: weird" in str(mapped)


def test_a_provider_error_passes_through_unchanged() -> None:
    original = ProviderError("already mapped", retryable=True)
    assert map_openai_error(original, "openai") is original


@pytest.mark.parametrize("build", [
    lambda: OpenAIChatModel("gpt-4o-mini", api_key="sk-test-0123456789abcdef", base_url=f"{REFUSED}/v1",
                            timeout_s=5),
    lambda: AnthropicChatModel("claude-haiku-4-5", api_key="sk-ant-test-0123456789abcdef",
                               base_url=REFUSED, timeout_s=5),
], ids=SDK_IDS)
def test_a_refused_connection_is_retried_through_metered(build: Any, ledger_path: Path) -> None:
    model = build()
    sleeps: list[float] = []
    metered = Metered(model, RoiLedger(ledger_path), execution_id="refused", max_retries=1, sleep=sleeps.append,
                      secrets=("0123456789abcdef",))
    try:
        with pytest.raises(ProviderError, match=r"^\[draft\] cannot connect") as info:
            metered.complete(ChatRequest.of("hi"), stage="draft", agent="writer")
    finally:
        model.close()
    assert info.value.retryable is True
    records = RoiLedger(ledger_path).read().records
    assert [(r["attempt"], r["status"]) for r in records] == [(1, "error"), (2, "error")]
    assert len(sleeps) == 1
    assert "0123456789abcdef" not in ledger_path.read_text(encoding="utf-8")
