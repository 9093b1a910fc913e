"""Client-side rate limits per provider, shared by every process that uses the same database.

Each call first claims a slot: under a lock that spans processes (an advisory lock on Postgres, a
lock file beside an embedded SQLite database), it counts the provider's calls and prompt tokens in
the last minute and the last second (``newsroom_rate_events``); when the new call fits, it is
recorded and goes; when it does not, the caller waits (backpressure) and tries again.

Requests per minute (``rate_limit_rpm``) are enforced two ways, so a minute's budget never arrives
as one burst: at most ``rpm`` in any 60 s and at most ``ceil(rpm / 60)`` in any second (``rpm=120``
means 2 a second). Windows are stretched by ``MARGIN_S`` so that the provider, which sees each
request a little after its slot was claimed, never counts more than the limit in its own window.
Tokens per minute (``rate_limit_tpm``) count the prompt's estimated tokens when the slot is claimed
(the provider's count of the answer is not known yet), so the token limit is approximate; see README.
"""

from __future__ import annotations

import fcntl
import math
import os
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from newsroom.store import engine, is_sqlite, rate_events, sqlite_path

MARGIN_S = 0.1
KEEP_S = 120.0  # events older than this are deleted as new ones are claimed


class RateLimiter:
    """One provider's limits, shared through the database ``url``."""

    def __init__(self, url: str, bucket: str, rpm: int | None = None, tpm: int | None = None, *,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time) -> None:
        self.url, self.bucket, self.rpm, self.tpm = url, bucket, rpm, tpm
        self._engine = engine(url)
        self._sleep, self._clock = sleep, clock
        self._local = threading.Lock()
        path = sqlite_path(url)
        self._lock_file = path.with_name(path.name + ".rate.lock") if path is not None else None
        self.waited_s = 0.0

    @contextmanager
    def _locked(self) -> Iterator[sa.Connection]:
        """A transaction that no other process's claim on this bucket can interleave with."""
        with self._local:
            if self._lock_file is not None:
                fd = os.open(self._lock_file, os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                    with self._engine.begin() as conn:
                        yield conn
                finally:
                    os.close(fd)  # closing releases the lock
            else:
                with self._engine.begin() as conn:
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"),
                                 {"key": zlib.crc32(self.bucket.encode())})
                    yield conn

    def _now(self, conn: sa.Connection) -> float:
        if is_sqlite(self.url):  # one machine: its clock
            return self._clock()
        # Many machines: the database server's clock, so their clocks' skew does not matter.
        return float(conn.execute(sa.text("SELECT extract(epoch from clock_timestamp())")).scalar() or self._clock())

    def _limits(self) -> list[tuple[float, int, bool]]:
        """(window seconds, limit, counts tokens?) for every limit in force."""
        limits: list[tuple[float, int, bool]] = []
        if self.rpm is not None:
            limits += [(60.0 + MARGIN_S, self.rpm, False), (1.0 + MARGIN_S, math.ceil(self.rpm / 60), False)]
        if self.tpm is not None:
            limits.append((60.0 + MARGIN_S, self.tpm, True))
        return limits

    def _wait(self, conn: sa.Connection, now: float, tokens: int) -> float:
        """Seconds until a call of ``tokens`` fits every limit (0: it fits now)."""
        recent = conn.execute(sa.select(rate_events.c.at, rate_events.c.tokens).where(
            rate_events.c.bucket == self.bucket, rate_events.c.at > now - 60.0 - MARGIN_S)
            .order_by(rate_events.c.at)).all()
        wait = 0.0
        for window, limit, by_tokens in self._limits():
            inside = [(at, t if by_tokens else 1) for at, t in recent if at > now - window]
            used, need = sum(n for _, n in inside), (tokens if by_tokens else 1)
            # A single call bigger than the whole token budget waits for an empty window, then goes.
            if used + need <= limit or (by_tokens and not inside):
                continue
            for at, n in inside:  # wait until enough of the oldest leave the window
                used -= n
                if used + need <= limit:
                    wait = max(wait, at + window - now)
                    break
        return wait

    def acquire(self, tokens: int = 0) -> float:
        """Block until a call of ``tokens`` (estimated prompt tokens) fits; returns the seconds waited."""
        if self.rpm is None and self.tpm is None:
            return 0.0
        waited = 0.0
        while True:
            with self._locked() as conn:
                now = self._now(conn)
                delay = self._wait(conn, now, tokens)
                if delay <= 0:
                    conn.execute(rate_events.insert().values(bucket=self.bucket, at=now, tokens=tokens))
                    conn.execute(rate_events.delete().where(rate_events.c.bucket == self.bucket,
                                                            rate_events.c.at < now - KEEP_S))
                    self.waited_s += waited
                    return waited
            step = min(delay, 5.0) + 0.001
            self._sleep(step)
            waited += step


def limiter_for(url: str, provider: str, base_url: str | None, rpm: int | None, tpm: int | None) -> RateLimiter | None:
    """The limiter for a provider (and server, when one is given), or None when no limit is set."""
    if rpm is None and tpm is None:
        return None
    return RateLimiter(url, f"{provider}@{base_url or 'default'}", rpm, tpm)

