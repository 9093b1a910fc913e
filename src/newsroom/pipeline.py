"""The article run's state and its steps. The crewAI Flow (``flow.py``) and the plain sequence
(flag ``flow_engine`` off, the rollback path) call exactly these functions in the same order."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from pydantic import BaseModel, Field

from newsroom.errors import NewsroomError
from newsroom.stages.context import StageContext
from newsroom.stages.discover import discover
from newsroom.stages.editorial import editorial
from newsroom.stages.generate import SectionLog, assemble, cited_sources, draft
from newsroom.stages.models import Ballot, Brief, Candidate, Decision, GateRound, Source
from newsroom.stages.quality_gate import ARTICLE_CHECKS, plan_revision, review

Status = Literal["running", "published", "needs_revision", "rejected", "budget_exceeded", "failed"]
FINAL = {"publish": "published", "reject": "rejected", "stop": "needs_revision"}


class ArticleState(BaseModel):
    """Everything a run has produced so far; JSON-serialisable so it can be checkpointed."""

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
    completed: list[str] = Field(default_factory=list, description="stage steps finished, in order")
    sections: list[str] = Field(default_factory=list, description="the current text of each section")
    todo: list[int] = Field(default_factory=list, description="sections still to (re)write in this step")
    todo_for: str = Field(default="", description="the generate step that `todo` belongs to")
    section_notes: dict[int, str] = Field(default_factory=dict, description="revision notes per section")
    writer_log: list[dict[str, Any]] = Field(default_factory=list, description="every section attempt")
    output_paths: list[str] = Field(default_factory=list, description="the article and review files claimed")
    cited: list[str] = Field(default_factory=list, description="ids of the sources the draft cites, in its order")
    ballots: list[Ballot] = Field(default_factory=list, description="board votes cast so far")


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


def _finish_step(ctx: StageContext, state: ArticleState, step: str) -> None:
    """Mark a step done and checkpoint, so a resumed run never repeats its calls."""
    state.completed.append(step)
    ctx.checkpoint(state)


def step_discover(ctx: StageContext, state: ArticleState) -> None:
    if "discover" in state.completed:
        return
    with _timed(ctx, state, "discover"):
        state.candidates, state.dropped = discover(ctx, state.topic, state.sources)
    _finish_step(ctx, state, "discover")


def step_editorial(ctx: StageContext, state: ArticleState) -> None:
    if "editorial" in state.completed:
        return
    def keep_ballot(ballot: Ballot) -> None:
        state.ballots.append(ballot)
        ctx.checkpoint(state)

    with _timed(ctx, state, "editorial"):
        state.decision, state.brief = editorial(ctx, state.topic, state.candidates, state.sources,
                                                done=list(state.ballots), on_ballot=keep_ballot)
    _finish_step(ctx, state, "editorial")


def step_generate(ctx: StageContext, state: ArticleState) -> None:
    step = _step_name("generate", state.revision)
    if step in state.completed:
        return
    brief = assert_brief(state)
    if state.todo_for != step:  # entering the step (a resumed run keeps the plan it had)
        if state.rounds:
            state.todo, state.section_notes = plan_revision(state.rounds[-1], state.draft, state.sections,
                                                            article_rules(ctx))
        else:
            state.todo, state.section_notes = list(range(len(brief.sections))), {}
        state.todo_for = step
        ctx.checkpoint(state)

    def keep_section(index: int, body: str, log: SectionLog) -> None:
        state.sections = [*state.sections, *[""] * (index + 1 - len(state.sections))]
        state.sections[index] = body
        state.todo = [i for i in state.todo if i != index]
        state.writer_log.append({"revision": state.revision, "section": index, **log.as_dict()})
        ctx.checkpoint(state)

    with _timed(ctx, state, "generate"):
        draft(ctx, brief, state.sections, list(state.todo), notes=state.section_notes, revision=state.revision,
              on_section=keep_section)
    state.draft = assemble(brief, state.sections, state.sources, ctx.today(), state.topic)
    state.cited = [s.id for s in cited_sources(state.sections, state.sources)[1]]
    _finish_step(ctx, state, step)


def step_quality_gate(ctx: StageContext, state: ArticleState) -> str:
    """Review the draft; returns ``revise`` to loop back to generate, else the final decision."""
    if _step_name("quality_gate", state.revision) in state.completed:  # resumed after a finished run
        return state.rounds[-1].decision
    brief = assert_brief(state)
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
    _finish_step(ctx, state, _step_name("quality_gate", round_.revision))
    return round_.decision


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
