"""Where state lives: one database for the ledger, the provider rate limits, the workers and (through
DBOS, ``newsroom.engine``) the runs.

With no settings it is a SQLite file in the workspace (``.newsroom/newsroom.sqlite``, in WAL mode so
a reader never blocks a writer): embedded, no server. With ``NEWSROOM_DATABASE_URL`` or
``--database-url`` set to ``postgresql://...`` it is a Postgres database shared by every worker on
every machine. The same code runs against both.
"""

from __future__ import annotations

import os
import threading
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from newsroom.errors import ConfigError

DEFAULT_FILE = Path(".newsroom") / "newsroom.sqlite"
BUSY_TIMEOUT_MS = 30_000

metadata = sa.MetaData()

ledger = sa.Table(
    "newsroom_ledger", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("execution_id", sa.String(80), nullable=False, index=True),
    sa.Column("ts", sa.String(40), nullable=False),
    # The call's key: execution, step, sequence and prompt hash. A replayed call is found by it, and a
    # call recorded twice (a step re-run after a crash) is kept once.
    sa.Column("call_key", sa.String(200), nullable=True),
    sa.Column("attempt", sa.Integer, nullable=True),
    sa.Column("record", sa.Text, nullable=False),
    sa.Column("response", sa.Text, nullable=True),
    sa.UniqueConstraint("call_key", "attempt", name="newsroom_ledger_call_key"),
)

rate_events = sa.Table(
    "newsroom_rate_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("bucket", sa.String(120), nullable=False, index=True),
    sa.Column("at", sa.Float, nullable=False, index=True),
    sa.Column("tokens", sa.Integer, nullable=False, default=0),
)

workers = sa.Table(
    "newsroom_workers", metadata,
    sa.Column("executor_id", sa.String(120), primary_key=True),
    sa.Column("host", sa.String(200), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started", sa.Float, nullable=False),
    sa.Column("seen", sa.Float, nullable=False),
)


def default_url(workspace: Path) -> str:
    return f"sqlite:///{(workspace / DEFAULT_FILE).resolve()}"


def normalise(url: str) -> str:
    """The URL as SQLAlchemy wants it (psycopg 3 for Postgres); ``ConfigError`` for anything else."""
    scheme = urlsplit(url).scheme.lower()
    if scheme == "sqlite":
        return url
    if scheme in ("postgres", "postgresql", "postgresql+psycopg"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    raise ConfigError(f"database URL {redact_url(url)!r} is neither sqlite:/// nor postgresql://; set "
                      "NEWSROOM_DATABASE_URL (or --database-url) to one of them, or unset it for the embedded default")


def redact_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite:")


def sqlite_path(url: str) -> Path | None:
    return Path(url.split(":///", 1)[1]) if is_sqlite(url) and ":///" in url else None


_lock = threading.Lock()


@cache
def _engine(url: str) -> sa.Engine:
    path = sqlite_path(url)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # It holds every recorded response (the articles' text) and the ledger: its owner's only,
            # like the ledger file. SQLite gives its -wal and -shm files the same mode.
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600))
        except OSError as exc:
            raise ConfigError(f"cannot create the database directory {str(path.parent)!r} ({exc.strerror}); "
                              "check the workspace is writable") from None
        engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cursor.close()
    else:
        engine = sa.create_engine(normalise(url), pool_pre_ping=True)
    try:
        _create_tables(engine, path is None)
    except sa.exc.OperationalError as exc:
        raise ConfigError(f"cannot open the database {redact_url(url)!r}: {str(exc.orig).strip().splitlines()[0]}; "
                          "check NEWSROOM_DATABASE_URL and that the server is running") from None
    return engine


# Any fixed number: the advisory lock every process takes to create newsroom's tables on Postgres.
_DDL_LOCK = 0x6E657773


def _create_tables(engine: sa.Engine, postgres: bool) -> None:
    """Create the tables that are missing. On Postgres, workers starting together on a new database
    would race (each sees no table, one CREATE fails with a duplicate key): they take turns under an
    advisory lock, in one transaction, so the second sees the first's tables."""
    if not postgres:
        metadata.create_all(engine)
        return
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _DDL_LOCK})
        metadata.create_all(conn)


def engine(url: str) -> sa.Engine:
    """The process's engine for ``url`` (one per URL), with newsroom's tables created."""
    with _lock:
        return _engine(url)


def check(url: str) -> str:
    """Reach the database and say what it is (``health`` and ``/readyz``); raises ``ConfigError``."""
    try:
        with engine(url).connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        raise ConfigError(f"cannot reach the database {redact_url(url)!r}: {type(exc).__name__}") from None
    path = sqlite_path(url)
    return f"sqlite {path}" if path else f"postgres {redact_url(url)}"
