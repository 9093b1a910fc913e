"""Liveness, readiness and the drain: a server that cannot reach its database is alive but not ready,
and becomes ready when it can; after SIGTERM it is not ready, refuses new runs, finishes the ones
in flight and exits 0. A public bind without a token is refused; an unexpected error tells nothing."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from newsroom.config import Settings
from newsroom.service.runtime import Runtime, ServiceConfig
from tests.fakes.provider import FakeProvider

from .conftest import TOKEN, service_env, start, wait_finished

pytestmark = pytest.mark.slow


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _first_answer(c: httpx.Client) -> httpx.Response:
    """/readyz once the engine has tried the database (it says "starting" before)."""
    deadline = time.monotonic() + 20
    while "engine: starting" in (r := c.get("/readyz")).text and time.monotonic() < deadline:
        time.sleep(0.2)
    return r


def test_not_ready_until_the_database_can_be_reached(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the database's directory should be")
    env = service_env(tmp_path / "home", None, OPENAI_API_KEY="k", NEWSROOM_PROVIDER="openai",
                      NEWSROOM_DATABASE_URL=f"sqlite:///{blocker / 'db.sqlite'}")
    served = start(tmp_path / "ws", env, "--grace", "0", wait_ready=False)
    try:
        with served.client() as c:
            assert c.get("/healthz").status_code == 200
            r = _first_answer(c)
            assert r.status_code == 503 and not r.json()["ready"]
            assert any("cannot create the database directory" in why for why in r.json()["reasons"]), r.json()
            refused = c.post("/v1/articles", json={"topic": "anything"})
            assert refused.status_code == 503 and refused.headers["retry-after"] == "5"
            assert c.get("/v1/runs").status_code == 503
            blocker.unlink()  # the operator fixes it: the server comes up by itself
            deadline = time.monotonic() + 30
            while (r := c.get("/readyz")).status_code != 200:
                assert time.monotonic() < deadline, r.text
                time.sleep(0.5)
            assert c.get("/v1/runs").json() == {"runs": []}
    finally:
        assert served.stop() == 0, served.stderr


def test_not_ready_on_an_unreachable_postgres_and_the_password_stays_secret(tmp_path: Path) -> None:
    url = f"postgresql://newsroom:hunter2-secret@127.0.0.1:{_closed_port()}/newsroom"
    env = service_env(tmp_path / "home", None, OPENAI_API_KEY="k", NEWSROOM_PROVIDER="openai",
                      NEWSROOM_DATABASE_URL=url)
    served = start(tmp_path / "ws", env, "--grace", "0", wait_ready=False)
    try:
        with served.client() as c:
            r = _first_answer(c)
            assert r.status_code == 503
            assert any("127.0.0.1" in why for why in r.json()["reasons"]), r.json()
            for answer in (r, c.get("/v1/runs"), c.get("/metrics"), c.post("/v1/articles", json={"topic": "x"})):
                assert answer.status_code == 503
                assert "hunter2" not in answer.text and "Traceback" not in answer.text
    finally:
        assert served.stop() == 0
    assert "hunter2" not in served.stderr


def test_sigterm_drains_then_exits(tmp_path: Path) -> None:
    fake = FakeProvider(latency=(0.2, 0.4))
    url = fake.start()
    served = start(tmp_path / "ws", service_env(tmp_path / "home", url), "--grace", "2", "--drain", "60")
    try:
        with served.client() as c:
            run_id = c.post("/v1/articles", json={"topic": "battery recycling"}).json()["execution_id"]
            while c.get(f"/v1/articles/{run_id}").json()["status"] == "queued":
                time.sleep(0.1)
            served.proc.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            ready = c.get("/readyz")
            assert ready.status_code == 503 and "draining" in ready.json()["reasons"][0]
            refused = c.post("/v1/articles", json={"topic": "one more"})
            assert refused.status_code == 503 and "draining" in refused.json()["detail"]
            assert c.get(f"/v1/articles/{run_id}").json()["status"] == "running"  # still answered
            assert served.proc.wait(90) == 0, served.stderr
        assert "handed back 0 run(s)" in served.stderr
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{served.base}/healthz")
        # The run in flight finished in the drain; a new server on the database shows it.
        again = start(tmp_path / "ws", service_env(tmp_path / "home", url), "--workers-in-process", "0")
        with again.client() as c:
            assert wait_finished(c, run_id, timeout=5)["status"] == "published"
        assert again.stop() == 0
    finally:
        served.stop(signal.SIGKILL)
        fake.stop()


def test_a_public_bind_without_a_token_is_refused(tmp_path: Path) -> None:
    env = service_env(tmp_path / "home", None, NEWSROOM_API_TOKEN="")
    for host in ("0.0.0.0", "192.0.2.10", "example.org"):
        proc = subprocess.run([sys.executable, "-m", "newsroom.cli", "serve", "--host", host, "--port", "0"],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2, proc.stderr
        assert "refusing to serve" in proc.stderr and "NEWSROOM_API_TOKEN" in proc.stderr
        assert "Traceback" not in proc.stderr
    short = subprocess.run([sys.executable, "-m", "newsroom.cli", "serve", "--port", "0"], cwd=tmp_path,
                           env={**env, "NEWSROOM_API_TOKEN": "short"}, capture_output=True, text=True, timeout=60)
    assert short.returncode == 2 and "at least 16" in short.stderr


def test_an_unexpected_error_is_a_generic_500(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from newsroom.service.app import create_app

    def broken(self: Runtime) -> list[str]:
        raise RuntimeError(f"internal detail {TOKEN}")

    monkeypatch.setattr(Runtime, "not_ready", broken)
    runtime = Runtime(ServiceConfig(settings=Settings.load(workspace=tmp_path), token=TOKEN))
    server = uvicorn.Server(uvicorn.Config(create_app(runtime), host="127.0.0.1", port=0, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        r = httpx.get(f"http://127.0.0.1:{port}/readyz", headers={"Authorization": f"Bearer {TOKEN}"})
    finally:
        server.should_exit = True
        thread.join(10)
    assert r.status_code == 500
    body = r.json()
    assert body["error"] == "internal" and len(body["request_id"]) == 16
    assert "internal detail" not in r.text and TOKEN not in r.text and "Traceback" not in r.text


def test_delete_cancels_a_running_and_a_queued_run(tmp_path: Path) -> None:
    fake = FakeProvider(latency=(0.5, 0.8))
    url = fake.start()
    served = start(tmp_path / "ws", service_env(tmp_path / "home", url), "--grace", "0")
    try:
        with served.client() as c:
            running, queued = (c.post("/v1/articles", json={"topic": f"district heating, part {i}"}).json()
                               ["execution_id"] for i in (1, 2))
            while c.get(f"/v1/articles/{running}").json()["status"] != "running":
                time.sleep(0.1)
            assert c.get(f"/v1/articles/{queued}").json()["status"] == "queued"  # one worker: it waits
            for execution_id in (running, queued):
                r = c.delete(f"/v1/articles/{execution_id}")
                assert r.status_code == 202 and r.json()["status"] == "cancelled", r.text
            calls = fake.count
            for execution_id in (running, queued):
                assert wait_finished(c, execution_id, timeout=30)["status"] == "cancelled"
            time.sleep(2)
            assert fake.count <= calls + 1  # at most the call in flight; nothing after it
            assert c.delete(f"/v1/articles/{queued}").status_code == 409
    finally:
        assert served.stop() == 0, served.stderr
        fake.stop()
