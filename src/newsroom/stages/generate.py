"""Generate: the writer drafts each section of the brief; code judges every draft before it joins the
article (``stages/sections.py``) and asks again, with another seed, when a small model degenerates.
Pure code assembles the markdown with the front matter the house pack requires.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from newsroom.crews import AgentSpec, run_task_detail
from newsroom.stages.context import StageContext
from newsroom.stages.models import Brief, SectionPlan, Source
from newsroom.stages.research import Chunk, format_chunks
from newsroom.stages.sections import (
    References,
    clean_section,
    cut_sentences,
    drop_pasted_sources,
    drop_repeats,
    fit_length,
    judge,
    tidy,
)
from newsroom.style.checker import Violation, check_text, respell
from newsroom.style.citations import references, renumber
from newsroom.style.figures import find_figures, same_figure
from newsroom.style.grounding import cite_figures
from newsroom.style.hits import CheckContext
from newsroom.style.repetition import ends_mid_sentence, ngram_index, trim_to_sentence

NO_FIGURES = "Use no figures: no numbers, percentages or sums of money."
REVISION_HEADER = "This part was sent back. Write it again and change this:"


@dataclass(frozen=True)
class Ask:
    """What one section call asks for: words, paragraphs and the token room to finish them."""

    words: int
    paragraphs: int
    max_tokens: int


@dataclass
class SectionLog:
    """How a section came to be: one entry per attempt, with the problems that sent it back."""

    heading: str
    attempts: list[dict[str, Any]] = field(default_factory=list)
    accepted: int = 0  # index of the attempt that was kept
    trimmed: bool = False  # its unfinished ending was cut back to the last whole sentence
    cuts: list[str] = field(default_factory=list)  # what the last resort cut from it
    problems: list[str] = field(default_factory=list)  # what was still wrong with the kept draft

    def as_dict(self) -> dict[str, Any]:
        return {"heading": self.heading, "attempts": self.attempts, "accepted": self.accepted,
                "trimmed": self.trimmed, "cuts": self.cuts, "problems": self.problems}


def plan(ctx: StageContext, n_sections: int) -> Ask:
    config = ctx.flow.generate
    agent = ctx.crews["generate"].agents[ctx.crews["generate"].tasks["section"].agent]
    words = math.ceil(config.article_words / max(1, n_sections))
    paragraphs = max(2, round(words / config.words_per_paragraph))
    return Ask(words, paragraphs, min(agent.max_tokens, math.ceil(words * config.tokens_per_word)))


def _yaml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid YAML scalar


def front_matter(brief: Brief, date: str, topic: str) -> str:
    tags = sorted({w for w in re.findall(r"[a-z0-9]+", topic.lower()) if len(w) > 3})[:5]
    return "\n".join([
        "---", "layout: post", f"title: {_yaml_str(brief.title)}", f"date: {date}",
        f"categories: [{_yaml_str(tags[0] if tags else 'news')}]",
        f"tags: [{', '.join(_yaml_str(t) for t in tags)}]",
        f"description: {_yaml_str(brief.description)}", "---", ""])


def cited_sources(bodies: list[str], sources: list[Source]) -> tuple[list[str], list[Source]]:
    """The bodies with their citations numbered in order of first citation, and the sources they
    cite in that order (exactly those: an uncited source is not listed)."""
    renumbered, order = renumber(bodies, len(sources))
    return renumbered, [sources[n - 1] for n in order]


def assemble(brief: Brief, bodies: list[str], sources: list[Source], date: str, topic: str) -> str:
    """The article: front matter, the sections, and References listing exactly the cited sources."""
    bodies, cited = cited_sources(bodies, sources)
    parts = [front_matter(brief, date, topic)]
    for section, body in zip(brief.sections, bodies, strict=False):
        parts.append(f"## {section.heading.strip().rstrip('.:')}\n\n{body}\n")
    refs = references([(s.title, s.path) for s in cited])
    if refs:
        parts.append(refs)
    return "\n".join(parts)


def facts_line(brief: Brief, has_sources: bool) -> str:
    if has_sources:
        facts = f" Facts you may also use: {'; '.join(brief.key_facts)}." if brief.key_facts else ""
        return ("Take every figure from the sources below, and put the source's number in brackets after each "
                f"claim taken from it, like [2].{facts}")
    return NO_FIGURES


def stated_in(others: list[str]) -> Callable[[Chunk], bool]:
    """Whether other sections already state a chunk: at least half of its figures, or half of its
    word trigrams. A small model restates whatever its prompt holds, so a stated chunk is left out.
    The other sections are read once, not once per chunk."""
    stated = [f for body in others for f in find_figures(body)]
    grams = ngram_index(others, 3)

    def stated_chunk(chunk: Chunk) -> bool:
        figures = find_figures(chunk.text)
        found = sum(1 for f in figures if any(same_figure(f, g) for g in stated))
        if figures and 2 * found >= len(figures):
            return True
        trigrams = ngram_index([chunk.text], 3)
        return bool(trigrams) and 2 * len(trigrams & grams) >= len(trigrams)

    return stated_chunk


def reported(chunk: Chunk, others: list[str]) -> bool:
    return stated_in(others)(chunk)


def sources_block(ctx: StageContext, query: str, sections: int, others: list[str]) -> str:
    """The section's share of the source chunks (all of them over all the sections, at most
    ``source_chunks`` each), best first among those no other section states yet; when every chunk is
    stated, the single best one, since a section given nothing invents its figures."""
    if ctx.research is None or not ctx.research.sources:
        return ""
    share = min(ctx.flow.generate.source_chunks, math.ceil(len(ctx.research.chunks) / max(sections, 1)))
    chunks = ctx.research.search(query, share, skip=stated_in(others)) or ctx.research.search(query, 1)
    return "Sources:\n" + format_chunks(chunks) if chunks else ""


def _rules(ctx: StageContext, text: str) -> str:
    k = ctx.flow.generate.style_rules
    if ctx.style is None or k == 0:
        return ""
    hits = ctx.style.rules_for(text, k)
    return " ".join(h["text"].split(". ")[0].rstrip(".")[:160] + "." for h in hits)


def house_violations(ctx: StageContext, text: str) -> list[Violation]:
    """What the gate would block in this text on its own (critical and high text-level rules), its
    figures and citations checked against every source in their own numbering."""
    sources = tuple((s.title, s.text) for s in (ctx.research.sources if ctx.research else []))
    context = CheckContext(prompts=(*ctx.prompts, REVISION_HEADER), sources=sources)
    result = check_text(text, fragment=True, pack=ctx.pack, context=context)
    return [v for v in result.violations if v.severity in ("critical", "high")]


def house_problems(ctx: StageContext, text: str) -> list[str]:
    return [f"{v.message} ('{v.excerpt}'): {v.suggestion}" for v in house_violations(ctx, text)]


def _seed(execution_id: str, index: int, revision: int, attempt: int) -> int:
    digest = hashlib.sha256(f"{execution_id}:{index}:{revision}:{attempt}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % (2**31 - 1)


@dataclass
class Section:
    """One section being written: what it asks for, and how its drafts are judged."""

    ctx: StageContext
    brief: Brief
    index: int
    ask: Ask
    earlier: list[str]
    refs: References

    def judge(self, body: str, finish: str | None = "stop") -> list[str]:
        plan_ = self.brief.sections[self.index]
        return judge(body, words_asked=self.ask.words, finish_reason=finish, earlier=self.earlier, refs=self.refs,
                     limits=self.ctx.flow.generate.degeneration, similarity=self.ctx.similarity,
                     about=f"{self.brief.title}. {plan_.heading}. {'; '.join(plan_.points)}",
                     house=lambda text: house_problems(self.ctx, text))

    def faulty(self, sentence: str) -> bool:
        """A sentence the gate would block on its own: an invented figure, a vague attribution, a cliché."""
        return bool(house_violations(self.ctx, sentence))

    def last_resort(self, body: str, problems: list[str], log: SectionLog) -> tuple[str, list[str]]:
        """Cut what can be cut rather than publish it: faulty sentences, paragraphs past the length,
        an unfinished ending. Kept only when it leaves fewer problems."""
        limits = self.ctx.flow.generate.degeneration
        cut, repeated = drop_repeats(body, self.earlier, limits.near_duplicate)
        cut, removed = cut_sentences(cut, self.faulty)
        removed += repeated
        cut, dropped = fit_length(cut, int(limits.max_words_share * self.ask.words))
        if ends_mid_sentence(cut):
            cut, log.trimmed = trim_to_sentence(cut), True
        after = self.judge(cut)
        if (removed or dropped or log.trimmed) and len(after) < len(problems):
            log.cuts += [f"{removed} faulty or repeated sentence(s)"] * bool(removed) + [
                f"{dropped} paragraph(s) past the length"] * bool(dropped)
            return cut, after
        return body, problems


def write_section(ctx: StageContext, brief: Brief, index: int, *, earlier: list[str], refs: References,
                  notes: str = "", revision: int = 0) -> tuple[str, SectionLog]:
    """Draft section ``index`` until it passes ``judge`` or the attempts run out; keep the best draft."""
    config = ctx.flow.generate
    plan_: SectionPlan = brief.sections[index]
    section = Section(ctx, brief, index, plan(ctx, len(brief.sections)), earlier, refs)
    spec = ctx.crews["generate"]
    base = spec.agents[spec.tasks["section"].agent]
    agent = AgentSpec(**{**base.model_dump(), "max_tokens": section.ask.max_tokens})
    points = "; ".join(plan_.points)
    others = [f'"{s.heading}"' for i, s in enumerate(brief.sections) if i != index]
    sources = sources_block(ctx, f"{plan_.heading}. {points}", len(brief.sections), earlier)
    values = {"title": brief.title, "thesis": brief.thesis, "heading": plan_.heading, "points": points,
              "others": "the other parts cover " + ", ".join(others) if others else "it is the whole article",
              "facts": facts_line(brief, bool(sources)), "sources": sources,
              "rules": _rules(ctx, f"{plan_.heading}. {points}"),
              "words": section.ask.words, "paragraphs": section.ask.paragraphs, "revision_notes": notes}
    log = SectionLog(plan_.heading)
    notes_text = [s.text for s in ctx.research.sources] if ctx.research else []
    titles = [s.title for s in ctx.research.sources] if ctx.research else []
    drafts: list[tuple[str, list[str]]] = []
    for attempt in range(config.max_attempts):
        run = run_task_detail(ctx.metered, spec, "section", values, agent=agent,
                              seed=_seed(ctx.metered.execution_id, index, revision, attempt))
        body, cuts = tidy(clean_section(str(run.output), plan_.heading))
        body, pasted = drop_pasted_sources(body, titles)
        cuts += ["a pasted source note"] * pasted
        body, respelt = respell(body, pack=ctx.pack)  # the house spellings, as a sub-editor would fix them
        body, cited = cite_figures(body, notes_text) if notes_text else (body, [])
        finish = run.completion.finish_reason if run.completion else None
        problems = section.judge(body, finish)
        log.attempts.append({"words": len(body.split()), "finish_reason": finish, "problems": problems,
                             "tidied": cuts, "respelt": respelt, "cited": cited})
        drafts.append((body, problems))
        if not problems:
            break
        # The next attempt is told what was wrong with this one (and drawn with another seed).
        values["revision_notes"] = "\n".join([notes, REVISION_HEADER, *(f"- {p}" for p in problems[:4])]).strip()
    # The draft with the fewest problems (the earliest among equals) is kept.
    log.accepted = min(range(len(drafts)), key=lambda i: len(drafts[i][1]))
    body, problems = drafts[log.accepted]
    if problems:
        body, problems = section.last_resort(body, problems, log)
    log.problems = problems
    if problems:
        ctx.notes.append(f"section {plan_.heading!r}: kept attempt {log.accepted + 1} of {len(log.attempts)} "
                         f"with problems: {'; '.join(problems)}")
    return body, log


def draft(ctx: StageContext, brief: Brief, bodies: list[str], todo: list[int], *, notes: dict[int, str],
          revision: int = 0, on_section: Callable[[int, str, SectionLog], None] | None = None) -> list[str]:
    """(Re)write the sections in ``todo`` and return every section's body.

    ``bodies`` holds the current text of each section ('' for one not written yet); ``on_section``
    is told of each new one.
    """
    config = ctx.flow.generate
    exemplars = [e["text"] for e in ctx.style.exemplars_for(brief.thesis, config.exemplars)] \
        if ctx.style is not None and config.exemplars else []
    pack_exemplars = [e.text for e in ctx.pack.exemplars] if ctx.pack is not None else []
    refs = References.build(ctx.prompts, exemplars + pack_exemplars, config.degeneration)
    bodies = list(bodies) + [""] * (len(brief.sections) - len(bodies))
    for index in todo:
        earlier = [b for i, b in enumerate(bodies) if b and i != index]
        bodies[index], log = write_section(ctx, brief, index, earlier=earlier, refs=refs,
                                           notes=notes.get(index, ""), revision=revision)
        if on_section is not None:
            on_section(index, bodies[index], log)
    return bodies

