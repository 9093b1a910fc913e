"""``newsroom batch``: many article flows at once (asyncio over a bounded thread pool).

Concurrency is bounded by ``concurrency`` (backpressure: topics wait for a free slot); the local
server gets as many parallel slots; client-side rate limits (``rate_limit_rpm``/``rate_limit_tpm``)
are shared by every run. One topic's failure never stops the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from newsroom.api import ArticleResult, generate_article, validate_topic
from newsroom.config import Settings
from newsroom.errors import ConfigError, NewsroomError
from newsroom.llm.base import ChatModel
from newsroom.llm.factory import new_execution_id
from newsroom.safeio import read_text_file

MAX_TOPICS = 1000
MAX_BYTES = 1_000_000  # 1,000 topics of 300 characters, with room for comments


def read_topics(path: Path | str) -> list[str]:
    """One topic a line; blank lines and ``#`` comments are skipped."""
    path = Path(path)
    text = read_text_file(path, limit=MAX_BYTES, what="topics file", hint="give a UTF-8 text file, one topic a line")
    topics = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not topics:
        raise ConfigError(f"topics file {str(path)!r} holds no topics (one a line)")
    if len(topics) > MAX_TOPICS:
        raise ConfigError(f"topics file {str(path)!r} holds {len(topics)} topics; the limit is {MAX_TOPICS}")
    for topic in topics:
        validate_topic(topic)
    return topics


def _failed(topic: str, exc: Exception) -> ArticleResult:
    return ArticleResult(execution_id=new_execution_id(), status="failed", topic=topic, article_path=None,
                         review_path=None, reason=str(exc))


async def arun_batch(topics: list[str], *, settings: Settings, concurrency: int = 2,
                     out_dir: str | Path | None = None, model_factory: Callable[[str], ChatModel] | None = None,
                     on_result: Callable[[ArticleResult], None] | None = None, **kwargs: Any) -> list[ArticleResult]:
    """Run every topic; results come back in the order of ``topics``."""
    if concurrency < 1:
        raise ConfigError(f"--concurrency must be at least 1, got {concurrency!r}")
    if settings.provider == "local":
        settings = settings.model_copy(update={"local_parallel": max(settings.local_parallel, min(concurrency, 8))})
    style = _shared_style(settings)
    loop = asyncio.get_running_loop()
    slots = asyncio.Semaphore(concurrency)

    def run(topic: str) -> ArticleResult:
        model = model_factory(topic) if model_factory else None
        return generate_article(topic, settings=settings, model=model, out_dir=out_dir, style_memory=style, **kwargs)

    async def one(topic: str, pool: ThreadPoolExecutor) -> ArticleResult:
        async with slots:
            try:
                result = await loop.run_in_executor(pool, run, topic)
            except NewsroomError as exc:
                result = _failed(topic, exc)
        if on_result is not None:
            on_result(result)
        return result

    try:
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="newsroom-batch") as pool:
            return list(await asyncio.gather(*(one(t, pool) for t in topics)))
    finally:
        if style is not None:
            style.close()


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


def run_batch(topics: list[str], **kwargs: Any) -> list[ArticleResult]:
    """Synchronous ``arun_batch``."""
    return asyncio.run(arun_batch(topics, **kwargs))
