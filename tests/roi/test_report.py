"""``newsroom roi report --html``: exact numbers on the page, escaping, and the ROI multiplier rules.

The ledger is written by the real ``Metered`` wrapper around ``ScriptedModel`` (1 token per 4
prompt characters, 1 per 4 reply characters), priced at $1 / $2 per million input / output tokens:

- ``run-a`` published, "Tidal power in Wales": discover x1, generate x2, quality_gate x1, each
  100 in / 10 out tokens = $0.00012, so $0.00048 in all (375,000x against the $180 baseline);
- ``run-b`` rejected, topic ``<script>alert(1)</script>``: discover, a retried call (attempt 1
  fails with 0 tokens, attempt 2 = $0.00012);
- ``run-c`` published on ``mystery-model``, which has no price: generate x2, cost unknown.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from newsroom.config import Settings
from newsroom.errors import ConfigError, ProviderError
from newsroom.llm.base import ChatRequest
from newsroom.llm.metered import Metered
from newsroom.llm.scripted import ScriptedModel
from newsroom.roi.cli_report import export, report
from newsroom.roi.ledger import RoiLedger
from newsroom.roi.prices import PriceBook
from newsroom.roi.report import UNKNOWN_COST, Baseline, build_report, roi
from newsroom.roi.summary import runs_by_time

HOSTILE = "<script>alert(1)</script>"
PRICED = PriceBook({"scripted": {"input": 1.0, "output": 2.0}})
PROMPT, REPLY = "x" * 400, "y" * 40  # 100 input tokens, 10 output tokens


def _run(path: Path, execution_id: str, model: ScriptedModel, stages: list[str], prices: PriceBook,
         status: str, topic: str) -> None:
    ledger = RoiLedger(path)
    metered = Metered(model, ledger, execution_id=execution_id, prices=prices, sleep=lambda _s: None)
    for stage in stages:
        metered.complete(ChatRequest.of(PROMPT), stage=stage, agent=f"{stage}-agent")
    metered.finish(status, topic=topic)
    ledger.close()


def build_ledger(path: Path, *, unknown: bool = True) -> list[dict[str, Any]]:
    """Write the module docstring's ledger to ``path`` and return its records."""
    _run(path, "run-a", ScriptedModel(default=REPLY), ["discover", "generate", "generate", "quality_gate"],
         PRICED, "published", "Tidal power in Wales")
    flaky = ScriptedModel([ProviderError("busy", retryable=True)], default=REPLY)
    _run(path, "run-b", flaky, ["discover"], PRICED, "rejected", HOSTILE)
    if unknown:
        _run(path, "run-c", ScriptedModel(default=REPLY, model_name="mystery-model"), ["generate", "generate"],
             PriceBook(), "published", "Unknown price")
    return RoiLedger(path).read().records


class _Tables(HTMLParser):
    """Collects the text of every table cell, by table id, and every element id."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self.ids: set[str] = set()
        self.tags: set[str] = set()
        self.attrs: set[str] = set()
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs.update(name for name, _ in attrs)
        ident = dict(attrs).get("id")
        if ident:
            self.ids.add(ident)
        if tag == "table":
            self._table = ident or ""
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self.tables[self._table][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse(page: str) -> _Tables:
    """The page's tables (id -> rows of cell texts, unescaped) and element ids."""
    parser = _Tables()
    parser.feed(page)
    return parser


def totals(page: str) -> dict[str, str]:
    """The totals table as {row label: value}."""
    return {row[0]: row[1] for row in parse(page).tables["totals"]}


def rows_by_key(page: str, table_id: str) -> dict[str, dict[str, str]]:
    """A header-row table as {first column: {header: cell}}."""
    head, *rows = parse(page).tables[table_id]
    return {row[0] if table_id != "runs" else row[1]: dict(zip(head, row, strict=True)) for row in rows}


class Obj:
    """What the main CLI puts in ``ctx.obj``."""

    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace

    def settings(self, **explicit: Any) -> Settings:
        return Settings.load(workspace=self.workspace, **explicit)


def invoke(workspace: Path, *args: str) -> Result:
    """Run ``roi <args>`` in-process on a group holding only this module's commands."""
    @click.group()
    def roi() -> None:
        """The roi group, as cli.py will build it."""

    roi.add_command(report)
    roi.add_command(export)
    return CliRunner().invoke(roi, list(args), obj=Obj(workspace))


