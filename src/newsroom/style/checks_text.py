"""Named checks for degenerate text, the failures of a small model: loops, near-duplicate sentences,
low lexical diversity, an unfinished ending, prompt text echoed back and exemplar text copied.

They read the prose as written (``doc.text`` over the body's prose blocks), split into units:
sentences, and lines that begin with a capital within a paragraph (a looping "X: Y" line has no
full stop to split on). ``params`` of each rule set its thresholds (see ``knowledge/rules``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from newsroom.style.hits import Hit
from newsroom.style.markdown import Document
from newsroom.style.repetition import (
    copied_runs,
    distinct_ratio,
    ends_mid_sentence,
    ngram_index,
    repeats,
    words,
)

if TYPE_CHECKING:
    from newsroom.style.pack import Rule

MAX_HITS = 5  # per rule: a loop of 60 lines is reported as 5 findings, each saying how many there are
_NEW_LINE_UNIT = re.compile(r"\n(?=[ \t]*[\"'“‘(\[*_]*[A-Z0-9])")


@dataclass(frozen=True)
class Unit:
    start: int
    end: int
    text: str


def units(doc: Document) -> list[Unit]:
    """The body's sentences (and capitalised lines), in order; cached on the document."""
    cached = doc.__dict__.get("_units")
    if cached is not None:
        return list(cached)
    out: list[Unit] = []
    for block in doc.prose_blocks:
        for s, e in doc.sentences(block):
            begin = s
            for m in _NEW_LINE_UNIT.finditer(doc.text, s, e):
                out.append(Unit(begin, m.start(), doc.text[begin:m.start()]))
                begin = m.end()
            out.append(Unit(begin, e, doc.text[begin:e]))
    out = [u for u in out if u.text.strip()]
    doc.__dict__["_units"] = out
    return list(out)


def _repeats(doc: Document, min_words: int, threshold: float) -> list[tuple[Unit, Unit, float]]:
    key = f"_repeats:{min_words}:{threshold}"
    if key not in doc.__dict__:
        found = units(doc)
        doc.__dict__[key] = [(found[r.index], found[r.first], r.ratio)
                             for r in repeats([u.text for u in found], min_words=min_words, threshold=threshold)]
    result: list[tuple[Unit, Unit, float]] = doc.__dict__[key]
    return result


def repeated_words(doc: Document, min_words: int = 6, threshold: float = 0.8) -> int:
    """Words in sentences that repeat or nearly repeat an earlier sentence (the word count leaves them out)."""
    return sum(len(words(u.text)) for u, _, _ in _repeats(doc, min_words, threshold))


def _capped(hits: list[Hit], what: str) -> list[Hit]:
    if len(hits) <= MAX_HITS:
        return hits
    extra = len(hits) - MAX_HITS
    last = hits[MAX_HITS - 1]
    return [*hits[:MAX_HITS - 1], Hit(last.start, last.end, f"{last.message} (and {extra} more {what})")]


def _params(rule: Rule) -> dict[str, Any]:
    return rule.params


def repetition(doc: Document, rule: Rule) -> list[Hit]:
    """A sentence or line that repeats an earlier one word for word."""
    min_words = int(_params(rule).get("min_words", 4))
    hits = [Hit(u.start, u.end, f"repeats line {doc.line_of(first.start)} word for word")
            for u, first, ratio in _repeats(doc, min_words, 1.0) if ratio >= 1.0]
    return _capped(hits, "repeated sentences")


def near_duplicates(doc: Document, rule: Rule) -> list[Hit]:
    """A sentence that is an earlier one with a few words changed."""
    min_words = int(_params(rule).get("min_words", 6))
    threshold = float(_params(rule).get("threshold", 0.8))
    hits = [Hit(u.start, u.end, f"nearly repeats the sentence on line {doc.line_of(first.start)} "
                f"({ratio:.0%} alike)")
            for u, first, ratio in _repeats(doc, min_words, threshold) if ratio < 1.0]
    return _capped(hits, "near-duplicate sentences")


