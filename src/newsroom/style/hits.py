"""What a named check returns, and the context some checks compare the text with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from newsroom.style.markdown import Document
    from newsroom.style.pack import Rule


@dataclass(frozen=True)
class Hit:
    """One finding: offsets into the text (``line`` overrides the line computed from ``start``)."""

    start: int
    end: int
    message: str
    suggestion: str | None = None
    line: int | None = None
    replacement: str | None = None  # what a substitution rule would write instead


CheckFn = Callable[["Document", "Rule"], list[Hit]]


@dataclass(frozen=True)
class CheckContext:
    """What the text is compared with. ``check_text`` fills in what a caller leaves as ``None``.

    ``prompts``: the text of the prompts that produced it (default: the shipped crews'), for echoes.
    ``exemplars``: passages it must not copy (default: the pack's exemplars).
    ``topic``: what it is meant to be about (default: its own title and description).
    ``similarity``: a 0-1 semantic similarity of two texts (MiniLM cosine); without one the
    off-topic rule does not run, so plain ``newsroom check`` stays free of torch.
    ``sources``: (title, text) of each source in the text's citation numbering ([1] is the first);
    given (even empty), the grounding rules run. ``evidence``: every other text a figure may come
    from (all the user's sources, the brief's facts).
    """

    prompts: tuple[str, ...] | None = None
    exemplars: tuple[str, ...] | None = None
    topic: str = ""
    similarity: Callable[[str, str], float] | None = None
    sources: tuple[tuple[str, str], ...] | None = None
    evidence: tuple[str, ...] = ()
