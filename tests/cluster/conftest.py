"""A cluster on one machine: a private Postgres, the fake provider, and ``newsroom`` subprocesses.

Each worker is a real ``python -m newsroom.cli worker`` process with its own HOME and workspace (as
if on its own machine); they share only the Postgres URL. ``Cluster`` starts them, submits topics with
``newsroom submit``, waits for the runs and reads what the database holds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.fakes.process import base_env, newsroom
from tests.fakes.provider import FakeProvider
from tests.pg import postgres_server, unavailable

DONE = ("published", "rejected", "needs_revision", "budget_exceeded", "failed", "cancelled")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """One throwaway Postgres for the session (loopback only), stopped at the end."""
    why = unavailable()
    if why is not None:
        if os.geteuid() == 0:  # as root `make setup` installs it: its absence is a broken set-up, not a skip
            pytest.fail(why)
        pytest.skip(why)
    with postgres_server() as url:
        yield url


@pytest.fixture
def pg_url(pg_server: str) -> str:
    """A fresh database on the session's server, for one test."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(pg_server.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return pg_server.rsplit("/", 1)[0] + "/" + name


@pytest.fixture
def fake_provider() -> Iterator[Any]:
    """``fake_provider(latency)`` starts a fake OpenAI-compatible server; all are stopped at the end."""
    started: list[FakeProvider] = []

    def start(latency: tuple[float, float] = (1.0, 3.0)) -> tuple[FakeProvider, str]:
        fake = FakeProvider(latency=latency)
        url = fake.start()
        started.append(fake)
        return fake, url

    yield start
    for fake in started:
        fake.stop()


def tcp_ports(pid: int) -> set[int]:
    """The local TCP ports of process ``pid``'s sockets (Linux /proc): which requests are its."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


@dataclass
class Worker:
    name: str
    proc: subprocess.Popen[str]
    log: Path

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Cluster:
    """Workers on one database, each in its own HOME and workspace, and the provider they all call."""

    root: Path
    db_url: str
    provider_url: str
    workers: dict[str, Worker] = field(default_factory=dict)

    def env(self, name: str, **extra: str) -> dict[str, str]:
        env = base_env(self.root / name / "home", self.root / name / "workspace")
        env.update(NEWSROOM_DATABASE_URL=self.db_url, **extra)
        return env

    def start_worker(self, name: str, *args: str, **env: str) -> Worker:
        log = self.root / f"{name}.stderr"
        with log.open("w") as fh:
            proc = subprocess.Popen(newsroom("worker", "--id", name, *args), env=self.env(name, **env),
                                    cwd=self.root / name / "workspace", stdout=subprocess.DEVNULL, stderr=fh,
                                    text=True)
        self.workers[name] = Worker(name, proc, log)
        return self.workers[name]

    def submit(self, topics: list[str], *args: str) -> list[str]:
        topics_file = self.root / "topics.txt"
        topics_file.write_text("\n".join(topics) + "\n")
        proc = subprocess.run(
            newsroom("submit", str(topics_file), "--provider", "openai", "--base-url", self.provider_url,
                     "--model", "fake-model", "--flag", "style_memory=false", *args, "--json"),
            env=self.env("submitter"), cwd=self.root, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-3000:]
        import json

        return [r["execution_id"] for r in json.loads(proc.stdout)]

    def runs(self) -> dict[str, Any]:
        """Every run by id, as ``newsroom runs`` sees them (read in this process, through a DBOS client)."""
        from newsroom.config import Settings
        from newsroom.runs import list_runs

        settings = Settings.load(workspace=self.root, database_url=self.db_url)
        return {r.execution_id: r for r in list_runs(settings, limit=10_000)}

    def calls(self) -> list[tuple[str, str, int, str]]:
        """The ledger's call rows: (execution id, call key, attempt, status)."""
        import json

        engine = sa.create_engine(self.db_url.replace("postgresql://", "postgresql+psycopg://"))
        try:
            with engine.connect() as conn:
                rows = conn.execute(sa.text("SELECT execution_id, call_key, attempt, record FROM newsroom_ledger "
                                            "WHERE type = 'llm_call' ORDER BY id")).all()
        finally:
            engine.dispose()
        return [(r[0], r[1], r[2], json.loads(r[3])["status"]) for r in rows]

    def wait(self, ids: list[str], timeout_s: float, *, poll_s: float = 2.0) -> dict[str, Any]:
        """Wait until every run in ``ids`` has an outcome; fail with the stragglers and the workers' logs."""
        deadline = time.monotonic() + timeout_s
        while True:
            runs = self.runs()
            if all(i in runs and runs[i].status in DONE for i in ids):
                return runs
            if time.monotonic() > deadline:
                pending = {i: runs[i].status if i in runs else "missing" for i in ids
                           if i not in runs or runs[i].status not in DONE}
                logs = "\n".join(f"--- {w.name} (rc {w.proc.poll()}):\n{w.stderr()[-1500:]}"
                                 for w in self.workers.values())
                pytest.fail(f"runs not finished after {timeout_s:.0f} s: {pending}\n{logs}")
            time.sleep(poll_s)

    def stop(self) -> None:
        for w in self.workers.values():
            if w.proc.poll() is None:
                w.proc.send_signal(signal.SIGKILL)
                w.proc.wait(timeout=30)


@pytest.fixture
def cluster(tmp_path: Path, pg_url: str, fake_provider: Any) -> Iterator[Any]:
    """``cluster(latency)`` makes a ``Cluster`` on a fresh database and a fake provider; every worker
    still running at the end is killed."""
    made: list[Cluster] = []

    def make(latency: tuple[float, float] = (1.0, 3.0)) -> tuple[Cluster, FakeProvider]:
        fake, url = fake_provider(latency)
        c = Cluster(root=tmp_path / f"cluster{len(made)}", db_url=pg_url, provider_url=url)
        c.root.mkdir()
        made.append(c)
        return c, fake

    yield make
    for c in made:
        c.stop()
