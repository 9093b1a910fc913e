"""What in a Markdown article is prose: the view of the text that the style rules see.

``parse(text)`` returns a ``Document``. Its ``masked`` text has exactly the length of the original,
with every character the prose rules must not judge replaced by a space (newlines are kept), so an
offset in ``masked`` is an offset in the original and line numbers stay right. Masked, in layers:

1. structure: YAML front matter, fenced and indented code, HTML comments, reference and footnote
   definitions, and the references section (a heading named References, Sources, Notes,
   Bibliography... and everything under it until the next heading of the same or a higher level);
2. blockquote lines (``> ...``);
3. inline code, URLs, e-mail addresses, link and image targets (the link text stays), HTML tags;
4. quotations: the words inside "...", “...”, ‘...’ and '...' (quoted speech may say anything).

Paragraphs (``blocks``) come from layers 1-2, so that a quotation filling a whole wrapped line does
not split its paragraph. Nothing here edits the text.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import yaml

REFERENCE_NAMES = ("references", "reference", "sources", "source", "notes", "bibliography", "further reading",
                   "sources and notes", "sources and further reading", "works cited", "citations", "footnotes")
_REF_NAMES = "|".join(sorted((re.escape(n).replace(r"\ ", r"\s+") for n in REFERENCE_NAMES), key=len,
                             reverse=True))
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HR = re.compile(r"^ {0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$")
LIST_ITEM = re.compile(r"^ {0,3}(?:[-*+]|\d{1,9}[.)])[ \t]+\S")
_REF_HEADING = re.compile(rf"^(?:\*\*|__)?\s*(?:{_REF_NAMES})\s*:?\s*(?:\*\*|__)?\s*:?$", re.IGNORECASE)
_REF_LINE = re.compile(r"^ {0,3}(?:\*\*|__)?(?:sources?|references?)(?:\*\*|__)?\s*:(?:\*\*|__)?\s+\S",
                       re.IGNORECASE)
_DEFINITION = re.compile(r"^ {0,3}\[(\^?[^\]\n]+)\]:[ \t]*\S.*$", re.MULTILINE)
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_INLINE_CODE = re.compile(r"(`+)(?!`)(?:.|\n(?![ \t]*\n))+?(?<!`)\1(?!`)")
_IMAGE = re.compile(r"!\[[^\[\]\n]{0,300}\]\([^()\n]{0,300}\)")
_LINK = re.compile(r"(\[)(?=[^\[\]\n]{0,300}\]\()[^\[\]\n]{0,300}(\]\([^()\n]{0,300}\))")
_REF_LINK = re.compile(r"(\[)[^\[\]\n]{1,300}(\]\[[^\[\]\n]{0,300}\])")
_FOOTNOTE_REF = re.compile(r"\[\^[^\]\n]+\]")
_URL = re.compile(r"<?(?:https?://|ftp://|www\.)[^\s<>\"'”’)\]]*[^\s<>\"'”’)\].,;:!?]>?", re.IGNORECASE)
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")  # anchored: linear on long words
_HTML_TAGS = ("a|abbr|article|aside|audio|b|blockquote|br|caption|center|cite|code|dd|del|details|div|dl|dt|em|"
              "figcaption|figure|footer|h[1-6]|header|hr|i|iframe|img|ins|kbd|li|mark|nav|ol|p|picture|pre|q|s|"
              "section|small|source|span|strong|sub|summary|sup|table|tbody|td|th|thead|time|tr|u|ul|video")
_HTML_TAG = re.compile(rf"</?(?:{_HTML_TAGS})\b[^<>]*>", re.IGNORECASE)
_HTML_RAW = re.compile(r"<(pre|code|script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_PARA = r"(?:[^\n]|\n(?![ \t]*\n))"  # any character, but never across a blank line
_DOUBLE_CURLY = re.compile(rf"“{_PARA}*?(?:”|(?=\n[ \t]*\n)|\Z)")
_DOUBLE_STRAIGHT = re.compile(r'"[^"\n]*(?:\n(?![ \t]*\n)[^"\n]*)*"')  # paired in order; linear
_SINGLE_CURLY = re.compile(rf"‘(?=\S){_PARA}{{0,300}}?(?<=\S)’(?![A-Za-z])")
_SINGLE_STRAIGHT = re.compile(rf"(?:^|(?<=[\s(\[{{—–/]))'(?=[A-Za-z]){_PARA}{{0,300}}?(?<=[\w.,!?;:%)])'(?!\w)",
                              re.MULTILINE)
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st mt ft jr sr gen col lt sgt gov sen rep rev hon inc ltd co corp plc bros no nos vs "
    "etc approx dept est fig figs vol jan feb mar apr jun jul aug sep sept oct nov dec e.g i.e a.m p.m u.s "
    "u.k u.n cf al op ed".split())
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]*_]*(?=\s+[\"'“‘(\[*_]*[A-Z0-9])")


@dataclass(frozen=True)
class Heading:
    line: int  # 1-based
    level: int  # 1-6; 7 for a bold or plain "Sources:" line
    text: str
    start: int


@dataclass(frozen=True)
class Block:
    """A run of non-blank body lines: a paragraph, a heading or a list (offsets into the text)."""

    start: int
    end: int
    kind: str  # "paragraph" | "heading" | "list" | "table"


@dataclass(frozen=True)
class FrontMatter:
    raw: str
    start_line: int
    end_line: int  # the closing '---' line, or 0 when the block is not closed
    body_start: int  # offset of the first character after the front matter


@dataclass
class Document:
    text: str
    masked: str = ""
    counted: str = ""  # structure and inline noise masked, quotations and blockquotes kept (for length)
    front_matter: FrontMatter | None = None
    headings: list[Heading] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    list_lines: list[int] = field(default_factory=list)  # 1-based lines of body list items
    references_headings: list[Heading] = field(default_factory=list)
    context: Any = None  # a ``hits.CheckContext``: what some checks compare the text with
    _sentences: dict[Block, list[tuple[int, int]]] = field(default_factory=dict, repr=False)

    @cached_property
    def lowered(self) -> str:
        """``masked`` with ASCII letters lowercased (same length, so offsets still hold)."""
        return self.masked.translate(_ASCII_LOWER)

    @cached_property
    def front_matter_data(self) -> tuple[dict[str, Any] | None, str | None]:
        """The parsed front matter mapping, or None and the reason it is unusable."""
        fm = self.front_matter
        if fm is None:
            return None, "missing"
        if not fm.end_line:
            return None, "the front matter block opened with '---' is never closed"
        try:
            data = yaml.safe_load(fm.raw)
        except yaml.YAMLError as exc:
            return None, f"the front matter is not valid YAML ({str(exc).splitlines()[0]})"
        if not isinstance(data, dict):
            return None, f"the front matter must be a YAML mapping, not {type(data).__name__}"
        return data, None

    def front_matter_line(self, key: str) -> int:
        """The line of ``key:`` in the front matter (the opening '---' line when absent)."""
        fm = self.front_matter
        if fm is None:
            return 1
        for n, line in enumerate(fm.raw.splitlines(), start=fm.start_line + 1):
            if re.match(rf"{re.escape(key)}\s*:", line):
                return n
        return fm.start_line

    @cached_property
    def line_starts(self) -> list[int]:
        return [0, *(m.end() for m in re.finditer("\n", self.text))]

    def line_of(self, offset: int) -> int:
        """The 1-based line of ``offset``."""
        return bisect_right(self.line_starts, offset)

    def column_of(self, offset: int) -> int:
        return offset - self.line_starts[self.line_of(offset) - 1] + 1

    @cached_property
    def prose_blocks(self) -> list[Block]:
        """Paragraph and list blocks that still hold words once quotations and code are masked."""
        return [b for b in self.blocks if b.kind in ("paragraph", "list")
                and re.search(r"[A-Za-z]", self.masked[b.start:b.end])]

    def sentences(self, block: Block) -> list[tuple[int, int]]:
        """Sentence spans (offsets) inside ``block``, split on the masked text (cached per block)."""
        if block not in self._sentences:
            self._sentences[block] = self._split(block)
        return self._sentences[block]

    def _split(self, block: Block) -> list[tuple[int, int]]:
        spans, begin = [], block.start
        for m in _SENTENCE_END.finditer(self.masked, block.start, block.end):
            if m.group()[0] != ".":
                spans.append((begin, m.end()))
                begin = m.end()
                continue
            word = re.search(r"([\w.]+)\W*$", self.masked[max(block.start, m.start() - 12):m.start() + 1])
            prev = word.group(1).lower().rstrip(".") if word else ""
            if prev in _ABBREVIATIONS or (len(prev) == 1 and prev.isalpha()):
                continue
            spans.append((begin, m.end()))
            begin = m.end()
        if self.masked[begin:block.end].strip():
            spans.append((begin, block.end))
        return [(s + len(self.masked[s:e]) - len(self.masked[s:e].lstrip()), e) for s, e in spans]

    def scope_span(self, scope: str) -> tuple[int, int] | None:
        """The offsets a rule's ``scope`` covers, or None when the text has no such part."""
        if scope in ("text", "document"):
            return 0, len(self.text)
        blocks = self.prose_blocks
        if not blocks:
            return None
        if scope == "first_paragraph":
            return blocks[0].start, blocks[0].end
        if scope == "last_paragraph":
            return blocks[-1].start, blocks[-1].end
        if scope == "first_sentence":
            return self.sentences(blocks[0])[0]
        raise ValueError(f"unknown scope {scope!r}")


