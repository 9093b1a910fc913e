"""Quality gate: the deterministic house-style check plus the editor agent's yes/no review.

The editor reads the draft with its sentences numbered, answers four concrete yes/no questions,
each citing the sentence that shows the answer, and lists fixes, each citing the sentence to fix.
Code quotes the cited sentences and, not the model's mood, turns the answers into a score
(``verify``): a "yes" counts only when its sentence exists and supports it (it names a place or
person for ``specific``; it is not itself repeated for ``new_points``; the draft is close to the
topic for ``on_topic``, and the draft and the sentence's paragraph to the thesis for
``makes_argument``, by MiniLM); a fix citing no sentence of the draft, or changing nothing, is
dropped. The decision (``decide``) publishes when the deterministic gate passes (no critical or
high violation) and, with ``llm_review`` on, the editor's score reaches ``min_editor_score``;
otherwise the draft goes back while the revision budget lasts, then it is rejected (or stops as
``needs_revision`` when the budget is zero). A degenerate draft never passes the gate, whatever the
editor says.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from newsroom.crews import run_task
from newsroom.stages.context import StageContext
from newsroom.stages.generate import REVISION_HEADER
from newsroom.stages.models import (
    CHECKS,
    Brief,
    CheckResult,
    EditorReview,
    Fix,
    GateRound,
    QuotedFix,
    Review,
    Source,
)
from newsroom.style.checker import check_text
from newsroom.style.hits import CheckContext
from newsroom.style.repetition import similarity, split_sentences, words

MAX_NOTES = 6
DRAFT_CHARS = 4000  # the editor reads the body up to here (about 900 words; prompt tokens are slow)


def sections(markdown: str) -> list[str]:
    """The body split at ``##`` headings (front matter and References left out)."""
    body = re.sub(r"\A---\n.*?\n---\n", "", markdown, flags=re.DOTALL)
    parts = [p.strip() for p in re.split(r"^##\s+", body, flags=re.MULTILINE) if p.strip()]
    return [p for p in parts if not p.lower().startswith(("references", "sources"))]


def body_for_review(markdown: str) -> str:
    """The sections as the editor reads them: each under its ``##`` heading."""
    return "\n\n".join(f"## {part}" if "\n" in part else part for part in sections(markdown))


def quoted_in(quote: str, text: str, min_words: int = 4, fuzzy: float = 0.85) -> bool:
    """Whether ``quote`` is words of ``text``: word for word, or one sentence nearly so."""
    needle = words(quote)
    if len(needle) < min_words:
        return False
    haystack = " " + " ".join(words(text)) + " "
    if " " + " ".join(needle) + " " in haystack:
        return True
    return any(similarity_of(needle_s, quote) >= fuzzy for needle_s in split_sentences(text))


def numbered(draft: str) -> tuple[str, list[tuple[str, str]]]:
    """The draft with every sentence numbered ``[n]`` (paragraphs and ``##`` headings kept, headings
    unnumbered), and each sentence in order with the paragraph it belongs to."""
    sentences: list[tuple[str, str]] = []
    paragraphs = []
    for paragraph in re.split(r"\n\s*\n", draft.strip()):
        if paragraph.startswith("## "):
            paragraphs.append(paragraph)
            continue
        marked = []
        for sentence in split_sentences(paragraph):
            sentences.append((sentence, paragraph))
            marked.append(f"[{len(sentences)}] {sentence}")
        if marked:
            paragraphs.append(" ".join(marked))
    return "\n\n".join(paragraphs), sentences


_CAPITALISED = re.compile(r"\b[A-Z][a-zA-Z'’-]*[a-zA-Z]|\b(?:1[89]|20)\d\d\b")
# MiniLM cosine thresholds, set on tests/fixtures/editor: clean sections score 0.42-0.75 to their own
# topic and at most 0.35 to another's (bench/degeneration.md); tests/integration/test_editor_discriminates.py
# holds the editor to them on the default model in CI.
TOPIC_EVIDENCE = 0.3     # the draft to its topic; a cited paragraph to the thesis
ARGUMENT_EVIDENCE = 0.4  # the draft to its thesis
_COMMON = frozenset("""a an the this that these those it its there here when while what which who why how if in on
    at by for from to of with as after before since until but and or so yet not no one some many most all each
    every both few more less our their his her my your we they he she i you""".split())


def _stem(word: str) -> str:
    return re.sub(r"['’]s$", "", word)


def names(text: str) -> set[str]:
    """Words capitalised inside a sentence somewhere in ``text``: its names (Harrowgate, Britain, IMF)."""
    return {_stem(m.group()) for sentence in split_sentences(text) for m in _CAPITALISED.finditer(sentence)
            if m.start() > 0 and not m.group()[0].isdigit() and m.group().lower() not in _COMMON}


