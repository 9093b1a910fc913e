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


# A closing paragraph that only sums up: the house style says to drop the summary (closing.weak-ending).
_SUMMARY = re.compile(r"^(?:in (?:conclusion|summary|sum|closing)|to (?:conclude|sum up|summari[sz]e)|overall|"
                      r"all in all|ultimately|in short|as we move forward|moving forward|looking ahead)\b[,:]?",
                      re.IGNORECASE)
_NOTE = re.compile(r"^(?:\*\*|__)?(?:note|disclaimer|n\.b\.)\s*:", re.IGNORECASE)
_BOLD_LABEL = re.compile(r"^(?:\*\*|__)([^*_\n]{2,60}?):?(?:\*\*|__)\s*:?\s*")
_LEAD_IN = re.compile(r":\s*$")


def tidy(text: str) -> tuple[str, list[str]]:
    """A sub-editor's pass over a drafted section: what the house style says to cut, cut.

    Drops a closing paragraph that only sums up (the weak-ending rule's own advice), a "Note:"
    paragraph, a lead-in that ends in a colon, and the bold labels a model puts before a sentence.
    Returns the text and what was cut, for the writer's log. Everything else is the gate's to judge.
    """
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    cuts: list[str] = []
    kept = []
    for paragraph in paragraphs:
        if _NOTE.match(paragraph):
            cuts.append("a note about the text")
            continue
        if _LEAD_IN.search(paragraph) and len(paragraph.split()) <= 40:
            cuts.append("a lead-in ending in a colon")
            continue
        if len(paragraph.split()) <= 25 and not re.search(r"[.!?…][\"'”’)]*$", paragraph.strip()):
            cuts.append("a heading-like line")
            continue
        labelled = _BOLD_LABEL.sub("", paragraph)
        if labelled != paragraph and labelled:
            paragraph = labelled[:1].upper() + labelled[1:]
        kept.append(paragraph)
    if len(kept) > 1 and _SUMMARY.match(kept[-1]):
        cuts.append("a closing paragraph that only sums up")
        kept.pop()
    return "\n\n".join(kept), cuts


def drop_pasted_sources(text: str, titles: Sequence[str]) -> tuple[str, int]:
    """Drop the paragraphs that reproduce the prompt's sources block ("[2] Title: ...", "[Title]: ..."):
    that is the writer's input, not its prose. Returns the text and how many were dropped."""
    if not titles:
        return text, 0
    names = "|".join(re.escape(t.strip()) for t in titles if t.strip())
    # "[2] Title: ..." as the prompt gave it (or without the colon), or "[Title]: ..." as the model
    # sometimes rewrites it
    pasted = re.compile(r"^\s*\[\s*(?:\d+\]\s*(?:" + names + r")(?![\w'’])|(?:" + names + r")\s*\]\s*:)",
                        re.IGNORECASE)
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    kept = [p for p in paragraphs if not pasted.match(p)]
    return "\n\n".join(kept), len(paragraphs) - len(kept)


def cut_sentences(text: str, faulty: Callable[[str], bool]) -> tuple[str, int]:
    """The last resort for sentence-level faults (an invented figure, a vague attribution): drop each
    sentence that is ``faulty`` on its own. Returns the text and how many sentences went."""
    out, removed = [], 0
    for paragraph in text.split("\n\n"):
        sentences = split_sentences(paragraph)
        keep = [s for s in sentences if not faulty(s)]
        removed += len(sentences) - len(keep)
        if keep:
            out.append(" ".join(keep))
    return "\n\n".join(out), removed


def drop_repeats(text: str, earlier: Sequence[str], threshold: float) -> tuple[str, int]:
    """Drop sentences that repeat (or nearly repeat) an earlier one, here or in ``earlier`` sections."""
    seen = [s for body in earlier for s in split_sentences(body)]
    out, removed = [], 0
    for paragraph in text.split("\n\n"):
        sentences = split_sentences(paragraph)
        keep = []
        for sentence in sentences:
            if repeats([sentence], min_words=6, threshold=threshold, earlier=seen):
                removed += 1
                continue
            keep.append(sentence)
            seen.append(sentence)
        if keep:
            out.append(" ".join(keep))
    return "\n\n".join(out), removed


def fit_length(text: str, max_words: int) -> tuple[str, int]:
    """Drop whole paragraphs from the end until the text has at most ``max_words`` words (keeping one)."""
    paragraphs = text.split("\n\n")
    dropped = 0
    while len(paragraphs) > 1 and len(" ".join(paragraphs).split()) > max_words:
        paragraphs.pop()
        dropped += 1
    return "\n\n".join(paragraphs), dropped


def judge(text: str, *, words_asked: int, finish_reason: str | None, earlier: Sequence[str],
          refs: References, limits: Degeneration, about: str = "",
          similarity: Callable[[str, str], float] | None = None,
          house: Callable[[str], list[str]] | None = None) -> list[str]:
    """The problems that disqualify a drafted section (empty: it may join the article).

    ``house`` returns the house-style problems the gate would block on (the writer checks its own
    work before the gate does), figures not in the sources and citations that do not hold included.
    """
    problems = []
    tokens = words(text)
    if finish_reason == "length":
        problems.append("cut off by the token limit")
    elif ends_mid_sentence(text):
        problems.append("ends mid-sentence")
    if len(tokens) < limits.min_words_share * words_asked:
        problems.append(f"too short: {len(tokens)} words of the {words_asked} asked for")
    if len(tokens) > limits.max_words_share * words_asked:
        problems.append(f"too long: {len(tokens)} words of the {words_asked} asked for")
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
    if house is not None:
        problems.extend(house(text))
    if similarity is not None and about and len(tokens) >= 40:
        score = similarity(about, text)
        if score < limits.min_topic_similarity:
            problems.append(f"leaves its subject (similarity {score:.2f} to its heading and points)")
    return problems
