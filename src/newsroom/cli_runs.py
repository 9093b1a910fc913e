"""The commands that run articles in numbers: ``batch``, ``eval``, ``submit``, ``worker`` and ``runs``.

``submit`` puts runs on the database's queue; ``worker`` (one or more per machine) takes them off;
``runs`` shows and cancels them; ``batch`` does all three in one process. Heavy imports happen inside
each command.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click

from newsroom.cli_common import Ctx, emit, json_option, outcome, run_options

RATE_OPTIONS = (
    click.option("--rpm", "rate_limit_rpm", type=click.IntRange(1), default=None,
                 help="requests per minute for the provider, shared by every process on the database "
                      "[env NEWSROOM_RATE_LIMIT_RPM]"),
    click.option("--tpm", "rate_limit_tpm", type=click.IntRange(1), default=None,
                 help="prompt tokens per minute, likewise (estimated when each call is made) "
                      "[env NEWSROOM_RATE_LIMIT_TPM]"),
)


def _run_settings(obj: Ctx, **values: Any) -> Any:
    from newsroom import flags as flagmod

    pairs = values.pop("flag_pairs", ())
    return obj.settings(flag_overrides=flagmod.parse_overrides(pairs), **values)


@click.command()
@click.argument("topics_file", metavar="TOPICS_FILE")
@click.option("--concurrency", type=click.IntRange(1, 32), default=2, show_default=True,
              help="runs at once (the local server gets as many parallel slots, up to 8)")
@click.option("--out", "out_dir", default=None, metavar="DIR", help="where to write the articles [default: articles/]")
@run_options
@RATE_OPTIONS[0]
@RATE_OPTIONS[1]
@json_option
@click.pass_obj
def batch(obj: Ctx, topics_file: str, concurrency: int, out_dir: str | None, as_json: bool, **values: Any) -> int:
    """Write an article for every line of TOPICS_FILE, CONCURRENCY at a time, in this process.

    The same durable runs as submit + worker: a killed batch leaves its runs to `newsroom worker`
    or `generate --resume`. Exit 0 when every article was published, 3 otherwise.
    """
    from newsroom.batch import read_topics, run_batch

    settings = _run_settings(obj, **values)
    topics = read_topics(topics_file)
    if not as_json:
        click.echo(f"{len(topics)} topics, {concurrency} at a time", err=True)

    def report(result: Any) -> None:
        if not as_json:
            click.echo(f"{result.status:<16} {result.topic} ({result.usage.llm_calls} calls, "
                       f"{result.usage.duration_s:.1f} s)", err=True)

    results = run_batch(topics, settings=settings, concurrency=concurrency, out_dir=out_dir, on_result=report)

    def human() -> None:
        for r in results:
            click.echo(f"{r.status:<16} {r.article_path or '-'}  {r.reason or ''}".rstrip())

    emit(as_json, [r.model_dump(mode="json") for r in results], human)
    return outcome(all(r.status == "published" for r in results))


@click.command("eval")
@click.argument("topics_file", metavar="TOPICS_FILE")
@click.option("--out", "out_dir", default="eval", show_default=True, metavar="DIR",
              help="where results.md, results.json and the articles go")
@run_options
@json_option
@click.pass_obj
def eval_command(obj: Ctx, topics_file: str, out_dir: str, as_json: bool, **values: Any) -> int:
    """Write an article for every topic of TOPICS_FILE, one at a time, and measure each one.

    TOPICS_FILE is one topic a line, or a YAML list of {topic, sources} to give each topic its own
    notes (sources relative to the file); the table then measures how grounded each article is.

    Writes OUT/results.md (the table), OUT/results.json and the articles under OUT/articles.
    Exit 0 when every run finished (whatever it published); the table says how many were published.
    """
    from newsroom.evaluation import read_eval_topics, run_eval, table

    settings = _run_settings(obj, **values)
    topics = read_eval_topics(topics_file)
    click.echo(f"eval: {len(topics)} topics with {settings.provider} model {settings.model_name}, one at a time",
               err=True)

    def report(row: Any) -> None:
        click.echo(f"{row.status:<16} {row.topic} ({row.words} words, distinct-3 {row.distinct_3}, "
                   f"{row.calls} calls, {row.seconds:.0f} s)", err=True)

    rows = run_eval(topics, settings=settings, out_dir=Path(out_dir), on_row=report)
    emit(as_json, [vars(r) for r in rows], lambda: click.echo(table(rows), nl=False))
    return 0


@click.command()
@click.argument("topics_file", metavar="TOPICS_FILE")
@click.option("--out", "out_dir", default=None, metavar="DIR",
              help="where the worker writes the articles; a path every worker can write [default: the worker's "
                   "articles/]")
@click.option("--sources", default=None, metavar="FILE_OR_DIR", help="notes for every run (read now, sent with it)")
@run_options
@json_option
@click.pass_obj
def submit(obj: Ctx, topics_file: str, out_dir: str | None, sources: str | None, as_json: bool,
           **values: Any) -> int:
    """Put a run for every line of TOPICS_FILE on the queue, for `newsroom worker` to take."""
    from newsroom.api import make_job
    from newsroom.batch import read_topics
    from newsroom.runs import enqueue

    settings = _run_settings(obj, **values)
    jobs = [make_job(t, settings, sources=sources, out_dir=out_dir) for t in read_topics(topics_file)]
    ids = enqueue(settings, jobs)
    def human() -> None:
        for i, j in zip(ids, jobs, strict=True):
            click.echo(f"queued {i}  {j.topic}")

    emit(as_json, [{"execution_id": i, "topic": j.topic, "status": "queued"} for i, j in zip(ids, jobs, strict=True)],
         human)
    return 0


@click.command()
@click.option("--concurrency", type=click.IntRange(1, 32), default=1, show_default=True,
              help="runs this worker takes at once")
@click.option("--drain", "drain_s", type=click.FloatRange(0), default=30.0, show_default=True, metavar="SECONDS",
              help="on SIGTERM, how long running runs may take to finish before they are handed back")
@click.option("--id", "executor", default=None, metavar="NAME",
              help="this worker's stable name (its unfinished runs come back to it after a restart)")
@click.option("--stale-after", "stale_s", type=click.FloatRange(10), default=30.0, show_default=True,
              envvar="NEWSROOM_WORKER_STALE_S", metavar="SECONDS",
              help="adopt the runs of a worker whose heartbeat (every 5 s) is this old; use the same value on "
                   "every worker [env NEWSROOM_WORKER_STALE_S]")
@click.pass_obj
def worker(obj: Ctx, concurrency: int, drain_s: float, executor: str | None, stale_s: float) -> int:
    """Take queued runs and run them, until SIGTERM or Ctrl-C.

    On SIGTERM it stops taking runs, lets running ones finish for up to --drain seconds, hands the
    rest back to the queue and exits 0. Killed outright, its runs are handed back by another worker
    once its heartbeat is --stale-after seconds old, and continue where they stopped.
    """
    from newsroom.engine import work

    settings = obj.settings()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"worker: taking runs from the queue, {concurrency} at a time (SIGTERM to stop)", err=True)
    handed = work(settings, concurrency=concurrency, stop=stop, executor=executor, drain_s=drain_s,
                  stale_s=stale_s)
    click.echo(f"worker: stopped; handed back {len(handed)} run(s): {', '.join(handed) or 'none'}", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # a run handed back is another worker's now; this process must not go on with it


@click.group()
def runs() -> None:
    """Runs in the database: queued, running and finished (every machine's)."""


@runs.command("list")
@click.option("--status", default=None, help="only runs with this status (queued, running, published, ...)")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@json_option
@click.pass_obj
def runs_list(obj: Ctx, status: str | None, limit: int, as_json: bool) -> int:
    """The newest runs first."""
    from newsroom.runs import list_runs

    found = list_runs(obj.settings(), status=status, limit=limit)
    def human() -> None:
        for r in found:
            click.echo(f"{r.execution_id}  {r.status:<16} {r.updated or '-':<20} {r.topic}")

    emit(as_json, [r.as_dict() for r in found], human)
    return 0


@runs.command("show")
@click.argument("execution_id")
@json_option
@click.pass_obj
def runs_show(obj: Ctx, execution_id: str, as_json: bool) -> int:
    """One run: its status, outcome, files and reason."""
    from newsroom.runs import get_run

    run = get_run(obj.settings(), execution_id)

    def human() -> None:
        click.echo(f"{run.execution_id}  {run.status}  {run.topic}")
        click.echo(f"created {run.created}, updated {run.updated}, worker {run.executor}")
        for key in ("article_path", "review_path"):
            if run.result and run.result.get(key):
                click.echo(f"{key.split('_')[0]}: {run.result[key]}")
        if run.reason:
            click.echo(f"why: {run.reason}")

    emit(as_json, run.as_dict(), human)
    return 0


@runs.command("cancel")
@click.argument("execution_id")
@json_option
@click.pass_obj
def runs_cancel(obj: Ctx, execution_id: str, as_json: bool) -> int:
    """Cancel a queued or running run; a running one stops before its next model call."""
    from newsroom.runs import cancel_run

    run = cancel_run(obj.settings(), execution_id)
    emit(as_json, run.as_dict(), lambda: click.echo(f"{run.execution_id}  {run.status}"))
    return 0
