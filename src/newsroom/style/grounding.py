"""Grounding: every figure traced to a source the user gave, every citation checked against its source.

These checks run when the text comes with its sources (``CheckContext.sources``: in ``generate``,
always, even when there are none, so that a figure written without sources is flagged). Plain
``newsroom check`` on a human's file has no sources and leaves them to the attribution rule.

- ``ungrounded_figure``: a figure (``style/figures.py``) that appears in no source and no brief fact;
- ``citation_unsupported``: a ``[n]`` whose sentence carries a name absent from source n, or a figure
  that is in another source but not in n (a figure in no source at all is ``ungrounded_figure``'s);
- ``citation_missing``: a ``[n]`` with no source n.

``fact_table`` lists each figure with its sentence and where it was found, for the review file.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from newsroom.style.citations import CITATION, numbers_in
from newsroom.style.figures import Figure, find_figures, same_figure
from newsroom.style.hits import Hit
from newsroom.style.markdown import Document
from newsroom.style.repetition import split_sentences

if TYPE_CHECKING:
    from newsroom.style.pack import Rule

_NAME = re.compile(r"\b[A-Z][\w'’-]*[A-Za-z]")
_COMMON = frozenset("""a an the this that these those it its there here when while what which who why how if
    in on at by for from to of with as after before since until but and or so yet not no one some many most all
    each every both few more less our their his her my your we they he she i you however meanwhile yet""".split())


def _context_sources(doc: Document) -> tuple[list[tuple[str, str]], list[str]] | None:
    context = doc.context
    sources = getattr(context, "sources", None)
    if sources is None:
        return None
    return list(sources), list(getattr(context, "evidence", ()) or ())


def _sentences(doc: Document) -> list[tuple[int, int, str]]:
    """(start, end, text) of every sentence of the body's prose, as written."""
    return [(s, e, doc.text[s:e]) for block in doc.prose_blocks for s, e in doc.sentences(block)]


def _known(texts: list[str]) -> list[Figure]:
    return [f for text in texts for f in find_figures(text)]


def _found(figure: Figure, known: list[Figure]) -> bool:
    return any(same_figure(figure, k) for k in known)


def names(sentence: str) -> list[str]:
    """Capitalised words inside a sentence (its first word aside): the names a citation must support."""
    out = []
    for m in _NAME.finditer(sentence):
        word = re.sub(r"['’]s$", "", m.group())
        if m.start() > 0 and word.lower() not in _COMMON and not sentence[:m.start()].rstrip().endswith(("“", '"')):
            out.append(word)
    return out


def ungrounded_figure(doc: Document, rule: Rule) -> list[Hit]:
    found = _context_sources(doc)
    if found is None:
        return []
    sources, evidence = found
    known = _known(evidence + [text for _, text in sources])
    hits = []
    for start, _, sentence in _sentences(doc):
        for figure in find_figures(CITATION.sub(" ", sentence)):
            if not _found(figure, known):
                where = "no source was given" if not evidence and not sources else "it is in none of the sources"
                hits.append(Hit(start, start + len(sentence), f"the figure {figure.text!r} is not grounded ({where}):"
                                f" '{_clip(sentence)}'"))
    return hits


def _citations(doc: Document) -> list[tuple[int, str, int]]:
    """(offset, sentence, number) for every source number cited in the body's prose."""
    out: list[tuple[int, str, int]] = []
    for start, _, sentence in _sentences(doc):
        for m in CITATION.finditer(sentence):
            out.extend((start, sentence, n) for n in numbers_in(m.group(1)))
    return out


def citation_missing(doc: Document, rule: Rule) -> list[Hit]:
    found = _context_sources(doc)
    if found is None:
        return []
    count = len(found[0])
    return [Hit(at, at + len(sentence), f"[{n}] cites no source: the article has {count} source(s): "
                f"'{_clip(sentence)}'") for at, sentence, n in _citations(doc) if not 1 <= n <= count]


