"""The server's life: start-up that waits for the database, readiness, the drain after SIGTERM.

The server answers ``/healthz`` from its first second, even when the database is down: the engine
starts in a background thread that tries again every ``RETRY_S`` until the database can be reached,
and ``/readyz`` says why it is not ready meanwhile. On SIGTERM it drains: ``/readyz`` turns 503 at
once (a load balancer stops sending new work), new runs are refused, the in-process workers stop
taking runs, let running ones finish for up to ``drain_s`` and hand the rest back to the queue
(``engine.work``), and the HTTP requests in flight are answered before the listener closes.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from newsroom.config import Settings
from newsroom.errors import ConfigError, NewsroomError

log = logging.getLogger(__name__)
RETRY_S = 2.0


@dataclass
class ServiceConfig:
    """How ``newsroom serve`` was started."""

    settings: Settings
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    token: str | None = field(default=None, repr=False)
    drain_s: float = 30.0
    grace_s: float = 5.0
    max_body: int = 64 * 1024


class Runtime:
    """The engine, the run database's client and the worker thread of one server process."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.settings = config.settings
        self.draining = threading.Event()
        self.stopped = threading.Event()
        self.engine_up = threading.Event()
        self._stop_workers = threading.Event()
        self._boot_error: str | None = "starting"
        self._checks: dict[str, str | None] = {"model": "not checked yet", "style_store": "not checked yet"}
        self._client: Any = None
        self._threads: list[threading.Thread] = []
        self.handed_back: list[str] = []

    # -- start ------------------------------------------------------------------------------------
    def start(self) -> None:
        boot = threading.Thread(target=self._boot, name="newsroom-boot", daemon=True)
        boot.start()
        self._threads.append(boot)

    def _boot(self) -> None:
        from newsroom import engine

        role = "worker" if self.config.workers > 0 else "cli"
        while not self.draining.is_set():
            try:
                engine.launch(self.settings, role=role, concurrency=self.config.workers or None)
                self._client = _client(self.settings.db_url)
                break
            except (NewsroomError, OSError) as exc:
                self._boot_error = str(exc)
            except Exception as exc:  # a driver's own failure: keep trying, say what it was
                self._boot_error = f"cannot start the run engine: {type(exc).__name__}"
                log.warning("engine start failed", exc_info=True)
            self.draining.wait(RETRY_S)
        else:
            return
        self._boot_error = None
        self.engine_up.set()
        if self.config.workers > 0:
            work = threading.Thread(target=self._work, name="newsroom-workers", daemon=True)
            work.start()
            self._threads.append(work)
        self._checks = {"model": _model_check(self.settings), "style_store": _style_check(self.settings)}

    def _work(self) -> None:
        from newsroom import engine

        try:
            self.handed_back = engine.work(self.settings, concurrency=self.config.workers, stop=self._stop_workers,
                                           drain_s=self.config.drain_s)
        except Exception:
            log.exception("the in-process workers stopped")

    @property
    def client(self) -> Any:
        """The DBOS client of the run database; ``ConfigError`` until the engine is up."""
        if self._client is None:
            raise ConfigError(f"the run engine is not up yet: {self._boot_error}")
        return self._client

    # -- readiness --------------------------------------------------------------------------------
    def not_ready(self) -> list[str]:
        """Why the server should not get traffic now; empty when ready."""
        from newsroom.store import check

        reasons = []
        if self.draining.is_set():
            reasons.append("draining: the server is shutting down")
        if self._boot_error is not None:
            reasons.append(f"engine: {self._boot_error}")
        else:
            try:
                check(self.settings.db_url)
            except ConfigError as exc:
                reasons.append(f"database: {exc}")
        reasons.extend(f"{name}: {why}" for name, why in self._checks.items() if why is not None)
        return reasons

    # -- stop -------------------------------------------------------------------------------------
    def drain(self) -> None:
        """Refuse new runs, stop the workers taking runs; returns at once (``wait`` waits)."""
        if not self.draining.is_set():
            log.info("draining: new runs refused, workers stop taking runs")
        self.draining.set()
        self._stop_workers.set()

    def wait(self, timeout_s: float) -> None:
        """Wait for the workers to finish their runs or hand them back (``drain_s`` at most, plus a margin)."""
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.stopped.set()

    def close(self) -> None:
        from newsroom import engine

        self.drain()
        self.wait(self.config.drain_s + 10)
        if self._client is not None:
            self._client.destroy()
            self._client = None
        if self.config.workers == 0:
            engine.shutdown(0)


def _client(url: str) -> Any:
    from dbos import DBOSClient

    from newsroom.engine import APP, _dbos_url

    return DBOSClient(system_database_url=_dbos_url(url), application_name=APP)


def _model_check(settings: Settings) -> str | None:
    """None when the configured provider can serve: a verified model file, or a remote key."""
    try:
        if settings.provider == "local":
            from newsroom.llm.catalogue import resolve

            resolve(settings.model, settings.models_dir)
        elif settings.provider == "scripted":
            return "the scripted provider takes its replies from code; configure local, openai or anthropic"
        elif not settings.secret():
            from newsroom.config import KEY_ENV

            return f"provider {settings.provider!r} has no API key: set {KEY_ENV[settings.provider]}"
    except NewsroomError as exc:
        return str(exc)
    return None


def _style_check(settings: Settings) -> str | None:
    """None when the style store is loaded (or the flag ``style_memory`` is off)."""
    from newsroom import flags

    try:
        if not flags.evaluate(settings)["style_memory"].value:
            return None
        from newsroom.style.memory import StyleMemory

        with StyleMemory.from_settings(settings) as memory:
            memory.warm()
            memory.health()
    except (NewsroomError, ImportError, OSError) as exc:
        return str(exc)
    return None
