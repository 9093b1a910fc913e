"""Client-side rate limits per provider: requests and tokens per minute, shared by every run in
the process. A caller over the limit waits (backpressure) instead of being refused."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    """A sliding one-minute window over requests and (estimated prompt) tokens."""

    def __init__(self, rpm: int | None = None, tpm: int | None = None, *,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.rpm, self.tpm = rpm, tpm
        self._clock, self._sleep = clock, sleep
        self._events: deque[tuple[float, int]] = deque()
        self._lock = threading.Lock()
        self.waited_s = 0.0

    def _wait_time(self, now: float, tokens: int) -> float:
        while self._events and now - self._events[0][0] >= 60:
            self._events.popleft()
        waits = [0.0]
        if self.rpm is not None and len(self._events) >= self.rpm:
            waits.append(60 - (now - self._events[len(self._events) - self.rpm][0]))
        if self.tpm is not None:
            used = sum(t for _, t in self._events)
            # A single request larger than the whole budget waits for an empty window, then goes.
            freed = 0
            for stamp, t in self._events:
                if used - freed + tokens <= self.tpm:
                    break
                freed += t
                waits.append(60 - (now - stamp))
        return max(waits)

    def acquire(self, tokens: int = 0) -> float:
        """Block until a request of ``tokens`` fits in the window; returns the seconds waited."""
        if self.rpm is None and self.tpm is None:
            return 0.0
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                delay = self._wait_time(now, tokens)
                if delay <= 0:
                    self._events.append((now, tokens))
                    self.waited_s += waited
                    return waited
            self._sleep(min(delay, 5.0))
            waited += min(delay, 5.0)


class _Registry:
    """One limiter per (provider, limits) in the process, so concurrent runs share it."""

    def __init__(self) -> None:
        self._limiters: dict[tuple[str, int | None, int | None], RateLimiter] = {}
        self._lock = threading.Lock()

    def get(self, provider: str, rpm: int | None, tpm: int | None) -> RateLimiter | None:
        if rpm is None and tpm is None:
            return None
        with self._lock:
            return self._limiters.setdefault((provider, rpm, tpm), RateLimiter(rpm, tpm))


limiters = _Registry()
