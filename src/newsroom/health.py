"""``newsroom health``: everything a run needs, each check timed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from newsroom.config import Settings
from newsroom.errors import ConfigError, NewsroomError


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    duration_ms: float
    config_error: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail,
                "duration_ms": round(self.duration_ms, 1)}


def _timed(name: str, fn: Callable[[], str]) -> Check:
    started = time.perf_counter()
    try:
        detail = fn()
        return Check(name, True, detail, (time.perf_counter() - started) * 1000)
    except NewsroomError as exc:
        return Check(name, False, str(exc), (time.perf_counter() - started) * 1000,
                     config_error=isinstance(exc, ConfigError))
    except Exception as exc:  # a health check reports failures, it does not crash
        return Check(name, False, f"{type(exc).__name__}: {exc}", (time.perf_counter() - started) * 1000)


def _model_file(settings: Settings) -> str:
    if settings.provider != "local":
        return f"not needed for provider {settings.provider!r}"
    from newsroom.llm.catalogue import resolve

    label, path, _ = resolve(settings.model, settings.models_dir)
    return f"{label}: {path} ({path.stat().st_size / 1e6:.0f} MB, verified)"


def _provider(settings: Settings) -> str:
    from newsroom.llm.base import ChatRequest
    from newsroom.llm.factory import build_metered, new_execution_id, preflight

    preflight(settings)
    metered = build_metered(settings, execution_id=new_execution_id())
    status = "failed"
    try:
        completion = metered.complete(ChatRequest.of("Reply with the word ok.", max_tokens=4),
                                      stage="health", agent="health")
        status = "ok"
    finally:  # the call is in the ledger, so the run that made it is too
        metered.finish(status, command="health")
        metered.close()
    return (f"{settings.provider}/{settings.model_name} answered in "
            f"{metered.totals().total.llm_seconds * 1000:.0f} ms ({completion.usage.total_tokens} tokens)")


def _database(settings: Settings) -> str:
    from newsroom.store import check

    return check(settings.db_url)


def _ledger(settings: Settings) -> str:
    from newsroom.roi.db_ledger import open_ledger

    ledger = open_ledger(settings)
    try:
        report = ledger.read()
    finally:
        ledger.close()
    skipped = f", {len(report.skipped_lines)} unreadable record(s) skipped" if report.skipped_lines else ""
    return f"{ledger.describe()}: {len(report.records)} records{skipped}"


def _flags(settings: Settings) -> str:
    from newsroom import flags

    evaluated = flags.evaluate(settings)
    return ", ".join(f"{f.name}={'on' if f.value else 'off'}" for f in evaluated.values())


def _style_store(settings: Settings) -> str:
    from newsroom.style.memory import StyleMemory

    with StyleMemory.from_settings(settings) as memory:
        return str(memory.health())


def run_checks(settings: Settings) -> list[Check]:
    checks: list[tuple[str, Callable[[Settings], str]]] = [
        ("flags", _flags), ("database", _database), ("ledger", _ledger), ("model_file", _model_file),
        ("provider", _provider), ("style_store", _style_store)]
    return [_timed(name, lambda fn=fn: fn(settings)) for name, fn in checks]  # type: ignore[misc]
