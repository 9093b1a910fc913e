"""The Python API: ``generate_article``, ``agenerate_article`` and ``discover_topics``. Nothing here prints."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from newsroom import flags as flagmod
from newsroom.config import Settings
from newsroom.errors import BudgetExceeded, ConfigError, NewsroomError
from newsroom.llm.base import ChatModel
from newsroom.llm.factory import build_metered, new_execution_id, preflight
from newsroom.outputs import ensure_writable, reserve_paths, write_atomic, write_json_atomic
from newsroom.paths import data_dir
from newsroom.pipeline import ArticleState, run_sequence, usage_by_stage
from newsroom.roi.records import redact
from newsroom.sources import load_sources
from newsroom.stages.context import NoProgress, Progress, StageContext, load_flow
from newsroom.stages.models import Candidate

log = logging.getLogger(__name__)
TOPIC_MAX = 300


class Usage(BaseModel):
    llm_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    duration_s: float = 0.0


class ArticleResult(BaseModel):
    """What a run produced; the same fields as ``newsroom generate --json``."""

    execution_id: str
    status: Literal["published", "needs_revision", "rejected", "budget_exceeded", "failed"]
    topic: str
    article_path: str | None
    review_path: str | None
    revisions: int = 0
    scores: dict[str, float | None] = Field(default_factory=dict)
    usage: Usage = Field(default_factory=Usage)
    reason: str | None = None


def validate_topic(topic: str) -> str:
    cleaned = " ".join((topic or "").split())
    if not cleaned:
        raise ConfigError("the topic is empty; give a subject, e.g. newsroom generate \"battery recycling\"")
    if len(cleaned) > TOPIC_MAX:
        raise ConfigError(f"the topic is {len(cleaned)} characters; keep it under {TOPIC_MAX}")
    return cleaned


def build_context(settings: Settings, execution_id: str, model: ChatModel | None = None,
                  progress: Progress | None = None, flag_provider: Any = None,
                  style_memory: Any = None) -> StageContext:
    """Everything a run's stages need, built once: flags, the metered model, crews, flow, pack and
    style memory. The caller closes ``ctx.style`` and finishes ``ctx.metered`` (``generate_article``
    does; benchmarks and tests that drive one stage do it themselves)."""
    from newsroom.crews import load_crews, prompt_text
    from newsroom.style.access import StyleAccess, open_style
    from newsroom.style.embedder import text_similarity
    from newsroom.style.pack import default_pack, load_pack

    evaluated = flagmod.evaluate(settings, execution_id, flag_provider)
    values = {name: f.value for name, f in evaluated.items()}
    if model is None:
        preflight(settings)
    metered = build_metered(settings, execution_id=execution_id, model=model,
                            telemetry=values["roi_telemetry"], budget_guard=values["budget_guard"])
    crews = load_crews(settings.crews_dir or data_dir("crews"))
    ctx = StageContext(
        settings=settings, metered=metered, crews=crews, flow=load_flow(settings.flows_dir or data_dir("flows")),
        flags=values, progress=progress or NoProgress(), prompts=prompt_text(crews),
        pack=load_pack(settings.knowledge_dir) if settings.knowledge_dir else default_pack())
    if values["style_memory"]:
        ctx.style = StyleAccess(style_memory, ctx.notes) if style_memory else open_style(settings, ctx.notes)
        ctx.similarity = text_similarity
    else:
        ctx.notes.append("style memory off (flag style_memory): no retrieval and no off-topic checks")
    return ctx


def _facts(state: ArticleState) -> list[dict[str, Any]]:
    """Each figure of the draft, its sentence and where in the sources it was found (or not)."""
    from newsroom.style.grounding import fact_table

    text = state.draft
    if not text:
        return []
    by_id = {s.id: s for s in state.sources}
    cited = [by_id[i] for i in state.cited if i in by_id]
    rest = [s for s in state.sources if s.id not in state.cited]
    return fact_table(text, [(s.title, s.path, s.text) for s in cited + rest],
                      state.brief.key_facts if state.brief else [])


def _scores(state: ArticleState) -> dict[str, float | None]:
    if not state.rounds:
        return {}
    last = state.rounds[-1]
    scores: dict[str, float | None] = {"gate": last.gate_score, "editor": last.editor_score}
    if last.review:
        scores.update({c.name: float(c.passed) for c in last.review.checks})
    if state.decision:
        scores["consensus"] = state.decision.consensus
    return scores


def _review_document(ctx: StageContext, state: ArticleState, result: ArticleResult) -> dict[str, Any]:
    return {
        **result.model_dump(mode="json"),
        "flags": {name: value for name, value in ctx.flags.items()},
        "notes": ctx.notes,
        "candidates": [c.model_dump() for c in state.candidates],
        "dropped_candidates": [c.model_dump() for c in state.dropped],
        "decision": state.decision.model_dump() if state.decision else None,
        "brief": state.brief.model_dump() if state.brief else None,
        "sources": [{"id": s.id, "title": s.title, "path": s.path} for s in state.sources],
        "revision_history": [r.model_dump(mode="json") for r in state.rounds],
        "violations": state.rounds[-1].violations if state.rounds else [],
        "facts": _facts(state),
        "editor_review": state.rounds[-1].review.model_dump() if state.rounds and state.rounds[-1].review else None,
        "writer_log": state.writer_log,
        "stage_seconds": state.stage_seconds,
        "usage_by_stage": usage_by_stage(ctx),
    }


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


_stdout_to_stderr = _StdoutGuard()


def _run(ctx: StageContext, state: ArticleState) -> None:
    """Run the stages; a budget stop or an expected failure ends the run with a status, not a crash."""
    try:
        with _stdout_to_stderr():
            if ctx.flags["flow_engine"]:
                from newsroom.flow import run_flow

                run_flow(ctx, state)
            else:
                run_sequence(ctx, state)
    except BudgetExceeded as exc:
        state.status, state.reason = "budget_exceeded", str(exc)
    except ConfigError:
        raise
    except NewsroomError as exc:
        state.status, state.reason = "failed", str(exc)
    except Exception as exc:  # a bug or a library's failure: the run still ends with its outputs and a record
        log.debug("unexpected failure in execution %s", state.execution_id, exc_info=True)
        state.status = "failed"
        state.reason = redact(f"unexpected error: {type(exc).__name__}: {exc}", ctx.metered.secrets)[:500]


def _start(topic: str | None, settings: Settings, sources: str | Path | None, out_dir: str | Path | None,
           execution_id: str | None, resume: str | None) -> tuple[ArticleState, str, str | None]:
    """A fresh state, or the checkpointed one of the run being resumed; returns (state, out_dir, sources)."""
    from newsroom import checkpoints

    if resume is None:
        topic = validate_topic(topic or "")
        execution_id = execution_id or new_execution_id()
        state = ArticleState(id=execution_id, execution_id=execution_id, topic=topic,
                             sources=load_sources(sources))
        out = ensure_writable(Path(out_dir or settings.workspace / "articles"))
        return state, str(out), None if sources is None else str(sources)
    checkpoint = checkpoints.load(settings, resume)
    state = checkpoint.state
    if topic is not None and validate_topic(topic) != state.topic:
        raise ConfigError(f"execution {resume!r} was about {state.topic!r}, not {topic!r}; drop the topic to resume")
    state.status, state.reason = "running", None
    return state, str(ensure_writable(Path(out_dir or checkpoint.out_dir))), checkpoint.sources


def _partial_draft(ctx: StageContext, state: ArticleState) -> str:
    """What a stopped run has written so far: the finished draft, or the sections done."""
    if state.draft or not (state.brief and any(state.sections)):
        return state.draft
    from newsroom.stages.generate import assemble

    done = [i for i, body in enumerate(state.sections) if body]
    partial = state.brief.model_copy(update={"sections": [state.brief.sections[i] for i in done]})
    return assemble(partial, [state.sections[i] for i in done], state.sources, ctx.today(), state.topic)


def generate_article(topic: str | None = None, *, settings: Settings | None = None,
                     model: ChatModel | None = None, sources: str | Path | None = None,
                     out_dir: str | Path | None = None, progress: Progress | None = None,
                     flag_provider: Any = None, execution_id: str | None = None,
                     resume: str | None = None, style_memory: Any = None) -> ArticleResult:
    """Run discover -> editorial -> generate -> quality_gate and write the article and its review.

    ``model`` replaces the configured provider (e.g. ``ScriptedModel`` in tests); every call still
    goes through the metered wrapper and the ledger. ``resume`` continues a stopped run from its
    checkpoint without repeating finished steps. ``style_memory`` shares one open ``StyleMemory``
    between runs (``batch`` does). Raises ``ConfigError`` for bad input; every other
    outcome, including budget stops and provider failures, is a status on the result.
    """
    from newsroom import checkpoints
    from newsroom.roi.ledger import RoiLedger

    settings = settings or Settings.load()
    state, out, sources_arg = _start(topic, settings, sources, out_dir, execution_id, resume)
    started = time.perf_counter()
    ctx = build_context(settings, state.execution_id, model, progress, flag_provider, style_memory)
    ctx.research = _research(ctx, state.sources)
    if resume is not None:
        ctx.metered.absorb(RoiLedger(settings.ledger_path).read().records)
        ctx.notes.append(f"resumed after: {', '.join(state.completed) or 'nothing'}")

    def save(current: ArticleState) -> None:
        try:
            checkpoints.save(settings, checkpoints.Checkpoint(out_dir=out, sources=sources_arg, state=current))
        except OSError as exc:  # the run goes on; only --resume loses this step
            note = f"checkpoint not saved: {exc.strerror}"
            if note not in ctx.notes:
                ctx.notes.append(note)

    ctx.checkpoint = save
    save(state)
    _run(ctx, state)
    if state.status == "running":
        state.status, state.reason = "failed", state.reason or "the flow ended without a decision"
    try:
        return _write_outputs(ctx, state, Path(out), time.perf_counter() - started, save)
    finally:
        if ctx.style is not None:
            ctx.style.close()
        ctx.metered.close()


def _research(ctx: StageContext, sources: list[Any]) -> Any:
    """The run's sources, chunked and embedded (by meaning with the embedder, by words without)."""
    from newsroom.stages.research import SourceIndex

    if not sources:
        return SourceIndex([])
    embed = None
    if ctx.similarity is not None:
        from newsroom.style.embedder import MiniLMEmbedder

        embed = MiniLMEmbedder().embed
    return SourceIndex(sources, embed)


