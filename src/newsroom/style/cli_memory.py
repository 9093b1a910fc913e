"""``newsroom style``: index, query and inspect the style memory (``newsroom.style.memory``).

Results go to stdout (``--json``: exactly one JSON document), progress to stderr. The main CLI
registers the group with ``cli.add_command(style)`` and puts an object with ``.settings(**explicit)``
in ``ctx.obj``; run standalone, the group resolves ``Settings`` itself.
"""

from __future__ import annotations

import json
import time
from typing import Any

import click

# A copy of newsroom.style.pack.CATEGORIES (a test keeps them equal): importing the pack module
# pulls in pydantic and yaml, and `newsroom --help` should stay fast.
CATEGORIES = ("opening", "cliche", "hedging", "closing", "attribution", "spelling", "punctuation",
              "placeholder", "meta", "structure", "front_matter")

chroma_option = click.option("--chroma-url", envvar="NEWSROOM_CHROMA_URL", default=None, metavar="URL",
                             help="a Chroma server (http://HOST:PORT) instead of the workspace's embedded "
                                  "store [env NEWSROOM_CHROMA_URL]")
json_option = click.option("--json", "as_json", is_flag=True, help="print one JSON document on stdout")


def _settings(**explicit: Any) -> Any:
    obj = click.get_current_context().obj
    if obj is not None and hasattr(obj, "settings"):
        return obj.settings(**explicit)
    from newsroom.config import Settings

    return Settings.load(**explicit)


def _memory(chroma_url: str | None, knowledge: str | None = None) -> Any:
    from pathlib import Path

    from newsroom.style.memory import StyleMemory

    settings = _settings(chroma_url=chroma_url, knowledge_dir=Path(knowledge) if knowledge else None)
    return StyleMemory.from_settings(settings)


def _warm(memory: Any) -> None:
    """Load the embedder (and index an empty store) with a note on stderr; both take seconds."""
    from newsroom.style.embedder import is_loaded

    if not is_loaded():
        click.echo("loading embedder…", err=True)
    report = memory.warm()
    if report is not None:
        click.echo(f"style store was empty: indexed {report.added} entries into {memory.location}", err=True)


def _emit(as_json: bool, data: Any, human: Any) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    else:
        human()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def style() -> None:
    """The style memory: house-style rules and exemplars in a Chroma store, queried by meaning."""


@style.command("index")
@click.option("--knowledge", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="the house-style pack to index [env NEWSROOM_KNOWLEDGE; default: the packaged one]")
@chroma_option
@json_option
def index_cmd(knowledge: str | None, chroma_url: str | None, as_json: bool) -> int:
    """Index the house-style pack; only entries that changed are re-embedded."""
    from newsroom.paths import data_dir
    from newsroom.style.pack import load_pack

    memory = _memory(chroma_url, knowledge)
    pack = load_pack(memory.knowledge_dir or data_dir("knowledge"))
    click.echo(f"indexing {len(pack.rules)} rules and {len(pack.exemplars)} exemplars from {pack.root} into "
               f"{memory.location} (what changed is embedded; the embedder takes ~10 s to load)…", err=True)
    started = time.perf_counter()
    report = memory.index(pack)
    click.echo(f"indexed in {time.perf_counter() - started:.1f} s", err=True)
    _emit(as_json, {**report.as_dict(), "store": memory.location},
          lambda: click.echo(f"added {report.added}, updated {report.updated}, removed {report.removed}, "
                             f"unchanged {report.unchanged} ({report.embedded} documents embedded)"))
    return 0


@style.command("query")
@click.argument("text")
@click.option("--k", "k", type=click.IntRange(min=1), default=5, show_default=True, help="how many hits")
@click.option("--kind", type=click.Choice(["rule", "exemplar"]), default=None, help="only this kind")
@click.option("--category", "categories", type=click.Choice(CATEGORIES), multiple=True,
              help="only these categories (repeatable)")
@chroma_option
@json_option
def query_cmd(text: str, k: int, kind: str | None, categories: tuple[str, ...], chroma_url: str | None,
              as_json: bool) -> int:
    """The rules and exemplars nearest TEXT (e.g. a draft paragraph), nearest first."""
    from newsroom.errors import ConfigError

    if not text.strip():
        raise ConfigError("the query text is empty; pass a sentence or paragraph to look up")
    memory = _memory(chroma_url)
    _warm(memory)
    hits = memory.query(text, k=k, kinds=[kind] if kind else None, categories=categories or None)

    def human() -> None:
        for hit in hits:
            click.echo(f"{hit.distance:.3f}  {hit.kind:<8} {hit.category:<12} {hit.id}  ({hit.source})")
            click.echo(f"       {hit.text}")

    _emit(as_json, [hit.as_dict() for hit in hits], human)
    return 0


@style.command("stats")
@chroma_option
@json_option
def stats_cmd(chroma_url: str | None, as_json: bool) -> int:
    """What the store holds: entries by kind and category, where it is, when it was last indexed."""
    stats = _memory(chroma_url).stats()

    def human() -> None:
        click.echo(f"store        {stats['store']} ({stats['backend']})")
        click.echo(f"embedder     {stats['embedder']}")
        click.echo(f"entries      {stats['entries']['rule']} rules, {stats['entries']['exemplar']} exemplars "
                   f"({stats['documents']} documents); {stats['published']} published articles")
        click.echo(f"last indexed {stats['last_indexed'] or 'never'}")
        for category, kinds in stats["categories"].items():
            click.echo(f"  {category:<13} {kinds['rule']:>3} rules {kinds['exemplar']:>3} exemplars")

    _emit(as_json, stats, human)
    return 0
