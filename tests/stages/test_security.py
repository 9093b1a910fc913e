"""Secrets never reach the ledger, logs, review files or error messages; topics cannot escape --out."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from newsroom.cli import cli

pytestmark = pytest.mark.slow
SECRET = "sk-planted-0123456789abcdefSECRET"


class _Hostile(BaseHTTPRequestHandler):
    """A hostile OpenAI-compatible server that repeats the request's credentials back.

    ``error-body``: every answer is a 500 whose JSON error message holds the Authorization header;
    the SDK puts that body in its exception, and the provider error carries the server's reason.
    ``reply``: every answer is a 200 whose content, ``model`` and ``id`` hold the key.
    """

    mode = "error-body"

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        echoed = self.headers.get("Authorization", "")
        key = echoed.removeprefix("Bearer ")
        if self.mode == "error-body":
            status, payload = 500, {"error": {"message": f"bad key {echoed}", "type": "server_error"}}
        else:
            status, payload = 200, {
                "id": f"chatcmpl-{key}", "object": "chat.completion", "created": 0, "model": f"model-{key}",
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": f"Your key is {key}."}}],
                "usage": {"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12}}
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def hostile_server(request: pytest.FixtureRequest) -> Iterator[str]:
    handler = type("Handler", (_Hostile,), {"mode": request.param})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def _generate(workspace: Path, base_url: str, caplog: pytest.LogCaptureFixture) -> tuple[dict[str, object],
                                                                                       dict[str, str]]:
    """One generate against the hostile server; its outcome and every text it left, by where."""
    caplog.set_level(logging.DEBUG)
    result = CliRunner().invoke(cli, ["-vv", "generate", "a topic", "--provider", "openai", "--base-url", base_url,
                                      "--flag", "style_memory=off", "--json", "--out", str(workspace / "out")])
    assert result.exit_code == 3, result.output
    texts = {"stdout": result.stdout, "stderr": result.stderr, "log": caplog.text}
    # Everything on disk: ledger, review, article, the run database, crewAI's storage under HOME.
    texts.update({str(p.relative_to(workspace)): p.read_bytes().decode("utf-8", "replace")
                  for p in workspace.rglob("*") if p.is_file()})
    return json.loads(result.stdout), texts


def _leaks(texts: dict[str, str]) -> list[str]:
    return [f"{where}: ...{t[max(0, t.find(KEY_TAIL) - 60):t.find(KEY_TAIL) + 30]}..."
            for where, t in texts.items() if KEY_TAIL in t]


KEY_TAIL = "0123456789abcdefSECRET"


@pytest.mark.timeout(600)
@pytest.mark.parametrize("hostile_server", ["error-body", "reply"], indirect=True)
def test_a_planted_key_appears_nowhere(flow_workspace: Path, hostile_server: str, monkeypatch: pytest.MonkeyPatch,
                                       caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("NEWSROOM_MAX_RETRIES", "1")
    outcome, texts = _generate(flow_workspace, hostile_server, caplog)
    assert outcome["status"] == "failed"
    assert {"stdout", "stderr", "log", "logs/execution_roi.jsonl"} <= set(texts)
    assert any(w.endswith(".review.json") for w in texts) and any(w.startswith(".newsroom") for w in texts)
    assert not _leaks(texts), _leaks(texts)
    ledger = (flow_workspace / "logs" / "execution_roi.jsonl").read_text()
    if request.node.callspec.params["hostile_server"] == "error-body":
        assert '"status":"error"' in ledger and '"attempt":2' in ledger
        assert "HTTP 500" in str(outcome["reason"]) and "[REDACTED]" in str(outcome["reason"])
    else:  # the key came back in a 200 reply's model and id: recorded, redacted
        assert '"response_model":"model-[REDACTED]"' in ledger


@pytest.mark.timeout(600)
@pytest.mark.parametrize("hostile_server", ["error-body"], indirect=True)
def test_the_planted_key_test_can_fail(flow_workspace: Path, hostile_server: str, monkeypatch: pytest.MonkeyPatch,
                                       caplog: pytest.LogCaptureFixture) -> None:
    # The test above guards redaction only if the key really reaches the output without it: with
    # redact() a no-op, the same run must leak the key (into stdout, the ledger and the review).
    from newsroom.llm import metered
    from newsroom.roi import records

    def no_op(text: str, secrets: tuple[str, ...] = ()) -> str:
        return text

    monkeypatch.setattr(records, "redact", no_op)
    monkeypatch.setattr(metered, "redact", no_op, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("NEWSROOM_MAX_RETRIES", "1")
    _, texts = _generate(flow_workspace, hostile_server, caplog)
    assert len(_leaks(texts)) >= 3, "the hostile server's key no longer reaches the output: the test above is blind"


@pytest.mark.parametrize("topic", ["../../../../tmp/escape", "/etc/passwd", "..\\\\..\\\\win", "a/../../b"])
def test_topics_cannot_write_outside_out(flow_workspace: Path, topic: str) -> None:
    from newsroom.api import generate_article
    from newsroom.llm.scripted import ScriptedModel

    from .conftest import CLEAN_SECTIONS, script, scripted_settings

    out = flow_workspace / "out"
    result = generate_article(topic, settings=scripted_settings(flow_workspace), out_dir=out,
                              model=ScriptedModel(default=script([CLEAN_SECTIONS])))
    for path in (result.article_path, result.review_path):
        assert Path(path).resolve().parent == out.resolve()
