"""The ``newsroom`` command. It parses, calls the API, prints: results on stdout, progress on stderr.

Exit codes: 0 success; 2 bad usage, input or configuration; 3 ran correctly but the outcome was
negative; 1 unexpected failure. Heavy libraries are imported inside commands, never at start-up.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from newsroom.cli_common import Ctx, emit, fmt_cost, json_option, outcome, provider_options
from newsroom.errors import NewsroomError

log = logging.getLogger("newsroom")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--workspace", envvar="NEWSROOM_WORKSPACE", default=None, metavar="DIR",
              help="where logs/, newsroom.toml and the style store live [default: current directory]")
@click.option("--database-url", default=None, metavar="URL",
              help="sqlite:///FILE or postgresql://...: runs, queue and ledger shared by every worker "
                   "[env NEWSROOM_DATABASE_URL; default: the workspace's .newsroom/newsroom.sqlite]")
@click.option("-v", "--verbose", count=True, help="log to stderr (-vv for debug)")
@click.version_option(package_name="newsroom")
@click.pass_context
def cli(ctx: click.Context, workspace: str | None, database_url: str | None, verbose: int) -> None:
    """newsroom: write publication-quality articles with a metered pipeline of AI agents.

    Runs offline on a local model by default; every LLM call is recorded in the ROI ledger
    (logs/execution_roi.jsonl).
    """
    if verbose:
        logging.basicConfig(level=logging.DEBUG if verbose > 1 else logging.INFO, stream=sys.stderr,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx.obj = Ctx(workspace, database_url)


# -- health -----------------------------------------------------------------------------------
@cli.command()
@provider_options
@json_option
@click.pass_obj
def health(obj: Ctx, provider: str | None, model: str | None, base_url: str | None, as_json: bool) -> int:
    """Check the provider, the model file, the style store, the ledger and the flags."""
    from newsroom.health import run_checks

    settings = obj.settings(provider=provider, model=model, base_url=base_url)
    checks = run_checks(settings)
    ok = all(c.ok for c in checks)

    def human() -> None:
        for c in checks:
            mark = "ok  " if c.ok else "FAIL"
            click.echo(f"{mark} {c.name:<12} {c.duration_ms:8.1f} ms  {c.detail}")

    emit(as_json, {"ok": ok, "checks": [c.as_dict() for c in checks]}, human)
    config_failures = [c for c in checks if c.config_error]
    if config_failures:
        raise_config = config_failures[0].detail
        from newsroom.errors import ConfigError

        raise ConfigError(raise_config)
    return outcome(ok)


# -- flags ------------------------------------------------------------------------------------
@cli.group()
def flags() -> None:
    """Feature flags as evaluated now (file < NEWSROOM_FLAG_* env < --flag)."""


@flags.command("list")
@click.option("--flag", "flag_pairs", multiple=True, metavar="NAME=VALUE", help="override a flag")
@click.option("--execution-id", default=None, help="evaluate percentage rollouts for this id")
@json_option
@click.pass_obj
def flags_list(obj: Ctx, flag_pairs: tuple[str, ...], execution_id: str | None, as_json: bool) -> int:
    """Every flag with its value and where the value came from."""
    from newsroom import flags as flagmod

    settings = obj.settings(flag_overrides=flagmod.parse_overrides(flag_pairs))
    evaluated = flagmod.evaluate(settings, execution_id)

    def human() -> None:
        for f in evaluated.values():
            spec = flagmod.FLAGS[f.name]
            click.echo(f"{f.name:<14} {'on ' if f.value else 'off'}  ({f.source}) "
                       f"{spec.on if f.value else spec.off}")

    emit(as_json, [f.as_dict() for f in evaluated.values()], human)
    return 0


@flags.command("get")
@click.argument("name")
@click.option("--flag", "flag_pairs", multiple=True, metavar="NAME=VALUE", help="override a flag")
@click.option("--execution-id", default=None, help="evaluate percentage rollouts for this id")
@json_option
@click.pass_obj
def flags_get(obj: Ctx, name: str, flag_pairs: tuple[str, ...], execution_id: str | None,
              as_json: bool) -> int:
    """One flag's value."""
    from newsroom import flags as flagmod

    settings = obj.settings(flag_overrides=flagmod.parse_overrides(flag_pairs))
    flag = flagmod.get(settings, name, execution_id)
    emit(as_json, flag.as_dict(), lambda: click.echo("on" if flag.value else "off"))
    return 0


# -- roi --------------------------------------------------------------------------------------
@cli.group()
def roi() -> None:
    """The ROI ledger: what every LLM call cost."""


