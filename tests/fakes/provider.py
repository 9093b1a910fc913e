"""A fake OpenAI-compatible provider on loopback, for the distributed, service and load tests.

It answers ``/v1/chat/completions`` like a real server (usage included) after a random latency,
with the scripted newsroom of ``tests/stages/conftest.py``: a structured request gets the reply for
its JSON schema's name, a prose request the section its prompt asks for. It records the arrival time
of every request, so a test can check a rate limit at the provider's end, and counts them.

    python -m tests.fakes.provider --port 0 --latency 1 3 --log requests.jsonl   # run it standalone
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from newsroom.llm.base import ChatRequest, Message
from newsroom.stages.models import OUTPUT_MODELS
from tests.stages.conftest import CLEAN_SECTIONS, script


class FakeProvider:
    """The server and what it saw. ``start()`` returns the base URL (``http://127.0.0.1:PORT/v1``)."""

    def __init__(self, latency: tuple[float, float] = (0.0, 0.0), log: Path | None = None, port: int = 0) -> None:
        self.latency = latency
        self.log = log
        self.arrivals: list[float] = []
        self.open = 0  # requests arrived and not yet answered
        # Per request: the client's port, and when the answer was sent (None while it is open), so a
        # test can tell which process's requests were open at a moment (``tests/cluster``).
        self.by_port: list[tuple[int, list[float | None]]] = []
        self._lock = threading.Lock()
        self._reply = script([CLEAN_SECTIONS])
        handler = type("Handler", (_Handler,), {"fake": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self.open

    def unanswered_from(self, ports: set[int] | None, answered_within_s: float = 0.0) -> int:
        """Requests from clients on ``ports`` (None: any) still open, or answered in the last
        ``answered_within_s`` seconds (the client may have died before it recorded the answer)."""
        now = time.time()
        with self._lock:
            return sum(1 for port, answered in self.by_port if (ports is None or port in ports)
                       and (answered[0] is None or answered[0] > now - answered_within_s))

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.arrivals)

    def start(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        arrived = time.time()
        with self._lock:
            self.arrivals.append(arrived)
            if self.log is not None:
                with self.log.open("a") as fh:
                    fh.write(json.dumps({"at": arrived}) + "\n")
        time.sleep(random.uniform(*self.latency))
        schema = ((body.get("response_format") or {}).get("json_schema") or {}).get("name")
        messages = tuple(Message(m["role"], m["content"]) for m in body.get("messages", []))
        request = ChatRequest(messages=messages, max_tokens=int(body.get("max_tokens") or 512),
                              output_type=OUTPUT_MODELS.get(schema or ""))
        with self._lock:  # the script keeps state across calls
            text = self._reply(request)
        prompt = sum(len(m.content) for m in messages) // 4
        return {"id": f"fake-{len(self.arrivals)}", "object": "chat.completion", "created": int(arrived),
                "model": body.get("model", "fake"),
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": prompt, "completion_tokens": max(1, len(text) // 4),
                          "total_tokens": prompt + max(1, len(text) // 4)}}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeProvider

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        answered: list[float | None] = [None]
        with self.fake._lock:
            self.fake.open += 1
            self.fake.by_port.append((int(self.client_address[1]), answered))
        try:
            payload = json.dumps(self.fake.answer(body)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client was killed while it waited: that is what the tests do
        finally:
            with self.fake._lock:
                self.fake.open -= 1
                answered[0] = time.time()

    def log_message(self, *args: object) -> None:
        return None


def max_in_window(arrivals: list[float], window: float = 1.0) -> int:
    """The most requests that arrived within any ``window`` seconds."""
    times = sorted(arrivals)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, nargs=2, default=(0.0, 0.0))
    parser.add_argument("--log", type=Path, default=None)
    args = parser.parse_args()
    fake = FakeProvider(tuple(args.latency), args.log, args.port)
    print(fake.start(), flush=True)
    try:
        fake.thread.join()
    except KeyboardInterrupt:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
