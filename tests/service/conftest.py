"""``newsroom serve`` as a real process on loopback, the fake provider behind it, an httpx client in front.

Each server is ``python -m newsroom.cli --workspace WS serve --port 0`` with the provider pointed at
``tests/fakes/provider.py``; its "listening on" line says the port. The style memory is off (it
would load an embedding model; the style tests cover it), everything else is the product's default.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

import newsroom
from tests.fakes.provider import FakeProvider

TOKEN = "svc-test-token-5f1c0e9a7b3d"
SRC = Path(newsroom.__file__).resolve().parents[1]
FINISHED = ("published", "rejected", "needs_revision", "budget_exceeded", "failed", "cancelled")


@dataclass
class Served:
    """One ``newsroom serve`` process."""

    proc: subprocess.Popen[str]
    workspace: Path
    base: str = ""
    lines: list[str] = field(default_factory=list)

    def client(self, token: str | None = TOKEN, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base, headers=headers, timeout=30, **kwargs)

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 90) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(10)


def service_env(home: Path, base_url: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSROOM_") and k not in (
        "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "PYTHONPATH")}
    env.update(HOME=str(home), CREWAI_STORAGE_DIR=str(home / "crewai"), PYTHONPATH=str(SRC),
               NEWSROOM_API_TOKEN=TOKEN, NEWSROOM_FLAG_STYLE_MEMORY="off", PYTHONUNBUFFERED="1")
    if base_url:
        env.update(NEWSROOM_PROVIDER="openai", NEWSROOM_BASE_URL=base_url, OPENAI_API_KEY="fake-key")
    env.update(extra)
    return {k: v for k, v in env.items() if v != ""}


def start(workspace: Path, env: dict[str, str], *args: str, wait_ready: bool = True) -> Served:
    """Start ``newsroom serve`` and wait until it listens (and, by default, is ready)."""
    workspace.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "newsroom.cli", "--workspace", str(workspace), "serve",
                             "--port", "0", *args], cwd=workspace, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    served = Served(proc, workspace)
    listening = threading.Event()

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            served.lines.append(line.rstrip())
            if "listening on http://" in line:
                served.base = line.split("listening on ", 1)[1].strip()
                listening.set()

    threading.Thread(target=pump, daemon=True).start()
    if not listening.wait(60):
        served.stop(signal.SIGKILL)
        pytest.fail(f"serve did not start:\n{served.stderr}")
    if wait_ready:
        with served.client() as c:
            deadline = time.monotonic() + 60
            while c.get("/readyz").status_code != 200:
                if time.monotonic() > deadline:
                    pytest.fail(f"serve never got ready: {c.get('/readyz').text}\n{served.stderr}")
                time.sleep(0.2)
    return served


def wait_finished(client: httpx.Client, execution_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        data: dict[str, Any] = client.get(f"/v1/articles/{execution_id}").json()
        if data["status"] in FINISHED:
            return data
        if time.monotonic() > deadline:
            pytest.fail(f"run {execution_id} still {data['status']} after {timeout} s")
        time.sleep(0.25)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    provider = FakeProvider(latency=(0.0, 0.0))
    provider.start()
    yield provider
    provider.stop()


def fake_url(provider: FakeProvider) -> str:
    return f"http://127.0.0.1:{provider.server.server_address[1]}/v1"


@pytest.fixture(scope="module")
def server(fake: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One server (one in-process worker) for a module's tests, on its own workspace."""
    root = tmp_path_factory.mktemp("serve")
    served = start(root / "workspace", service_env(root / "home", fake_url(fake)))
    yield served
    served.stop()


PG_BIN = Path("/usr/lib/postgresql/15/bin")


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A throwaway Postgres 15 on a loopback port (Debian's ``postgresql``; initdb runs as ``postgres``)."""
    if not (PG_BIN / "initdb").exists() or not shutil.which("su"):
        pytest.fail("Postgres 15 is not installed; these tests need it: apt-get install -y postgresql")
    root = Path(tempfile.mkdtemp(prefix="newsroom-pg-"))  # not under pytest's root-only tmp: postgres must reach it
    shutil.chown(root, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def as_postgres(command: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["su", "postgres", "-s", "/bin/sh", "-c", command], capture_output=True, text=True,
                              timeout=120, **kwargs)

    init = as_postgres(f"{PG_BIN / 'initdb'} -D {root / 'data'} -A trust -U newsroom")
    assert init.returncode == 0, init.stderr
    server = subprocess.Popen(["su", "postgres", "-s", "/bin/sh", "-c",
                               f"exec {PG_BIN / 'postgres'} -D {root / 'data'} -h 127.0.0.1 -p {port} -k {root}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while as_postgres(f"{PG_BIN / 'pg_isready'} -h 127.0.0.1 -p {port}").returncode != 0:
        assert time.monotonic() < deadline, "postgres did not start"
        time.sleep(0.3)
    created = as_postgres(f"{PG_BIN / 'createdb'} -h 127.0.0.1 -p {port} -U newsroom newsroom")
    assert created.returncode == 0, created.stderr
    yield f"postgresql://newsroom@127.0.0.1:{port}/newsroom"
    as_postgres(f"{PG_BIN / 'pg_ctl'} -D {root / 'data'} stop -m fast")
    server.wait(30)
    shutil.rmtree(root, ignore_errors=True)
