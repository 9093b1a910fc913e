"""What a small model does when it degenerates, measured on plain text: repeated and near-duplicate
sentences, low lexical diversity, runs copied from a reference text, and an unfinished ending.

Pure functions over strings, shared by the house-style checks (``style/checks_text.py``) and by the
writer, which regenerates a section that fails them. Thresholds are the callers' (the pack's
``params`` and ``flows/article.yaml``), each measured on the model that runs them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+(?=[\"'“‘(\[]*[A-Z0-9])")
_CLOSING = re.compile(r"[.!?…][\"'”’)\]*_]*$")


def words(text: str) -> list[str]:
    """Lower-cased word tokens (letters and digits; inner apostrophes kept)."""
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


def split_sentences(text: str) -> list[str]:
    """Sentences of plain prose (a light splitter; the checker has a Markdown-aware one)."""
    out: list[str] = []
    for line in text.splitlines():
        out.extend(s.strip() for s in _SENTENCE_END.split(line) if s.strip())
    return out


def distinct_ratio(tokens: Sequence[str], n: int = 3) -> float:
    """Distinct n-grams over all n-grams (1.0 = no n-gram repeats); 1.0 for texts too short to judge."""
    grams = [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 1.0


def similarity(a: Sequence[str], b: Sequence[str]) -> float:
    """How alike two token lists are, 0..1 (difflib's ratio: 2 x matches / total length)."""
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


@dataclass(frozen=True)
class Repeat:
    """Item ``index`` repeats (or nearly repeats, ``ratio`` < 1) the earlier item ``first``."""

    index: int
    first: int
    ratio: float


def repeats(items: Sequence[str], *, min_words: int, threshold: float,
            earlier: Sequence[str] = ()) -> list[Repeat]:
    """Items of at least ``min_words`` words that repeat an earlier one, exactly or with
    ``similarity >= threshold``. ``earlier`` items (e.g. sections already written) are compared too;
    their indices are negative (-1 the last of them)."""
    pool: list[tuple[int, list[str], frozenset[str]]] = []
    for i, item in enumerate(earlier):
        tokens = words(item)
        if len(tokens) >= min_words:
            pool.append((i - len(earlier), tokens, frozenset(tokens)))
    found = []
    for i, item in enumerate(items):
        tokens = words(item)
        if len(tokens) < min_words:
            continue
        bag = frozenset(tokens)
        best: Repeat | None = None
        for j, other, other_bag in pool:
            # Cheap bound first: the ratio cannot reach the threshold with too few shared words.
            if 2 * len(bag & other_bag) < threshold * (len(bag) + len(other_bag)) * 0.8:
                continue
            ratio = 1.0 if tokens == other else similarity(tokens, other)
            if ratio >= threshold and (best is None or ratio > best.ratio):
                best = Repeat(i, j, round(ratio, 3))
        if best is not None:
            found.append(best)
        pool.append((i, tokens, bag))
    return found


def ngram_index(texts: Iterable[str], n: int) -> set[tuple[str, ...]]:
    """Every n-gram of word tokens in ``texts`` (the reference a copy is looked for in)."""
    grams: set[tuple[str, ...]] = set()
    for text in texts:
        tokens = words(text)
        grams.update(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    return grams


def copied_runs(text: str, reference: set[tuple[str, ...]], n: int) -> list[str]:
    """Maximal runs of at least ``n`` words of ``text`` whose every n-gram occurs in ``reference``."""
    tokens = words(text)
    runs, start, end = [], -1, -1
    for i in range(len(tokens) - n + 1):
        if tuple(tokens[i:i + n]) in reference:
            if start < 0 or i > end - n + 1:  # not contiguous with the current run
                if start >= 0:
                    runs.append(" ".join(tokens[start:end]))
                start = i
            end = i + n
    if start >= 0:
        runs.append(" ".join(tokens[start:end]))
    return runs


def ends_mid_sentence(text: str) -> bool:
    """True when the last line of prose does not close with sentence punctuation."""
    last = text.rstrip()
    return bool(last) and not _CLOSING.search(last)


def trim_to_sentence(text: str) -> str:
    """Cut an unfinished ending back to the last whole sentence (the writer's last resort)."""
    text = text.rstrip()
    if not ends_mid_sentence(text):
        return text
    cut = max((m.end() for m in re.finditer(r"[.!?…][\"'”’)\]]*(?=\s|$)", text)), default=0)
    return text[:cut].rstrip()
