"""4. One local article end to end: where the wall time goes besides the LLM.

``generate_article`` runs once on the local model in a fresh process and a fresh workspace (so the
style store is indexed and the embedder, crewAI and the llama.cpp server load inside the run, as
on a user's first run), with ``max_revisions=0``. LLM time is the sum of ``duration_ms`` of this
execution's ledger records; the rest is wall time minus that.

The rest is split with timing wrappers on the functions that do each part (each records its start
and end). Every instant of the run is attributed to the innermost/most specific part running then
(``PRIORITY``); what no wrapper covers is "other" (flags, YAML, output files, Metered bookkeeping).
"""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path
from typing import Any

from bench_common import WorkerContext, log, metric

TOPIC = "why finished offshore wind farms wait years for a grid connection"
REST_TARGET_PCT = 10.0
# Most specific first: an instant inside several wrapped calls counts for the first listed.
PRIORITY = ["server_start", "llm", "embedder_load", "style_index", "crewai_import", "style_warmup",
            "style_queries", "checker", "crewai_tasks", "flow_engine"]
LABELS = {
    "embedder_load": "style memory: embedder load (MiniLMEmbedder.warm)",
    "style_index": "style memory: indexing the pack into the fresh store",
    "style_warmup": "style memory: the rest of open_style (opening Chroma)",
    "crewai_import": "crewAI import (load_crewai)",
    "style_queries": "style memory queries during the stages",
    "checker": "deterministic checker (quality gate)",
    "crewai_tasks": "crewAI Crew/Agent/Task overhead around LLM calls (run_task minus LLM)",
    "flow_engine": "crewAI Flow (class build, kickoff, state copies)",
}


class Recorder:
    """Wraps functions so each call appends (part, start, end)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, float, float]] = []

    def patch(self, owner: Any, attr: str, part: str) -> None:
        original = getattr(owner, attr)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.events.append((part, started, time.perf_counter()))  # list.append is atomic

        setattr(owner, attr, timed)

    def attribute(self, start: float, end: float) -> dict[str, float]:
        """Seconds per part over [start, end]; each instant goes to the highest-priority active part."""
        edges = sorted({start, end, *(t for _, a, b in self.events for t in (a, b) if start <= t <= end)})
        out = {p: 0.0 for p in [*PRIORITY, "other"]}
        for a, b in zip(edges, edges[1:], strict=False):
            active = {p for p, s, e in self.events if s <= a and e >= b}
            part = next((p for p in PRIORITY if p in active), "other")
            out[part] += b - a
        return out


def instrument(rec: Recorder) -> None:
    import newsroom.flow
    import newsroom.llm.crewai_adapter as adapter
    import newsroom.style.access as access
    import newsroom.style.embedder as embedder
    import newsroom.style.memory as memory
    from newsroom.llm import local
    from newsroom.stages import discover, editorial, generate, quality_gate

    rec.patch(local.LocalServer, "__init__", "server_start")
    rec.patch(local.LocalChatModel, "complete", "llm")
    rec.patch(embedder.MiniLMEmbedder, "warm", "embedder_load")
    rec.patch(memory.StyleMemory, "index", "style_index")
    rec.patch(adapter, "load_crewai", "crewai_import")
    rec.patch(access, "open_style", "style_warmup")
    for name in ("rules_for", "exemplars_for", "nearest_published", "add_published"):
        rec.patch(access.StyleAccess, name, "style_queries")
    rec.patch(quality_gate, "check_text", "checker")
    for stage in (discover, editorial, generate, quality_gate):
        for name in ("run_task", "run_task_detail"):  # the writer takes the completion too
            if hasattr(stage, name):
                rec.patch(stage, name, "crewai_tasks")
    rec.patch(newsroom.flow, "run_flow", "flow_engine")


def measure(ctx: WorkerContext) -> dict[str, Any]:
    started = time.perf_counter()
    from newsroom.api import generate_article
    from newsroom.config import Settings
    from newsroom.roi.ledger import RoiLedger

    import_s = time.perf_counter() - started
    rec = Recorder()
    instrument(rec)
    settings = Settings.load(workspace=ctx.workspace, max_revisions=0)
    log(f"article: generating on the local model (max_revisions=0): {TOPIC!r}")
    t0 = time.perf_counter()
    result = generate_article(TOPIC, settings=settings)
    t1 = time.perf_counter()
    calls = [r for r in RoiLedger(settings.ledger_path).read().records
             if r.get("execution_id") == result.execution_id and r.get("type") == "llm_call"]
    llm_s = sum(float(r["duration_ms"]) for r in calls) / 1000
    return _result(result, t1 - t0, llm_s, len(calls), rec.attribute(t0, t1), import_s)


def _result(result: Any, total: float, llm_s: float, n_calls: int, parts: dict[str, float],
            import_s: float) -> dict[str, Any]:
    rest = total - llm_s
    metrics = [
        metric("article.total_s", "generate_article wall time (fresh process and workspace)", total, "s", n=1),
        metric("article.llm_s", f"LLM time (ledger duration_ms, {n_calls} calls)", llm_s, "s", n=n_calls,
               stat="sum"),
        metric("article.rest_pct", "the rest (wall - LLM) as a share of the total", rest / total * 100, "%", n=1,
               target=("<", REST_TARGET_PCT), ratio=total / llm_s if llm_s else None,
               ratio_of="total wall / LLM time", rest_s=round(rest, 3)),
        metric("article.server_start_s", "of the LLM time: llama.cpp server start inside the first call",
               parts["server_start"], "s", n=1),
    ]
    metrics += [metric(f"article.rest.{p}", f"rest: {LABELS[p]}", parts[p], "s", n=1,
                       share_of_total_pct=round(parts[p] / total * 100, 2)) for p in LABELS]
    metrics.append(metric("article.rest.other", "rest: other (flags, crews YAML, outputs, Metered bookkeeping)",
                          parts["other"], "s", n=1, share_of_total_pct=round(parts["other"] / total * 100, 2)))
    covered_llm = parts["llm"] + parts["server_start"]
    review = json.loads(Path(result.review_path).read_text()) if result.review_path else {}
    return {
        "title": "One local article",
        "method": ("newsroom.api.generate_article(TOPIC, settings=Settings.load(workspace=tmp, max_revisions=0)) "
                   "on the default local model, all flags at their defaults, in a fresh process and workspace. "
                   "The rest is split by timing wrappers (start/end per call) on LocalServer.__init__, "
                   "LocalChatModel.complete, MiniLMEmbedder.warm, StyleMemory.index, load_crewai, open_style, "
                   "StyleAccess lookups, the quality gate's check_text, run_task and run_flow; each instant counts "
                   "once, for the most specific part running."),
        "metrics": metrics,
        "notes": [f"status {result.status}, {result.usage.llm_calls} LLM calls, {result.usage.input_tokens} input / "
                  f"{result.usage.output_tokens} output tokens, revisions {result.revisions}",
                  f"wrapper-timed provider calls {covered_llm:.3f} s vs ledger {llm_s:.3f} s (consistency check)",
                  f"importing newsroom.api before the run (not in the total): {import_s:.2f} s",
                  f"stage seconds (from the review file): {review.get('stage_seconds')}",
                  *[f"run note: {n}" for n in review.get("notes", [])]],
    }
