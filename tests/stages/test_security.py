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


class _Echo(BaseHTTPRequestHandler):
    """A hostile server: every answer is a 500 whose body repeats the request's credentials."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.dumps({"error": {"message": f"bad key {self.headers.get('Authorization')}",
                                     "type": "server_error"}}).encode()
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def echo_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_a_planted_key_appears_nowhere(flow_workspace: Path, echo_server: str, monkeypatch: pytest.MonkeyPatch,
                                       caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("NEWSROOM_MAX_RETRIES", "1")
    caplog.set_level(logging.DEBUG)
    result = CliRunner().invoke(cli, ["-vv", "generate", "a topic", "--provider", "openai", "--base-url", echo_server,
                                      "--flag", "style_memory=off", "--json", "--out", str(flow_workspace / "out")])
    assert result.exit_code == 3, result.output
    outcome = json.loads(result.stdout)
    assert outcome["status"] == "failed" and "HTTP 500" in outcome["reason"]
    everything = [result.output, caplog.text]
    everything += [p.read_text() for p in flow_workspace.rglob("*") if p.is_file() and p.suffix in (".json", ".jsonl")]
    assert len(everything) >= 4  # output, logs, ledger, review (and the checkpoint)
    for text in everything:
        assert SECRET not in text and "0123456789abcdefSECRET" not in text
    ledger = (flow_workspace / "logs" / "execution_roi.jsonl").read_text()
    assert '"status":"error"' in ledger and '"attempt":2' in ledger


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