@pytest.fixture
def page(workspace: Path, ledger_path: Path) -> str:
    build_ledger(ledger_path)
    result = invoke(workspace, "report", "--html", "out/roi.html")
    assert result.exit_code == 0, result.output
    return (workspace / "out" / "roi.html").read_text(encoding="utf-8")


# -- numbers --------------------------------------------------------------------------------
def test_totals_table_has_the_exact_numbers(page: str) -> None:
    table = totals(page)
    latency = [table.pop("Latency p50"), table.pop("Latency p95")]  # measured, so only their form is fixed
    assert all(value.endswith(" ms") for value in latency)
    assert table == {
        "Runs": "3", "Published articles": "2", "LLM calls (attempts)": "8", "Failed calls": "1",
        "Input tokens": "700", "Cached input tokens": "0", "Output tokens": "70", "Total tokens": "770",
        "LLM cost": "unknown", "Calls of unknown price": "2", "Human baseline per article": "$180.00",
        "LLM cost per published article": UNKNOWN_COST, "ROI multiplier": UNKNOWN_COST,
    }


def test_runs_table(page: str) -> None:
    runs = rows_by_key(page, "runs")
    assert list(runs) == ["run-a", "run-b", "run-c"]  # in start order
    a, b, c = runs["run-a"], runs["run-b"], runs["run-c"]
    assert (a["topic"], a["status"], a["calls"], a["failed"], a["input tok"], a["output tok"], a["cost"]) == (
        "Tidal power in Wales", "published", "4", "0", "400", "40", "$0.000480")
    assert a["ROI multiplier"] == "375,000×"  # $180 / $0.00048
    assert (b["topic"], b["status"], b["calls"], b["failed"], b["cost"]) == (HOSTILE, "rejected", "2", "1", "$0.000120")
    assert b["ROI multiplier"] == "no article published"
    assert (c["status"], c["input tok"], c["cost"]) == ("published", "200", "unknown")
    assert c["ROI multiplier"] == UNKNOWN_COST


def test_stage_and_model_tables(page: str) -> None:
    stages = rows_by_key(page, "stages")
    assert list(stages) == ["discover", "generate", "quality_gate"]
    assert [stages["discover"][k] for k in ("calls", "failed", "input tok", "output tok", "cost")] == [
        "3", "1", "200", "20", "$0.000240"]
    assert [stages["generate"][k] for k in ("calls", "input tok", "output tok", "cost")] == [
        "4", "400", "40", "unknown"]
    assert stages["quality_gate"]["cost"] == "$0.000120"
    assert all(s["p50 latency"].endswith(" ms") and s["p95 latency"].endswith(" ms") for s in stages.values())
    models = rows_by_key(page, "models")
    assert [models["scripted/scripted"][k] for k in ("calls", "failed", "input tok", "output tok", "cost")] == [
        "6", "1", "500", "50", "$0.000600"]
    assert models["scripted/mystery-model"]["cost"] == "unknown"


def test_charts_are_inline_svg(page: str) -> None:
    ids = parse(page).ids
    assert {"chart-run-tokens", "chart-run-cost", "chart-stage-tokens", "chart-stage-cost", "chart-latency"} <= ids
    latency = page[page.index('<svg id="chart-latency"'):]
    latency = latency[:latency.index("</svg>")]
    assert sum(int(n) for n in re.findall(r": calls (\d+)</title>", latency)) == 8  # every call attempt, once
    run_cost = page[page.index('<svg id="chart-run-cost"'):]
    run_cost = run_cost[:run_cost.index("</svg>")]
    assert "run-c (Unknown price), started" in run_cost and UNKNOWN_COST in run_cost
    assert "cost $0.000480</title>" in run_cost


# -- safety ---------------------------------------------------------------------------------
def test_a_hostile_topic_is_escaped(page: str) -> None:
    assert HOSTILE not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page.lower()  # the page itself carries no script at all


def test_the_page_loads_nothing(page: str) -> None:
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"""\b(src|href|action|srcset|xlink:href)\s*=""", page, re.IGNORECASE)
    assert "url(" not in page and "@import" not in page and "<link" not in page and "<img" not in page
    assert "default-src 'none'" in page  # the CSP forbids every fetch, should anything slip in


