"""A run's outputs: the article, its review file and the run record, written once, as the run's last
durable step, whatever the run's outcome (a partial draft is kept; a failed run says why)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from newsroom.errors import NewsroomError
from newsroom.outputs import reserve_paths, write_atomic, write_json_atomic
from newsroom.pipeline import ArticleState, usage_by_stage
from newsroom.run import ArticleResult, Usage
from newsroom.stages.context import StageContext


def research(ctx: StageContext, sources: list[Any]) -> Any:
    """The run's sources, chunked and embedded (by meaning with the embedder, by words without)."""
    from newsroom.stages.research import SourceIndex

    if not sources:
        return SourceIndex([])
    embed = None
    if ctx.similarity is not None:
        from newsroom.style.embedder import MiniLMEmbedder

        embed = MiniLMEmbedder().embed
    return SourceIndex(sources, embed)


def partial_draft(ctx: StageContext, state: ArticleState) -> str:
    """What a stopped run has written so far: the finished draft, or the sections done."""
    if state.draft or not (state.brief and any(state.sections)):
        return state.draft
    from newsroom.stages.generate import assemble

    done = [i for i, body in enumerate(state.sections) if body]
    partial = state.brief.model_copy(update={"sections": [state.brief.sections[i] for i in done]})
    return assemble(partial, [state.sections[i] for i in done], state.sources, ctx.today(), state.topic)


def _facts(state: ArticleState) -> list[dict[str, Any]]:
    """Each figure of the draft, its sentence and where in the sources it was found (or not)."""
    from newsroom.style.grounding import fact_table

    if not state.draft:
        return []
    by_id = {s.id: s for s in state.sources}
    cited = [by_id[i] for i in state.cited if i in by_id]
    rest = [s for s in state.sources if s.id not in state.cited]
    return fact_table(state.draft, [(s.title, s.path, s.text) for s in cited + rest],
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


def review_document(ctx: StageContext, state: ArticleState, result: ArticleResult) -> dict[str, Any]:
    return {
        **result.model_dump(mode="json"),
        "flags": dict(ctx.flags.items()),
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


def _own_paths(out_dir: Path, topic: str, date: str, execution_id: str) -> tuple[Path, Path] | None:
    """The files an earlier attempt of this execution wrote (a resumed run replaces its own files)."""
    from newsroom.outputs import output_paths

    short = "".join(c for c in execution_id if c.isalnum())[:8]
    for suffix in ("", f"-{short}", *(f"-{short}-{n}" for n in range(2, 10))):
        article, review = output_paths(out_dir, topic, date, suffix)
        if review.is_file() and not review.is_symlink():
            try:
                if json.loads(review.read_text(encoding="utf-8")).get("execution_id") == execution_id:
                    return article, review
            except (OSError, ValueError):
                continue
    return None


def _release(path: Path) -> None:
    """Remove the empty file that claimed an article's name, when no article went into it."""
    try:
        if path.is_file() and not path.is_symlink() and path.stat().st_size == 0:
            path.unlink()
    except OSError:
        pass


def _sweep(paths: tuple[Path, Path]) -> None:
    """Remove the temp files a killed attempt of this run left beside its (claimed) outputs."""
    for path in paths:
        for stale in path.parent.glob(f".{path.name[:120]}.*.tmp"):
            stale.unlink(missing_ok=True)


def _write(ctx: StageContext, state: ArticleState, out_dir: Path, seconds: float,
           paths: tuple[Path, Path]) -> ArticleResult:
    article_path, review_path = paths
    _sweep(paths)
    text = partial_draft(ctx, state)
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
        write_json_atomic(review_path, review_document(ctx, state, result))
    except (OSError, NewsroomError) as exc:
        result.status, result.review_path = "failed", None
        why = exc.strerror if isinstance(exc, OSError) else str(exc)
        result.reason = f"could not write {str(review_path)!r}: {why}"
    if result.status == "published" and ctx.style is not None:
        ctx.style.add_published(state.execution_id, state.brief.title if state.brief else state.topic, text)
    # Keyed, so a step re-run after a crash records the run once.
    ctx.metered.finish(result.status, topic=state.topic, revisions=state.revision, reason=result.reason,
                       article_path=result.article_path, attempt=1,
                       call_key=f"{state.execution_id}:run:{result.status}:{state.revision}:{totals.llm_calls}")
    return result


def _claim(ctx: StageContext, state: ArticleState, out_dir: Path) -> list[str]:
    own = _own_paths(out_dir, state.topic, ctx.today(), state.execution_id)
    return [str(p) for p in own or reserve_paths(out_dir, state.topic, ctx.today(), state.execution_id)]


def write_outputs(ctx: StageContext, state: ArticleState, out_dir: Path, seconds: float) -> ArticleResult:
    """Claim the output names, then write the article, the review and the run record: two durable
    steps, so a process that dies while writing finishes into the names it claimed, once."""
    from newsroom.durable import step

    if state.status == "cancelled":  # DBOS takes no more steps of a cancelled run: write them as they are
        article, review = _claim(ctx, state, out_dir)
        return _write(ctx, state, out_dir, seconds, (Path(article), Path(review)))
    article, review = step("claim", lambda: _claim(ctx, state, out_dir))
    return ArticleResult.model_validate(step("outputs", lambda: _write(ctx, state, out_dir, seconds,
                                                                       (Path(article), Path(review)))
                                             .model_dump(mode="json")))