class _Mask:
    """Character flags over the text; ``apply`` turns flagged characters (not newlines) into spaces."""

    def __init__(self, n: int) -> None:
        self.flags = bytearray(n)

    def add(self, start: int, end: int) -> None:
        self.flags[start:end] = b"\x01" * (end - start)

    def apply(self, text: str) -> str:
        if not any(self.flags):
            return text
        return "".join(" " if f and c != "\n" else c for c, f in zip(text, self.flags, strict=True))


def _front_matter(lines: list[str]) -> FrontMatter | None:
    if not lines or lines[0].lstrip("\ufeff").strip() != "---":
        return None
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            raw = "".join(lines[1:i])
            return FrontMatter(raw, 1, i + 1, sum(len(x) for x in lines[: i + 1]))
    return FrontMatter("".join(lines[1:]), 1, 0, 0)


def _is_indented_code(lines: list[str], i: int, in_code: bool) -> bool:
    line = lines[i]
    if not (line.startswith("    ") or line.startswith("\t")) or not line.strip():
        return False
    if in_code:
        return True
    if i == 0 or lines[i - 1].strip():
        return False
    prev = next((x for x in reversed(lines[:i]) if x.strip()), "")  # an indented list continuation
    return not (LIST_ITEM.match(prev) or prev.startswith((" ", "\t")))


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.splitlines(keepends=True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))
        self.doc = Document(text)
        self.structure = _Mask(len(text))
        self.hidden_lines: set[int] = set()  # 0-based lines hidden by layer 1
        self.quote_lines: set[int] = set()

    def _hide_line(self, i: int) -> None:
        self.structure.add(self.starts[i], self.starts[i + 1])
        self.hidden_lines.add(i)

    def run(self) -> Document:
        fm = self.doc.front_matter = _front_matter(self.lines)
        first = 0
        if fm is not None and fm.end_line:
            first = fm.end_line
            for i in range(first):
                self._hide_line(i)
        self._scan_lines(first)
        for m in _COMMENT.finditer(self.text):
            self.structure.add(m.start(), m.end())
        for m in _DEFINITION.finditer(self.text):
            self.structure.add(m.start(), m.end())
        self._mask_references()
        return self._finish()

    def _scan_lines(self, first: int) -> None:
        fence: str | None = None
        in_indented = False
        for i in range(first, len(self.lines)):
            line = self.lines[i].rstrip("\r\n")
            m = _FENCE.match(line)
            if fence is not None:
                self._hide_line(i)
                if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not line.strip()[
                        len(m.group(1)):].strip():
                    fence = None
                continue
            if m:
                fence = m.group(1)
                self._hide_line(i)
                continue
            in_indented = _is_indented_code(self.lines, i, in_indented)
            if in_indented:
                self._hide_line(i)
            elif re.match(r"^ {0,3}>", line):
                self.quote_lines.add(i)
            else:
                self._heading(i, line)

    def _heading(self, i: int, line: str) -> None:
        m = _ATX.match(line)
        if m:
            self.doc.headings.append(Heading(i + 1, len(m.group(1)), (m.group(2) or "").strip(), self.starts[i]))
            return
        prev = self.lines[i - 1] if i else ""
        if (_SETEXT.match(line) and prev.strip() and i - 1 not in self.hidden_lines and i - 1 not in self.quote_lines
                and not _ATX.match(prev) and not LIST_ITEM.match(prev)):
            self.doc.headings = [h for h in self.doc.headings if h.line != i]
            level = 1 if line.strip()[0] == "=" else 2
            self.doc.headings.append(Heading(i, level, prev.strip(), self.starts[i - 1]))
            return
        stripped = line.strip()
        if _REF_HEADING.match(stripped) and stripped.strip("*_: \t"):
            self.doc.headings.append(Heading(i + 1, 7, stripped.strip("*_: \t"), self.starts[i]))
        elif _REF_LINE.match(line):
            self._hide_line(i)

    def _mask_references(self) -> None:
        heads = sorted(self.doc.headings, key=lambda h: h.line)
        for n, h in enumerate(heads):
            name = re.sub(r"\s+", " ", h.text.strip("*_: \t")).lower()
            if name not in REFERENCE_NAMES:
                continue
            self.doc.references_headings.append(h)
            end = next((x.start for x in heads[n + 1:] if x.level <= h.level and x.line > h.line), len(self.text))
            self.structure.add(h.start, end)
            for i in range(h.line - 1, len(self.lines)):
                if self.starts[i] >= end:
                    break
                self.hidden_lines.add(i)

    def _finish(self) -> Document:
        doc, text = self.doc, self.text
        quotes = _Mask(len(text))
        for i in self.quote_lines:
            quotes.add(self.starts[i], self.starts[i + 1])
        layer12 = _merge(self.structure, quotes)
        structural = layer12.apply(text)
        inline = _inline_mask(structural)
        doc.counted = _merge(self.structure, inline).apply(text)
        full = _merge(layer12, inline)
        doc.masked = full.apply(text)
        _mask_quotations(doc.masked, full)
        doc.masked = full.apply(text)
        doc.headings = [h for h in doc.headings if h.level < 7 and h.line - 1 not in self.hidden_lines]
        doc.blocks = self._blocks(structural)
        doc.list_lines = sorted({ln for blk in doc.blocks if blk.kind == "list" for ln in self._item_lines(blk)})
        return doc

    def _item_lines(self, block: Block) -> list[int]:
        first, last = self.doc.line_of(block.start), self.doc.line_of(max(block.start, block.end - 1))
        return [ln for ln in range(first, last + 1) if LIST_ITEM.match(self.lines[ln - 1])
                and not _HR.match(self.lines[ln - 1].rstrip("\r\n"))]

    def _blocks(self, structural: str) -> list[Block]:
        heading_lines = {h.line for h in self.doc.headings if h.level < 7}
        setext_lines = {h.line + 1 for h in self.doc.headings if h.level < 7
                        and not _ATX.match(self.lines[h.line - 1])}
        blocks: list[Block] = []
        cur: list[int] = []

        def close() -> None:
            if cur:
                first = self.lines[cur[0]]
                kind = ("list" if LIST_ITEM.match(first) and not _HR.match(first.rstrip("\r\n"))
                        else "table" if first.lstrip().startswith("|") else "paragraph")
                blocks.append(Block(self.starts[cur[0]], self.starts[cur[-1]] + len(self.lines[cur[-1]].rstrip(
                    "\r\n")), kind))
                cur.clear()

        for i, line in enumerate(self.lines):
            content = structural[self.starts[i]:self.starts[i + 1]]
            if i + 1 in heading_lines or i + 1 in setext_lines:
                close()
                if i + 1 in heading_lines:
                    blocks.append(Block(self.starts[i], self.starts[i] + len(line.rstrip("\r\n")), "heading"))
            elif not content.strip() or _HR.match(line.rstrip("\r\n")):
                close()
            else:
                cur.append(i)
        close()
        return blocks


