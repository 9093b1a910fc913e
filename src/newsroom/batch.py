"""``newsroom batch``: submit every topic, work the queue in this process, wait for every result.

The same durable runs as ``submit`` + ``worker`` (``newsroom.engine``), in one process: ``concurrency``
runs at a time, one shared local server with a slot per run, one shared style memory, and the
provider rate limits every process on the database shares. One topic's failure never stops the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from newsroom.api import make_job, validate_topic
from newsroom.config import Settings
from newsroom.errors import ConfigError, NewsroomError
from newsroom.llm.base import ChatModel
from newsroom.run import ArticleResult, Live
from newsroom.safeio import read_text_file

MAX_TOPICS = 1000
MAX_BYTES = 1_000_000
POLL_S = 0.5


def read_topics(path: Path | str) -> list[str]:
    """One topic a line; blank lines and ``#`` comments are skipped."""
    text = read_text_file(path, limit=MAX_BYTES, what="topics file", hint="give a UTF-8 text file, one topic a line")
    topics = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not topics:
        raise ConfigError(f"topics file {str(path)!r} holds no topics (one a line)")
    if len(topics) > MAX_TOPICS:
        raise ConfigError(f"topics file {str(path)!r} holds {len(topics)} topics; the limit is {MAX_TOPICS}")
    for topic in topics:
        validate_topic(topic)
    return topics


def _shared_style(settings: Settings) -> Any:
    """One style memory for the whole batch (opening Chroma once per run would race on the store)."""
    from newsroom import flags

    if not flags.evaluate(settings)["style_memory"].value:
        return None
    try:
        from newsroom.style.memory import StyleMemory

        memory = StyleMemory.from_settings(settings)
        memory.warm()
        return memory
    except (NewsroomError, ImportError, OSError):
        return None  # each run then notes why it went without


def run_batch(topics: list[str], *, settings: Settings, concurrency: int = 2, out_dir: str | Path | None = None,
              model_factory: Callable[[str], ChatModel] | None = None,
              on_result: Callable[[ArticleResult], None] | None = None) -> list[ArticleResult]:
    """Run every topic, ``concurrency`` at a time; results come back in the order of ``topics``."""
    from dbos import DBOS

    from newsroom import engine

    if concurrency < 1:
        raise ConfigError(f"--concurrency must be at least 1, got {concurrency!r}")
    if settings.provider == "local":
        settings = settings.model_copy(update={"local_parallel": max(settings.local_parallel, min(concurrency, 8))})
    jobs = [make_job(t, settings, out_dir=out_dir or settings.workspace / "articles") for t in topics]
    style = _shared_style(settings)
    for job in jobs:
        model = model_factory(job.topic) if model_factory else None
        engine.register_live(job.execution_id, Live(settings=settings, model=model, style_memory=style))
    try:
        engine.launch(settings, role="worker", concurrency=concurrency)
        engine.submit(settings, jobs)
        results: dict[str, ArticleResult] = {}
        while len(results) < len(jobs):
            for job in jobs:
                if job.execution_id in results:
                    continue
                found = DBOS.get_workflow_status(job.execution_id)
                if found is not None and found.status in ("SUCCESS", "ERROR", "CANCELLED"):
                    results[job.execution_id] = _result(job.execution_id, job.topic, found)
                    if on_result is not None:
                        on_result(results[job.execution_id])
            time.sleep(POLL_S)
        return [results[job.execution_id] for job in jobs]
    finally:
        for job in jobs:
            engine.forget_live(job.execution_id)
        if style is not None:
            style.close()


def _result(execution_id: str, topic: str, found: Any) -> ArticleResult:
    if found.status == "SUCCESS" and isinstance(found.output, dict):
        return ArticleResult.model_validate(found.output)
    reason = "the run was cancelled" if found.status == "CANCELLED" else f"the run ended in error: {found.error}"
    return ArticleResult(execution_id=execution_id, topic=topic, article_path=None, review_path=None,
                         status="cancelled" if found.status == "CANCELLED" else "failed", reason=reason)
