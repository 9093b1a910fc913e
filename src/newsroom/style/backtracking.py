"""A load-time budget for a pack's hand-written regular expressions.

Python's ``re`` backtracks: a pattern such as ``(a|aa)+$`` takes time exponential in the length of
a run of ``a`` it cannot match, and cannot be interrupted once it runs (a user's rule took 35 s on
a 41-character line). So before a pack is used, each hand-written pattern is timed on probe
strings built from its own parts, the classic attack shape ``prefix + pump * k + tail``: the text
leading to one repetition, that repetition's body repeated ``k`` times, then a character that
makes the match fail. ``k`` grows step by step and the probing stops at the first probe over the
budget, so a catastrophic pattern is caught at a few dozen characters, in well under a second.

This is a heuristic: it finds the nested and overlapping repetitions that make up nearly every
real case, not every conceivable slow pattern.
"""

from __future__ import annotations

import heapq
import importlib
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

# re's own parser (private, but stable across 3.11 and 3.12); imported by name so that neither
# mypy nor the deprecated sre_parse alias gets involved.
_parser: Any = importlib.import_module("re._parser")

BUDGET_S = 0.05  # one probe; a linear pattern needs well under a millisecond for the longest probe
FIRST_LENGTH, FINE_UNTIL, WARM_UNTIL, MAX_LENGTH = 8, 32, 64, 256  # probe lengths, in characters
WARM_S = BUDGET_S / 50  # a probe this slow is growing: below WARM_UNTIL, lengthen it 2 characters at a time
MAX_REPEATS = 16  # repetitions pumped per pattern (in the order they appear)
MAX_CHOICES = 3  # alternatives tried per alternation
_REPEATS = ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")
_CATEGORY_SAMPLE = {"CATEGORY_DIGIT": "1", "CATEGORY_SPACE": " ", "CATEGORY_WORD": "a",
                    "CATEGORY_NOT_DIGIT": "a", "CATEGORY_NOT_SPACE": "a", "CATEGORY_NOT_WORD": " ",
                    "CATEGORY_LINEBREAK": "\n", "CATEGORY_NOT_LINEBREAK": "a"}


@dataclass(frozen=True)
class SlowPattern:
    """A pattern over the budget: which one (its index in the sources), on what, and how slow."""

    index: int
    probe: str
    seconds: float


def _class_sample(items: Sequence[tuple[Any, Any]]) -> str:
    """One character a ``[...]`` class matches (or, negated, one it probably does not)."""
    chars: list[str] = []
    for op, av in items:
        name = str(op)
        if name == "LITERAL":
            chars.append(chr(av))
        elif name == "RANGE":
            chars.append(chr(av[0]))
        elif name == "CATEGORY":
            chars.append(_CATEGORY_SAMPLE.get(str(av), "a"))
    if items and str(items[0][0]) == "NEGATE":
        return next((c for c in "a !1Z" if c not in chars), "\x01")
    return chars[0] if chars else "a"


def _contains(items: Any, target: int) -> bool:
    """Whether the parsed sequence ``items`` holds the repetition whose id is ``target``."""
    for op, av in items:
        name = str(op)
        if name in _REPEATS and (id(av) == target or _contains(av[2], target)):
            return True
        if name == "BRANCH" and any(_contains(alt, target) for alt in av[1]):
            return True
        if name in ("SUBPATTERN", "ATOMIC_GROUP", "ASSERT", "ASSERT_NOT"):
            if _contains(av[-1], target):
                return True
    return False


class _Renderer:
    """Renders a parsed pattern into text up to one pumped repetition (the prefix), and that
    repetition's body once (``self.once``)."""

    def __init__(self, pump: int | None, choice: int) -> None:
        self.pump, self.choice = pump, choice
        self.once = ""

    def sequence(self, items: Any) -> tuple[str, bool]:
        """The text for ``items`` and whether the pump was reached (then the rest is left out)."""
        out: list[str] = []
        for op, av in items:
            text, reached = self.node(str(op), av)
            out.append(text)
            if reached:
                return "".join(out), True
        return "".join(out), False

    def node(self, name: str, av: Any) -> tuple[str, bool]:
        if name == "LITERAL":
            return chr(av), False
        if name == "NOT_LITERAL":
            return ("b" if av == ord("a") else "a"), False
        if name == "ANY":
            return "a", False
        if name == "IN":
            return _class_sample(av), False
        if name in _REPEATS:
            return self.repeat(av)
        if name == "BRANCH":
            alts = av[1]
            chosen = next((a for a in alts if self.pump is not None and _contains(a, self.pump)), None)
            return self.sequence(chosen if chosen is not None else alts[self.choice % len(alts)])
        if name in ("SUBPATTERN", "ATOMIC_GROUP"):
            return self.sequence(av[-1])
        if name == "GROUPREF_EXISTS":
            return self.sequence(av[1])
        return "", False  # anchors, lookarounds, back-references: no text of their own

    def repeat(self, av: Any) -> tuple[str, bool]:
        low, high, body = av
        if id(av) == self.pump:
            self.once, _ = _Renderer(None, self.choice).sequence(body)
            return "", True
        text, reached = self.sequence(body)
        if reached:
            return text, True
        return text * min(max(low, 1), high), False