def _merge(a: _Mask, b: _Mask) -> _Mask:
    out = _Mask(0)
    n = len(a.flags)
    out.flags = bytearray((int.from_bytes(a.flags, "big") | int.from_bytes(b.flags, "big")).to_bytes(n, "big"))
    return out


def _inline_mask(text: str) -> _Mask:
    mask = _Mask(len(text))
    for pattern in (_HTML_RAW, _INLINE_CODE, _IMAGE, _HTML_TAG, _FOOTNOTE_REF, _URL, _EMAIL):
        for m in pattern.finditer(text):
            mask.add(m.start(), m.end())
    for pattern in (_LINK, _REF_LINK):  # keep the link text, hide the brackets and the target
        for m in pattern.finditer(text):
            mask.add(m.start(1), m.end(1))
            mask.add(m.start(2), m.end(2))
    labels = {m.group(1).strip().lower() for m in _DEFINITION.finditer(text)}
    if labels:  # shortcut reference links: [label] with a definition elsewhere
        for m in re.finditer(r"\[([^\]\n]+)\]", text):
            if m.group(1).strip().lower() in labels:
                mask.add(m.start(), m.start() + 1)
                mask.add(m.end() - 1, m.end())
    return mask


def _mask_quotations(masked: str, mask: _Mask) -> None:
    """Hide the words inside quotation marks (the marks themselves stay, as punctuation)."""
    for pattern in (_DOUBLE_CURLY, _DOUBLE_STRAIGHT):
        for m in pattern.finditer(masked):
            mask.add(m.start() + 1, m.end() - (1 if m.group().endswith(("”", '"')) else 0))
    current = mask.apply(masked)
    for pattern in (_SINGLE_CURLY, _SINGLE_STRAIGHT):
        for m in pattern.finditer(current):
            mask.add(m.start() + 1, m.end() - 1)


def parse(text: str) -> Document:
    """Parse Markdown ``text`` into a ``Document`` (see the module docstring)."""
    return _Parser(text).run()
