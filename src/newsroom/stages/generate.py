"""Generate: the writer drafts each section of the brief with retrieved house style in context;
pure code assembles the markdown with the front matter the house pack requires."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from newsroom.crews import run_task
from newsroom.stages.context import StageContext
from newsroom.stages.models import Brief, Source

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s.*$", re.MULTILINE)
_ANSWER_PREFIX = re.compile(r"^\s*(final answer|answer|section)\s*:\s*", re.IGNORECASE)


def clean_section(text: str, heading: str) -> str:
    """Tidy one section of model prose: no headings of its own, no echoed heading or answer label."""
    text = _HEADING.sub("", text.replace("\r\n", "\n"))
    text = _ANSWER_PREFIX.sub("", text.strip())
    lines = text.split("\n")
    if lines and lines[0].strip().strip("*\"'").rstrip(":.").lower() == heading.lower():
        lines = lines[1:]
    paragraphs = [re.sub(r"[ \t]+", " ", p).strip() for p in re.split(r"\n\s*\n", "\n".join(lines))]
    return "\n\n".join(p for p in paragraphs if p)


def _yaml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid YAML scalar


def front_matter(brief: Brief, date: str, topic: str) -> str:
    tags = sorted({w for w in re.findall(r"[a-z0-9]+", topic.lower()) if len(w) > 3})[:5]
    return "\n".join([
        "---", "layout: post", f"title: {_yaml_str(brief.title)}", f"date: {date}",
        f"categories: [{_yaml_str(tags[0] if tags else 'news')}]",
        f"tags: [{', '.join(_yaml_str(t) for t in tags)}]",
        f"description: {_yaml_str(brief.description)}", "---", ""])


def references(sources: list[Source]) -> str:
    if not sources:
        return ""
    lines = [f"{i}. {s.title} ({s.path})" for i, s in enumerate(sources, start=1)]
    return "## References\n\n" + "\n".join(lines) + "\n"


def assemble(brief: Brief, bodies: list[str], sources: list[Source], date: str, topic: str) -> str:
    parts = [front_matter(brief, date, topic)]
    for section, body in zip(brief.sections, bodies, strict=True):
        parts.append(f"## {section.heading.strip().rstrip('.:')}\n\n{body}\n")
    refs = references(sources)
    if refs:
        parts.append(refs)
    return "\n".join(parts)


def _facts(brief: Brief) -> str:
    return "; ".join(brief.key_facts) or "(none given: do not invent figures)"


def _style_context(ctx: StageContext, text: str) -> tuple[str, str]:
    config = ctx.flow.generate
    if ctx.style is None:
        return "Lead with a fact; name sources; British spelling; no cliches or hedges.", "(none)"
    rules = ctx.style.rules_for(text, config.style_rules)
    exemplars = ctx.style.exemplars_for(text, config.exemplars)
    rule_text = "\n".join(f"- {r['text'][:240]}" for r in rules) or "Lead with a fact; name sources."
    return rule_text, (exemplars[0]["text"][:700] if exemplars else "(none)")


def draft(ctx: StageContext, topic: str, brief: Brief, sources: list[Source], revision_notes: str = "", *,
          done: list[str] | None = None, on_section: Callable[[str], None] | None = None) -> str:
    """Write every section of ``brief`` and return the whole article as markdown.

    ``done`` holds sections already written (a resumed run starts after them); ``on_section`` is
    told of each new one, so it can be checkpointed before the next call.
    """
    spec = ctx.crews["generate"]
    bodies = list(done or [])
    for section in brief.sections[len(bodies):]:
        rules, exemplar = _style_context(ctx, f"{section.heading}. {' '.join(section.points)}")
        text = run_task(ctx.metered, spec, "section", {
            "title": brief.title, "thesis": brief.thesis, "heading": section.heading,
            "words": ctx.flow.generate.words_per_section, "points": "; ".join(section.points),
            "facts": _facts(brief), "rules": rules, "exemplar": exemplar,
            "revision_notes": revision_notes})
        bodies.append(clean_section(text, section.heading))
        if on_section is not None:
            on_section(bodies[-1])
    return assemble(brief, bodies, sources, ctx.today(), topic)
