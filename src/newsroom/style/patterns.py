"""Compiling a pack's rules into regular expressions, once per pack object.

Every ``existence``/``occurrence`` rule becomes one alternation with its leading word-boundary test
hoisted out of the branches; case-insensitive rules that allow it run on ASCII-lowercased text
without ``re.IGNORECASE`` (about four times faster); ``substitution`` rules look plain words up in
a dictionary instead of compiling hundreds of alternatives. A bad pattern is a ``ConfigError``
naming the rule file, the rule id and the field; so is a hand-written pattern that backtracks
catastrophically (timed on probe strings when a user's pack is compiled, see ``backtracking``).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field

from newsroom.errors import ConfigError
from newsroom.style.backtracking import BUDGET_S, find_slow
from newsroom.style.checks import CHECKS, CheckFn
from newsroom.style.markdown import Document
from newsroom.style.pack import Pack, Rule


@dataclass(frozen=True)
class Compiled:
    """One rule ready to run: its pattern (or dictionary of words, or named check) and exceptions."""

    rule: Rule
    pattern: re.Pattern[str] | None = None
    exceptions: tuple[re.Pattern[str], ...] = ()
    swaps: dict[str, str] = field(default_factory=dict)
    check: CheckFn | None = None
    words: frozenset[str] = frozenset()  # substitution keys that are plain words: found by token lookup
    folded: bool = False  # ``pattern`` is case-free and runs on the ASCII-lowercased text (much faster)

    def finditer(self, doc: Document, start: int, end: int) -> Iterator[tuple[int, int]]:
        """Spans of candidate matches in ``doc.masked[start:end]``, in order."""
        text = doc.masked
        target = doc.lowered if self.folded else text
        spans = [m.span() for m in self.pattern.finditer(target, start, end)] if self.pattern else []
        if self.words:
            fold = self.rule.case_sensitive is False
            spans += [m.span() for m in _WORD.finditer(text, start, end)
                      if (m.group().lower() if fold else m.group()) in self.words]
            spans.sort()
        return iter(spans)


_WORD = re.compile(r"(?<![\w'’])[A-Za-z]+(?![\w])")


# -- compiling --------------------------------------------------------------------------------
def literal_pattern(phrase: str, *, plural: bool = True, boundary: bool = True) -> str:
    """A regex for a literal phrase: whole words, any run of spaces/hyphens between words, a hyphen
    optional, either apostrophe, and (``plural``) an optional plural ending."""
    parts = []
    for ch in phrase:
        if ch == " ":
            parts.append(r"[\s\-‐‑]+")
        elif ch in "-‐‑":
            parts.append(r"[\s\-‐‑]?")
        elif ch in "'’":
            parts.append("['’]")
        else:
            parts.append(re.escape(ch))
    body = "".join(parts)
    if phrase[:1].isalnum() and boundary:
        body = r"(?<!\w)" + body
    if plural and phrase[-1:].isalpha():
        body += "(?:s|es)?"
    if phrase[-1:].isalnum():
        body += r"(?!\w)"
    return body


def _source_file(pack: Pack, rule_id: str) -> str:
    for path in sorted((pack.root / "rules").glob("*.yaml")):
        try:
            if re.search(rf"^\s*-?\s*id:\s*['\"]?{re.escape(rule_id)}['\"]?\s*$",
                         path.read_text(encoding="utf-8"), re.MULTILINE):
                return str(path)
        except OSError:
            continue
    return str(pack.root / "rules")


def _compile_one(pack: Pack, rule: Rule, field_name: str, source: str, flags: int) -> re.Pattern[str]:
    try:
        return re.compile(source, flags)
    except re.error as exc:
        raise ConfigError(f"{_source_file(pack, rule.id)}: rule {rule.id!r}, field {field_name!r}: "
                          f"bad regular expression ({exc}); fix the pattern") from None


def _within_budget(pack: Pack, rule: Rule, field_name: str, pattern: re.Pattern[str], sources: list[str],
                   flags: int, lowered: bool = False) -> None:
    """Refuse a hand-written pattern that backtracks catastrophically. The shipped pack is held to
    the same budget by its tests instead of at every start-up."""
    if pack.shipped:
        return
    slow = find_slow(pattern, sources, flags, lowered=lowered)
    if slow is None:
        return
    where = f"patterns.{slow.index}" if field_name == "patterns" else field_name
    raise ConfigError(
        f"{_source_file(pack, rule.id)}: rule {rule.id!r}, field {where!r}: the regular expression "
        f"{sources[slow.index]!r} is too slow: {slow.seconds:.3f} s on a {len(slow.probe)}-character line "
        f"{slow.probe[:24]!r}... (budget {BUDGET_S} s). It backtracks catastrophically, as nested or "
        "overlapping repetition like '(a|aa)+' does; rewrite it so that text can match it only one way, "
        "or remove the rule")


def _exception(pack: Pack, rule: Rule, index: int, text: str) -> re.Pattern[str]:
    if text.startswith("re:"):
        flags = 0 if rule.case_sensitive else re.IGNORECASE
        compiled = _compile_one(pack, rule, f"exceptions.{index}", text[3:], flags)
        _within_budget(pack, rule, f"exceptions.{index}", compiled, [text[3:]], flags)
        return compiled
    flags = 0 if any(c.isupper() for c in text) else re.IGNORECASE
    return _compile_one(pack, rule, f"exceptions.{index}", literal_pattern(text, plural=False), flags)


def _compile_rule(pack: Pack, rule: Rule) -> Compiled:
    flags = 0 if rule.case_sensitive else re.IGNORECASE
    exceptions = tuple(_exception(pack, rule, i, e) for i, e in enumerate(rule.exceptions))
    if rule.kind == "check":
        fn = CHECKS.get(rule.check or "")
        if fn is None:
            raise ConfigError(f"{_source_file(pack, rule.id)}: rule {rule.id!r}, field 'check': unknown check "
                              f"{rule.check!r}; known checks: {', '.join(sorted(CHECKS))}")
        return Compiled(rule, exceptions=exceptions, check=fn)
    if rule.kind == "substitution":
        swaps = {k.lower() if not rule.case_sensitive else k: v for k, v in pack.swaps.get(rule.id, {}).items()}
        words = frozenset(k for k in swaps if k.isalpha() and k.isascii())
        others = sorted((k for k in swaps if k not in words), key=len, reverse=True)
        pattern = (_compile_one(pack, rule, "swap", "|".join(literal_pattern(k, plural=False) for k in others), flags)
                   if others else None)
        return Compiled(rule, pattern, exceptions, swaps, words=words)
    source = _combined(rule)
    lowered = _fold(source) if flags else None
    folded = lowered is not None
    try:
        pattern = re.compile(lowered, 0) if lowered is not None else re.compile(source, flags)
    except re.error:
        for i, p in enumerate(rule.patterns):  # locate the bad pattern to name it
            _compile_one(pack, rule, f"patterns.{i}", p if rule.regex else literal_pattern(p), flags)
        pattern = _compile_one(pack, rule, "patterns", source, flags)
    if rule.regex:
        _within_budget(pack, rule, "patterns", pattern, list(rule.patterns), flags, lowered=folded)
    return Compiled(rule, pattern, exceptions, folded=folded)


def _fold(source: str) -> str | None:
    """A case-insensitive pattern rewritten for ASCII-lowercased text without re.IGNORECASE (about
    four times faster): literal letters lowercased, escapes (\\S, \\W...) untouched. None when
    that would change its meaning (inline flags, non-ASCII letters)."""
    if "(?" in source.replace("(?:", "").replace("(?=", "").replace("(?!", "").replace("(?<", ""):
        return None
    out, i = [], 0
    while i < len(source):
        ch = source[i]
        if ch == "\\":
            out.append(source[i:i + 2])
            i += 2
            continue
        if ch.isalpha() and not ch.isascii():
            return None
        out.append(ch.lower() if "A" <= ch <= "Z" else ch)
        i += 1
    return "".join(out)


def _combined(rule: Rule) -> str:
    """One alternation per rule, with the leading word-boundary test hoisted out of the branches
    (tested once per position instead of once per branch: several times faster)."""
    if rule.regex:
        bounded = [p[2:] for p in rule.patterns if p.startswith(r"\b")]
        other = [p for p in rule.patterns if not p.startswith(r"\b")]
        head = r"\b"
    else:
        bounded = [literal_pattern(p, boundary=False) for p in rule.patterns if p[:1].isalnum()]
        other = [literal_pattern(p) for p in rule.patterns if not p[:1].isalnum()]
        head = r"(?<!\w)(?=\w)"
    parts = ([head + "(?:" + "|".join(f"(?:{b})" for b in bounded) + ")"] if bounded else [])
    return "|".join(parts + [f"(?:{o})" for o in other])


class PackCache:
    """Compiled rules per pack object (a pack is immutable), a few packs at most."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self.entries: dict[int, tuple[Pack, tuple[Compiled, ...]]] = {}

    def get(self, pack: Pack) -> tuple[Compiled, ...]:
        hit = self.entries.get(id(pack))
        if hit is not None and hit[0] is pack:
            return hit[1]
        compiled = tuple(_compile_rule(pack, r) for r in pack.rules)
        if len(self.entries) >= self.size:
            self.entries.pop(next(iter(self.entries)))
        self.entries[id(pack)] = (pack, compiled)
        return compiled


_CACHE = PackCache()


def compiled_rules(pack: Pack) -> tuple[Compiled, ...]:
    """The compiled rules of ``pack`` (compiled on first use; raises ``ConfigError`` naming the rule)."""
    return _CACHE.get(pack)


class Exceptions:
    """The spans a rule's exception phrases cover, found once (lazily) and queried by bisection."""

    def __init__(self, patterns: tuple[re.Pattern[str], ...], text: str) -> None:
        self.patterns, self.text = patterns, text
        self.starts: list[int] | None = None
        self.max_ends: list[int] = []  # max_ends[k]: the largest end among the first k + 1 spans

    def overlap(self, start: int, end: int) -> bool:
        if not self.patterns:
            return False
        if self.starts is None:
            spans = sorted(m.span() for p in self.patterns for m in p.finditer(self.text))
            self.starts = [a for a, _ in spans]
            running = 0
            for _, b in spans:
                running = max(running, b)
                self.max_ends.append(running)
        k = bisect_left(self.starts, end)  # spans starting before the match ends
        return k > 0 and self.max_ends[k - 1] > start
