"""One run, top to bottom: build the context once, run the stages (each a durable step), write the outputs.

``execute`` is the body of the DBOS workflow (``newsroom.engine``) behind every run: ``generate``,
``batch``, a worker's queued run and the HTTP service all come here. What a run needs is in its
``Job`` (the workflow's recorded input: a worker on another machine can run it, or recover it after a
crash); what cannot travel (a test's scripted model, the console progress, an open style memory)
waits for it in this process's ``Live`` registry.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from newsroom.config import Settings, build
from newsroom.errors import BudgetExceeded, Cancelled, ConfigError, NewsroomError
from newsroom.llm.base import ChatModel
from newsroom.pipeline import ArticleState, run_sequence, usage_by_stage
from newsroom.roi.records import redact
from newsroom.stages.context import Progress, StageContext
from newsroom.stages.models import Source

log = logging.getLogger(__name__)

Status = Literal["published", "needs_revision", "rejected", "budget_exceeded", "failed", "cancelled"]


class Usage(BaseModel):
    llm_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    duration_s: float = 0.0


class ArticleResult(BaseModel):
    """What a run produced; the same fields as ``newsroom generate --json``."""

    execution_id: str
    status: Status
    topic: str
    article_path: str | None
    review_path: str | None
    revisions: int = 0
    scores: dict[str, float | None] = Field(default_factory=dict)
    usage: Usage = Field(default_factory=Usage)
    reason: str | None = None


class Job(BaseModel):
    """A run's recorded input: all a worker anywhere needs (the sources travel as text)."""

    execution_id: str
    topic: str
    sources: list[Source] = Field(default_factory=list)
    out_dir: str | None = Field(default=None, description="default: <the runner's workspace>/articles")
    settings: dict[str, Any] = Field(default_factory=dict,
                                     description="the submitter's explicit settings; never a key or a path to state")


@dataclass
class Live:
    """What a run in this process gets that its input cannot carry."""

    settings: Settings | None = None
    model: ChatModel | None = None
    progress: Progress | None = None
    flag_provider: Any = None
    style_memory: Any = None
    overrides: dict[str, Any] = field(default_factory=dict)  # a resume's new budget, say


# Settings a job may carry: never the workspace, the database, a key or where models live.
PORTABLE = ("provider", "model", "base_url", "timeout_s", "max_retries", "budget_usd", "budget_tokens",
            "max_revisions", "flags", "flag_overrides", "prices", "rate_limit_rpm", "rate_limit_tpm")


def portable(settings: Settings) -> dict[str, Any]:
    data = settings.model_dump(mode="json", include=set(PORTABLE), exclude_none=True)
    return {k: v for k, v in data.items() if v not in ({}, [])}


_runner: Settings | None = None  # a worker's own settings: its workspace, database, models, keys


def use_runner_settings(settings: Settings | None) -> None:
    """Run every queued job of this process on ``settings`` (the worker's ``--workspace``,
    ``--database-url`` and the rest), with the job's own portable settings on top."""
    global _runner
    _runner = settings


def settings_for(job: Job, live: Live | None) -> Settings:
    """The submitter's settings when it runs here; else this worker's, with the job's on top."""
    base = live.settings if live is not None and live.settings is not None else None
    if base is None and _runner is not None:
        base = build({**dict(_runner), **job.settings}, source="the queued run's settings")
    if base is None:
        base = Settings.load(**job.settings)
    if live is not None and live.overrides:
        base = base.model_copy(update=live.overrides)
    return base


class _StdoutGuard:
    """Sends stray prints (crewAI panels) to stderr while any run is active: stdout belongs to the
    caller's result. Reference-counted, so concurrent runs in threads restore it exactly once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._saved: Any = None

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._users == 0:
                self._saved, sys.stdout = sys.stdout, sys.stderr
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0:
                    sys.stdout = self._saved


stdout_to_stderr = _StdoutGuard()


def run_stages(ctx: StageContext, state: ArticleState) -> None:
    """The stages, on the crewAI Flow or as a plain sequence (flag ``flow_engine``); a budget stop, a
    failure or a cancellation ends the run with a status, not a crash."""
    from dbos._error import DBOSWorkflowCancelledError

    try:
        with stdout_to_stderr():
            if ctx.flags["flow_engine"]:
                from newsroom.flow import run_flow

                run_flow(ctx, state)
            else:
                run_sequence(ctx, state)
    except BudgetExceeded as exc:
        state.status, state.reason = "budget_exceeded", str(exc)
    except ConfigError:
        raise
    except Cancelled:
        state.status, state.reason = "cancelled", "the run was cancelled"
    except NewsroomError as exc:
        state.status, state.reason = "failed", str(exc)
    except DBOSWorkflowCancelledError:
        state.status, state.reason = "cancelled", "the run was cancelled"
    except Exception as exc:  # a bug or a library's failure: the run still ends with its outputs and a record
        log.debug("unexpected failure in execution %s", state.execution_id, exc_info=True)
        state.status = "failed"
        state.reason = redact(f"unexpected error: {type(exc).__name__}: {exc}", ctx.metered.secrets)[:500]
    if state.status == "running":
        state.status, state.reason = "failed", state.reason or "the flow ended without a decision"


def execute(job: Job, live: Live | None = None) -> ArticleResult:
    """Run ``job``: the context built once, the stages, the outputs. Inside a DBOS workflow."""
    from newsroom.api import build_context
    from newsroom.durable import cancelled
    from newsroom.outputs import ensure_writable
    from newsroom.outputs_writer import research, write_outputs
    from newsroom.roi.db_ledger import DbLedger

    live = live or Live()
    settings = settings_for(job, live)
    started = time.perf_counter()
    # A queued run may land on a worker (another machine) where the directory does not exist yet:
    # create it, and prove it writable, before anything is spent.
    out_dir = ensure_writable(Path(job.out_dir) if job.out_dir else settings.workspace / "articles")
    state = ArticleState(id=job.execution_id, execution_id=job.execution_id, topic=job.topic, sources=job.sources)
    ctx = build_context(settings, job.execution_id, live.model, live.progress, live.flag_provider,
                        live.style_memory)
    try:
        if ctx.metered.replay is not None:
            ctx.metered.replay.is_cancelled = lambda: cancelled(job.execution_id)
        ctx.research = research(ctx, job.sources)
        if isinstance(ctx.metered.ledger, DbLedger):  # a resumed run's budgets count what it already spent
            ctx.metered.absorb(ctx.metered.ledger.read(job.execution_id).records)
        run_stages(ctx, state)
        return write_outputs(ctx, state, out_dir, time.perf_counter() - started)
    finally:
        if ctx.style is not None:
            ctx.style.close()
        ctx.metered.close()


__all__ = ["ArticleResult", "Job", "Live", "Usage", "execute", "portable", "run_stages", "usage_by_stage"]
