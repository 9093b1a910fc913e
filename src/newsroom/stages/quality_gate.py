"""Quality gate: the deterministic house-style check plus the editor agent's structured review.

Decision (pure, ``decide``): publish when the deterministic gate passes (no critical or high
violation) and, with ``llm_review`` on, the editor's mean score reaches ``min_editor_score``;
otherwise revise while the revision budget lasts, then reject (or stop as ``needs_revision``
when the budget is zero).
"""

from __future__ import annotations

import re
from typing import Any

from newsroom.crews import run_task
from newsroom.stages.context import StageContext
from newsroom.stages.models import Brief, GateRound, ReviewDraft
from newsroom.style.checker import check_text

MAX_VIOLATIONS_IN_PROMPT = 8


def sections(markdown: str) -> list[str]:
    """The body split at ``##`` headings (front matter and References left out)."""
    body = re.sub(r"\A---\n.*?\n---\n", "", markdown, flags=re.DOTALL)
    parts = [p.strip() for p in re.split(r"^##\s+", body, flags=re.MULTILINE) if p.strip()]
    return [p for p in parts if not p.lower().startswith(("references", "sources"))]


def editor_score(review: ReviewDraft) -> float:
    return round((review.clarity + review.evidence + review.structure + review.style) / 4, 2)


def decide(gate_passed: bool, score: float | None, min_score: float, revision: int, max_revisions: int) -> str:
    if gate_passed and (score is None or score >= min_score):
        return "publish"
    if revision < max_revisions:
        return "revise"
    return "reject" if max_revisions > 0 else "stop"


def _reasons(violations: list[dict[str, Any]], score: float | None, min_score: float) -> list[str]:
    reasons = [f"{v['severity']} {v['rule_id']} (line {v['line']}): {v['message']}"
               for v in violations if v["severity"] in ("critical", "high")]
    if score is not None and score < min_score:
        reasons.append(f"editor score {score} is below {min_score}")
    return reasons


def _style_context(ctx: StageContext, markdown: str) -> list[dict[str, Any]]:
    k = ctx.flow.quality_gate.rules_per_section
    if ctx.style is None or k == 0:
        return []
    seen: dict[str, dict[str, Any]] = {}
    for section in sections(markdown):
        for hit in ctx.style.rules_for(section[:1500], k):
            seen.setdefault(hit["id"], hit)
    return list(seen.values())


def review(ctx: StageContext, markdown: str, brief: Brief, revision: int) -> GateRound:
    """Check and review one draft; returns the round with its decision."""
    result = check_text(markdown, fragment=False)
    violations = list(result.as_dict()["violations"])
    context = _style_context(ctx, markdown)
    draft_review: ReviewDraft | None = None
    skipped = None if ctx.flags.get("llm_review", True) else "flag llm_review is off"
    if skipped is None:
        listed = "\n".join(f"- line {v['line']}: {v['message']} ({v['excerpt']})"
                           for v in violations[:MAX_VIOLATIONS_IN_PROMPT]) or "(none)"
        draft_review = run_task(ctx.metered, ctx.crews["quality_gate"], "review", {
            "title": brief.title, "draft": "\n\n".join(sections(markdown))[:3000],
            "rules": "\n".join(f"- {h['text'][:200]}" for h in context) or "(style memory unavailable)",
            "violations": listed})
    score = editor_score(draft_review) if draft_review else None
    config = ctx.flow.quality_gate
    max_revisions = ctx.settings.max_revisions if ctx.settings.max_revisions is not None else config.max_revisions
    reasons = _reasons(violations, score, config.min_editor_score)
    decision = decide(result.passed, score, config.min_editor_score, revision, max_revisions)
    return GateRound(revision=revision, gate_passed=result.passed, gate_score=result.score,
                     violations=violations, review=draft_review, review_skipped=skipped, editor_score=score,
                     style_context=context, decision=decision, reasons=reasons)  # type: ignore[arg-type]


def revision_notes(round_: GateRound) -> str:
    """What the writer must change, from the checker's violations and the editor's fixes."""
    lines = ["This is a revision. Fix these problems from the last draft:"]
    for v in round_.violations[:MAX_VIOLATIONS_IN_PROMPT]:
        lines.append(f"- {v['message']} ('{v['excerpt']}'): {v['suggestion']}")
    if round_.review:
        for fix in round_.review.required_fixes:
            lines.append(f"- '{fix.quote}': {fix.problem} -> {fix.fix}")
    return "\n".join(lines)
