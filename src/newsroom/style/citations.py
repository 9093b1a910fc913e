"""Citations ``[n]`` in an article: finding them, numbering them in order of first citation, and the
References list that goes with them. Pure functions; the grounding checks live in ``grounding.py``."""

from __future__ import annotations

import re
from collections.abc import Sequence

# [3], [3, 5], [3,5] and [3-5] (a run of sources); never a footnote [^1] or a placeholder [Name].
CITATION = re.compile(r"\[(\d{1,3}(?:\s*[,–-]\s*\d{1,3})*)\](?!\()")


def numbers_in(marker: str) -> list[int]:
    """The source numbers one marker cites: ``[3, 5]`` -> [3, 5]; ``[3-5]`` -> [3, 4, 5]."""
    out: list[int] = []
    for part in re.split(r"\s*,\s*", marker):
        if re.fullmatch(r"\d+\s*[–-]\s*\d+", part):
            lo, hi = (int(x) for x in re.split(r"\s*[–-]\s*", part))
            out.extend(range(lo, min(hi, lo + 50) + 1))
        elif part.strip().isdigit():
            out.append(int(part))
    return out


def cited(texts: Sequence[str]) -> list[int]:
    """Every source number cited in ``texts``, in order of first citation, once each."""
    order: list[int] = []
    for text in texts:
        for m in CITATION.finditer(text):
            for n in numbers_in(m.group(1)):
                if n not in order:
                    order.append(n)
    return order


def renumber(texts: Sequence[str], available: int) -> tuple[list[str], list[int]]:
    """Number the citations of ``texts`` 1, 2, 3 ... in order of first citation.

    Returns the texts and, for each new number, the original source number it stands for. A
    citation of a source that does not exist (0, or past ``available``) is numbered after the real
    ones, so it still cites nothing and the gate reports it.
    """
    order = [n for n in cited(texts) if 1 <= n <= available]
    new = {old: i for i, old in enumerate(order, start=1)}
    for n in cited(texts):
        new.setdefault(n, len(new) + 1)

    def mark(m: re.Match[str]) -> str:
        return "[" + ", ".join(str(new[n]) for n in numbers_in(m.group(1))) + "]"

    return [CITATION.sub(mark, text) for text in texts], order


def references(titles_and_paths: Sequence[tuple[str, str]]) -> str:
    """The References section: exactly the cited sources, numbered as the text cites them."""
    if not titles_and_paths:
        return ""
    lines = [f"{i}. {title} ({path})" for i, (title, path) in enumerate(titles_and_paths, start=1)]
    return "## References\n\n" + "\n".join(lines) + "\n"