def test_every_ledger_string_is_escaped(ledger_path: Path) -> None:
    evil = ['<img src=x onerror="alert(1)">', '"><svg onload=alert(1)>', "</code><script>x</script>", "' onclick='y"]
    records: list[dict[str, Any]] = [
        {"type": "llm_call", "ts": "2025-01-01T00:00:00.000Z", "execution_id": evil[2], "stage": evil[0],
         "agent": evil[3], "provider": evil[1], "model": evil[0], "input_tokens": 10, "cached_input_tokens": 0,
         "output_tokens": 2, "duration_ms": 5.0, "cost_usd": 0.5, "status": "ok", "attempt": 1},
        {"type": "run", "ts": "2025-01-01T00:00:01.000Z", "execution_id": evil[2], "status": evil[1],
         "topic": evil[3], "duration_s": 1.0},
    ]
    page, _ = build_report(records, ledger_path=f"{ledger_path}{evil[0]}", baseline=Baseline.resolve())
    tree = parse(page)
    assert tree.tags <= {"html", "head", "meta", "title", "style", "body", "main", "header", "h1", "h2", "p",
                         "code", "strong", "section", "div", "span", "figure", "figcaption", "svg", "line", "text",
                         "rect", "table", "thead", "tbody", "tr", "th", "td", "footer"}
    assert not [a for a in tree.attrs if a.startswith("on") or a in ("src", "href")]
    assert rows_by_key(page, "runs")[evil[2]]["status"] == evil[1]  # shown verbatim, as text


# -- the ROI multiplier -----------------------------------------------------------------------
def test_no_multiplier_where_cost_is_unknown(page: str) -> None:
    assert page.count("×") == 1  # run-a's: neither run-c (unpriced) nor the total (includes run-c) has one
    assert rows_by_key(page, "runs")["run-c"]["ROI multiplier"] == UNKNOWN_COST


@pytest.mark.parametrize(("cost", "published", "expected"), [
    (None, 1, (None, UNKNOWN_COST)),
    (None, 0, (None, UNKNOWN_COST)),
    (0.5, 0, (None, "no article published")),
    (0.0, 1, (None, "no LLM cost recorded ($0): no multiplier")),
    (0.5, 1, (360.0, "")),
    (0.5, 2, (720.0, "")),
])
def test_roi_rules(cost: float | None, published: int, expected: tuple[float | None, str]) -> None:
    assert roi(180.0, cost, published) == expected


