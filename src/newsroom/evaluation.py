"""``newsroom eval``: run the article flow on a list of topics and measure what it wrote.

One process, one topic at a time (on two cores a second concurrent run slows both), each run a
normal ``generate_article``. The table has a row per topic: the outcome and the gate's and editor's
scores, then measurements of the article itself, taken the same way for every article whatever the
gate decided: its words (repeated sentences not counted), the share of distinct word trigrams, the
most times any line repeats, runs of prompt text echoed, runs copied from the pack's exemplars, and
its MiniLM similarity to the topic; then calls, tokens and wall time.

A topic may come with source notes (a YAML topics file: ``- {topic: ..., sources: DIR}``, the path
relative to the file). Its row then says how grounded the article is, measured from the article and
the notes themselves rather than from the run's own review: the figures in the body, how many of
them appear in no note, the citations, how many cite no entry of References, and whether
References lists exactly the sources cited.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from newsroom.api import ArticleResult, generate_article
from newsroom.config import Settings
from newsroom.errors import ConfigError
from newsroom.style.repetition import copied_runs, distinct_ratio, ngram_index, words

ECHO_WORDS = 6
COPY_WORDS = 12


@dataclass
class Row:
    topic: str
    status: str
    gate: float | None
    editor: float | None
    words: int
    distinct_3: float
    max_line_repeats: int
    echoed_runs: int
    copied_runs: int
    topic_similarity: float | None
    figures: int | None
    figures_unsourced: int | None
    citations: int | None
    citations_unresolved: int | None
    references_exact: bool | None
    calls: int
    input_tokens: int
    output_tokens: int
    seconds: float
    revisions: int
    article: str | None
    reason: str | None


def _body(markdown: str) -> str:
    from newsroom.stages.quality_gate import sections

    return "\n\n".join(part.split("\n", 1)[1].strip() if "\n" in part else "" for part in sections(markdown))


def measure(markdown: str, *, topic: str, prompts: tuple[str, ...], exemplars: tuple[str, ...],
            similarity: Callable[[str, str], float] | None) -> dict[str, Any]:
    """The article-level measurements of one article (pure but for the similarity function)."""
    from newsroom.style.checker import check_text
    from newsroom.style.checks_text import repeated_words

    body = _body(markdown)
    tokens = words(body)
    lines = Counter(" ".join(words(line)) for line in body.splitlines() if len(words(line)) >= 4)
    doc_words = len(tokens)
    from newsroom.style.markdown import parse

    repeated = repeated_words(parse(markdown))
    instruction = sum(1 for v in check_text(markdown, fragment=True).violations if v.rule_id == "meta.instruction-echo")
    return {
        "words": doc_words - repeated,
        "distinct_3": round(distinct_ratio(tokens, 3), 3),
        "max_line_repeats": max(lines.values(), default=0),
        "echoed_runs": len(copied_runs(body, ngram_index(prompts, ECHO_WORDS), ECHO_WORDS)) + instruction,
        "copied_runs": len(copied_runs(body, ngram_index(exemplars, COPY_WORDS), COPY_WORDS)),
        "topic_similarity": round(similarity(topic, body), 3) if similarity and body else None,
    }


def grounding(markdown: str, notes: list[str]) -> dict[str, Any]:
    """How the article's figures and citations hold against the notes it was given (pure)."""
    import re

    from newsroom.style.citations import CITATION, cited
    from newsroom.style.figures import find_figures, same_figure

    parts = re.split(r"^## References[ \t]*$", markdown, maxsplit=1, flags=re.MULTILINE)
    body = _body(parts[0])
    listed = len(re.findall(r"^\d+\. ", parts[1], flags=re.MULTILINE)) if len(parts) > 1 else 0
    known = [f for note in notes for f in find_figures(note)]
    figures = find_figures(CITATION.sub(" ", body))
    numbers = cited([body])
    return {"figures": len(figures),
            "figures_unsourced": sum(not any(same_figure(f, k) for k in known) for f in figures),
            "citations": len(CITATION.findall(body)),
            "citations_unresolved": sum(not 1 <= n <= listed for n in numbers),
            "references_exact": sorted(numbers) == list(range(1, listed + 1))}


_UNGROUNDED = dict.fromkeys(("figures", "figures_unsourced", "citations", "citations_unresolved",
                             "references_exact"))


