"""Idempotent LLM calls: each metered call gets a deterministic key, and a call whose key the ledger
already holds is answered from the ledger instead of the provider.

A run's steps are DBOS steps (``newsroom.engine``): a step that finished is never run again, but a
step the process died in (or that stopped on a budget) runs again from its start. It asks the same
prompts in the same order, so its calls get the same keys (execution id, step, sequence within the
step, and a hash of the request); every one already paid for replays its recorded response. Only a
call that was in flight when the process died is made again.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from newsroom.errors import Cancelled
from newsroom.llm.base import ChatRequest, Completion
from newsroom.usage import Usage

# The run step a call belongs to ("discover", "generate:1", ...); set by the engine around each step.
current_step: contextvars.ContextVar[str] = contextvars.ContextVar("newsroom_step", default="")


@contextmanager
def in_step(name: str) -> Iterator[None]:
    token = current_step.set(name)
    try:
        yield
    finally:
        current_step.reset(token)


class ResponseStore(Protocol):
    def response(self, call_key: str) -> dict[str, Any] | None: ...


def request_hash(request: ChatRequest) -> str:
    """A stable hash of everything that shapes the answer: messages, limits, sampling, seed, output type."""
    payload = {"messages": [[m.role, m.content] for m in request.messages], "max_tokens": request.max_tokens,
               "temperature": request.temperature, "stop": list(request.stop), "seed": request.seed,
               "output": request.output_type.__name__ if request.output_type else None}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:20]


def to_payload(completion: Completion) -> dict[str, Any]:
    """What the ledger keeps of a response, to replay it."""
    u = completion.usage
    return {"text": completion.text, "model": completion.model, "finish_reason": completion.finish_reason,
            "response_id": completion.response_id,
            "usage": [u.input_tokens, u.cached_input_tokens, u.output_tokens]}


def from_payload(payload: dict[str, Any]) -> Completion:
    tokens = payload.get("usage") or [0, 0, 0]
    return Completion(text=str(payload.get("text", "")), usage=Usage(*(int(t) for t in tokens)),
                      model=str(payload.get("model", "")), finish_reason=payload.get("finish_reason"),
                      response_id=payload.get("response_id"), raw={"replayed": True})


class Replay:
    """Keys a run's calls and finds the ones already answered. One per run (``execution_id``)."""

    def __init__(self, execution_id: str, store: ResponseStore | None,
                 is_cancelled: Callable[[], bool] | None = None) -> None:
        self.execution_id = execution_id
        self.store = store
        self.is_cancelled = is_cancelled  # asked before each call: a cancelled run makes no more
        self._seen: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self.replayed = 0

    def key(self, request: ChatRequest, stage: str) -> str:
        if self.is_cancelled is not None and self.is_cancelled():
            raise Cancelled(f"[{stage}] the run was cancelled")
        step = current_step.get() or stage
        digest = request_hash(request)
        with self._lock:
            n = self._seen[(step, digest)]
            self._seen[(step, digest)] += 1
        return f"{self.execution_id}:{step}:{n}:{digest}"

    def lookup(self, key: str) -> Completion | None:
        if self.store is None:
            return None
        payload = self.store.response(key)
        if payload is None:
            return None
        with self._lock:
            self.replayed += 1
        return from_payload(payload)