def _ledger_records(obj: Ctx) -> tuple[list[dict[str, Any]], Any]:
    from newsroom.roi.db_ledger import open_ledger

    settings = obj.settings()
    ledger = open_ledger(settings)
    try:
        report = ledger.read()
    finally:
        ledger.close()
    if report.skipped_lines:
        click.echo(f"warning: skipped {len(report.skipped_lines)} unreadable ledger line(s): "
                   f"{report.skipped_lines[:5]}", err=True)
    return report.records, settings


@roi.command("summary")
@json_option
@click.pass_obj
def roi_summary(obj: Ctx, as_json: bool) -> int:
    """Calls, tokens, cost, latency p50/p95 and failures per run, stage and model."""
    from newsroom.roi.summary import summarize

    records, settings = _ledger_records(obj)
    summary = summarize(records)

    def human() -> None:
        t = summary["total"]
        click.echo(f"ledger {settings.db_url if not settings.embedded else settings.ledger_path}")
        click.echo(f"{t['calls']} calls ({t['failures']} failed), {t['input_tokens']} in "
                   f"({t['cached_input_tokens']} cached) / {t['output_tokens']} out tokens, "
                   f"cost {fmt_cost(t['cost_usd'])}")
        for title in ("stages", "models", "runs"):
            click.echo(f"\nby {title[:-1]}:")
            for key, g in summary[title].items():
                p50, p95 = g["latency_ms_p50"] or 0, g["latency_ms_p95"] or 0
                click.echo(f"  {key:<34} {g['calls']:>5} calls {g['failures']:>3} failed "
                           f"{g['input_tokens'] + g['output_tokens']:>9} tok {fmt_cost(g['cost_usd']):>12} "
                           f"p50 {p50:8.1f} ms p95 {p95:8.1f} ms")

    emit(as_json, summary, human)
    return 0


@roi.command("calls")
@click.option("--execution-id", default=None, help="only this run's calls")
@click.option("--limit", type=click.IntRange(min=1), default=None, metavar="N",
              help="only the last N calls (N >= 1) [default: every call]")
@json_option
@click.pass_obj
def roi_calls(obj: Ctx, execution_id: str | None, limit: int | None, as_json: bool) -> int:
    """One line per LLM call attempt."""
    records, _ = _ledger_records(obj)
    calls = [r for r in records if r.get("type") == "llm_call"
             and (execution_id is None or r.get("execution_id") == execution_id)]
    if limit is not None:
        calls = calls[-limit:]

    def human() -> None:
        for c in calls:
            click.echo(f"{c.get('ts')} {c.get('execution_id')} {c.get('stage')!s:<12} {c.get('agent')!s:<20} "
                       f"{c.get('status')!s:<5} #{c.get('attempt')} {c.get('input_tokens')}+{c.get('output_tokens')} "
                       f"tok {c.get('duration_ms')} ms {fmt_cost(c.get('cost_usd'))}")

    emit(as_json, calls, human)
    return 0


# -- generate / discover ---------------------------------------------------------------------
@cli.command()
@click.argument("topic", required=False)
@click.option("--resume", default=None, metavar="EXECUTION_ID",
              help="continue a killed, budget-stopped, failed or cancelled run where it stopped")
