"""The Python API: ``generate_article``, ``agenerate_article`` and ``discover_topics``. Nothing here prints.

Every run is a durable workflow (``newsroom.engine``) whose body is ``newsroom.run.execute``:
build the context once, run the stages, write the outputs.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from newsroom import flags as flagmod
from newsroom.config import Settings
from newsroom.errors import ConfigError, NewsroomError
from newsroom.llm.base import ChatModel
from newsroom.llm.factory import build_metered, new_execution_id, preflight
from newsroom.outputs import ensure_writable
from newsroom.paths import data_dir
from newsroom.run import ArticleResult, Job, Live, Usage, portable, stdout_to_stderr
from newsroom.sources import load_sources
from newsroom.stages.context import NoProgress, Progress, StageContext, load_flow
from newsroom.stages.models import Candidate

log = logging.getLogger(__name__)
TOPIC_MAX = 300

__all__ = ["ArticleResult", "Usage", "agenerate_article", "build_context", "discover_topics", "generate_article",
           "make_job", "validate_topic"]


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


def make_job(topic: str, settings: Settings, *, sources: str | Path | None = None,
             out_dir: str | Path | None = None, execution_id: str | None = None) -> Job:
    """A run's input, checked before anything is spent: the topic, the sources read now (they travel
    with the job), and an output directory proven writable."""
    topic = validate_topic(topic)
    out = str(ensure_writable(Path(out_dir))) if out_dir is not None else None
    return Job(execution_id=execution_id or new_execution_id(), topic=topic, sources=load_sources(sources),
               out_dir=out, settings=portable(settings))


def generate_article(topic: str | None = None, *, settings: Settings | None = None,
                     model: ChatModel | None = None, sources: str | Path | None = None,
                     out_dir: str | Path | None = None, progress: Progress | None = None,
                     flag_provider: Any = None, execution_id: str | None = None,
                     resume: str | None = None, style_memory: Any = None) -> ArticleResult:
    """Run discover -> editorial -> generate -> quality_gate and write the article and its review.

    ``model`` replaces the configured provider (e.g. ``ScriptedModel`` in tests); every call still
    goes through the metered wrapper and the ledger. ``resume`` continues a stopped run (killed,
    stopped on its budget, failed or cancelled): finished steps are not run again and paid calls are
    not paid again. ``style_memory`` shares one open ``StyleMemory`` between runs. Raises
    ``ConfigError`` for bad input; every other outcome, including budget stops and provider
    failures, is a status on the result.
    """
    from newsroom import engine

    settings = settings or Settings.load()
    if model is None:
        preflight(settings)
    live = Live(settings=settings, model=model, progress=progress, flag_provider=flag_provider,
                style_memory=style_memory)
    if resume is not None:
        if topic is not None:
            validate_topic(topic)
        return engine.resume(settings, resume, live)
    if out_dir is None:
        out_dir = settings.workspace / "articles"
    job = make_job(topic or "", settings, sources=sources, out_dir=out_dir, execution_id=execution_id)
    return engine.run_here(settings, job, live)


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
        with stdout_to_stderr():
            kept, _ = discover(ctx, subject, load_sources(sources), n)
    except NewsroomError:
        status = "failed"
        raise
    finally:
        ctx.metered.finish(status, topic=subject, command="discover")
        ctx.metered.close()
        if ctx.style is not None:
            ctx.style.close()
    return kept