def read_eval_topics(path: Path | str) -> list[tuple[str, Path | None]]:
    """(topic, sources) from a plain topics file (one a line, no sources) or a YAML list of
    ``{topic, sources}`` mappings, ``sources`` relative to the file."""
    import yaml

    from newsroom.batch import read_topics
    from newsroom.safeio import read_text_file

    path = Path(path)
    if path.suffix not in (".yaml", ".yml"):
        return [(t, None) for t in read_topics(path)]
    text = read_text_file(path, limit=1_000_000, what="topics file", hint="give a YAML list of {topic, sources}")
    try:
        items = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"topics file {str(path)!r} is not valid YAML: {exc}") from None
    if not isinstance(items, list) or not items:
        raise ConfigError(f"topics file {str(path)!r} must be a YAML list of {{topic, sources}} mappings")
    out: list[tuple[str, Path | None]] = []
    for i, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("topic"), str) or set(item) - {"topic", "sources"}:
            raise ConfigError(f"topics file {str(path)!r}, entry {i}: give a mapping with 'topic' (text) and "
                              f"optionally 'sources' (a path), got {item!r}"[:300])
        sources = item.get("sources")
        out.append((item["topic"], path.parent / str(sources) if sources is not None else None))
    return out


def _row(result: ArticleResult, measured: dict[str, Any]) -> Row:
    return Row(topic=result.topic, status=result.status, gate=result.scores.get("gate"),
               editor=result.scores.get("editor"), calls=result.usage.llm_calls,
               input_tokens=result.usage.input_tokens, output_tokens=result.usage.output_tokens,
               seconds=result.usage.duration_s, revisions=result.revisions, article=result.article_path,
               reason=result.reason, **measured)


def run_eval(topics: list[str] | list[tuple[str, Path | None]], *, settings: Settings, out_dir: Path,
             on_row: Callable[[Row], None] | None = None) -> list[Row]:
    """Generate and measure an article per topic (a topic or a (topic, sources) pair); write
    ``results.json`` and ``results.md`` to ``out_dir``."""
    from newsroom.crews import load_crews, prompt_text
    from newsroom.paths import data_dir
    from newsroom.sources import load_sources
    from newsroom.style.embedder import text_similarity
    from newsroom.style.pack import default_pack, load_pack

    prompts = prompt_text(load_crews(settings.crews_dir or data_dir("crews")))
    pack = load_pack(settings.knowledge_dir) if settings.knowledge_dir else default_pack()
    exemplars = tuple(e.text for e in pack.exemplars)
    rows: list[Row] = []
    started = time.strftime("%Y-%m-%d %H:%M")
    pairs = [(t, None) if isinstance(t, str) else t for t in topics]
    notes = {sources: [s.text for s in load_sources(sources)] for _, sources in pairs if sources is not None}
    for topic, sources in pairs:
        result = generate_article(topic, settings=settings, sources=sources, out_dir=out_dir / "articles")
        text = Path(result.article_path).read_text(encoding="utf-8") if result.article_path else ""
        measured = measure(text, topic=topic, prompts=prompts, exemplars=exemplars, similarity=text_similarity)
        measured.update(grounding(text, notes[sources]) if sources is not None else _UNGROUNDED)
        rows.append(_row(result, measured))
        if on_row is not None:
            on_row(rows[-1])
        write_results(rows, out_dir, settings=settings, started=started)
    return rows


COLUMNS = ("topic", "status", "gate", "editor", "words", "distinct_3", "max_line_repeats", "echoed_runs",
           "copied_runs", "topic_similarity", "calls", "input_tokens", "output_tokens", "seconds")
GROUNDED = ("figures", "figures_unsourced", "citations", "citations_unresolved", "references_exact")


def table(rows: list[Row]) -> str:
    columns = COLUMNS[:10] + GROUNDED + COLUMNS[10:] if any(r.figures is not None for r in rows) else COLUMNS
    head = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    body = "".join("| " + " | ".join("-" if getattr(r, c) is None else str(getattr(r, c)) for c in columns)
                   + " |\n" for r in rows)
    published = sum(r.status == "published" for r in rows)
    return head + body + f"\n{published} of {len(rows)} published.\n"


def write_results(rows: list[Row], out_dir: Path, *, settings: Settings, started: str) -> None:
    from newsroom.safeio import write_atomic

    meta = {"started": started, "model": settings.model_name, "provider": settings.provider}
    write_atomic(out_dir / "results.json", json.dumps({**meta, "rows": [asdict(r) for r in rows]}, indent=1) + "\n")
    note = (f"# newsroom eval\n\n{len(rows)} topic(s), {settings.provider} model `{settings.model_name}`, "
            f"started {started}.\n\n")
    write_atomic(out_dir / "results.md", note + table(rows))