def citation_unsupported(doc: Document, rule: Rule) -> list[Hit]:
    found = _context_sources(doc)
    if found is None:
        return []
    sources, evidence = found
    known = _known(evidence + [text for _, text in sources])
    hits = []
    for at, sentence, n in _citations(doc):
        if not 1 <= n <= len(sources):
            continue
        title, text = sources[n - 1]
        claim = CITATION.sub(" ", sentence)
        lower = text.lower()
        # A figure found nowhere is ungrounded_figure's to report; here, one found elsewhere but not in n.
        absent = [f.text for f in find_figures(claim) if _found(f, known) and not _found(f, find_figures(text))]
        absent += [w for w in names(claim) if w.lower() not in lower]
        if absent:
            hits.append(Hit(at, at + len(sentence), f"[{n}] does not support {', '.join(repr(a) for a in absent[:3])}"
                            f": source {n} ({title}) has no such thing: '{_clip(sentence)}'"))
    return hits


def cite_figures(text: str, sources: list[str]) -> tuple[str, list[str]]:
    """``text`` with a citation added to each uncited sentence whose figures and names one source
    holds: ``[n]`` before its closing punctuation, n being that source's number (1-based in
    ``sources``). A small model given numbered sources mostly does not cite them; the figures are
    checkable all the same, so code does it. Returns the text and the citations added."""
    known = [find_figures(source) for source in sources]
    added: list[str] = []
    out = []
    for paragraph in text.split("\n\n"):
        paragraph = re.sub(r"(?<=\S)[ \t]*\n[ \t]*(?=\S)", " ", paragraph)  # a hard-wrapped paragraph is one line
        at = 0
        for sentence in split_sentences(paragraph):
            start = paragraph.find(sentence, at)
            if start < 0:
                continue
            at = start + len(sentence)
            figures = find_figures(sentence)
            if not figures or CITATION.search(sentence):
                continue
            named = [w.lower() for w in names(sentence)]
            holds = [n for n, found in enumerate(known, start=1)
                     if all(_found(f, found) for f in figures) and all(w in sources[n - 1].lower() for w in named)]
            if not holds:
                continue
            end = start + len(sentence.rstrip())
            close = re.search(r"[.!?…][\"'”’)\]]*$", paragraph[start:end])
            cut = start + close.start() if close else end
            paragraph = paragraph[:cut] + f" [{holds[0]}]" + paragraph[cut:]
            at = end + len(f" [{holds[0]}]")
            added.append(f"[{holds[0]}] {_clip(sentence, 80)}")
        out.append(paragraph)
    return "\n\n".join(out), added


def _clip(sentence: str, limit: int = 160) -> str:
    sentence = " ".join(sentence.split())
    return sentence if len(sentence) <= limit else sentence[:limit - 1] + "…"


def fact_table(markdown: str, sources: list[tuple[str, str, str]], facts: list[str]) -> list[dict[str, Any]]:
    """Each figure of the article: its sentence, and the source (title, path) and passage where it was
    found, or ``"not found"``. ``sources`` are (title, path, text) in the article's citation numbering."""
    from newsroom.style.markdown import parse

    doc = parse(markdown)
    rows = []
    for _, _, sentence in _sentences(doc):
        cited = [n for m in CITATION.finditer(sentence) for n in numbers_in(m.group(1))]
        for figure in find_figures(CITATION.sub(" ", sentence)):
            order = [n - 1 for n in cited if 1 <= n <= len(sources)] + list(range(len(sources)))
            row: dict[str, Any] = {"figure": figure.text, "sentence": _clip(sentence, 300), "source": None,
                                   "found": "not found"}
            for i in order:
                match = next((f for f in find_figures(sources[i][2]) if same_figure(figure, f)), None)
                if match is not None:
                    text = sources[i][2]
                    row.update(source=f"{sources[i][0]} ({sources[i][1]})",
                               found=_clip(text[max(0, match.start - 80):match.end + 80], 200))
                    break
            else:
                if any(same_figure(figure, f) for fact in facts for f in find_figures(fact)):
                    row.update(source="the brief's facts", found="a key fact of the brief")
            rows.append(row)
    return rows


__all__ = ["citation_missing", "citation_unsupported", "cite_figures", "fact_table", "names", "split_sentences",
           "ungrounded_figure"]