def test_overall_multiplier_when_every_cost_is_known(workspace: Path, ledger_path: Path) -> None:
    build_ledger(ledger_path, unknown=False)
    result = invoke(workspace, "report", "--html", "roi.html", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["cost_usd"] == pytest.approx(0.0006)
    assert data["cost_per_article_usd"] == pytest.approx(0.0006)  # run-b's spend counts; it published nothing
    assert data["roi_multiplier"] == pytest.approx(300_000)
    t = totals((workspace / "roi.html").read_text(encoding="utf-8"))
    assert (t["LLM cost"], t["LLM cost per published article"], t["ROI multiplier"]) == (
        "$0.000600", "$0.000600", "300,000×")


def test_execution_id_scopes_the_page(workspace: Path, ledger_path: Path) -> None:
    build_ledger(ledger_path)
    result = invoke(workspace, "report", "--html", "a.html", "--execution-id", "run-a")
    assert result.exit_code == 0, result.output
    t = totals((workspace / "a.html").read_text(encoding="utf-8"))
    assert (t["Runs"], t["LLM calls (attempts)"], t["LLM cost"], t["ROI multiplier"]) == (
        "1", "4", "$0.000480", "375,000×")
    missing = invoke(workspace, "report", "--html", "x.html", "--execution-id", "run-zzz")
    assert isinstance(missing.exception, ConfigError) and missing.exception.exit_code == 2
    assert "'run-zzz'" in str(missing.exception) and not (workspace / "x.html").exists()


# -- the human baseline -----------------------------------------------------------------------
def test_default_baseline_is_stated_as_an_assumption(page: str) -> None:
    assert "$180.00 per article" in page
    assert "assumption, not a measurement: 3 hours of a writer&#x27;s time at $60/h" in page
    assert "--human-cost-usd" in page


@pytest.mark.parametrize(("args", "baseline", "run_a"), [
    (["--human-cost-usd", "90"], "$90.00", "187,500×"),
    (["--human-minutes", "60"], "$60.00", "125,000×"),
    (["--human-cost-usd", "90", "--human-minutes", "60"], "$90.00", "187,500×"),
])
def test_baseline_options(workspace: Path, ledger_path: Path, args: list[str], baseline: str, run_a: str) -> None:
    build_ledger(ledger_path)
    result = invoke(workspace, "report", "--html", "b.html", *args)
    assert result.exit_code == 0, result.output
    page = (workspace / "b.html").read_text(encoding="utf-8")
    assert totals(page)["Human baseline per article"] == baseline
    assert rows_by_key(page, "runs")["run-a"]["ROI multiplier"] == run_a


def test_baseline_resolution() -> None:
    assert Baseline.resolve() == Baseline(180.0, 180.0, Baseline.resolve().source)
    assert "given with --human-cost-usd" in Baseline.resolve(cost_usd=12.5).source
    assert Baseline.resolve(minutes=30).cost_usd == 30.0
    for bad in ({"cost_usd": -1.0}, {"minutes": 0.0}, {"cost_usd": float("nan")}, {"minutes": float("inf")}):
        with pytest.raises(ConfigError, match="--human"):
            Baseline.resolve(**bad)


def test_a_negative_baseline_is_bad_input(workspace: Path) -> None:
    result = invoke(workspace, "report", "--html", "r.html", "--human-cost-usd", "-5")
    assert isinstance(result.exception, ConfigError) and "--human-cost-usd" in str(result.exception)


# -- edges ------------------------------------------------------------------------------------
def test_an_empty_ledger_gives_a_page_that_says_so(workspace: Path, ledger_path: Path) -> None:
    for _ in range(2):  # no ledger file at all, then an empty one
        result = invoke(workspace, "report", "--html", "empty.html", "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["runs"] == 0
        page = (workspace / "empty.html").read_text(encoding="utf-8")
        assert 'id="empty"' in page and "no records yet" in page and "<svg" not in page
        ledger_path.parent.mkdir(parents=True, exist_ok=True)
        ledger_path.write_text("")


def test_unwritable_path_is_a_config_error(workspace: Path, ledger_path: Path) -> None:
    build_ledger(ledger_path)
    (workspace / "afile").write_text("x")
    result = invoke(workspace, "report", "--html", "afile/roi.html")
    assert isinstance(result.exception, ConfigError) and result.exception.exit_code == 2
    assert "afile/roi.html" in str(result.exception)
    (workspace / "adir").mkdir()
    assert invoke(workspace, "report", "--html", "adir").exit_code == 2  # click: a directory, not a file


def test_skipped_lines_are_reported(workspace: Path, ledger_path: Path) -> None:
    build_ledger(ledger_path)
    with ledger_path.open("a") as fh:
        fh.write("{not json\n")
    result = invoke(workspace, "report", "--html", "r.html")
    assert result.exit_code == 0 and "skipped 1 unreadable ledger line" in result.stderr
    assert 'id="skipped"' in (workspace / "r.html").read_text(encoding="utf-8")


def test_human_output_and_atomic_write(workspace: Path, ledger_path: Path) -> None:
    build_ledger(ledger_path, unknown=False)
    (workspace / "r.html").write_text("old")
    result = invoke(workspace, "report", "--html", "r.html")
    assert result.stdout.startswith("wrote r.html (2 runs, 6 LLM calls, ROI multiplier 300,000.0x")
    assert [p.name for p in workspace.iterdir() if p.name.endswith(".tmp")] == []
    assert (workspace / "r.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_build_report_returns_the_data_it_renders(ledger_path: Path) -> None:
    records = build_ledger(ledger_path)
    page, data = build_report(records, ledger_path=ledger_path, baseline=Baseline.resolve(cost_usd=48.0))
    assert data["runs"][0]["roi_multiplier"] == pytest.approx(100_000)
    assert data["roi_multiplier"] is None and data["roi_note"] == UNKNOWN_COST
    assert "100,000×" in page


def test_runs_by_time_includes_runs_without_calls() -> None:
    records = [
        {"type": "run", "execution_id": "late", "ts": "2025-01-02T00:00:00.000Z", "status": "failed"},
        {"type": "llm_call", "execution_id": "early", "ts": "2025-01-01T00:00:01.000Z", "stage": "s",
         "input_tokens": 5, "output_tokens": 1, "duration_ms": 10, "cost_usd": None, "status": "ok"},
        {"type": "run", "execution_id": "early", "ts": "2025-01-01T00:00:09.000Z", "status": "published",
         "topic": "t", "duration_s": 9.0},
    ]
    runs = runs_by_time(records)
    assert [(r["execution_id"], r["started"], r["calls"], r["status"]) for r in runs] == [
        ("early", "2025-01-01T00:00:01.000Z", 1, "published"), ("late", "2025-01-02T00:00:00.000Z", 0, "failed")]
    assert runs[1]["cost_usd"] == 0 and runs[0]["cost_usd"] is None
