"""The article run's state and its steps. The crewAI Flow (``flow.py``) and the plain sequence
(flag ``flow_engine`` off, the rollback path) call exactly these functions in the same order.

Each step is a durable DBOS step (``newsroom.durable``): the state it leaves is recorded, so a run
re-executed after a crash skips every step that finished and redoes only the one in flight (whose
paid calls replay from the ledger)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

from pydantic import BaseModel, Field

from newsroom.durable import step
from newsroom.errors import NewsroomError
from newsroom.stages.context import StageContext
from newsroom.stages.discover import discover
from newsroom.stages.editorial import editorial
from newsroom.stages.generate import SectionLog, assemble, cited_sources, draft
from newsroom.stages.models import Brief, Candidate, Decision, GateRound, Source
from newsroom.stages.quality_gate import ARTICLE_CHECKS, plan_revision, review

Status = Literal["running", "published", "needs_revision", "rejected", "budget_exceeded", "failed", "cancelled"]
FINAL = {"publish": "published", "reject": "rejected", "stop": "needs_revision"}


class ArticleState(BaseModel):
    """Everything a run has produced so far; JSON-serialisable, so each durable step records it."""

    id: str = ""  # crewAI's Flow requires an ``id``; we set it to the execution id
    execution_id: str = ""
    topic: str = ""
    sources: list[Source] = Field(default_factory=list)
    candidates: list[Candidate] = Field(default_factory=list)
    dropped: list[Candidate] = Field(default_factory=list)
    decision: Decision | None = None
    brief: Brief | None = None
    draft: str = ""
    rounds: list[GateRound] = Field(default_factory=list)
    revision: int = 0
    status: Status = "running"
    reason: str | None = None
    stage_seconds: dict[str, float] = Field(default_factory=dict)
    sections: list[str] = Field(default_factory=list, description="the current text of each section")
    section_notes: dict[int, str] = Field(default_factory=dict, description="revision notes per section")
    writer_log: list[dict[str, Any]] = Field(default_factory=list, description="every section attempt")
    cited: list[str] = Field(default_factory=list, description="ids of the sources the draft cites, in its order")


def _step_name(stage: str, revision: int) -> str:
    return stage if stage in ("discover", "editorial") else f"{stage}:{revision}"


@contextmanager
def _timed(ctx: StageContext, state: ArticleState, stage: str) -> Iterator[None]:
    ctx.progress.stage(stage, state.revision, ctx.metered)
    started = time.perf_counter()
    try:
        yield
    finally:
        state.stage_seconds[stage] = round(state.stage_seconds.get(stage, 0.0) + time.perf_counter() - started, 3)
    ctx.progress.done(stage, ctx.metered)


def _durable(state: ArticleState, name: str, work: Callable[[], None]) -> None:
    """Run ``work`` (which updates ``state``) as the durable step ``name``: its resulting state is
    recorded, and a re-executed run takes the recorded state instead of doing the work again."""

    def body() -> dict[str, Any]:
        work()
        return state.model_dump(mode="json")

    recorded = step(name, body)
    state.__dict__.update(ArticleState.model_validate(recorded).__dict__)


def step_discover(ctx: StageContext, state: ArticleState) -> None:
    def work() -> None:
        with _timed(ctx, state, "discover"):
            state.candidates, state.dropped = discover(ctx, state.topic, state.sources)

    _durable(state, "discover", work)


def step_editorial(ctx: StageContext, state: ArticleState) -> None:
    def work() -> None:
        with _timed(ctx, state, "editorial"):
            state.decision, state.brief = editorial(ctx, state.topic, state.candidates, state.sources)

    _durable(state, "editorial", work)


def step_generate(ctx: StageContext, state: ArticleState) -> None:
    brief = assert_brief(state)

    def keep_section(index: int, body: str, log: SectionLog) -> None:
        state.sections = [*state.sections, *[""] * (index + 1 - len(state.sections))]
        state.sections[index] = body
        state.writer_log.append({"revision": state.revision, "section": index, **log.as_dict()})

    def work() -> None:
        if state.rounds:
            todo, state.section_notes = plan_revision(state.rounds[-1], state.draft, state.sections,
                                                      article_rules(ctx))
        else:
            todo, state.section_notes = list(range(len(brief.sections))), {}
        with _timed(ctx, state, "generate"):
            draft(ctx, brief, state.sections, todo, notes=state.section_notes, revision=state.revision,
                  on_section=keep_section)
        state.draft = assemble(brief, state.sections, state.sources, ctx.today(), state.topic)
        state.cited = [s.id for s in cited_sources(state.sections, state.sources)[1]]

    _durable(state, _step_name("generate", state.revision), work)


def step_quality_gate(ctx: StageContext, state: ArticleState) -> str:
    """Review the draft; returns ``revise`` to loop back to generate, else the final decision."""
    brief = assert_brief(state)
    revision = state.revision

    def work() -> None:
        with _timed(ctx, state, "quality_gate"):
            by_id = {s.id: s for s in state.sources}
            round_ = review(ctx, state.draft, brief, state.revision, state.topic, [by_id[i] for i in state.cited],
                            state.sources)
        state.rounds.append(round_)
        if round_.decision == "revise":
            state.revision += 1
        else:
            state.status = FINAL[round_.decision]  # type: ignore[assignment]
            state.reason = "; ".join(round_.reasons) or None

    _durable(state, _step_name("quality_gate", revision), work)
    return state.rounds[-1].decision


def article_rules(ctx: StageContext) -> frozenset[str]:
    """Ids of the pack's rules that judge the article as a whole (see ``quality_gate.ARTICLE_CHECKS``)."""
    rules = ctx.pack.rules if ctx.pack is not None else ()
    return frozenset(r.id for r in rules if r.check in ARTICLE_CHECKS)


def assert_brief(state: ArticleState) -> Brief:
    if state.brief is None:
        raise NewsroomError("internal: generate ran before editorial produced a brief")
    return state.brief


def run_sequence(ctx: StageContext, state: ArticleState) -> ArticleState:
    """The stages as a plain loop: the rollback path when ``flow_engine`` is off."""
    step_discover(ctx, state)
    step_editorial(ctx, state)
    while True:
        step_generate(ctx, state)
        if step_quality_gate(ctx, state) != "revise":
            return state


def usage_by_stage(ctx: StageContext) -> dict[str, Any]:
    return {stage: totals.as_dict() for stage, totals in ctx.metered.totals().by_stage.items()}