def lexical_diversity(doc: Document, rule: Rule) -> list[Hit]:
    """Too few distinct word trigrams: the text goes round in circles."""
    min_words = int(_params(rule).get("min_words", 120))
    minimum = float(_params(rule).get("min_distinct", 0.8))
    tokens = [t for u in units(doc) for t in words(u.text)]
    if len(tokens) < min_words:
        return []
    ratio = distinct_ratio(tokens, 3)
    if ratio >= minimum:
        return []
    at = doc.prose_blocks[0].start
    return [Hit(at, at, f"only {ratio:.0%} of the body's word trigrams are distinct (at least {minimum:.0%}): "
                "it repeats itself")]


def unfinished(doc: Document, rule: Rule) -> list[Hit]:
    """A paragraph that stops mid-sentence at the end of a section or of the article."""
    hits = []
    blocks = doc.blocks
    for i, block in enumerate(blocks):
        if block.kind != "paragraph" or block not in doc.prose_blocks:
            continue
        following = blocks[i + 1] if i + 1 < len(blocks) else None
        text = doc.text[block.start:block.end].rstrip()
        if following is not None and following.kind == "list" and text.endswith(":"):
            continue  # a lead-in to a list
        if (following is None or following.kind == "heading") and ends_mid_sentence(text):
            tail = " ".join(text.split()[-6:])
            hits.append(Hit(block.end, block.end, f"the section ends mid-sentence: '…{tail}'"))
    return hits


@cache
def _reference(texts: tuple[str, ...], n: int) -> set[tuple[str, ...]]:
    return ngram_index(texts, n)


def _copies(doc: Document, reference: tuple[str, ...], n: int, what: str) -> list[Hit]:
    grams = _reference(reference, n)
    hits = []
    for block in doc.prose_blocks:
        text = doc.text[block.start:block.end]
        for run in copied_runs(text, grams, n):
            hits.append(Hit(block.start, block.end, f"{len(run.split())} words copied from {what}: "
                            f"'{' '.join(run.split()[:16])}{'…' if len(run.split()) > 16 else ''}'"))
    return _capped(hits, "copied runs")


def prompt_echo(doc: Document, rule: Rule) -> list[Hit]:
    """A run of the prompts' own words in the text: the model wrote out its instructions."""
    context = doc.context
    prompts = tuple(getattr(context, "prompts", None) or ())
    return _copies(doc, prompts, int(_params(rule).get("min_words", 6)), "the prompts") if prompts else []


def exemplar_copy(doc: Document, rule: Rule) -> list[Hit]:
    """A run of words copied from a house-style exemplar (given for tone, never to be reused)."""
    context = doc.context
    exemplars = tuple(getattr(context, "exemplars", None) or ())
    return _copies(doc, exemplars, int(_params(rule).get("min_words", 12)), "a style exemplar") if exemplars else []


_CODE = re.compile(r"^ {0,3}(`{3,}|~{3,}).*?^ {0,3}\1[ \t]*$|(`+)(?!`).+?(?<!`)\2(?!`)", re.MULTILINE | re.DOTALL)
_ACTIVE = re.compile(r"""
    <\s*/?\s*(?:script|iframe|object|embed|style|form|input|button|svg|math|link|meta|base|img|video|audio|
                source|frame|frameset|applet|template|textarea|select)\b[^>]*>?   # tags that run, load or post
  | <[a-z][^>]*?\bon[a-z]{3,}\s*=                                                # an inline event handler
  | \]\(\s*(?:javascript|vbscript|data|file):                                      # an active Markdown link
  | \b(?:href|src|action|formaction)\s*=\s*["']?\s*(?:javascript|vbscript|data):   # an active HTML attribute
""", re.IGNORECASE | re.VERBOSE)


def raw_html(doc: Document, rule: Rule) -> list[Hit]:
    """HTML that would run, load or submit something when the article is rendered, and active links."""
    text = _CODE.sub(lambda m: " " * len(m.group()), doc.text)  # code samples may show markup
    return _capped([Hit(m.start(), m.end(), f"active markup {' '.join(m.group().split())[:60]!r}: a rendered "
                        "page would run or load it") for m in _ACTIVE.finditer(text)], "pieces of active markup")


TEXT_CHECKS = {
    "repetition": repetition,
    "near_duplicates": near_duplicates,
    "lexical_diversity": lexical_diversity,
    "unfinished": unfinished,
    "prompt_echo": prompt_echo,
    "exemplar_copy": exemplar_copy,
    "raw_html": raw_html,
}
