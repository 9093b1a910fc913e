"""The ROI report: one self-contained HTML page (``newsroom roi report --html FILE``).

The page opens offline: inline CSS, inline SVG charts drawn here, no script, no font, image or
stylesheet from anywhere, and a Content-Security-Policy that forbids every fetch. Every string
that comes from the ledger is HTML-escaped (a topic may contain markup).

The ROI multiplier is the human cost of one article (the baseline, an assumption the user can
set) divided by the LLM cost of one published article. It exists only where that cost is known
and above zero: a run with a call of unknown price says so instead, a run that published nothing
has no multiplier, and the overall figure divides the cost of every run (failed ones included)
by the number of published articles.
"""

from __future__ import annotations

import html
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from newsroom.errors import ConfigError
from newsroom.roi.summary import runs_by_time, summarize
from newsroom.safeio import write_atomic

DEFAULT_HOURLY_USD = 60.0
DEFAULT_MINUTES = 180.0
UNKNOWN_COST = "cost unknown (model not in the price table)"
PUBLISHED = "published"


@dataclass(frozen=True)
class Baseline:
    """What one article would cost without the pipeline: the numerator of the ROI multiplier."""

    cost_usd: float
    minutes: float
    source: str

    @classmethod
    def resolve(cls, cost_usd: float | None = None, minutes: float | None = None) -> Baseline:
        """The baseline from ``--human-cost-usd`` / ``--human-minutes``, else the stated assumption."""
        if cost_usd is not None and not (cost_usd >= 0 and math.isfinite(cost_usd)):
            raise ConfigError(f"--human-cost-usd must be a finite number >= 0, not {cost_usd!r}")
        if minutes is not None and not (minutes > 0 and math.isfinite(minutes)):
            raise ConfigError(f"--human-minutes must be a finite number > 0, not {minutes!r}")
        mins = DEFAULT_MINUTES if minutes is None else minutes
        where = "assumed" if minutes is None else "given with --human-minutes"
        if cost_usd is not None:
            return cls(cost_usd, mins, f"given with --human-cost-usd; writing time {mins:g} min ({where})")
        rate = f"${DEFAULT_HOURLY_USD:.0f}/h"
        if minutes is None:
            source = (f"assumption, not a measurement: {mins / 60:g} hours of a writer's time at {rate}; "
                      "set your own figure with --human-cost-usd or --human-minutes")
        else:
            source = f"{mins:g} minutes (--human-minutes) at an assumed {rate}; set --human-cost-usd to override"
        return cls(round(mins / 60 * DEFAULT_HOURLY_USD, 2), mins, source)


def roi(baseline_usd: float, cost_usd: float | None, published: int) -> tuple[float | None, str]:
    """``(multiplier, "")`` for ``published`` articles that cost ``cost_usd`` in all, else ``(None, why)``."""
    if cost_usd is None:
        return None, UNKNOWN_COST
    if published <= 0:
        return None, "no article published"
    if cost_usd <= 0:
        return None, "no LLM cost recorded ($0): no multiplier"
    return baseline_usd * published / cost_usd, ""


