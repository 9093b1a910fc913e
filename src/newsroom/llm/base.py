"""The one model seam: ``ChatModel.complete(request) -> Completion(text, usage, raw)``."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

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
class Usage:
    """Provider-reported token usage. ``input_tokens`` counts every prompt token, cached included."""

    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.cached_input_tokens + other.cached_input_tokens,
            self.output_tokens + other.output_tokens,
        )


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
