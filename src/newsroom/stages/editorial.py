"""Editorial: a weighted board votes (Borda count), then the commissioning editor writes the brief."""

from __future__ import annotations

import re
from collections.abc import Sequence

from newsroom.crews import AgentSpec, run_task
from newsroom.errors import StageError
from newsroom.stages.context import Persona, StageContext
from newsroom.stages.models import Ballot, Brief, BriefDraft, Candidate, Decision, SectionPlan, Source, Vote
from newsroom.style.figures import find_figures, same_figure
from newsroom.style.repetition import similarity, words

TITLE_MAX = 90
DESCRIPTION_MAX = 160


def tally(ballots: list[Ballot], candidates: list[Candidate]) -> Decision:
    """Weighted Borda count: place p of n earns (n - p) x weight. Ties go to the higher-scored candidate."""
    numbers = [c.number for c in candidates]
    points = dict.fromkeys(numbers, 0.0)
    firsts: dict[str, int | None] = {}
    for ballot in ballots:
        ranking = [n for i, n in enumerate(ballot.ranking) if n in points and n not in ballot.ranking[:i]]
        for place, number in enumerate(ranking):
            points[number] += (len(numbers) - place) * ballot.weight
        firsts[ballot.persona] = ranking[0] if ranking else None
    by_number = {c.number: c for c in candidates}
    winner = max(numbers, key=lambda n: (points[n], by_number[n].score, -n))
    total_weight = sum(b.weight for b in ballots) or 1.0
    agreeing = sum(b.weight for b in ballots if firsts[b.persona] == winner)
    dissent = [f"{b.persona} preferred #{firsts[b.persona]}: {b.rationale}"
               for b in ballots if firsts[b.persona] not in (winner, None)]
    rationale = next((b.rationale for b in sorted(ballots, key=lambda b: -b.weight)
                      if firsts[b.persona] == winner), "highest weighted score")
    return Decision(winner=winner, rationale=rationale, dissent=dissent,
                    consensus=round(agreeing / total_weight, 3), tally=points, ballots=ballots)


def describe_candidates(candidates: list[Candidate]) -> str:
    return "\n".join(f"{c.number}. {c.hook} Argument: {c.thesis}" for c in candidates)


def vote(ctx: StageContext, topic: str, candidates: list[Candidate]) -> list[Ballot]:
    """One ballot per board member."""
    spec = ctx.crews["editorial"]
    base = spec.agents[spec.tasks["vote"].agent]
    ballots: list[Ballot] = []
    for persona in ctx.flow.editorial.board:
        agent = AgentSpec(**{**base.model_dump(), "role": persona.role,
                             "goal": f"Pick the angle most worth publishing. {persona.focus}"})
        result: Vote = run_task(ctx.metered, spec, "vote", {
            "topic": topic, "focus": persona.focus, "candidates": describe_candidates(candidates)}, agent=agent)
        ballots.append(Ballot(persona=persona.name, weight=persona.weight, ranking=result.ranking,
                              rationale=result.rationale))
    return ballots


_LABEL = re.compile(r"^(?:title|headline|heading|thesis|hook|angle|topic|idea)(?:\s+(?:idea\s+)?\d+)?\s*[:.-]\s*",
                    re.IGNORECASE)


_DANGLING = re.compile(r"(?:[\s,;:–-]+(?:and|or|but|nor|of|to|the|a|an|about|with|for|from|in|on|at|by|as|that|"
                       r"which|who|than|its|their|it's|is|are|was|were|be|not|into|because)?)+$", re.IGNORECASE)


def finish_phrase(text: str) -> str:
    """Cut a heading or title cut off mid-phrase back to a complete one ("... justice and" -> "... justice")."""
    previous = None
    while previous != text:
        previous, text = text, _DANGLING.sub("", text).strip()
    return text


