"""The one model seam: ``ChatModel.complete(request) -> Completion(text, usage, raw)``."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from newsroom.errors import ProviderError
from newsroom.usage import Usage  # re-exported: providers and callers import Usage from here

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One chat call. ``output_type`` asks for structured output validated into that model."""

    messages: tuple[Message, ...]
    max_tokens: int = 512
    temperature: float | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    output_type: type[BaseModel] | None = None

    @classmethod
    def of(cls, prompt: str, *, system: str | None = None, **kwargs: Any) -> ChatRequest:
        msgs = ([Message("system", system)] if system else []) + [Message("user", prompt)]
        return cls(messages=tuple(msgs), **kwargs)

    def prompt_chars(self) -> int:
        return sum(len(m.content) for m in self.messages)


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    usage: Usage
    model: str
    finish_reason: str | None = None
    response_id: str | None = None
    raw: Any = field(default=None, repr=False, compare=False)


class ChatModel(ABC):
    """A provider. Implementations raise ``ProviderError`` (``retryable=True`` for transient faults)."""

    provider: str = "base"
    model_name: str = "unknown"

    @abstractmethod
    def complete(self, request: ChatRequest) -> Completion: ...

    async def acomplete(self, request: ChatRequest) -> Completion:
        """Async variant; providers with a native async client override it."""
        return await asyncio.to_thread(self.complete, request)

    def close(self) -> None:  # noqa: B027 - optional hook, most providers hold nothing
        """Release connections or processes the provider holds."""


def map_sdk_error(exc: Exception, provider: str, sdk: Any) -> ProviderError:
    """Classify an openai/anthropic SDK exception (both SDKs share these classes' names):
    timeouts, connection failures, 429 and 5xx are retryable; other statuses are not."""
    if isinstance(exc, ProviderError):
        return exc
    name = type(exc).__name__
    if isinstance(exc, sdk.APITimeoutError):
        return ProviderError(f"{provider} timed out ({name})", retryable=True)
    if isinstance(exc, sdk.APIConnectionError):
        return ProviderError(f"cannot connect to {provider} ({name}); check --base-url", retryable=True)
    if isinstance(exc, sdk.APIStatusError):
        status = exc.status_code
        hint = "; check the API key" if status in (401, 403) else ""
        retryable = status == 429 or status >= 500
        return ProviderError(f"{provider} answered HTTP {status} ({name}){_server_says(exc)}{hint}",
                             retryable=retryable)
    return ProviderError(f"{provider} call failed: {name}: {exc}")


def _server_says(exc: Any) -> str:
    """The server's own reason from an error reply's body (``error.message`` in both APIs), so a
    user sees "model 'x' not found" rather than a bare status. It is server-supplied text: the
    metered wrapper redacts keys from it like from every error message."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        body = inner.get("message", inner) if isinstance(inner, dict) else inner
    text = " ".join(str(body).split()) if body not in (None, "") else ""
    return f", saying {text[:300]!r}" if text else ""
