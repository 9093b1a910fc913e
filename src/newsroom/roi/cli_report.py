"""``newsroom roi report --html FILE`` and ``newsroom roi export --prometheus FILE``.

Registered on the ``roi`` group with ``roi.add_command(report)`` and ``roi.add_command(export)``.
Both read the ledger from the database (every machine's calls, ``roi.db_ledger``) and write one file
atomically.
Exit codes: 0 written (an empty ledger too: the page says it is empty, the metrics are zero);
2 bad input: an unwritable path, an unknown ``--execution-id``, a negative baseline.
This module imports only click and the standard library at start-up.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click


def _read_ledger(obj: Any) -> tuple[list[dict[str, Any]], int, str]:
    from newsroom.roi.db_ledger import open_ledger

    ledger = open_ledger(obj.settings())
    try:
        read = ledger.read()
    finally:
        ledger.close()
    if read.skipped_lines:
        click.echo(f"warning: skipped {len(read.skipped_lines)} unreadable ledger line(s): "
                   f"{read.skipped_lines[:5]}", err=True)
    return read.records, len(read.skipped_lines), ledger.describe()


def _emit(as_json: bool, data: dict[str, Any], line: str) -> None:
    click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False) if as_json else line)


_OUT = click.Path(dir_okay=False, path_type=Path)
_JSON = click.option("--json", "as_json", is_flag=True, help="print one JSON document on stdout")


@click.command("report")
@click.option("--html", "html_path", type=_OUT, required=True, metavar="FILE",
              help="write the self-contained HTML page here (opens offline)")
@click.option("--execution-id", default=None, help="only this run")
@click.option("--human-cost-usd", type=float, default=None, envvar="NEWSROOM_HUMAN_COST_USD", metavar="X",
              help="what one article costs a human writer, in USD [env NEWSROOM_HUMAN_COST_USD; "
                   "default: --human-minutes at an assumed $60/h, i.e. $180]")
@click.option("--human-minutes", type=float, default=None, envvar="NEWSROOM_HUMAN_MINUTES", metavar="N",
              help="a writer's minutes per article [env NEWSROOM_HUMAN_MINUTES; default: 180, an assumption]")
@_JSON
@click.pass_obj
def report(obj: Any, html_path: Path, execution_id: str | None, human_cost_usd: float | None,
           human_minutes: float | None, as_json: bool) -> int:
    """Write the ROI report: one HTML page of charts and tables, no scripts, no network.

    Shows cost and tokens per run, tokens and cost by stage, the latency histogram, and tables
    per run, stage and model (p50/p95 latency, failures). The ROI multiplier (human baseline /
    LLM cost per published article) appears only where the cost is known. An empty ledger gives
    a page that says so; an unknown --execution-id is an error (exit 2).
    """
    from newsroom.roi.report import Baseline, build_report, write_html

    baseline = Baseline.resolve(human_cost_usd, human_minutes)
    records, skipped, ledger_path = _read_ledger(obj)
    page, data = build_report(records, ledger_path=ledger_path, baseline=baseline, execution_id=execution_id,
                              skipped_lines=skipped)
    write_html(html_path, page)
    total = data["summary"]["total"]
    result = {"html": str(html_path), "ledger": str(ledger_path), "scope": execution_id, "runs": len(data["runs"]),
              "published": data["published"], "calls": total["calls"], "cost_usd": total["cost_usd"],
              "cost_per_article_usd": data["cost_per_article_usd"], "roi_multiplier": data["roi_multiplier"],
              "roi_note": data["roi_note"], "baseline": data["baseline"], "skipped_lines": skipped}
    roi = "n/a" if data["roi_multiplier"] is None else f"{data['roi_multiplier']:,.1f}x"
    line = (f"wrote {html_path} ({len(data['runs'])} runs, {total['calls']} LLM calls, "
            f"ROI multiplier {roi}{': ' + data['roi_note'] if data['roi_note'] else ''})")
    _emit(as_json, result, line if total["calls"] or data["runs"] else f"wrote {html_path} (the ledger is empty)")
    return 0


@click.command("export")
@click.option("--jsonl", "jsonl_path", type=_OUT, default=None, metavar="FILE",
              help="write every record as JSON Lines (the whole ledger, from every machine)")
@click.option("--prometheus", "prom_path", type=_OUT, default=None, metavar="FILE",
              help="write Prometheus text-format metrics here (name it *.prom for node-exporter)")
@_JSON
@click.pass_obj
def export(obj: Any, prom_path: Path | None, jsonl_path: Path | None, as_json: bool) -> int:
    """Export the ledger as Prometheus metrics for node-exporter's textfile collector.

    Counters of calls, tokens and known cost per stage, model and provider, calls of unknown
    price, a latency histogram, and runs by status. The file is replaced atomically, so a
    scrape never reads half of it; run the export from cron or a timer.
    """
    from newsroom.roi.export import write_jsonl, write_prometheus

    if prom_path is None and jsonl_path is None:
        raise click.UsageError("give --prometheus FILE, --jsonl FILE or both")
    records, skipped, ledger_path = _read_ledger(obj)
    if prom_path is not None:
        if prom_path.suffix != ".prom":
            click.echo(f"warning: node-exporter's textfile collector reads only *.prom files, not "
                       f"{prom_path.name!r}", err=True)
        write_prometheus(prom_path, records, skipped_lines=skipped)
    if jsonl_path is not None:
        write_jsonl(jsonl_path, records)
    calls = sum(1 for r in records if r.get("type") == "llm_call")
    runs = sum(1 for r in records if r.get("type") == "run")
    written = [str(p) for p in (prom_path, jsonl_path) if p is not None]
    result = {"prometheus": str(prom_path) if prom_path else None, "jsonl": str(jsonl_path) if jsonl_path else None,
              "ledger": ledger_path, "calls": calls, "runs": runs, "skipped_lines": skipped}
    _emit(as_json, result, f"wrote {', '.join(written)} ({calls} LLM calls, {runs} runs)")
    return 0