def clean_title(text: str, fallback: str) -> str:
    """A usable headline from the editor's title idea: no quotes, labels ("Title 1: ..."), final
    punctuation, shouting or dangling last word; ``fallback`` when nothing usable is left."""
    title = re.sub(r"\s+", " ", text).strip().strip("\"'“”*#").strip()
    title = _LABEL.sub("", title).strip().strip("\"'“”*")
    title = title.rstrip(".!?:;,").replace("!", "")
    if len(title) > TITLE_MAX:
        title = title[:TITLE_MAX].rsplit(" ", 1)[0]
    title = finish_phrase(title)
    if not title or title.isupper() and len(title) > 4 or re.search(r"[\[\]{}<>]", title):
        title = fallback
    return title


def clip(text: str, limit: int) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"


# Headings that name a part of an essay rather than what it says; a small model writes one generic
# "Introduction" that clears its throat and a "Conclusion" that only sums up.
GENERIC_HEADINGS = re.compile(r"^(?:introduction|conclusions?|summary|overview|background|final thoughts|"
                              r"closing thoughts|the bottom line|wrap-?up)\b", re.IGNORECASE)


# Headings that are the brief's own field names or a bare label: the model filled in its form, and
# a section headed "Sources" was written about the notes instead of from them.
FIELD_HEADINGS = re.compile(r"^(?:thesis|argument|arguments|sources?|evidence|key facts?|facts|points?|heading|"
                            r"title|brief|outline|(?:section|part) (?:\d+|one|two|three|four|five))$", re.IGNORECASE)


def heading_from(point: str, limit: int = 60) -> str:
    """A heading made from a section's point: the whole point when it fits, else its longest run of
    whole clauses (cut at a comma, semicolon or dash) that fits, else whole words."""
    point = finish_phrase(re.sub(r"\s+", " ", point).strip().rstrip("."))
    if len(point) <= limit:
        return point
    cuts = [m.start() for m in re.finditer(r"\s*[,;:–—]\s", point) if 3 <= m.start() <= limit]
    if cuts:
        return finish_phrase(point[:cuts[-1]])
    return finish_phrase(clip(point, limit).rstrip("…"))


def _distinct_sections(sections: list[SectionPlan], title: str,
                       source_titles: Sequence[str] = ()) -> list[SectionPlan]:
    """Headings finished as phrases; a section whose heading repeats the title or an earlier heading,
    is a field name ("Thesis", "Sources") or a source's title ("Interview notes: ..."), takes its
    first point as its heading, or goes when that repeats too."""
    kept: list[SectionPlan] = []
    seen = [words(title)]
    notes = [words(t) for t in source_titles]

    def repeats_seen(text: str) -> bool:
        return any(similarity(words(text), other) >= 0.8 for other in seen)

    limit = SectionPlan.model_fields["heading"].metadata[0].max_length
    for section in sections:
        heading = section.heading.strip()
        if len(heading) >= limit and " " in heading:  # the JSON grammar stopped it mid-word: drop the piece
            heading = heading.rsplit(" ", 1)[0]
        heading = finish_phrase(heading.rstrip(".:"))
        if (not heading or repeats_seen(heading) or FIELD_HEADINGS.match(heading)
                or any(similarity(words(heading), note) >= 0.8 for note in notes)):
            heading = heading_from(section.points[0])
        if heading and not repeats_seen(heading):
            kept.append(section.model_copy(update={"heading": heading}))
            seen.append(words(heading))
    return kept or sections


def grounded_facts(facts: list[str], sources: list[Source]) -> list[str]:
    """The brief's key facts whose every figure is in a source (with no sources, none: a model's own
    "facts" are where invented figures come from)."""
    if not sources:
        return []
    known = [f for s in sources for f in find_figures(s.text)]
    return [fact for fact in facts if all(any(same_figure(f, k) for k in known) for f in find_figures(fact))]


_LEAD_IN = re.compile(r"(?:\s+(?:by|of|to|at|around|about|nearly|almost|roughly|over|some)"
                      r"(?:\s+(?:up\s+to|around|about|nearly|almost|roughly|more\s+than|as\s+much\s+as))?)?\s*$",
                      re.IGNORECASE)


