"""Judging one drafted section before it joins the article: what a small model does wrong.

``judge`` returns the problems that make the writer draft a section again: cut off by the token
limit or ending mid-sentence, far too short, repeating itself or an earlier section, looping,
writing out its own instructions, copying an exemplar, or leaving its subject. Pure functions; the
thresholds come from ``flows/article.yaml`` (``generate.degeneration``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from newsroom.stages.context import Degeneration
from newsroom.style.checks import statistics
from newsroom.style.repetition import (
    copied_runs,
    distinct_ratio,
    ends_mid_sentence,
    ngram_index,
    repeats,
    split_sentences,
    words,
)

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s.*$", re.MULTILINE)
_LABEL = re.compile(r"^\s*(?:final answer|answer|section|paragraph \d+|here is [^:\n]{0,60})\s*:\s*",
                    re.IGNORECASE)
# A paragraph opening with a field label the model copied from its prompt: "**Thesis:** ...".
_FIELD_LABEL = re.compile(r"^(?:\*\*|__)?(?:thesis|argument|point|points|heading|title|hook|angle|topic|"
                          r"introduction|conclusion|summary)\s*:(?:\*\*|__)?\s*", re.IGNORECASE)
_LIST_MARKER = re.compile(r"^\s{0,3}(?:[-*+•]|\d{1,2}[.)])\s+")
_EMPHASIS = re.compile(r"^(\*\*|__)(.+?)\1\s*$")


@dataclass(frozen=True)
class References:
    """What a section must not reproduce: the prompts' fixed text and the style exemplars."""

    prompt_grams: set[tuple[str, ...]] = field(default_factory=set)
    exemplar_grams: set[tuple[str, ...]] = field(default_factory=set)

    @classmethod
    def build(cls, prompts: Sequence[str], exemplars: Sequence[str], limits: Degeneration) -> References:
        return cls(ngram_index(prompts, limits.echo_words), ngram_index(exemplars, limits.copy_words))


def _is_pseudo_heading(line: str) -> bool:
    """A short line with no closing punctuation standing above prose: a heading the model added."""
    text = _LIST_MARKER.sub("", line).strip().strip("*_").strip()
    return bool(text) and len(text.split()) <= 10 and not re.search(r"[.!?…\"'”’]$", text)


def clean_section(text: str, heading: str) -> str:
    """Tidy one section of model prose: no headings, labels or list markers of its own (a list item
    that is a sentence becomes a paragraph; one that is a label is dropped)."""
    text = _HEADING.sub("", text.replace("\r\n", "\n"))
    text = _LABEL.sub("", text.strip())
    kept = []
    for line in text.split("\n"):
        bare = line.strip()
        emphasis = _EMPHASIS.match(bare)
        if emphasis:
            bare = emphasis.group(2).strip()
        if bare.strip("*_\"'").rstrip(":.").lower() == heading.lower().strip():
            continue
        if bare and _is_pseudo_heading(bare):
            kept.append("")
            continue
        if _LIST_MARKER.match(bare):
            kept.extend(["", _LIST_MARKER.sub("", bare), ""])
            continue
        kept.append(line)
    paragraphs = [_FIELD_LABEL.sub("", re.sub(r"\s+", " ", p).strip()) for p in re.split(r"\n\s*\n", "\n".join(kept))]
    return "\n\n".join(p for p in paragraphs if p and not _is_emphasis_only(p))


def _is_emphasis_only(paragraph: str) -> bool:
    """A paragraph that is one bold line: a model's pull-quote or restated point, not prose."""
    return bool(_EMPHASIS.match(paragraph))


def judge(text: str, *, words_asked: int, finish_reason: str | None, earlier: Sequence[str],
          refs: References, limits: Degeneration, about: str = "",
          similarity: Callable[[str, str], float] | None = None,
          house: Callable[[str], list[str]] | None = None, figures_allowed: bool = True) -> list[str]:
    """The problems that disqualify a drafted section (empty: it may join the article).

    ``house`` returns the house-style problems the gate would block on (the writer checks its own
    work before the gate does); ``figures_allowed=False`` (no sources, no facts) makes any figure a
    problem, since the model can only have invented it.
    """
    problems = []
    tokens = words(text)
    if finish_reason == "length":
        problems.append("cut off by the token limit")
    elif ends_mid_sentence(text):
        problems.append("ends mid-sentence")
    if len(tokens) < limits.min_words_share * words_asked:
        problems.append(f"too short: {len(tokens)} words of the {words_asked} asked for")
    earlier_sentences = [s for body in earlier for s in split_sentences(body)]
    found = repeats(split_sentences(text), min_words=6, threshold=limits.near_duplicate, earlier=earlier_sentences)
    if found:
        inside = sum(1 for r in found if r.first >= 0)
        problems.append(f"repeats {inside} of its own sentences and {len(found) - inside} from earlier sections")
    if len(tokens) >= 60 and distinct_ratio(tokens, 3) < limits.min_distinct_3:
        problems.append(f"loops: only {distinct_ratio(tokens, 3):.0%} of its word trigrams are distinct")
    echoed = copied_runs(text, refs.prompt_grams, limits.echo_words)
    if echoed:
        problems.append(f"writes out its instructions: '{echoed[0][:80]}'")
    copied = copied_runs(text, refs.exemplar_grams, limits.copy_words)
    if copied:
        problems.append(f"copies {len(copied[0].split())} words of a style exemplar")
    if not figures_allowed:
        invented = statistics(text)
        if invented:
            problems.append(f"uses figures it was not given: {', '.join(repr(f) for f in invented[:3])}")
    if house is not None:
        problems.extend(house(text))
    if similarity is not None and about and len(tokens) >= 40:
        score = similarity(about, text)
        if score < limits.min_topic_similarity:
            problems.append(f"leaves its subject (similarity {score:.2f} to its heading and points)")
    return problems
