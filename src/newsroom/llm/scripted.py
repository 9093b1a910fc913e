"""A deterministic model for tests and examples. It is never the default and never "real"."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from newsroom.errors import ProviderError
from newsroom.llm.base import ChatModel, ChatRequest, Completion, Usage

Reply = str | Exception | Callable[[ChatRequest], str]


@dataclass(frozen=True, slots=True)
class ScriptedCall:
    request: ChatRequest
    reply: str | None


class ScriptedModel(ChatModel):
    """Replies from a queue, in order. Usage is deterministic: 1 token per 4 prompt characters.

    A reply may be a string, a callable ``(request) -> str``, or an exception to raise (e.g. a
    retryable ``ProviderError`` to exercise retries). ``default`` answers once the queue is empty;
    without it an empty queue is an error, so a test never passes on an unplanned call.
    """

    provider = "scripted"

    def __init__(self, replies: Iterable[Reply] = (), *, default: Reply | None = None,
                 model_name: str = "scripted") -> None:
        self._replies: list[Reply] = list(replies)
        self._default = default
        self._lock = threading.Lock()
        self.model_name = model_name
        self.calls: list[ScriptedCall] = []

    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def complete(self, request: ChatRequest) -> Completion:
        with self._lock:
            reply = self._replies.pop(0) if self._replies else self._default
        if reply is None:
            raise ProviderError("scripted model has no reply left for this call; enqueue more")
        if isinstance(reply, Exception):
            self.calls.append(ScriptedCall(request, None))
            raise reply
        text = reply(request) if callable(reply) else reply
        self.calls.append(ScriptedCall(request, text))
        usage = Usage(input_tokens=max(1, request.prompt_chars() // 4),
                      output_tokens=max(1, len(text) // 4))
        return Completion(text=text, usage=usage, model=self.model_name, finish_reason="stop")