def _claim_paths(ctx: StageContext, state: ArticleState, out_dir: Path) -> tuple[Path, Path]:
    """This run's article and review paths: the ones an earlier attempt of the same execution claimed
    (a resumed run replaces its own files), else fresh names no other file holds."""
    if state.output_paths:
        article, review = (Path(p) for p in state.output_paths)
        if not article.is_symlink() and (not article.exists() or article.is_file()):
            return article, review
    article, review = reserve_paths(out_dir, state.topic, ctx.today(), state.execution_id)
    state.output_paths = [str(article), str(review)]
    return article, review


def _release(path: Path) -> None:
    """Remove the empty file that claimed an article's name, when no article went into it."""
    try:
        if path.is_file() and not path.is_symlink() and path.stat().st_size == 0:
            path.unlink()
    except OSError:
        pass


def _write_outputs(ctx: StageContext, state: ArticleState, out_dir: Path, seconds: float,
                   save: Any) -> ArticleResult:
    article_path, review_path = _claim_paths(ctx, state, out_dir)
    save(state)
    text = _partial_draft(ctx, state)
    try:
        if text:
            write_atomic(article_path, text)
        else:
            _release(article_path)
    except (OSError, NewsroomError) as exc:  # a full disk: the run ends as failed, the ledger still says so
        why = exc.strerror if isinstance(exc, OSError) else str(exc)
        state.status, state.reason, text = "failed", f"could not write {str(article_path)!r}: {why}", ""
        _release(article_path)
    totals = ctx.metered.totals().total
    result = ArticleResult(
        execution_id=state.execution_id, status=state.status, topic=state.topic,  # type: ignore[arg-type]
        article_path=str(article_path) if text else None, review_path=str(review_path),
        revisions=state.revision, scores=_scores(state), reason=state.reason,
        usage=Usage(llm_calls=totals.llm_calls, input_tokens=totals.input_tokens,
                    output_tokens=totals.output_tokens, cost_usd=totals.cost_usd, duration_s=round(seconds, 3)))
    try:
        write_json_atomic(review_path, _review_document(ctx, state, result))
    except (OSError, NewsroomError) as exc:
        result.status, result.review_path = "failed", None
        why = exc.strerror if isinstance(exc, OSError) else str(exc)
        result.reason = f"could not write {str(review_path)!r}: {why}"
    if result.status == "published" and ctx.style is not None:
        ctx.style.add_published(state.execution_id, state.brief.title if state.brief else state.topic, text)
    ctx.metered.finish(result.status, topic=state.topic, revisions=state.revision, reason=result.reason)
    return result


async def agenerate_article(topic: str, **kwargs: Any) -> ArticleResult:
    """``generate_article`` for async callers (runs in a worker thread; the flow itself is synchronous)."""
    return await asyncio.to_thread(generate_article, topic, **kwargs)


def discover_topics(subject: str, *, n: int | None = None, settings: Settings | None = None,
                    model: ChatModel | None = None, sources: str | Path | None = None) -> list[Candidate]:
    """The discover stage alone: ranked candidate angles for ``subject``."""
    from newsroom.stages.discover import discover

    subject = validate_topic(subject)
    settings = settings or Settings.load()
    execution_id = new_execution_id()
    ctx = build_context(settings, execution_id, model)
    status = "ok"
    try:
        with _stdout_to_stderr():
            kept, _ = discover(ctx, subject, load_sources(sources), n)
    except NewsroomError:
        status = "failed"
        raise
    finally:
        ctx.metered.finish(status, topic=subject, command="discover")
    return kept