@click.option("--out", "out_dir", default=None, metavar="DIR", help="where to write the article [default: articles/]")
@provider_options
@click.option("--flag", "flag_pairs", multiple=True, metavar="NAME=VALUE", help="override a feature flag")
@click.option("--max-revisions", type=int, default=None, help="revision rounds before rejecting [flow default: 2]")
@click.option("--budget-usd", type=float, default=None, help="stop the run past this cost")
@click.option("--budget-tokens", type=int, default=None, help="stop the run past this many tokens")
@click.option("--sources", default=None, metavar="FILE_OR_DIR", help="notes, figures and quotes (.md, .txt) to use")
@click.option("--crews", "crews_dir", default=None, metavar="DIR", help="your own crew definitions")
@click.option("--flows", "flows_dir", default=None, metavar="DIR", help="your own flow definitions")
@click.option("--knowledge", "knowledge_dir", default=None, metavar="DIR", help="your own house-style pack")
@json_option
@click.pass_obj
def generate(obj: Ctx, topic: str | None, resume: str | None, out_dir: str | None, provider: str | None,
             model: str | None,
             base_url: str | None, flag_pairs: tuple[str, ...], max_revisions: int | None,
             budget_usd: float | None, budget_tokens: int | None, sources: str | None, crews_dir: str | None,
             flows_dir: str | None, knowledge_dir: str | None, as_json: bool) -> int:
    """Write an article on TOPIC: discover -> editorial -> generate -> quality_gate.

    Writes OUT/<date>-<slug>.md and OUT/<date>-<slug>.review.json. Exit 0 when published,
    3 when the article was not published (rejected, needs revision, budget exceeded, failed).
    With --resume EXECUTION_ID, TOPIC may be left out: the run continues after its last finished step.
    """
    if topic is None and resume is None:
        raise click.UsageError("give a TOPIC, or --resume EXECUTION_ID to continue a stopped run")
    from newsroom import flags as flagmod
    from newsroom.api import generate_article
    from newsroom.progress import ConsoleProgress

    settings = obj.settings(provider=provider, model=model, base_url=base_url, max_revisions=max_revisions,
                            budget_usd=budget_usd, budget_tokens=budget_tokens, crews_dir=crews_dir,
                            flows_dir=flows_dir, knowledge_dir=knowledge_dir,
                            flag_overrides=flagmod.parse_overrides(flag_pairs))
    if settings.provider == "scripted":
        from newsroom.errors import ConfigError

        raise ConfigError("the scripted provider is for tests and the Python API; use local, openai or anthropic")
    result = generate_article(topic, settings=settings, sources=sources, out_dir=out_dir, resume=resume,
                              progress=None if as_json else ConsoleProgress())

    def human() -> None:
        u = result.usage
        click.echo(f"{result.status}: {result.article_path or '(no article written)'}")
        click.echo(f"review: {result.review_path}")
        if result.reason:
            click.echo(f"why: {result.reason}")
        click.echo(f"revisions {result.revisions}, gate score {result.scores.get('gate')}, "
                   f"{u.llm_calls} LLM calls, {u.input_tokens}+{u.output_tokens} tokens, "
                   f"cost {fmt_cost(u.cost_usd)}, {u.duration_s:.1f} s, execution {result.execution_id}")

    emit(as_json, result.model_dump(mode="json"), human)
    return outcome(result.status == "published")


@cli.command()
@click.argument("subject")
@click.option("--n", "n", type=click.IntRange(1, 8), default=None, help="how many candidates [flow default]")
@provider_options
@click.option("--sources", default=None, metavar="FILE_OR_DIR", help="notes to ground the angles")
@json_option
@click.pass_obj
def discover(obj: Ctx, subject: str, n: int | None, provider: str | None, model: str | None,
             base_url: str | None, sources: str | None, as_json: bool) -> int:
    """The discover stage alone: ranked candidate angles for SUBJECT."""
    from newsroom.api import discover_topics

    settings = obj.settings(provider=provider, model=model, base_url=base_url)
    if not as_json:
        click.echo(f"discovering angles for {subject!r}…", err=True)
    candidates = discover_topics(subject, n=n, settings=settings, sources=sources)

    def human() -> None:
        for c in candidates:
            flag = f"  (close to published: {c.similar_to})" if c.flagged else ""
            click.echo(f"#{c.number} [{c.score:.2f}] {c.hook}\n    thesis: {c.thesis}{flag}")

    emit(as_json, [c.model_dump(mode="json") for c in candidates], human)
    return 0


# The style commands live beside the style code; their modules import only click at start-up.
from newsroom.cli_runs import batch, eval_command, runs, submit, worker  # noqa: E402
from newsroom.llm.cli_models import models  # noqa: E402
from newsroom.roi.cli_report import export, report  # noqa: E402
from newsroom.service.server import serve  # noqa: E402
from newsroom.style.cli_check import check  # noqa: E402
from newsroom.style.cli_memory import style  # noqa: E402

cli.add_command(check)
cli.add_command(style)
cli.add_command(models)
for command in (batch, eval_command, submit, worker, runs, serve):
    cli.add_command(command)
roi.add_command(report)
roi.add_command(export)


def main(argv: list[str] | None = None) -> None:
    """Entry point: expected errors become one line and an exit code; a traceback is a bug."""
    try:
        code = cli.main(args=argv, prog_name="newsroom", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if isinstance(exc, click.UsageError | click.BadParameter) else exc.exit_code)
    except click.exceptions.Abort:
        click.echo("newsroom: aborted", err=True)
        sys.exit(130)
    except NewsroomError as exc:
        click.echo(f"newsroom: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("newsroom: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        log.debug("unexpected failure", exc_info=True)
        click.echo(f"newsroom: unexpected error: {type(exc).__name__}: {exc} "
                   "(run with -vv for the traceback; this is a bug, please report it)", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
