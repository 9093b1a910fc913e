"""A provider that echoes the API key into a 200 reply: ``Metered`` removes it before anything is stored.

The hostile server speaks OpenAI's chat-completions API on loopback and puts the key the client
sent into the reply's content, ``model`` and ``id``; the real openai SDK talks to it.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from newsroom.config import Settings
from newsroom.llm.base import ChatModel, ChatRequest, Completion, Usage
from newsroom.llm.factory import build_metered
from newsroom.llm.metered import Metered
from newsroom.roi.ledger import RoiLedger

KEY = "sk-hostile-0123456789abcdefKEY"


class _Echo(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        key = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        body = json.dumps({
            "id": f"chatcmpl-{key}", "object": "chat.completion", "created": 0, "model": f"gpt-{key}",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": f"Here is your key: {key}. Bearer bonds."}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def hostile_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def _assert_clean(completion: Completion, ledger_path: Path) -> None:
    assert completion.text == "Here is your key: [REDACTED]. Bearer bonds."  # prose is not pattern-redacted
    assert completion.model == "gpt-[REDACTED]" and completion.response_id == "chatcmpl-[REDACTED]"
    assert completion.raw is None  # the SDK response still held the key
    raw = ledger_path.read_text(encoding="utf-8")
    assert KEY not in raw and "0123456789abcdefKEY" not in raw
    (call,) = [r for r in RoiLedger(ledger_path).read().records if r["type"] == "llm_call"]
    assert (call["response_model"], call["response_id"]) == ("gpt-[REDACTED]", "chatcmpl-[REDACTED]")


@pytest.mark.timeout(60)
def test_a_key_echoed_in_a_200_reply_is_redacted_sync_and_async(workspace: Path, ledger_path: Path,
                                                                 hostile_server: str) -> None:
    settings = Settings.load(workspace=workspace, provider="openai", base_url=hostile_server, api_key=KEY,
                             max_retries=0)
    for run in ("sync", "async"):
        metered = build_metered(settings, execution_id=f"run-{run}")
        try:
            if run == "sync":
                completion = metered.complete(ChatRequest.of("hi"), stage="draft", agent="writer")
            else:
                completion = asyncio.run(metered.acomplete(ChatRequest.of("hi"), stage="draft", agent="writer"))
        finally:
            metered.ledger.close()
            metered.model.close()
        _assert_clean(completion, ledger_path)
        ledger_path.unlink()


class _Leaky(ChatModel):
    provider, model_name = "leaky", "leaky-1"

    def complete(self, request: ChatRequest) -> Completion:
        return Completion(text="no key here", usage=Usage(1, 0, 1), model="leaky-1", finish_reason=f"stop {KEY}",
                          response_id="r1", raw={"untouched": True})


def test_every_model_supplied_field_and_only_those_change(ledger_path: Path) -> None:
    metered = Metered(_Leaky(), RoiLedger(ledger_path), execution_id="e1", secrets=(KEY, "", "ab"))
    completion = metered.complete(ChatRequest.of(f"the prompt may hold {KEY}"), stage="draft", agent="writer")
    assert completion.finish_reason == "stop [REDACTED]" and completion.text == "no key here"
    assert KEY not in ledger_path.read_text(encoding="utf-8")
    clean = Metered(_Leaky(), RoiLedger(ledger_path), execution_id="e2", secrets=("other-key-1234",))
    untouched = clean.complete(ChatRequest.of("hi"), stage="draft", agent="writer")
    assert untouched.raw == {"untouched": True}  # nothing found: the very same completion
