"""Runs as a user sees them: list, show, cancel, and enqueue from anywhere that reaches the database.

Statuses are the product's (CONTRACT §3 and §8): ``queued`` and ``running`` while DBOS holds the run,
then the run's own outcome (``published``, ``rejected``, ``needs_revision``, ``budget_exceeded``,
``failed``) or ``cancelled``. Reading goes through a DBOS client of the database: no engine starts,
so ``runs list`` never picks up anyone's work.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from newsroom.config import Settings
from newsroom.errors import ConfigError
from newsroom.store import redact_url

STATUSES = ("queued", "running", "published", "needs_revision", "rejected", "budget_exceeded", "failed",
            "cancelled")
_ENGINE_STATUS = {"ENQUEUED": "queued", "DELAYED": "queued", "PENDING": "running", "CANCELLED": "cancelled",
                  "ERROR": "failed", "MAX_RECOVERY_ATTEMPTS_EXCEEDED": "failed"}


@dataclass
class RunView:
    execution_id: str
    status: str
    topic: str
    created: str | None
    updated: str | None
    executor: str | None
    result: dict[str, Any] | None = None
    reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _iso(ms: int | None) -> str | None:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z") if ms else None


def view(found: Any) -> RunView:
    """A DBOS workflow status as a run."""
    output = found.output if isinstance(found.output, dict) else None
    status = output.get("status", "failed") if found.status == "SUCCESS" and output else \
        _ENGINE_STATUS.get(str(found.status), "failed")
    job = (found.input or {}).get("args", ({},))[0] if found.input else {}
    reason = output.get("reason") if output else (str(found.error)[:300] if found.error else None)
    return RunView(execution_id=found.workflow_id, status=status, topic=str((job or {}).get("topic", "")),
                   created=_iso(found.created_at), updated=_iso(found.updated_at), executor=found.executor_id,
                   result=output, reason=reason)


@contextmanager
def client(settings: Settings) -> Iterator[Any]:
    """A DBOS client of the settings' database (the engine's tables created first if need be)."""
    from dbos import DBOSClient, run_dbos_database_migrations

    from newsroom.engine import APP, _dbos_url
    from newsroom.store import engine

    engine(settings.db_url)  # our tables, and the reason when the database cannot be reached
    url = _dbos_url(settings.db_url)
    try:
        run_dbos_database_migrations(url)
        dbos_client = DBOSClient(system_database_url=url, application_name=APP)
    except Exception as exc:
        raise ConfigError(f"cannot reach the run database {redact_url(settings.db_url)!r}: {type(exc).__name__}; "
                          "check NEWSROOM_DATABASE_URL / --database-url and --workspace") from None
    try:
        yield dbos_client
    finally:
        dbos_client.destroy()


def list_runs(settings: Settings, *, status: str | None = None, limit: int = 50) -> list[RunView]:
    """The newest runs first; ``status`` filters by the product's status."""
    from newsroom.engine import WORKFLOW

    if status is not None and status not in STATUSES:
        raise ConfigError(f"unknown status {status!r}; choose one of {', '.join(STATUSES)}")
    with client(settings) as c:
        found = c.list_workflows(name=WORKFLOW, sort_desc=True, limit=None if status else limit)
    runs = [view(w) for w in found]
    if status is not None:
        runs = [r for r in runs if r.status == status]
    return runs[:limit]


def get_run(settings: Settings, execution_id: str) -> RunView:
    with client(settings) as c:
        found = c.list_workflows(workflow_ids=[execution_id])
    if not found:
        raise ConfigError(f"no run with execution id {execution_id!r}; newsroom runs list shows the runs")
    return view(found[0])


def cancel_run(settings: Settings, execution_id: str) -> RunView:
    """Cancel a queued or running run (a running one stops at its next step or model call)."""
    run = get_run(settings, execution_id)
    if run.status not in ("queued", "running"):
        raise ConfigError(f"run {execution_id!r} is {run.status}; only a queued or running run can be cancelled")
    with client(settings) as c:
        c.cancel_workflow(execution_id)
    return get_run(settings, execution_id)


def enqueue(settings: Settings, jobs: list[Any]) -> list[str]:
    """Put runs on the queue any worker on the database takes them from (no engine starts here)."""
    from newsroom.engine import QUEUE, VERSION, WORKFLOW

    with client(settings) as c:
        for job in jobs:
            c.enqueue({"workflow_name": WORKFLOW, "queue_name": QUEUE, "workflow_id": job.execution_id,
                       "app_version": VERSION}, job.model_dump(mode="json"))
    return [job.execution_id for job in jobs]
