"""The deterministic house-style gate: ``check_text`` and ``check_file``. No LLM, no network.

Every rule of the pack (``knowledge/rules/*.yaml``) runs over a masked view of the Markdown (see
``newsroom.style.markdown``): code, URLs, link targets, quotations, blockquotes, HTML comments and
the references section are never judged. Matching is token-aware (word boundaries; case-insensitive
unless a rule says ``case_sensitive``). With ``fragment=True`` only the text-level rules run (those
with ``fragment: true``: no front matter, length or structure rules). The text is never edited.

Score: start at 1.0 and subtract, per violation, a weight by severity -- critical 0.25, high 0.10,
medium 0.04, low 0.01 -- with a floor of 0.0 (rounded to 4 places). ``passed`` means no critical and
no high violation, whatever the score.

Compiled regular expressions are cached per pack object, so checking many texts with one pack
compiles once. This module must stay light: it never imports torch, chromadb, crewai or
sentence-transformers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsroom.errors import ConfigError
from newsroom.safeio import read_text_file
from newsroom.style.hits import CheckContext, Hit
from newsroom.style.markdown import Document, parse
from newsroom.style.pack import Pack, Rule, default_pack
from newsroom.style.patterns import Compiled, Exceptions, compiled_rules

SEVERITY_WEIGHTS = {"critical": 0.25, "high": 0.10, "medium": 0.04, "low": 0.01}
FAILING_SEVERITIES = ("critical", "high")
_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}
MAX_BYTES = 2_000_000  # an article is a few kilobytes; anything this big is the wrong file
_EXCERPT_CONTEXT = 40


@dataclass(frozen=True)
class Violation:
    """One broken rule at one place in the text (``line`` and ``column`` are 1-based)."""

    rule_id: str
    category: str
    severity: str
    line: int
    excerpt: str
    message: str
    suggestion: str
    column: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The ``check --json`` shape (CONTRACT §3)."""
        return {"rule_id": self.rule_id, "category": self.category, "severity": self.severity,
                "line": self.line, "excerpt": self.excerpt, "message": self.message,
                "suggestion": self.suggestion}


@dataclass(frozen=True)
class CheckResult:
    """The outcome for one text: ``passed`` when no critical or high violation."""

    file: str
    passed: bool
    score: float
    violations: list[Violation] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """One entry of ``check --json`` (CONTRACT §3)."""
        return {"file": self.file, "passed": self.passed, "score": self.score,
                "violations": [v.as_dict() for v in self.violations]}

    def by_category(self) -> dict[str, list[Violation]]:
        """The violations grouped by rule category (for reports and the revision prompt)."""
        out: dict[str, list[Violation]] = {}
        for v in self.violations:
            out.setdefault(v.category, []).append(v)
        return out


def compile_pack(pack: Pack) -> None:
    """Compile (and so validate) every rule of ``pack`` now; raises ``ConfigError`` naming the rule."""
    compiled_rules(pack)


# -- running rules ---------------------------------------------------------------------------------
_BLOCK_MARKER_END = re.compile(r"(?:^|\n)[ \t]*(?:#{1,6}|>|[-+*]|\d{1,9}[.)])[ \t]+[*_\"'“‘(\[]*$")


def _sentence_start(masked: str, start: int) -> bool:
    before = _BLOCK_MARKER_END.sub("\n\n", masked[max(0, start - 300):start])
    before = before.rstrip(" \t*_\"'“‘([")
    if not before.strip() or re.search(r"\n[ \t]*\n[ \t]*$", before):
        return True
    return before.rstrip()[-1] in ".!?:;…"


def _proper_noun(masked: str, start: int, end: int) -> bool:
    """A capitalised word inside a sentence, or starting one and followed by another capitalised word
    (``Labor Day``, ``Center for Disease Control``), is taken as part of a name."""
    word = masked[start:end]
    if not word[:1].isupper():
        return False
    if len(word) > 1 and word.isupper() or not _sentence_start(masked, start):
        return True
    return bool(re.match(r"[ \t-]+(?:(?:of|for|and|on|de)[ \t]+)?(?:the[ \t]+)?[A-Z]", masked[end:end + 60]))


def _template(text: str, **values: str) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def _matches(c: Compiled, doc: Document) -> list[Hit]:
    rule = c.rule
    span = doc.scope_span(rule.scope)
    if span is None or (c.pattern is None and not c.words):
        return []
    text = doc.masked
    hits: list[Hit] = []
    exceptions = Exceptions(c.exceptions, text)
    for s, e in c.finditer(doc, span[0], span[1]):
        if s == e or exceptions.overlap(s, e):
            continue
        found = " ".join(text[s:e].split())
        if rule.kind == "substitution":
            replacement = c.swaps.get(found if rule.case_sensitive else found.lower())
            if replacement is None or (rule.params.get("skip_proper_nouns", True) and _proper_noun(text, s, e)):
                continue
            if found[:1].isupper():
                replacement = replacement[:1].upper() + replacement[1:]
            message = _template(rule.params.get("message", "'{match}' is American spelling; the house style "
                                                "writes '{replacement}'"), match=found, replacement=replacement)
            hits.append(Hit(s, e, message, _template(rule.suggestion, match=found, replacement=replacement),
                            replacement=replacement))
            continue
        message = _template(rule.params.get("message", "{description}: '{match}'"),
                            description=rule.description.rstrip("."), match=found)
        hits.append(Hit(s, e, message))
    if rule.kind == "occurrence":
        limit = rule.max or 0
        if len(hits) <= limit:
            return []
        extra = hits[limit]
        return [Hit(extra.start, extra.end, f"{rule.description.rstrip('.')}: used {len(hits)} times "
                    f"(at most {limit}), e.g. '{' '.join(doc.text[extra.start:extra.end].split())}'")]
    return hits


