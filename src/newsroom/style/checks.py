"""The named checks that ``kind: check`` rules refer to (``check: <name>``, tuned by ``params``).

Each check takes the parsed ``Document`` and the rule and returns ``Hit``s; the checker turns them
into violations. Text checks read ``doc.masked`` (code, URLs and quotations hidden); structure and
front-matter checks read the Markdown structure. ``CHECKS`` maps every name a pack may use.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from newsroom.style.checks_text import TEXT_CHECKS, repeated_words
from newsroom.style.grounding import citation_missing, citation_unsupported, ungrounded_figure
from newsroom.style.hits import CheckFn, Hit
from newsroom.style.markdown import Block, Document, Heading

if TYPE_CHECKING:
    from newsroom.style.pack import Rule

__all__ = ["CHECKS", "CheckFn", "Hit"]

# -- unsourced statistics ----------------------------------------------------------------------
_STAT = re.compile(r"""
    (?<![\w.])\d+(?:[.,]\d+)?\s?(?:%|per\s?cent\b|percent\b|percentage\s+points?\b|pc\b|pp\b)
  | (?:[$£€¥]|\bUS\$|\b(?:USD|EUR|GBP)\s?)\s?(?:\d{1,3}(?:,\d{3})+|\d{4,}|\d+(?:\.\d+)?\s?
       (?:bn|tn|m|k|billion|million|trillion)\b)
  | (?<![\w.,])\d+(?:\.\d+)?\s?(?:bn|tn|billion|million|trillion)\b
  | (?<![\w.,])(?:\d{2,3}(?:,\d{3})+|\d(?:,\d{3}){2,}|\d{5,})(?![\d,]*\d)
  | \b(?:\d+|one|two|three|four|five|six|seven|eight|nine|(?:more\s+than\s+|almost\s+|nearly\s+|about\s+|over\s+|
       roughly\s+|around\s+|some\s+)?(?:half|two-thirds|three-quarters|a\s+third|a\s+quarter|a\s+fifth|one-third|
       one-quarter))\s+(?:(?:in|out\s+of)\s+(?:\d+|two|three|four|five|six|seven|eight|nine|ten)\s+|of\s+(?:all\s+)?)
       (?:[a-z-]+\s+)?(?:people|adults|americans|britons|voters|consumers|households|children|women|men|workers|
       doctors|patients|firms|companies|businesses|respondents|users|students|teenagers|employees|residents|
       citizens|parents|shoppers|drivers|homeowners|renters|graduates|smokers|investors)\b
