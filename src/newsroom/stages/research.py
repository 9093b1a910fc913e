"""The user's sources as the writer reads them: chunked, embedded, and retrieved per section.

Each source (``--sources``) is cut into chunks of about ``CHUNK_WORDS`` words along its paragraphs
and sentences, and embedded with the same MiniLM as the style memory into an in-memory collection
for the run (apart from the house-style pack, and gone when the run ends). A section's query is its
heading and points; the best chunks come back with their source's number, which is what the writer
cites as ``[n]``. Without the embedder (flag ``style_memory`` off) chunks are ranked by shared words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from newsroom.stages.models import Source
from newsroom.style.repetition import split_sentences, words

CHUNK_WORDS = 90
Embed = Callable[[Sequence[str]], list[list[float]]]


@dataclass(frozen=True)
class Chunk:
    source: int  # the source's number, 1-based: what the writer cites as [n]
    title: str
    text: str


def chunk(source: Source, number: int, size: int = CHUNK_WORDS) -> list[Chunk]:
    """Cut one source into chunks of about ``size`` words, never splitting a sentence."""
    chunks: list[Chunk] = []
    current: list[str] = []
    for paragraph in re.split(r"\n\s*\n", source.text):
        for sentence in split_sentences(" ".join(paragraph.split())):
            if current and len(" ".join([*current, sentence]).split()) > size:
                chunks.append(Chunk(number, source.title, " ".join(current)))
                current = []
            current.append(sentence)
        if current and len(" ".join(current).split()) >= size // 2:
            chunks.append(Chunk(number, source.title, " ".join(current)))
            current = []
    if current:
        chunks.append(Chunk(number, source.title, " ".join(current)))
    return chunks


class SourceIndex:
    """The run's collection of source chunks; ``search`` returns the best ``k`` for a query."""

    def __init__(self, sources: Sequence[Source], embed: Embed | None = None) -> None:
        self.sources = list(sources)
        self.chunks = [c for i, s in enumerate(self.sources, start=1) for c in chunk(s, i)]
        self._embed = embed
        self._vectors = embed([c.text for c in self.chunks]) if embed and self.chunks else []

    def search(self, query: str, k: int, skip: Callable[[Chunk], bool] | None = None) -> list[Chunk]:
        """The best ``k`` chunks for ``query`` in source order, leaving out those ``skip`` rejects."""
        if not self.chunks or k <= 0:
            return []
        if self._embed is not None:
            (q,) = self._embed([query])
            scores = [sum(a * b for a, b in zip(q, v, strict=True)) for v in self._vectors]
        else:
            wanted = set(words(query))
            scores = [len(wanted & set(words(c.text))) / (1 + len(c.text.split()) ** 0.5) for c in self.chunks]
        kept = [i for i in range(len(self.chunks)) if skip is None or not skip(self.chunks[i])]
        ranked = sorted(kept, key=lambda i: (-scores[i], i))[:k]
        return [self.chunks[i] for i in sorted(ranked, key=lambda i: (self.chunks[i].source, i))]


def format_chunks(chunks: Sequence[Chunk], limit: int = 700) -> str:
    """The chunks as the writer sees them: ``[n] title: text``, one a line, each within ``limit`` chars."""
    return "\n".join(f"[{c.source}] {c.title}: {c.text[:limit]}" for c in chunks)
