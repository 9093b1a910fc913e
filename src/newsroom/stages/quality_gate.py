"""Quality gate: the deterministic house-style check plus the editor agent's yes/no review.

The editor answers four concrete questions, each with a sentence quoted from the draft, and lists
fixes that quote the draft. Code, not the model's mood, turns that into a score (``verify``): a
"yes" counts only when its quote is in the draft, and a fix whose quote is not in the draft is
dropped. The decision (``decide``) publishes when the deterministic gate passes (no critical or
high violation) and, with ``llm_review`` on, the editor's score reaches ``min_editor_score``;
otherwise the draft goes back while the revision budget lasts, then it is rejected (or stops as
``needs_revision`` when the budget is zero). A degenerate draft never passes the gate, whatever the
editor says.
"""

from __future__ import annotations

import re
from typing import Any

from newsroom.crews import run_task
from newsroom.stages.context import StageContext
from newsroom.stages.models import CHECKS, Brief, CheckResult, EditorReview, Fix, GateRound, Review
from newsroom.style.checker import check_text
from newsroom.style.hits import CheckContext
from newsroom.style.repetition import similarity, split_sentences, words

MAX_NOTES = 6
DRAFT_CHARS = 4000  # the editor reads the body up to here (about 900 words; prompt tokens are slow)
REVISION_HEADER = "This part was sent back. Write it again and change this:"


def sections(markdown: str) -> list[str]:
    """The body split at ``##`` headings (front matter and References left out)."""
    body = re.sub(r"\A---\n.*?\n---\n", "", markdown, flags=re.DOTALL)
    parts = [p.strip() for p in re.split(r"^##\s+", body, flags=re.MULTILINE) if p.strip()]
    return [p for p in parts if not p.lower().startswith(("references", "sources"))]


def quoted_in(quote: str, text: str, min_words: int = 4, fuzzy: float = 0.85) -> bool:
    """Whether ``quote`` is words of ``text``: word for word, or one sentence nearly so."""
    needle = words(quote)
    if len(needle) < min_words:
        return False
    haystack = " " + " ".join(words(text)) + " "
    if " " + " ".join(needle) + " " in haystack:
        return True
    return any(similarity(needle, words(s)) >= fuzzy for s in split_sentences(text))


def verify(raw: EditorReview, draft: str) -> Review:
    """Score the editor's answers against the draft itself (see the module docstring)."""
    checks = []
    for name in CHECKS:
        answer = getattr(raw, name)
        found = quoted_in(answer.quote, draft)
        checks.append(CheckResult(name=name, answer=answer.answer, quote=answer.quote, quote_found=found,
                                  passed=answer.answer == "yes" and found))
    kept = [f for f in raw.required_fixes if quoted_in(f.quote, draft)]
    dropped = [f for f in raw.required_fixes if f not in kept]
    return Review(checks=checks, required_fixes=kept, dropped_fixes=dropped,
                  score=round(sum(c.passed for c in checks) / len(checks), 3))


def decide(gate_passed: bool, score: float | None, min_score: float, revision: int, max_revisions: int) -> str:
    if gate_passed and (score is None or score >= min_score):
        return "publish"
    if revision < max_revisions:
        return "revise"
    return "reject" if max_revisions > 0 else "stop"


def _reasons(violations: list[dict[str, Any]], review: Review | None, min_score: float) -> list[str]:
    reasons = [f"{v['severity']} {v['rule_id']} (line {v['line']}): {v['message']}"
               for v in violations if v["severity"] in ("critical", "high")]
    if review is not None and review.score < min_score:
        failed = ", ".join(c.name for c in review.checks if not c.passed)
        reasons.append(f"editor score {review.score} is below {min_score} (failed: {failed})")
    return reasons


def _thesis_clause(thesis: str) -> str:
    clause = thesis.strip().rstrip(".!?")
    return clause[:1].lower() + clause[1:] if clause[:2] != clause[:2].upper() else clause


def check_context(ctx: StageContext, topic: str, brief: Brief) -> CheckContext:
    """What the gate compares a draft with: the run's prompts, the pack's exemplars and the brief."""
    return CheckContext(prompts=(*ctx.prompts, REVISION_HEADER), exemplars=None,
                        topic=f"{topic}. {brief.title}. {brief.thesis}", similarity=ctx.similarity)


