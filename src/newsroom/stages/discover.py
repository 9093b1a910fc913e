"""Discover: the scout proposes angles; we score them and drop or flag ones already published."""

from __future__ import annotations

from collections.abc import Callable

from newsroom.crews import run_task
from newsroom.stages.context import StageContext
from newsroom.stages.models import Candidate, CandidateDraft, Source

SCORE_FIELDS = ("timeliness", "evidence", "contrarian", "audience_fit", "style_fit")


def weighted_score(draft: CandidateDraft, weights: dict[str, float]) -> float:
    total = sum(weights.get(f, 1.0) for f in SCORE_FIELDS)
    return round(sum(getattr(draft, f) * weights.get(f, 1.0) for f in SCORE_FIELDS) / total, 3)


def rank_candidates(drafts: list[CandidateDraft], weights: dict[str, float],
                    nearest: Callable[[str], tuple[str, float] | None] | None,
                    drop_at: float, flag_at: float) -> tuple[list[Candidate], list[Candidate]]:
    """Score, compare with published work, and rank. Returns (kept best first, dropped)."""
    kept: list[Candidate] = []
    dropped: list[Candidate] = []
    for draft in drafts:
        match = nearest(f"{draft.hook} {draft.thesis}") if nearest else None
        similar_to, similarity = match if match else (None, None)
        candidate = Candidate(**draft.model_dump(), number=0, score=weighted_score(draft, weights),
                              similar_to=similar_to, similarity=similarity,
                              flagged=similarity is not None and similarity >= flag_at)
        (dropped if similarity is not None and similarity >= drop_at else kept).append(candidate)
    kept.sort(key=lambda c: (-c.score, c.flagged))
    return ([c.model_copy(update={"number": i}) for i, c in enumerate(kept, start=1)],
            [c.model_copy(update={"number": 0}) for c in dropped])


def sources_note(sources: list[Source]) -> str:
    if not sources:
        return ""
    return "Sources supplied: " + "; ".join(f"{s.title}: {s.text[:160]}" for s in sources[:5])


def discover(ctx: StageContext, topic: str, sources: list[Source], n: int | None = None
             ) -> tuple[list[Candidate], list[Candidate]]:
    """Propose ``n`` angles for ``topic`` and rank them. Returns (kept, dropped)."""
    config = ctx.flow.discover
    n = n or config.candidates
    drafts: list[CandidateDraft] = []
    for i in range(1, n + 1):  # one angle per call: a small model keeps a short answer well formed
        taken = "; ".join(d.hook for d in drafts) or "(none yet)"
        lens = config.lenses[(i - 1) % len(config.lenses)]
        drafts.append(run_task(ctx.metered, ctx.crews["discover"], "propose", {
            "topic": topic, "i": i, "n": n, "taken": taken, "lens": lens, "sources_note": sources_note(sources)}))
    nearest = ctx.style.nearest_published if ctx.style else None
    return rank_candidates(drafts, config.weights, nearest,
                           config.published_similarity.get("drop_at", 0.92),
                           config.published_similarity.get("flag_at", 0.8))