def _repeats(items: Any) -> Iterator[int]:
    for op, av in items:
        name = str(op)
        if name in _REPEATS:
            yield id(av)
            yield from _repeats(av[2])
        elif name == "BRANCH":
            for alt in av[1]:
                yield from _repeats(alt)
        elif name in ("SUBPATTERN", "ATOMIC_GROUP", "ASSERT", "ASSERT_NOT"):
            yield from _repeats(av[-1])
        elif name == "GROUPREF_EXISTS":
            yield from _repeats(av[1])
            if av[2] is not None:
                yield from _repeats(av[2])


class Prober:
    """Probe strings for one regular expression, parsed and rendered once."""

    def __init__(self, source: str, flags: int) -> None:
        parsed = _parser.parse(source, flags)
        shapes: dict[tuple[str, str, str], None] = {}
        for pump in list(_repeats(parsed))[:MAX_REPEATS]:
            for choice in range(MAX_CHOICES):
                renderer = _Renderer(pump, choice)
                prefix, _ = renderer.sequence(parsed)
                once = renderer.once or "a"
                for tail in [t for t in ("!", "\n", "\x00") if t not in prefix + once][:2]:
                    shapes[(prefix, once, tail)] = None
        self.shapes = list(shapes)

    def probes(self, length: int) -> list[str]:
        """One probe of about ``length`` characters per shape: prefix, pumped body, failing tail."""
        return list(dict.fromkeys(_probe(shape, length) for shape in self.shapes))


def _probe(shape: tuple[str, str, str], length: int) -> str:
    prefix, once, tail = shape
    return prefix + once * max(1, length // len(once)) + tail


def _next_length(length: int, seconds: float) -> int:
    """Short probes, and short probes that have started to take time, grow 2 characters at a
    time, so an exponential pattern overshoots the budget by a small factor only; longer ones grow
    by a quarter (a polynomial pattern then overshoots by about 2x, and the ladder stays short)."""
    if length < FINE_UNTIL or (seconds >= WARM_S and length < WARM_UNTIL):
        return length + 2
    return length + max(2, length // 4)


def _time(pattern: re.Pattern[str], text: str) -> float:
    start = time.perf_counter()
    for _ in pattern.finditer(text):
        pass
    return time.perf_counter() - start


def find_slow(pattern: re.Pattern[str], sources: Sequence[str], flags: int, *, lowered: bool = False,
              budget_s: float = BUDGET_S) -> SlowPattern | None:
    """The first of ``sources`` whose probes take ``pattern`` over ``budget_s``, or None.

    ``pattern`` is what actually runs (it may combine all the sources); ``lowered`` says it runs
    on ASCII-lowercased text, so the probes are lowercased too."""
    try:
        probers = [(i, Prober(source, flags)) for i, source in enumerate(sources)]
    except (re.error, RecursionError, OverflowError):
        return None  # a pattern re cannot parse is reported by the compiler, not here
    # Every probe shape climbs its own ladder of lengths; the shortest pending probe runs first,
    # so all shapes advance together and a slow one is found at the shortest length it shows at.
    shapes = [(index, shape) for index, prober in probers for shape in prober.shapes]
    pending = [(FIRST_LENGTH, k) for k in range(len(shapes))]
    while pending:
        length, k = heapq.heappop(pending)
        index, shape = shapes[k]
        text = _probe(shape, length).lower() if lowered else _probe(shape, length)
        seconds = _time(pattern, text)
        if seconds > budget_s:
            # Timed twice more, keeping the fastest: a run the scheduler preempted (a busy machine
            # loading the pack) is not a slow pattern, and a slow pattern is slow every time.
            seconds = min(seconds, _time(pattern, text), _time(pattern, text))
        if seconds > budget_s:
            return SlowPattern(index, text, seconds)
        if (following := _next_length(length, seconds)) <= MAX_LENGTH:
            heapq.heappush(pending, (following, k))
    return None