def report_data(records: Sequence[dict[str, Any]], baseline: Baseline,
                execution_id: str | None = None) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready data (also what ``roi report --json`` prints)."""
    if execution_id is not None:
        records = [r for r in records if r.get("execution_id") == execution_id]
    summary = summarize(records)
    runs = runs_by_time(records)
    for run in runs:
        run["roi_multiplier"], run["roi_note"] = roi(baseline.cost_usd, run["cost_usd"],
                                                     int(run.get("status") == PUBLISHED))
    published = sum(1 for run in runs if run.get("status") == PUBLISHED)
    total_cost = summary["total"]["cost_usd"]
    multiplier, note = roi(baseline.cost_usd, total_cost, published)
    calls = [r for r in records if r.get("type") == "llm_call"]
    durations = [float(run["duration_s"]) for run in runs
                 if run.get("status") == PUBLISHED and isinstance(run.get("duration_s"), int | float)]
    return {
        "scope": execution_id, "summary": summary, "runs": runs, "published": published,
        "cost_per_article_usd": None if multiplier is None else total_cost / published,
        "roi_multiplier": multiplier, "roi_note": note, "baseline": asdict(baseline),
        "unknown_cost_calls": sum(1 for c in calls if c.get("cost_usd") is None),
        "latencies_ms": [float(c.get("duration_ms") or 0) for c in calls],
        "median_run_s": statistics.median(durations) if durations else None,
    }


def write_html(path: Path | str, text: str) -> None:
    """Write the page to ``path`` atomically, mode 0600 (``safeio.write_atomic``).

    A path that is a symlink, device, FIFO or directory is a ``ConfigError``; so is a failed write.
    """
    path = Path(path)
    try:
        write_atomic(path, text, option="--html")
    except OSError as exc:
        raise ConfigError(f"cannot write the report to {str(path)!r}: {_why(path, exc)}; "
                          "give --html a writable file path") from None


# -- formatting -------------------------------------------------------------------------------
def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _usd(value: float | None) -> str:
    return "unknown" if value is None else f"${value:,.6f}"


def _n(value: float | None) -> str:
    return "—" if value is None else f"{int(value):,}"


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.1f} ms" if value >= 10 else f"{value:.3g} ms"


def _secs(value: Any) -> str:
    if not isinstance(value, int | float):
        return "—"
    return f"{value:,.1f} s" if value >= 10 else f"{value:.3g} s"


def _times(value: float) -> str:
    return f"{value:,.0f}×" if value >= 100 else f"{value:,.1f}×"


def _compact(value: float) -> str:
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def _roi_cell(multiplier: float | None, note: str) -> str:
    if multiplier is not None:
        return f'<span class="roi">{_times(multiplier)}</span>'
    return f'<span class="{"unknown" if note == UNKNOWN_COST else "muted"}">{_e(note)}</span>'


# -- SVG charts -------------------------------------------------------------------------------
W, H, LEFT, RIGHT, TOP, BOTTOM = 560, 230, 64, 12, 12, 28
Series = tuple[str, str, Sequence[float | None]]  # (css class, name, one value per bar; None = unknown)


def _nice_step(top: float) -> float:
    raw = top / 4 if top > 0 else 0.25
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if raw <= m * magnitude)


def _formatter(kind: str, step: float) -> Callable[[float], str]:
    if kind == "usd":
        digits = min(8, max(2, -math.floor(math.log10(step)) + 1))
        return lambda v: f"${v:.{digits}f}"
    return _compact


def _bar_chart(chart_id: str, title: str, labels: Sequence[str], tips: Sequence[str],
               series: Sequence[Series], kind: str) -> str:
    """A (stacked) bar chart; a bar whose every value is None draws a '?' (unknown) marker."""
    heights = [sum(values[i] or 0 for _, _, values in series) for i in range(len(labels))]
    step = _nice_step(max(heights, default=0))
    ymax = step * max(1, math.ceil(max(heights, default=0) / step - 1e-9))
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    tick = _formatter(kind, step)
    exact = (lambda v: _usd(v)) if kind == "usd" else (lambda v: _n(v))

    def y(value: float) -> float:
        return TOP + plot_h - value / ymax * plot_h

    out = [f'<svg id="{chart_id}" viewBox="0 0 {W} {H}" role="img" aria-labelledby="{chart_id}-title">',
           f'<title id="{chart_id}-title">{_e(title)}</title>']
    for k in range(round(ymax / step) + 1):
        ty = y(k * step)
        out.append(f'<line class="grid" x1="{LEFT}" x2="{W - RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}"/>'
                   f'<text x="{LEFT - 6}" y="{ty + 4:.1f}" text-anchor="end">{_e(tick(k * step))}</text>')
    band = plot_w / max(1, len(labels))
    label_px = 6.5 * min(14, max((len(label) for label in labels), default=1)) + 10
    width, every = min(band * 0.72, 44), max(1, math.ceil(label_px / band))
    for i, (label, tip) in enumerate(zip(labels, tips, strict=True)):
        x, base = LEFT + band * i + (band - width) / 2, 0.0
        if all(values[i] is None for _, _, values in series):
            out.append(f'<text class="unk" x="{x + width / 2:.1f}" y="{y(0) - 4:.1f}" text-anchor="middle">?'
                       f'<title>{_e(tip)}: {UNKNOWN_COST}</title></text>')
        for css, name, values in series:
            value = values[i]
            if value is None or value <= 0:
                continue
            out.append(f'<rect class="{css}" x="{x:.1f}" y="{y(base + value):.1f}" width="{width:.1f}" '
                       f'height="{value / ymax * plot_h:.1f}"><title>{_e(tip)}: {_e(name)} {exact(value)}'
                       '</title></rect>')
            base += value
        if i % every == 0:
            out.append(f'<text x="{x + width / 2:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">'
                       f'{_e(label[:14])}</text>')
    out.append(f'<line class="axis" x1="{LEFT}" x2="{W - RIGHT}" y1="{y(0):.1f}" y2="{y(0):.1f}"/></svg>')
    return "".join(out)


def _figure(chart_id: str, title: str, legend: Sequence[tuple[str, str]], svg: str, note: str = "") -> str:
    keys = "".join(f'<span class="key {css}"></span>{_e(name)}' for css, name in legend)
    note_html = f'<p class="muted small">{_e(note)}</p>' if note else ""
    return (f'<figure id="fig-{chart_id}"><figcaption>{_e(title)}<span class="legend">{keys}</span>'
            f"</figcaption>{svg}{note_html}</figure>")


def _histogram(latencies: Sequence[float]) -> tuple[list[str], list[str], list[float | None]]:
    width = _nice_step(max(latencies) * 4 / 12) if max(latencies) > 0 else 1.0
    counts = [0] * (int(max(latencies) // width) + 1)
    for value in latencies:
        counts[max(0, int(value // width))] += 1
    labels = [_compact(i * width) for i in range(len(counts))]
    tips = [f"{i * width:,g}–{(i + 1) * width:,g} ms" for i in range(len(counts))]
    return labels, tips, [float(c) for c in counts]


def _tokens(groups: Sequence[dict[str, Any]]) -> list[Series]:
    return [("s-in", "input tokens", [g["input_tokens"] for g in groups]),
            ("s-out", "output tokens", [g["output_tokens"] for g in groups])]


def _charts(data: dict[str, Any]) -> str:
    runs, stages = data["runs"], data["summary"]["stages"]
    run_labels = [r["started"][5:16].replace("T", " ") or r["execution_id"] for r in runs]
    run_tips = [f"{r['execution_id']} ({r.get('topic') or 'no topic'}), started {r['started'] or '?'}"
                for r in runs]
    token_keys, unknown = [("s-in", "input"), ("s-out", "output")], "? = cost unknown (model not in the price table)"
    figures = [
        _figure("chart-run-tokens", "Tokens per run (by start time, UTC)", token_keys,
                _bar_chart("chart-run-tokens", "Tokens per run", run_labels, run_tips, _tokens(runs), "tokens")),
        _figure("chart-run-cost", "LLM cost per run (by start time, UTC)", [("s-cost", "cost")],
                _bar_chart("chart-run-cost", "LLM cost per run", run_labels, run_tips,
                           [("s-cost", "cost", [r["cost_usd"] for r in runs])], "usd"), unknown),
        _figure("chart-stage-tokens", "Tokens by stage", token_keys,
                _bar_chart("chart-stage-tokens", "Tokens by stage", list(stages), list(stages),
                           _tokens(list(stages.values())), "tokens")),
        _figure("chart-stage-cost", "LLM cost by stage", [("s-cost", "cost")],
                _bar_chart("chart-stage-cost", "LLM cost by stage", list(stages), list(stages),
                           [("s-cost", "cost", [g["cost_usd"] for g in stages.values()])], "usd"), unknown),
    ]
    if data["latencies_ms"]:
        labels, tips, counts = _histogram(data["latencies_ms"])
        figures.append(_figure("chart-latency", "Latency distribution (call attempts per duration_ms bin)",
                               [("s-lat", "calls")], _bar_chart("chart-latency", "Latency histogram", labels,
                                                                tips, [("s-lat", "calls", counts)], "count")))
    return f'<section class="charts">{"".join(figures)}</section>'


# -- tables and page --------------------------------------------------------------------------
def _table(table_id: str, head: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int = 1) -> str:
    def cell(tag: str, i: int, text: str) -> str:
        return f'<{tag} class="num">{text}</{tag}>' if i >= numeric_from else f"<{tag}>{text}</{tag}>"

    header = "".join(cell("th", i, _e(h)) for i, h in enumerate(head))
    body = "".join("<tr>" + "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>" for row in rows)
    return (f'<div class="scroll"><table id="{table_id}"><thead><tr>{header}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def _group_table(table_id: str, first: str, groups: dict[str, dict[str, Any]]) -> str:
    head = [first, "calls", "failed", "input tok", "cached tok", "output tok", "cost", "p50 latency", "p95 latency"]
    rows = [[_e(name), _n(g["calls"]), _n(g["failures"]), _n(g["input_tokens"]), _n(g["cached_input_tokens"]),
             _n(g["output_tokens"]), _usd(g["cost_usd"]), _ms(g["latency_ms_p50"]), _ms(g["latency_ms_p95"])]
            for name, g in groups.items()]
    return _table(table_id, head, rows)


def _runs_table(runs: Sequence[dict[str, Any]]) -> str:
    head = ["started (UTC)", "execution", "topic", "status", "calls", "failed", "input tok", "output tok", "cost",
            "duration", "ROI multiplier"]
    rows = [[_e(r["started"][:19].replace("T", " ")), f"<code>{_e(r['execution_id'])}</code>",
             f'<span class="topic">{_e(r.get("topic") or "—")}</span>', _e(r.get("status") or "no run record"),
             _n(r["calls"]), _n(r["failures"]), _n(r["input_tokens"]), _n(r["output_tokens"]), _usd(r["cost_usd"]),
             _secs(r.get("duration_s")),
             _roi_cell(r["roi_multiplier"], r["roi_note"])] for r in runs]
    return _table("runs", head, rows, numeric_from=4)


def _totals_table(data: dict[str, Any]) -> str:
    t, b = data["summary"]["total"], data["baseline"]
    rows = [("runs", "Runs", _n(len(data["runs"]))), ("published", "Published articles", _n(data["published"])),
            ("calls", "LLM calls (attempts)", _n(t["calls"])), ("failures", "Failed calls", _n(t["failures"])),
            ("input", "Input tokens", _n(t["input_tokens"])), ("cached", "Cached input tokens",
                                                                _n(t["cached_input_tokens"])),
            ("output", "Output tokens", _n(t["output_tokens"])),
            ("tokens", "Total tokens", _n(t["input_tokens"] + t["output_tokens"])),
            ("cost", "LLM cost", _usd(t["cost_usd"])), ("unknown", "Calls of unknown price",
                                                        _n(data["unknown_cost_calls"])),
            ("p50", "Latency p50", _ms(t["latency_ms_p50"])), ("p95", "Latency p95", _ms(t["latency_ms_p95"])),
            ("baseline", "Human baseline per article", f"${b['cost_usd']:,.2f}"),
            ("per-article", "LLM cost per published article", _usd(data["cost_per_article_usd"])
             if data["cost_per_article_usd"] is not None else _e(data["roi_note"])),
            ("roi", "ROI multiplier", _roi_cell(data["roi_multiplier"], data["roi_note"]))]
    body = "".join(f'<tr id="total-{key}"><th>{_e(label)}</th><td class="num">{value}</td></tr>'
                   for key, label, value in rows)
    return f'<table id="totals" class="kv"><tbody>{body}</tbody></table>'


def _cards(data: dict[str, Any]) -> str:
    t, b = data["summary"]["total"], data["baseline"]
    unknown = data["unknown_cost_calls"]
    cards = [
        ("LLM cost", _usd(t["cost_usd"]), f"{unknown} of {t['calls']} calls have no price" if unknown else
         "every call priced"),
        ("Tokens", _compact(t["input_tokens"] + t["output_tokens"]),
         f"{_n(t['input_tokens'])} in · {_n(t['output_tokens'])} out"),
        ("LLM calls", _n(t["calls"]), f"{t['failures']} failed · p95 {_ms(t['latency_ms_p95'])}"),
        ("Runs", _n(len(data["runs"])), f"{data['published']} published"),
        ("ROI multiplier", _roi_cell(data["roi_multiplier"], data["roi_note"]),
         f"human ${b['cost_usd']:,.2f} ÷ LLM cost per published article"),
    ]
    return '<section class="cards">' + "".join(
        f'<div class="card"><div class="k">{_e(k)}</div><div class="v">{v}</div><div class="s">{_e(s)}</div></div>'
        for k, v, s in cards) + "</section>"


def _baseline(data: dict[str, Any]) -> str:
    b, median = data["baseline"], data["median_run_s"]
    time_line = "" if median is None else (
        f"<p>Time: {b['minutes']:g} minutes of writing per article, against a median of {_secs(median)} "
        "of wall time per published run of the pipeline.</p>")
    return (f'<section id="baseline"><h2>Human baseline</h2><p><strong>${b["cost_usd"]:,.2f} per article</strong>'
            f" — {_e(b['source'])}.</p>{time_line}</section>")


CSS = """
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--panel:#f6f8fa}*{box-sizing:border-box}
body{margin:0;color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,
sans-serif}
main{max-width:1180px;margin:0 auto;padding:24px 28px 40px}h1{font-size:24px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}
.muted,.meta{color:var(--muted)}.meta{margin:0}.small{font-size:12px;margin:4px 0 0}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(190px,1fr));gap:12px;margin:18px 0}
.card{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:10px 14px}
.card .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .v{font-size:20px;font-weight:600;font-variant-numeric:tabular-nums;margin:2px 0}
.card .s{color:var(--muted);font-size:12px}
.card .v .unknown,.card .v .muted{font-size:14px;font-weight:500;display:inline-block;line-height:1.3}
.note{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:8px 12px}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:16px;margin-top:18px}
figure{margin:0;border:1px solid var(--line);border-radius:8px;padding:10px 12px}
figcaption{font-weight:600;margin-bottom:6px}.legend{font-weight:400;color:var(--muted);font-size:12px}
.key{display:inline-block;width:10px;height:10px;border-radius:2px;margin:0 4px 0 12px;vertical-align:-1px}
svg{width:100%;height:auto;display:block}svg text{font-size:11px;fill:#59636e}svg text.unk{font-size:14px;fill:#9a6700}
.grid{stroke:#e8ebef}.axis{stroke:#8c959f}.s-in{fill:#4e79a7;background:#4e79a7}
.s-out{fill:#f28e2b;background:#f28e2b}.s-cost{fill:#59a14f;background:#59a14f}.s-lat{fill:#8f6bb3;background:#8f6bb3}
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{background:var(--panel);font-size:12px;color:var(--muted);font-weight:600}
.num{text-align:right;white-space:nowrap}
table.kv{width:auto;min-width:420px}table.kv th{font-weight:500}
.topic{display:inline-block;min-width:14ch;overflow-wrap:anywhere}
td .unknown,td .muted{white-space:normal}td:first-child{white-space:nowrap}
.unknown{color:#9a6700}.roi{font-weight:600;color:#1a7f37}code{font-size:12px}
footer{margin-top:32px;color:var(--muted);font-size:12px}
"""


def render_html(data: dict[str, Any], *, ledger_path: Path | str, skipped_lines: int = 0,
                generated_at: datetime | None = None) -> str:
    """The whole page for ``report_data`` output; no external resource, no script."""
    when = (generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    scope = f"execution {_e(data['scope'])}" if data["scope"] else "all runs"
    head = (f"<header><h1>newsroom ROI report</h1><p class=\"meta\">Ledger <code>{_e(ledger_path)}</code> · "
            f"{scope} · generated {when}</p></header>")
    notes = (f'<p class="note" id="skipped">{skipped_lines} unreadable ledger line(s) were skipped.</p>'
             if skipped_lines else "")
    total = data["summary"]["total"]
    if not total["calls"] and not data["runs"]:
        body = (f'{head}{notes}<p class="note" id="empty">The ledger has no records yet: run '
                "<code>newsroom generate \"TOPIC\"</code>, then build this report again.</p>")
    else:
        body = (f"{head}{notes}{_cards(data)}{_baseline(data)}{_charts(data)}"
                f"<h2>Totals</h2>{_totals_table(data)}<h2>Runs</h2>{_runs_table(data['runs'])}"
                f"<h2>Stages</h2>{_group_table('stages', 'stage', data['summary']['stages'])}"
                f"<h2>Models</h2>{_group_table('models', 'provider/model', data['summary']['models'])}")
    footer = ("<footer>Costs are those recorded at call time from the price table (USD per million tokens); "
              "a call whose model has no price has an unknown cost, and any total that includes one is shown "
              "as unknown rather than as a partial sum. Latency percentiles are nearest-rank over call attempts, "
              "failed attempts included. This page has no scripts and loads nothing: it works offline.</footer>")
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>newsroom ROI report</title><style>{CSS}</style></head><body><main>{body}{footer}</main>"
            "</body></html>\n")


def build_report(records: Sequence[dict[str, Any]], *, ledger_path: Path | str, baseline: Baseline,
                 execution_id: str | None = None, skipped_lines: int = 0) -> tuple[str, dict[str, Any]]:
    """The page and its data. An unknown ``execution_id`` is a ``ConfigError``; an empty ledger is a page."""
    if execution_id is not None and not any(r.get("execution_id") == execution_id for r in records):
        raise ConfigError(f"no record of execution {execution_id!r} in {str(ledger_path)!r}; "
                          "list the runs with `newsroom roi summary`")
    data = report_data(records, baseline, execution_id)
    return render_html(data, ledger_path=ledger_path, skipped_lines=skipped_lines), data


def _why(path: Path, exc: OSError) -> str:
    blocker = next((p for p in path.parents if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        return f"{str(blocker)!r} is a file, not a directory"
    return exc.strerror or str(exc)