def drop_ungrounded_figures(text: str, sources: list[Source]) -> str:
    """``text`` without the figures no source holds. A thesis or title is the writer's brief: a figure
    the model made up there ends up in the article. A figure led in by a small word goes with it
    ("rose by up to 20%" -> "rose"); any other takes its clause with it; "" when nothing is left."""
    known = [f for s in sources for f in find_figures(s.text)]
    if all(any(same_figure(f, k) for k in known) for f in find_figures(text)):
        return text
    end_mark = text.rstrip()[-1:] if text.rstrip()[-1:] in ".!?" else ""
    for figure in sorted(find_figures(text), key=lambda f: f.start, reverse=True):
        if any(same_figure(figure, k) for k in known):
            continue
        lead = _LEAD_IN.search(text, 0, figure.start)
        if lead is not None and lead.group().strip():
            text = text[:lead.start()] + text[figure.end:]
            continue
        before = max(text.rfind(",", 0, figure.start), text.rfind(";", 0, figure.start))
        after = min([i for i in (text.find(",", figure.end), text.find(";", figure.end)) if i >= 0] or [len(text)])
        text = text[:before] + text[after:] if before >= 0 else text[after + 1:]
    text = re.sub(r"\s+([,.;:!?])", r"\1", re.sub(r"\s{2,}", " ", text)).strip(" ,;")
    text = re.sub(r"[,;]+([.!?])$", r"\1", text)
    if len(words(text)) < 3:
        return ""
    return text if text[-1:] in ".!?" else text + end_mark


def first_sentence(text: str) -> str:
    """The first sentence of ``text`` (a thesis is one sentence; a cut-off second one is dropped)."""
    text = re.sub(r"\s+", " ", text).strip()
    match = re.match(r"(.+?[.!?])(?:\s|$)", text)
    return match.group(1) if match else text


def to_brief(draft: BriefDraft, thesis: str, topic: str, sources: list[Source], max_sections: int,
             min_sections: int = 2) -> Brief:
    """The brief as the writer gets it. Without sources its key facts are dropped: a model's own
    "facts" are where invented figures come from. Generic sections ("Introduction") go when enough
    specific ones remain."""
    fallback = topic.strip()[:1].upper() + topic.strip()[1:]
    ideas = [clean_title(drop_ungrounded_figures(t, sources), "") for t in draft.title_ideas]
    title = next((t for t in ideas if t), fallback)
    facts = grounded_facts(draft.key_facts, sources)
    sections = _distinct_sections(draft.sections, title, [s.title for s in sources])
    specific = [s for s in sections if not GENERIC_HEADINGS.match(s.heading.strip())]
    sections = specific if len(specific) >= min_sections else sections
    thesis = drop_ungrounded_figures(first_sentence(thesis), sources) or fallback
    return Brief(**{**draft.model_dump(), "sections": sections[:max_sections], "key_facts": facts},
                 thesis=thesis, title=title, description=clip(thesis or topic, DESCRIPTION_MAX),
                 sources=[s.id for s in sources])


def format_sources(sources: list[Source], limit: int = 600) -> str:
    if not sources:
        return ""
    return "Sources:\n" + "\n".join(f"[{s.id}] {s.title}: {s.text[:limit]}" for s in sources)


def write_brief(ctx: StageContext, topic: str, winner: Candidate, sources: list[Source]) -> Brief:
    config = ctx.flow.editorial
    facts = ("up to four facts taken from the sources, each naming its source" if sources
             else "leave this list empty (no sources were given)")
    draft: BriefDraft = run_task(ctx.metered, ctx.crews["editorial"], "brief", {
        "topic": topic, "hook": winner.hook, "thesis": winner.thesis, "sources": format_sources(sources),
        "min_sections": config.min_sections, "max_sections": config.max_sections, "facts_instruction": facts})
    return to_brief(draft, winner.thesis, topic, sources, config.max_sections, config.min_sections)


def editorial(ctx: StageContext, topic: str, candidates: list[Candidate], sources: list[Source]
              ) -> tuple[Decision, Brief]:
    if not candidates:
        raise StageError("no candidate angles survived discovery", stage="editorial")
    decision = tally(vote(ctx, topic, candidates), candidates)
    winner = next(c for c in candidates if c.number == decision.winner)
    return decision, write_brief(ctx, topic, winner, sources)


__all__ = ["Persona", "editorial", "tally", "to_brief", "clean_title", "clip"]