def names_something(sentence: str, known: set[str]) -> bool:
    """Whether a sentence names a place, person, organisation, event or year: a capitalised word
    inside it, a year, or an opening word the text capitalises elsewhere too (``known``)."""
    for match in _CAPITALISED.finditer(sentence):
        word = match.group()
        if word.lower() in _COMMON:
            continue
        if word[0].isdigit() or match.start() > 0 or _stem(word) in known or word.endswith(("'s", "’s")):
            return True
    return False


def similarity_of(a: str, b: str) -> float:
    return similarity(words(a), words(b))


def _evidence(name: str, cited: tuple[str, str] | None, draft: str, sentences: list[tuple[str, str]], *,
              topic: str, thesis: str, semantic: Callable[[str, str], float] | None) -> str | None:
    """Why the cited sentence does not support a "yes" to check ``name``, or None when it does."""
    if cited is None:
        return "it cites no sentence of the draft"
    quote, paragraph = cited
    if name == "specific" and not names_something(quote, names(draft)):
        return "the sentence names no place, person, organisation, event or year"
    if name == "new_points" and sum(1 for s, _ in sentences if similarity_of(s, quote) >= 0.8) > 1:
        return "the sentence itself is repeated in the draft"
    if semantic is None:
        return None
    # One sentence is thin evidence (measured): the topic is judged on the draft, the argument on the
    # cited sentence's paragraph.
    if name == "on_topic" and semantic(draft, topic) < TOPIC_EVIDENCE:
        return "the draft is far from the topic"
    if name == "makes_argument" and semantic(draft, thesis) < ARGUMENT_EVIDENCE:
        return "the draft is far from the argument"
    if name == "makes_argument" and semantic(paragraph, thesis) < TOPIC_EVIDENCE:
        return "the sentence's paragraph is far from the argument"
    return None


def verify(raw: EditorReview, draft: str, *, topic: str = "", thesis: str = "",
           semantic: Callable[[str, str], float] | None = None) -> Review:
    """Quote the cited sentences and score the answers against the draft (see the module docstring)."""
    _, sentences = numbered(draft)

    def cite(number: int) -> tuple[str, str] | None:
        return sentences[number - 1] if 1 <= number <= len(sentences) else None

    checks = []
    for name in CHECKS:
        answer = getattr(raw, name)
        cited = cite(answer.sentence)
        problem = _evidence(name, cited, draft, sentences, topic=topic, thesis=thesis, semantic=semantic)
        checks.append(CheckResult(name=name, answer=answer.answer, sentence=answer.sentence,
                                  quote=cited[0] if cited else "", evidence=problem,
                                  passed=answer.answer == "yes" and problem is None))
    kept, dropped = [], []
    for fix in raw.required_fixes:
        cited = cite(fix.sentence)
        if cited and similarity_of(cited[0], fix.fix) < 0.9:  # it cites a sentence, and changes it
            kept.append(QuotedFix(sentence=fix.sentence, quote=cited[0], problem=fix.problem, fix=fix.fix))
        else:
            dropped.append(fix)
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


def check_context(ctx: StageContext, topic: str, brief: Brief, cited: list[Source],
                  sources: list[Source]) -> CheckContext:
    """What the gate compares a draft with: the run's prompts, the pack's exemplars, the brief, and
    the sources (``cited`` in the article's numbering; every source and brief fact as evidence)."""
    return CheckContext(prompts=(*ctx.prompts, REVISION_HEADER), exemplars=None,
                        topic=f"{topic}. {brief.title}. {brief.thesis}", similarity=ctx.similarity,
                        sources=tuple((s.title, s.text) for s in cited),
                        evidence=tuple(s.text for s in sources) + tuple(brief.key_facts))


def editor(ctx: StageContext, body: str, topic: str, thesis: str) -> Review:
    """The editor agent's answers about ``body``, checked against it."""
    marked, _ = numbered(body[:DRAFT_CHARS])
    raw: EditorReview = run_task(ctx.metered, ctx.crews["quality_gate"], "review", {
        "topic": topic, "thesis": thesis, "thesis_short": _thesis_clause(thesis), "draft": marked})
    return verify(raw, body[:DRAFT_CHARS], topic=topic, thesis=thesis, semantic=ctx.similarity)


def review(ctx: StageContext, markdown: str, brief: Brief, revision: int, topic: str = "",
           cited: list[Source] | None = None, sources: list[Source] | None = None) -> GateRound:
    """Check and review one draft; returns the round with its decision."""
    context = check_context(ctx, topic or brief.title, brief, cited or [], sources or [])
    result = check_text(markdown, fragment=False, pack=ctx.pack, context=context)
    violations = list(result.as_dict()["violations"])
    checked: Review | None = None
    skipped = None if ctx.flags.get("llm_review", True) else "flag llm_review is off"
    if skipped is None:
        checked = editor(ctx, body_for_review(markdown), topic or brief.title, brief.thesis)
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

    A section is redone when a critical or high violation sits in it or an editor's fix cites it;
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