def _excerpt(doc: Document, hit: Hit, line: int) -> str:
    """The match with some context from its line (never copying a whole, possibly huge, line)."""
    text = doc.text
    line_start = doc.line_starts[line - 1]
    line_end = text.find("\n", line_start)
    line_end = len(text) if line_end < 0 else line_end
    if hit.line is not None or hit.start == hit.end:
        short = " ".join(text[line_start:min(line_end, line_start + 400)].split())
        return short if len(short) <= 120 else short[:119] + "…"
    match_end = min(hit.end, line_end)
    left = max(line_start, hit.start - _EXCERPT_CONTEXT)
    right = min(line_end, match_end + _EXCERPT_CONTEXT)
    out = " ".join(text[left:right].split())
    content_end = line_end - 1 if text[line_end - 1:line_end] == "\r" else line_end
    return ("…" if left > line_start else "") + out + ("…" if right < content_end else "")


def _to_violation(doc: Document, rule: Rule, hit: Hit) -> Violation:
    line = hit.line if hit.line is not None else doc.line_of(hit.start)
    column = None if hit.line is not None else doc.column_of(hit.start)
    return Violation(rule.id, rule.category, rule.severity, line, _excerpt(doc, hit, line), hit.message,
                     hit.suggestion or rule.suggestion, column)


def score(violations: list[Violation]) -> float:
    """1.0 minus the severity weights of ``violations`` (see the module docstring), at least 0.0."""
    return round(max(0.0, 1.0 - sum(SEVERITY_WEIGHTS[v.severity] for v in violations)), 4)


def _full_context(context: CheckContext | None, pack: Pack) -> CheckContext:
    from dataclasses import replace

    from newsroom.style.prompts import default_prompt_text

    context = context or CheckContext()
    if context.prompts is None:
        context = replace(context, prompts=default_prompt_text())
    if context.exemplars is None:
        context = replace(context, exemplars=tuple(e.text for e in pack.exemplars))
    return context


def check_text(text: str, *, fragment: bool = False, pack: Pack | None = None,
               filename: str | None = None, context: CheckContext | None = None) -> CheckResult:
    """Check Markdown ``text`` against the house style (the default pack unless ``pack`` is given).

    ``fragment=True`` runs only the text-level rules (no front matter, length or structure rules).
    ``context`` says what the text is compared with (its prompts, the exemplars, its topic and a
    similarity function); left out, the shipped crews' prompts and the pack's exemplars are used
    and the off-topic rule does not run.
    """
    if len(text) > MAX_BYTES:
        raise ConfigError(f"the text is {len(text):,} characters; the checker takes at most {MAX_BYTES:,} "
                          "(an article is a few thousand)")
    pack = pack or default_pack()
    doc = parse(text)
    doc.context = _full_context(context, pack)
    found: dict[tuple[str, int, int | None, str], tuple[int, Violation]] = {}
    for order, c in enumerate(compiled_rules(pack)):
        if fragment and not c.rule.fragment:
            continue
        hits = c.check(doc, c.rule) if c.check is not None else _matches(c, doc)
        for hit in hits:
            v = _to_violation(doc, c.rule, hit)
            # Two rules of one category at the same spot report once, the more severe one.
            key = (v.category, v.line, v.column, "") if c.check is None else (v.rule_id, v.line, None, v.message)
            if key not in found or _RANK[v.severity] < _RANK[found[key][1].severity]:
                found[key] = (order, v)
    ordered = sorted(found.values(), key=lambda ov: (ov[1].line, ov[1].column or 0, ov[0]))
    violations = [v for _, v in ordered]
    passed = not any(v.severity in FAILING_SEVERITIES for v in violations)
    return CheckResult(filename or "<text>", passed, score(violations), violations)


def respell(text: str, *, pack: Pack | None = None) -> tuple[str, list[str]]:
    """``text`` with every spelling the pack's substitution rules would flag replaced, the sub-editor's
    fix the writer applies before the gate judges. The rules decide what is flagged, so names, their
    exceptions, quotations and code are left alone exactly as ``check_text`` leaves them. Returns the
    text and the changes made (``"color -> colour"``)."""
    pack = pack or default_pack()
    doc = parse(text)
    edits: dict[int, tuple[int, str, str]] = {}
    for c in compiled_rules(pack):
        if c.rule.kind != "substitution" or c.check is not None or not c.rule.fragment:
            continue
        for hit in _matches(c, doc):
            if hit.replacement is not None and hit.start not in edits:
                edits[hit.start] = (hit.end, text[hit.start:hit.end], hit.replacement)
    out, changes, at = [], [], 0
    for start in sorted(edits):
        end, found, replacement = edits[start]
        if start < at:  # overlaps the edit before it
            continue
        out += [text[at:start], replacement]
        changes.append(f"{found} -> {replacement}")
        at = end
    return "".join(out) + text[at:], changes


def read_article(path: Path | str) -> str:
    """Read a Markdown file for checking; every unusable file is a ``ConfigError`` with one clear line.

    ``safeio.read_text_file`` refuses FIFOs, devices and directories before opening them and never
    reads more than ``MAX_BYTES`` + 1 bytes.
    """
    text = read_text_file(path, limit=MAX_BYTES, hint="pass a Markdown file")
    if not text.strip():
        raise ConfigError(f"{str(path)!r} is empty; there is nothing to check")
    return text


def check_file(path: Path | str, *, fragment: bool = False, pack: Pack | None = None) -> CheckResult:
    """``check_text`` on a file; a missing, empty, binary, non-UTF-8 or oversized file is a ``ConfigError``."""
    return check_text(read_article(path), fragment=fragment, pack=pack, filename=str(path))
