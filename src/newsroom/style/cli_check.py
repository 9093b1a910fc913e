"""``newsroom check FILE... [--fragment] [--json] [--knowledge DIR]``: the deterministic style gate.

Registered on the main group with ``cli.add_command(check)``. Exit codes: 0 every file passed;
3 at least one file did not pass (a critical or high violation); 2 bad input or configuration.

Several files where some cannot be read: the readable ones are still checked and reported (on
stdout, as usual), then the command fails with exit code 2 and one line naming every unreadable
file, so a typo in one path is never mistaken for a pass or a fail.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

_STDIN = "-"
_ORDER = ["critical", "high", "medium", "low"]


def _load_pack(ctx: click.Context, knowledge: Path | None) -> Any:
    """The pack from --knowledge (or NEWSROOM_KNOWLEDGE), else newsroom.toml's knowledge_dir, else the default."""
    from newsroom.style.pack import default_pack, load_pack

    if knowledge is None:  # newsroom.toml may name one; only pay for loading settings if it exists
        obj = ctx.find_root().obj
        workspace = getattr(obj, "workspace", None) or os.environ.get("NEWSROOM_WORKSPACE") or "."
        settings = getattr(obj, "settings", None)
        if callable(settings) and (Path(workspace) / "newsroom.toml").is_file():
            knowledge = settings().knowledge_dir
    return load_pack(knowledge) if knowledge is not None else default_pack()


def _human(result: Any) -> None:
    counts: dict[str, int] = {}
    for v in result.violations:
        counts[v.severity] = counts.get(v.severity, 0) + 1
    detail = ", ".join(f"{n} {sev}" for sev, n in sorted(counts.items(), key=lambda kv: _ORDER.index(kv[0])))
    verdict = "passed" if result.passed else "FAILED"
    click.echo(f"{result.file}: {verdict} (score {result.score:.2f}; "
               f"{len(result.violations)} violation(s){': ' + detail if detail else ''})")
    for v in result.violations:
        click.echo(f"{result.file}:{v.line} [{v.severity}] {v.rule_id}: {v.message} ({v.suggestion})")



@click.command("check")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--fragment", is_flag=True,
              help="check text-level rules only (no front matter, length or structure rules)")
@click.option("--json", "as_json", is_flag=True, help="print one JSON document on stdout: a list, one entry per file")
@click.option("--knowledge", type=click.Path(path_type=Path), envvar="NEWSROOM_KNOWLEDGE", default=None,
              metavar="DIR", help="house-style pack directory [env NEWSROOM_KNOWLEDGE; default: the bundled pack]")
@click.pass_context
def check(ctx: click.Context, files: tuple[str, ...], fragment: bool, as_json: bool,
          knowledge: Path | None) -> None:
    """The deterministic house-style gate (no LLM): check Markdown FILEs ('-' reads stdin).

    Exit code 0 when every file passes, 3 when any file has a critical or high violation,
    2 when a file cannot be read or the pack is invalid. With several FILEs, the readable ones
    are checked and reported first; unreadable ones are then named on stderr and the exit code is 2.
    """
    from newsroom.errors import ConfigError
    from newsroom.style.checker import MAX_BYTES, check_text, compile_pack, read_article

    pack = _load_pack(ctx, knowledge)
    compile_pack(pack)  # a broken pack is a ConfigError before any output
    results, unreadable = [], []
    for name in files:
        try:
            if name == _STDIN:
                text = sys.stdin.read(MAX_BYTES + 1)
                if not text.strip():
                    raise ConfigError("standard input is empty; there is nothing to check")
            else:
                text = read_article(name)
            results.append(check_text(text, fragment=fragment, pack=pack,
                                      filename="<stdin>" if name == _STDIN else name))
        except ConfigError as exc:
            if len(files) == 1:
                raise
            unreadable.append(str(exc))
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in results], indent=2, ensure_ascii=False))
    else:
        for result in results:
            _human(result)
    if unreadable:
        raise ConfigError(f"{len(unreadable)} of {len(files)} files not checked: " + "; ".join(unreadable))
    ctx.exit(0 if all(r.passed for r in results) else 3)