""", re.VERBOSE | re.IGNORECASE)
_PASSIVE = r"(?<!\bis )(?<!\bare )(?<!\bwas )(?<!\bwere )(?<!\bbe )(?<!\bbeen )"
_SOURCE_WORDS = re.compile(rf"""\b(?:
    says?|said|saying|told|tells|according\s+to|reports?|reported|reporting|reckons?|reckoned|
    {_PASSIVE}estimated|estimates|estimating|calculates|{_PASSIVE}calculated|calculations|finds|found|
    show(?:s|ed|n)?|published|publishes|released|releases|announced|announces|counts|{_PASSIVE}counted|
    tally|tallies|tallied|recorded|records|measured|measures|surveys?|surveyed|polls?|polled|pollsters?|
    study|studies|census|forecasts|{_PASSIVE}predicted|predicts|projects|expects|wrote|writes|notes|noted|
    argues|argued|claims|claimed|cites|cited|citing|quoted|disclosed|credits|credited|blames|blamed|attributes|filings?|revealed|reveals|confirmed|
    confirms|compiled|analysis|analysts?|economists?|researchers?|scientists?|statisticians?|
    spokes(?:man|men|woman|women|person)|accounts|results|
    (?:official|government|national|latest|new|its|their|published|company|federal)\s+
        (?:data|figures|statistics|numbers|estimates)|
    (?:data|figures|statistics|numbers|estimates)\s+(?:from|by|for|published|released|compiled)|
    \w+['’]s\s+(?:own\s+)?(?:count|counts|figures|data|estimates?|calculations?|numbers|tally|analysis|reckoning|
        records?|survey|poll|forecasts?|projections?|model|accounts|filings?|statistics|research|study|report)|
    (?:its|their|his|her|our)\s+own\s+(?:count|estimates?|reckoning|calculations?|figures|data|numbers|records)|
    puts?\s+(?:it\s+|them\s+|the\s+\w+\s+)?at|
    (?:central\s+bank|bank|government|ministry|regulator|agency|council|court|parliament|commission|treasury|
        fed|authorities|company|firm|union|board)\s+(?:has\s+|had\s+|will\s+|on\s+\w+\s+)?
        (?:raised|raises|cut|cuts|lowered|lifted|set|sets|held|holds|kept|ended|ends|approved|imposed|increased|
         reduced|hiked|slashed|froze|announced|decided|voted|agreed|ordered|fined|awarded|granted|allocated|
         pledged|promised|unveiled|published|reported|posted|paid|spent|borrowed|sold|bought|offered)
)\b""", re.VERBOSE | re.IGNORECASE)
_NOT_SOURCES = frozenset(
    "US USA UK EU UAE GDP GNP CPI CEO CEOs CFO COO AI IT TV PC PCs PM AM OK II III IV VI VII COVID EV EVs VAT IPO "
    "IPOs ESG LNG GOP MP MPs DNA RNA HIV AIDS CO NO SUV SUVs ID AM FM GP GPs".split())
_ACRONYM = re.compile(r"\b[A-Z][A-Z&]{1,7}s?\b")
_INSTITUTION = re.compile(r"""
    (?:\b(?:the|The|[A-Z][\w'’&.-]*)\s+)
    (?:Office|Bureau|Institute|Agency|Ministry|Department|Bank|University|Commission|Council|Fund|Survey|Census|
       Statistics|Organisation|Organization|Association|Foundation|Authority|Board|Reserve|Treasury|Centre|
       Center|Laboratory|Journal|Index|Trust|Society|College|School|Service|Institution|Observatory|Federation|
       Forum|Inc|Ltd|plc|Corp|Corporation|Group|Partners|Capital|Analytics|Economics|Research|Intelligence|
       Insights|Consulting|Associates|Securities|Markets|Tribunal|Court|Parliament|Congress|Senate|Government|
       Administration|Secretariat|Panel|Unit|Monitor|Watch|Project|Initiative|Lab|Labs|Review|Times|Post|
       Gazette|Herald|Economist|Tribune|News|Lancet|Nature|Science)\b
  | \b[A-Z][\w'’&.-]*\s+(?:of|for|on)\s+(?:the\s+)?[A-Z]\w+
  | \b(?:at|by|from)\s+(?:the\s+)?(?!(?:January|February|March|April|May|June|July|August|September|October|
       November|December|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|Christmas|Easter)\b)
       [A-Z][\w&'’.-]+
""", re.VERBOSE)


# Not statistics: the terms of a policy or a deal ("a 25% tariff", "a 20% stake"), numbers used as
# compound modifiers ("a 60,000-seat stadium") and distances ("12,000km").
_NOT_A_STATISTIC = re.compile(r"""\s*(?:
    -(?!\s)|
    (?:stakes?|tariffs?|tax(?:es)?|levy|levies|duty|duties|target|cap|discount|commission|fees?|surcharge|
       premium|holding|royalty|quota|deposit|threshold|majority|owned|interest\s+in|share\s+in|vat|rate\s+of\s+tax)\b|
    (?:km|kilomet(?:re|er)s?|miles?|metres?|meters?|feet|ft|hectares?|acres?|sq|square)\b
)""", re.VERBOSE | re.IGNORECASE)

# "45% of firms say ..." reports what respondents said; it names no source for the survey itself.
_RESPONDENTS = re.compile(r"""(?<![\d.])\d+(?:\.\d+)?\s?(?:%|per\s?cent|percent)\s+of\s+(?:[\w'’-]+\s+){0,6}?
    (?:say|said|says|think|thought|believe|believed|report|reported|agree|agreed|expect|expected|feel|felt|
       want|wanted|claim|claimed)\b""", re.VERBOSE | re.IGNORECASE)


def _is_sourced(sentence: str) -> bool:
    sentence = _RESPONDENTS.sub(" ", sentence)
    if _SOURCE_WORDS.search(sentence) or _INSTITUTION.search(sentence):
        return True
    return any(m.group().rstrip("s") not in _NOT_SOURCES and m.group() not in _NOT_SOURCES
               for m in _ACRONYM.finditer(sentence))


_CITED = re.compile(r"\[\d{1,3}(?:\s*[,–-]\s*\d{1,3})*\](?!\()")


def _unsourced_in_block(doc: Document, block: Block) -> list[Hit]:
    """The first figure of each sentence, in a paragraph none of whose sentences names a source or
    cites one ([n])."""
    spans = doc.sentences(block)
    firsts: dict[tuple[int, int], re.Match[str]] = {}
    for m in _STAT.finditer(doc.masked, block.start, block.end):
        span = next((sp for sp in spans if sp[0] <= m.start() < sp[1]), (block.start, block.end))
        if span not in firsts and not _NOT_A_STATISTIC.match(doc.masked, m.end()):
            firsts[span] = m
    if not firsts or any(_is_sourced(doc.masked[s:e]) or _CITED.search(doc.text[s:e]) for s, e in spans):
        return []
    return [Hit(m.start(), m.end(), f"the figure {m.group().strip()!r} has no named source anywhere in its "
                "paragraph") for m in firsts.values()]


def unsourced_statistic(doc: Document, rule: Rule) -> list[Hit]:
    """A percentage or large figure in a paragraph that names no source anywhere: a source named
    before or after the figure, in any sentence of its paragraph, or a citation [n], covers it."""
    return [hit for block in doc.prose_blocks for hit in _unsourced_in_block(doc, block)]


# -- structure -----------------------------------------------------------------------------------
def _body_start(doc: Document) -> int:
    fm = doc.front_matter
    return fm.body_start if fm is not None and fm.end_line else 0


def word_count(doc: Document, rule: Rule) -> list[Hit]:
    """Words of body prose (front matter, code, headings and the references section not counted, nor
    the words of a sentence that repeats or nearly repeats an earlier one)."""
    lo, hi = int(rule.params.get("min", 600)), int(rule.params.get("max", 1200))
    counted = list(doc.counted)
    for h in doc.headings:
        line_end = doc.text.find("\n", h.start)
        counted[h.start:line_end if line_end >= 0 else len(counted)] = " " * (
            (line_end if line_end >= 0 else len(counted)) - h.start)
    n = len(re.findall(r"[A-Za-z0-9][\w'’-]*", "".join(counted)))
    repeated = repeated_words(doc)
    n -= repeated
    if lo <= n <= hi:
        return []
    what = "short" if n < lo else "long"
    note = f" (not counting {repeated} words of repeated sentences)" if repeated else ""
    return [Hit(_body_start(doc), _body_start(doc), f"the article is too {what}: {n} words{note}; "
                f"the house length is {lo:,} to {hi:,} words")]


def heading_count(doc: Document, rule: Rule) -> list[Hit]:
    """Between ``min`` and ``max`` section headings of ``level`` (the references heading not counted)."""
    level = int(rule.params.get("level", 2))
    lo, hi = int(rule.params.get("min", 2)), int(rule.params.get("max", 5))
    found = [h for h in doc.headings if h.level == level]
    if lo <= len(found) <= hi:
        return []
    marks = "#" * level
    if len(found) > hi:
        return [Hit(found[hi].start, found[hi].start, f"{len(found)} '{marks}' headings; at most {hi}")]
    at = found[0].start if found else _body_start(doc)
    return [Hit(at, at, f"{len(found)} '{marks}' heading(s); the house style wants {lo} to {hi}")]


def no_lists(doc: Document, rule: Rule) -> list[Hit]:
    """Bulleted or numbered lists in the body: one hit per list."""
    hits, previous = [], None
    for block in doc.blocks:
        if block.kind == "list" and (previous is None or previous.kind != "list"):
            hits.append(Hit(block.start, block.start, "a bulleted or numbered list in the body"))
        if block.kind != "table":
            previous = block
    return hits


def _title(doc: Document) -> tuple[str, int] | None:
    data, _ = doc.front_matter_data
    if data is not None and "title" in data:
        value = data["title"]
        return ("" if value is None else str(value)), doc.front_matter_line("title")
    h1 = next((h for h in doc.headings if h.level == 1), None)
    return (h1.text, h1.line) if h1 else None


def _title_hit(doc: Document, test: Callable[[str], str | None]) -> list[Hit]:
    found = _title(doc)
    if found is None or not found[0].strip():
        return []
    message = test(found[0].strip())
    return [Hit(0, 0, message, line=found[1])] if message else []


def title_present(doc: Document, rule: Rule) -> list[Hit]:
    found = _title(doc)
    if found is not None and found[0].strip():
        return []
    return [Hit(0, 0, "the article has no title (front matter 'title' or a '# ' heading)",
                line=found[1] if found else 1)]


def title_length(doc: Document, rule: Rule) -> list[Hit]:
    limit = int(rule.params.get("max", 90))
    return _title_hit(doc, lambda t: f"the title is {len(t)} characters; at most {limit}" if len(t) > limit
                      else None)


def title_full_stop(doc: Document, rule: Rule) -> list[Hit]:
    return _title_hit(doc, lambda t: "the title ends with a full stop"
                      if t.endswith(".") and not t.endswith("...") else None)


def title_caps(doc: Document, rule: Rule) -> list[Hit]:
    def test(t: str) -> str | None:
        letters = [c for c in t if c.isalpha()]
        return "the title is in capital letters" if len(letters) >= 4 and t.upper() == t else None

    return _title_hit(doc, test)


def title_exclamation(doc: Document, rule: Rule) -> list[Hit]:
    return _title_hit(doc, lambda t: "the title has an exclamation mark" if "!" in t else None)


_FIELD_TITLE = re.compile(r"""^(?:
    [\[{<(].*[\]}>)]                                   # a template slot: [Title], {title}, <headline>
  | (?:working\s+|article\s+|section\s+|suggested\s+)?(?:title|headline|heading|thesis|hook|angle|topic|
        subject|summary|description|outline|section|point|key\s+facts?|idea|candidate)(?:\s+(?:idea\s+)?\d+)?
        \s*(?::.*|\d*)?                                # a field name, alone or as a label: "Thesis: ..."
  | untitled(?:\s+article)?|tbd|tbc|todo|xxx+|lorem\s+ipsum.*|placeholder.*|none|null|n/?a
)$""", re.IGNORECASE | re.VERBOSE)


def title_placeholder(doc: Document, rule: Rule) -> list[Hit]:
    """A title that is a field name, a label or a template slot rather than a headline."""
    return _title_hit(doc, lambda t: f"the title {t!r} is a field name or placeholder, not a headline"
                      if _FIELD_TITLE.match(t.strip().strip("*_\"'“”")) else None)


_DANGLING = re.compile(r"(?:\b(?:and|or|but|nor|of|to|the|a|an|about|with|for|from|in|on|at|by|as|that|which|who|"
                       r"whose|than|its|their|it's|is|are|was|were|be|not|into|onto|over|between|because)|[,;:–-])$",
                       re.IGNORECASE)


def _headings(doc: Document) -> list[Heading]:
    return [h for h in doc.headings if h.level == 2]


def unfinished_heading(doc: Document, rule: Rule) -> list[Hit]:
    """A title or heading that stops on a word that cannot end one ("... social justice and"): a
    generation cut off at its length limit."""
    hits = [Hit(0, 0, f"the title {t!r} stops mid-phrase", line=line)
            for t, line in [_title(doc) or ("", 1)] if t.strip() and _DANGLING.search(t.strip())]
    hits += [Hit(h.start, h.start, f"the heading {h.text!r} stops mid-phrase")
             for h in _headings(doc) if _DANGLING.search(h.text.strip().rstrip(".?!"))]
    return hits


def duplicate_headings(doc: Document, rule: Rule) -> list[Hit]:
    """A ``##`` heading that repeats an earlier one (or the title), word for word or nearly."""
    from newsroom.style.repetition import similarity, words

    threshold = float(rule.params.get("threshold", 0.8))
    found = _title(doc)
    seen: list[tuple[list[str], str]] = [(words(found[0]), "the title")] if found and found[0].strip() else []
    hits = []
    for h in _headings(doc):
        tokens = words(h.text)
        twin = next((name for other, name in seen if tokens and similarity(tokens, other) >= threshold), None)
        if twin is not None:
            hits.append(Hit(h.start, h.start, f"the heading {h.text!r} repeats {twin}"))
        seen.append((tokens, f"the heading on line {h.line}"))
    return hits


def topic_drift(doc: Document, rule: Rule) -> list[Hit]:
    """A body far in meaning from what it is meant to be about (its brief, or its title and description)."""
    context = doc.context
    similarity = getattr(context, "similarity", None)
    blocks = doc.prose_blocks
    if similarity is None or not blocks:
        return []
    about = getattr(context, "topic", "") or _own_topic(doc)
    body = "\n\n".join(doc.text[b.start:b.end] for b in blocks)
    if not about.strip() or len(body.split()) < int(rule.params.get("min_words", 80)):
        return []
    score = similarity(about, body)
    minimum = float(rule.params.get("min_similarity", 0.3))
    if score >= minimum:
        return []
    return [Hit(blocks[0].start, blocks[0].start, f"the body is far from what it should be about: "
                f"similarity {score:.2f} to {about[:80]!r} (at least {minimum:.2f})")]


def _own_topic(doc: Document) -> str:
    found = _title(doc)
    data, _ = doc.front_matter_data
    description = str(data.get("description") or "") if data else ""
    return " ".join(p for p in ((found[0] if found else ""), description) if p)


# -- front matter ----------------------------------------------------------------------------------
def front_matter_present(doc: Document, rule: Rule) -> list[Hit]:
    data, problem = doc.front_matter_data
    if data is not None:
        return []
    if problem == "missing":
        return [Hit(0, 0, "the article has no YAML front matter (a block between '---' lines at the top)",
                    line=1)]
    return [Hit(0, 0, str(problem), line=1)]


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict) and not value)


def front_matter_fields(doc: Document, rule: Rule) -> list[Hit]:
    data, _ = doc.front_matter_data
    if data is None:
        return []
    required = rule.params.get("required", ["layout", "title", "date", "description"])
    any_of = rule.params.get("any_of", [["categories", "tags"]])
    hits = [Hit(0, 0, f"the front matter has no {key!r}", line=doc.front_matter_line(key))
            for key in required if _empty(data.get(key))]
    for group in any_of:
        if all(_empty(data.get(k)) for k in group):
            hits.append(Hit(0, 0, f"the front matter needs one of {', '.join(map(repr, group))}", line=1))
    return hits


def front_matter_date(doc: Document, rule: Rule) -> list[Hit]:
    data, _ = doc.front_matter_data
    if data is None or _empty(data.get("date")):
        return []
    value = data["date"]
    if isinstance(value, dt.date):
        return []
    text = str(value).strip()
    try:
        dt.date.fromisoformat(text[:10])
        ok = bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?.*)?", text))
    except ValueError:
        ok = False
    return [] if ok else [Hit(0, 0, f"the date {text!r} is not an ISO date (yyyy-mm-dd)",
                              line=doc.front_matter_line("date"))]


def front_matter_description(doc: Document, rule: Rule) -> list[Hit]:
    data, _ = doc.front_matter_data
    limit = int(rule.params.get("max", 160))
    if data is None or _empty(data.get("description")):
        return []
    text = str(data["description"]).strip()
    if len(text) <= limit:
        return []
    return [Hit(0, 0, f"the description is {len(text)} characters; at most {limit}",
                line=doc.front_matter_line("description"))]


def front_matter(doc: Document, rule: Rule) -> list[Hit]:
    """Every front-matter check at once (for packs that want a single rule)."""
    return [h for fn in (front_matter_present, front_matter_fields, front_matter_date, front_matter_description)
            for h in fn(doc, rule)]


CHECKS: dict[str, CheckFn] = {
    "unsourced_statistic": unsourced_statistic,
    "word_count": word_count,
    "heading_count": heading_count,
    "no_lists": no_lists,
    "title_present": title_present,
    "title_length": title_length,
    "title_full_stop": title_full_stop,
    "title_caps": title_caps,
    "title_exclamation": title_exclamation,
    "title_placeholder": title_placeholder,
    "unfinished_heading": unfinished_heading,
    "duplicate_headings": duplicate_headings,
    "topic_drift": topic_drift,
    "front_matter": front_matter,
    "front_matter_present": front_matter_present,
    "front_matter_fields": front_matter_fields,
    "front_matter_date": front_matter_date,
    "front_matter_description": front_matter_description,
    **TEXT_CHECKS,
    "ungrounded_figure": ungrounded_figure,
    "citation_unsupported": citation_unsupported,
    "citation_missing": citation_missing,
}
