"""The anthropic provider against the installed anthropic SDK and a canned Messages API on loopback."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import BaseModel

from newsroom.llm.anthropic_provider import AnthropicChatModel
from newsroom.llm.base import ChatRequest

REPLY = {"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-test",
         "content": [{"type": "text", "text": "Hello."}], "stop_reason": "end_turn", "stop_sequence": None,
         "usage": {"input_tokens": 11, "output_tokens": 3, "cache_read_input_tokens": 4}}


class _Messages(BaseHTTPRequestHandler):
    bodies: list[dict[str, Any]]

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        payload = json.dumps(REPLY).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def messages_api() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    bodies: list[dict[str, Any]] = []
    handler = type("Handler", (_Messages,), {"bodies": bodies})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", bodies
    server.shutdown()
    server.server_close()


@pytest.mark.timeout(60)
def test_a_request_with_temperature_and_stop_reaches_the_api(messages_api: tuple[str, list[dict[str, Any]]]) -> None:
    url, bodies = messages_api
    model = AnthropicChatModel("claude-test", api_key="dummy", base_url=url, timeout_s=10)
    completion = model.complete(ChatRequest.of("Say hello.", system="Be brief.", temperature=0.3, stop=("END",),
                                               max_tokens=20))
    model.close()
    assert completion.text == "Hello." and completion.model == "claude-test" and completion.response_id == "msg_01"
    assert (completion.usage.input_tokens, completion.usage.cached_input_tokens, completion.usage.output_tokens) == (
        15, 4, 3)
    body = bodies[-1]
    assert body["temperature"] == 0.3 and body["stop_sequences"] == ["END"] and body["system"] == "Be brief."
    assert body["max_tokens"] == 20 and body["messages"] == [{"role": "user", "content": "Say hello."}]


@pytest.mark.timeout(60)
def test_no_temperature_means_none_is_sent(messages_api: tuple[str, list[dict[str, Any]]]) -> None:
    url, bodies = messages_api
    model = AnthropicChatModel("claude-test", api_key="dummy", base_url=url, timeout_s=10)
    assert model.complete(ChatRequest.of("Say hello.")).text == "Hello."
    model.close()
    assert "temperature" not in bodies[-1]


class Answer(BaseModel):
    text: str


@pytest.mark.timeout(60)
def test_async_and_structured_requests_carry_temperature_too(messages_api: tuple[str, list[dict[str, Any]]]) -> None:
    url, bodies = messages_api
    model = AnthropicChatModel("claude-test", api_key="dummy", base_url=url, timeout_s=10)
    request = ChatRequest.of("Answer.", temperature=0.7, output_type=Answer)
    assert asyncio.run(model.acomplete(request)).text == "Hello."
    model.close()
    body = bodies[-1]
    assert body["temperature"] == 0.7 and body["tool_choice"] == {"type": "tool", "name": "respond"}