def review(ctx: StageContext, markdown: str, brief: Brief, revision: int, topic: str = "") -> GateRound:
    """Check and review one draft; returns the round with its decision."""
    result = check_text(markdown, fragment=False, pack=ctx.pack, context=check_context(ctx, topic or brief.title,
                                                                                       brief))
    violations = list(result.as_dict()["violations"])
    checked: Review | None = None
    skipped = None if ctx.flags.get("llm_review", True) else "flag llm_review is off"
    if skipped is None:
        body = "\n\n".join(sections(markdown))
        raw: EditorReview = run_task(ctx.metered, ctx.crews["quality_gate"], "review", {
            "topic": topic or brief.title, "thesis": brief.thesis, "thesis_short": _thesis_clause(brief.thesis),
            "draft": body[:DRAFT_CHARS]})
        checked = verify(raw, body)
    score = checked.score if checked else None
    config = ctx.flow.quality_gate
    max_revisions = ctx.settings.max_revisions if ctx.settings.max_revisions is not None else config.max_revisions
    decision = decide(result.passed, score, config.min_editor_score, revision, max_revisions)
    return GateRound(revision=revision, gate_passed=result.passed, gate_score=result.score,
                     violations=violations, review=checked, review_skipped=skipped, editor_score=score,
                     decision=decision,  # type: ignore[arg-type]
                     reasons=_reasons(violations, checked, config.min_editor_score))


def _section_of_line(markdown: str, line: int) -> int | None:
    """Which section (0-based, in order of the ``##`` headings) holds 1-based ``line``."""
    index = None
    for number, text in enumerate(markdown.splitlines(), start=1):
        if number > line:
            break
        if text.startswith("## "):
            index = 0 if index is None else index + 1
    return index


# Checks that judge the article as a whole: a section cannot be blamed for them.
ARTICLE_CHECKS = frozenset({"word_count", "heading_count", "lexical_diversity", "topic_drift", "title_present",
                            "title_length", "title_full_stop", "title_caps", "title_exclamation",
                            "title_placeholder", "front_matter", "front_matter_present", "front_matter_fields",
                            "front_matter_date", "front_matter_description"})
BLOCKING = ("critical", "high")


def plan_revision(round_: GateRound, markdown: str, bodies: list[str],
                  article_rules: frozenset[str] = frozenset()) -> tuple[list[int], dict[int, str]]:
    """Which sections to write again and what to tell the writer about each.

    A section is redone when a critical or high violation sits in it or an editor's fix quotes it;
    it is then told every violation found in it. When the draft failed for reasons no section owns
    (a rule in ``article_rules``, such as its length, or a failed editor check), every section is
    redone with that reason.
    """
    found: dict[int, list[str]] = {}
    blocking: set[int] = set()
    general: list[str] = []
    for v in round_.violations:
        note = f"{v['message']}. {v['suggestion']}"
        index = None if v["rule_id"] in article_rules else _section_of_line(markdown, v["line"])
        if index is None or index >= len(bodies):
            if v["severity"] in BLOCKING:
                general.append(note)
            continue
        found.setdefault(index, []).append(note)
        if v["severity"] in BLOCKING:
            blocking.add(index)
    for fix in round_.review.required_fixes if round_.review else []:
        for index, body in enumerate(bodies):
            if quoted_in(fix.quote, body):
                found.setdefault(index, []).insert(0, f"'{fix.quote}': {fix.problem}. {fix.fix}")
                blocking.add(index)
                break
    if round_.review is not None and not blocking and not general:
        failed = [c.name for c in round_.review.checks if not c.passed]
        if failed:
            general.append(f"The editor found the draft lacking ({', '.join(failed)}); make every paragraph "
                           "specific and about the argument.")
    todo = sorted(blocking | (set(range(len(bodies))) if general else set()))
    notes = {i: "\n".join([REVISION_HEADER, *(f"- {p}" for p in (general + found.get(i, []))[:MAX_NOTES])])
             for i in todo}
    return todo, notes

__all__ = ["Fix", "decide", "plan_revision", "review", "sections", "verify"]
