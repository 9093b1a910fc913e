"""What every ``newsroom`` command shares: the context object, output, exit codes, common options."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click


class Ctx:
    def __init__(self, workspace: str | None, database_url: str | None = None) -> None:
        self.workspace = workspace
        self.database_url = database_url

    def settings(self, **explicit: Any) -> Any:
        from newsroom.config import Settings

        return Settings.load(workspace=self.workspace, database_url=self.database_url, **explicit)


def emit(as_json: bool, data: Any, human: Callable[[], None]) -> None:
    """Print the result: exactly one JSON document with ``--json``, else a human rendering."""
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))
    else:
        human()


def provider_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed([
        click.option("--provider", type=str, default=None,
                     help="local (default), openai, anthropic or scripted [env NEWSROOM_PROVIDER]"),
        click.option("--model", default=None, help="model name [env NEWSROOM_MODEL]"),
        click.option("--base-url", default=None, help="OpenAI/Anthropic-compatible server URL "
                                                       "[env NEWSROOM_BASE_URL]"),
    ]):
        fn = option(fn)
    return fn


def outcome(ok: bool) -> int:
    """Exit 0 for a positive outcome, 3 for a negative one (raised, so CliRunner and main agree)."""
    if not ok:
        raise click.exceptions.Exit(3)
    return 0


json_option = click.option("--json", "as_json", is_flag=True, help="print one JSON document on stdout")


def fmt_cost(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.6f}"


def run_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options that shape a run, for every command that starts one."""
    for option in reversed([
        click.option("--flag", "flag_pairs", multiple=True, metavar="NAME=VALUE", help="override a feature flag"),
        click.option("--max-revisions", type=int, default=None, help="revision rounds before rejecting"),
        click.option("--budget-usd", type=float, default=None, help="per-article cost budget"),
        click.option("--budget-tokens", type=int, default=None, help="per-article token budget"),
    ]):
        fn = option(fn)
    return provider_options(fn)
