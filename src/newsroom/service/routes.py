"""``/v1``: enqueue articles, follow their runs, read what they wrote, cancel them.

A POST only validates and enqueues (``engine.submit``); a worker, in this process or any other on
the database, runs the article. With an ``Idempotency-Key`` header the execution id is derived from
the key, so the same key gives the same run whichever server gets it and however often it restarts:
the database refuses a second run under one id. A key sent again with a different body is refused.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from newsroom.errors import ConfigError, NewsroomError
from newsroom.runs import STATUSES, RunView, view
from newsroom.service.runtime import Runtime

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1")
FILE_LIMIT = 2_000_000
_ID = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")
_MODEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,120}$")


class SourceIn(BaseModel):
    """A note for the writer to ground its figures in: sent as text, never read from the server's disk."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=60_000)


class ArticleRequest(BaseModel):
    """What to write, and the run's own limits (the server's settings fill in the rest)."""

    model_config = ConfigDict(extra="forbid")
    topic: str = Field(description="what the article is about (300 characters at most)")
    provider: Literal["local", "openai", "anthropic"] | None = None
    model: str | None = Field(default=None, description="a catalogue name or the provider's model name")
    max_revisions: int | None = Field(default=None, ge=0, le=10)
    budget_usd: float | None = Field(default=None, ge=0)
    budget_tokens: int | None = Field(default=None, ge=0)
    flags: dict[str, str | bool] = Field(default_factory=dict, description='feature flags, e.g. {"llm_review": "off"}')
    sources: list[SourceIn] = Field(default_factory=list, max_length=20)

    @field_validator("topic")
    @classmethod
    def _topic(cls, value: str) -> str:
        from newsroom.api import validate_topic

        try:
            return validate_topic(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("model")
    @classmethod
    def _model(cls, value: str | None) -> str | None:
        if value is not None and (not _MODEL.match(value) or value.lower().endswith(".gguf")):
            raise ValueError("give a model name (letters, digits, . _ : -); a path to a file is not accepted here")
        return value

    @field_validator("budget_usd")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @field_validator("flags")
    @classmethod
    def _flags(cls, value: dict[str, str | bool]) -> dict[str, str | bool]:
        from newsroom.flags import parse_value

        for name, raw in value.items():
            try:
                parse_value(name, "on" if raw is True else "off" if raw is False else raw, "flags")
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
        return value


class Accepted(BaseModel):
    execution_id: str
    status_url: str


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _unavailable(why: str) -> HTTPException:
    return HTTPException(503, why, headers={"Retry-After": "5"})


def key_to_id(key: str) -> str:
    """The execution id of an idempotency key: the same on every server, before and after a restart."""
    return hashlib.sha256(b"newsroom-idempotency\0" + key.encode()).hexdigest()[:16]


def _job(runtime: Runtime, body: ArticleRequest, execution_id: str | None) -> Any:
    from newsroom.api import make_job
    from newsroom.stages.models import Source

    settings = runtime.settings
    update: dict[str, Any] = {k: v for k, v in (("model", body.model), ("max_revisions", body.max_revisions),
                                                  ("budget_usd", body.budget_usd),
                                                  ("budget_tokens", body.budget_tokens)) if v is not None}
    if body.provider is not None and body.provider != settings.provider:
        update.update(provider=body.provider, base_url=None, model=body.model)  # the URL was the other provider's
    if body.flags:
        flags = {k: ("on" if v is True else "off" if v is False else str(v)) for k, v in body.flags.items()}
        update["flag_overrides"] = {**settings.flag_overrides, **flags}
    settings = settings.model_copy(update=update)
    if settings.provider in ("openai", "anthropic") and not settings.secret():
        raise HTTPException(422, [{"field": "provider", "message": f"provider {settings.provider!r} is not "
                                   "configured on this server (no API key)"}])
    job = make_job(body.topic, settings, execution_id=execution_id)
    sources = [Source(id=f"S{i}", title=s.title, path=f"request-{i}", text=s.text)
               for i, s in enumerate(body.sources, 1)]
    return job.model_copy(update={"sources": sources})


def _same_request(found: Any, job: Any) -> bool:
    args = (found.input or {}).get("args") or [{}]
    old = args[0] if isinstance(args[0], dict) else {}
    new = job.model_dump(mode="json")
    return all(old.get(k) == new.get(k) for k in ("topic", "settings", "sources"))


@router.post("/articles", status_code=202, response_model=Accepted, tags=["articles"],
             responses={413: {"description": "body over the size limit"}, 503: {"description": "draining"}})
def create_article(body: ArticleRequest, request: Request,
                   idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> JSONResponse:
    """Enqueue an article; poll ``status_url`` for its outcome."""
    from newsroom import engine

    runtime = _runtime(request)
    if runtime.draining.is_set():
        raise _unavailable("the server is draining; send the request to another instance")
    if not runtime.engine_up.is_set():
        raise _unavailable("the run engine is not up yet; see /readyz")
    execution_id = key_to_id(idempotency_key) if idempotency_key else None
    job = _job(runtime, body, execution_id)
    replayed = False
    if execution_id is not None:
        found = runtime.client.list_workflows(workflow_ids=[execution_id])
        if found:
            if not _same_request(found[0], job):
                raise HTTPException(422, [{"field": "Idempotency-Key", "message": "this key was used for a "
                                           "different request; use a new key"}])
            replayed = True
    if not replayed:
        engine.submit(runtime.settings, [job])
    url = str(request.url_for("get_article", execution_id=job.execution_id).path)
    return JSONResponse({"execution_id": job.execution_id, "status_url": url}, status_code=202,
                        headers={"Location": url, **({"Idempotent-Replayed": "true"} if replayed else {})})


def find_run(runtime: Runtime, execution_id: str) -> RunView:
    """The run, or 404."""
    from newsroom.engine import WORKFLOW

    if not _ID.match(execution_id):
        raise HTTPException(404, f"no run with execution id {execution_id!r}")
    try:
        found = runtime.client.list_workflows(workflow_ids=[execution_id])
    except ConfigError as exc:
        raise _unavailable(str(exc)) from None
    if not found or found[0].name != WORKFLOW:
        raise HTTPException(404, f"no run with execution id {execution_id!r}")
    return view(found[0])


def read_output(run: RunView, key: str) -> str:
    """The text of a run's article or review file, or 409 (not written yet) / 404 (not on this server)."""
    path = (run.result or {}).get(key)
    if not path:
        raise HTTPException(409, f"run {run.execution_id!r} is {run.status}; it has no {key.split('_')[0]} yet")
    from newsroom.safeio import read_text_file

    try:
        return read_text_file(Path(path), limit=FILE_LIMIT, what="output", hint="")
    except NewsroomError:
        raise HTTPException(404, f"the {key.split('_')[0]} of run {run.execution_id!r} is not on this server "
                                 f"(written by worker {run.executor})") from None


def review_of(run: RunView) -> dict[str, Any] | None:
    try:
        data = json.loads(read_output(run, "review_path"))
    except (HTTPException, ValueError):
        return None
    return data if isinstance(data, dict) else None


def history(review: dict[str, Any] | None) -> list[dict[str, Any]]:
    keep = ("revision", "gate_passed", "gate_score", "editor_score", "decision", "reasons")
    rounds = (review or {}).get("revision_history") or []
    return [{k: r.get(k) for k in keep} | {"violations": len(r.get("violations") or [])} for r in rounds]


def describe(run: RunView, *, with_history: bool = True) -> dict[str, Any]:
    result = run.result or {}
    data: dict[str, Any] = {
        "execution_id": run.execution_id, "status": run.status, "topic": run.topic, "created": run.created,
        "updated": run.updated, "worker": run.executor, "revisions": result.get("revisions"),
        "scores": result.get("scores") or {}, "usage": result.get("usage"), "reason": run.reason,
        "markdown_url": f"/v1/articles/{run.execution_id}/markdown" if result.get("article_path") else None,
        "review_url": f"/v1/articles/{run.execution_id}/review" if result.get("review_path") else None}
    if with_history:
        data["revision_history"] = history(review_of(run)) if result.get("review_path") else []
    return data


@router.get("/articles/{execution_id}", tags=["articles"], name="get_article")
def get_article(execution_id: str, request: Request) -> dict[str, Any]:
    """The run's status, scores, usage, reason and revision history."""
    return describe(find_run(_runtime(request), execution_id))


@router.get("/articles/{execution_id}/markdown", tags=["articles"], response_class=PlainTextResponse)
def get_markdown(execution_id: str, request: Request) -> PlainTextResponse:
    """The article as written (Markdown with front matter)."""
    text = read_output(find_run(_runtime(request), execution_id), "article_path")
    return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")


@router.get("/articles/{execution_id}/review", tags=["articles"])
def get_review(execution_id: str, request: Request) -> Any:
    """The review document: gate and editor results, revision history, usage by stage."""
    return json.loads(read_output(find_run(_runtime(request), execution_id), "review_path"))


@router.delete("/articles/{execution_id}", status_code=202, tags=["articles"])
def cancel_article(execution_id: str, request: Request) -> dict[str, Any]:
    """Cancel a queued or running run; a running one stops before its next model call."""
    runtime = _runtime(request)
    run = find_run(runtime, execution_id)
    if run.status not in ("queued", "running"):
        raise HTTPException(409, f"run {execution_id!r} is {run.status}; only a queued or running run can be "
                                 "cancelled")
    runtime.client.cancel_workflow(execution_id)
    return describe(find_run(runtime, execution_id), with_history=False)


@router.get("/runs", tags=["runs"])
def list_runs(request: Request, status: Annotated[str | None, Query(description=", ".join(STATUSES))] = None,
              limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> dict[str, Any]:
    """The newest runs first, optionally of one status."""
    runs = recent_runs(_runtime(request), status=status, limit=limit)
    return {"runs": [describe(r, with_history=False) for r in runs]}


def recent_runs(runtime: Runtime, *, status: str | None = None, limit: int = 50) -> list[RunView]:
    from newsroom.engine import WORKFLOW

    if status is not None and status not in STATUSES:
        raise HTTPException(422, [{"field": "status", "message": f"choose one of {', '.join(STATUSES)}"}])
    try:
        found = runtime.client.list_workflows(name=WORKFLOW, sort_desc=True, limit=None if status else limit,
                                              load_input=True, load_output=True)
    except ConfigError as exc:
        raise _unavailable(str(exc)) from None
    runs = [view(w) for w in found]
    if status is not None:
        runs = [r for r in runs if r.status == status]
    return runs[:limit]
