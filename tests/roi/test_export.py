"""``newsroom roi export --prometheus``: parse the text format back and check every value exactly.

The ledger is ``test_report.build_ledger``'s: run-a (published; discover, generate x2,
quality_gate), run-b (rejected; discover retried once after an error) priced at $1 / $2 per
million tokens, and run-c (published; generate x2) on ``mystery-model``, which has no price.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from newsroom.errors import ConfigError
from newsroom.roi.export import LATENCY_BUCKETS_S, render, write_prometheus
from tests.roi.test_report import build_ledger, invoke

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> tuple[dict[str, str], Samples]:
    """({family name: type}, {(sample name, labels): value}) from exposition text."""
    types, samples = {}, {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return types, samples


def labels(stage: str, model: str = "scripted", **extra: str) -> frozenset[tuple[str, str]]:
    return frozenset({"stage": stage, "model": model, "provider": "scripted", **extra}.items())


@pytest.fixture
def exported(workspace: Path, ledger_path: Path) -> tuple[list[dict[str, Any]], dict[str, str], Samples]:
    records = build_ledger(ledger_path)
    result = invoke(workspace, "export", "--prometheus", "metrics/newsroom.prom")
    assert result.exit_code == 0, result.output
    types, samples = parse((workspace / "metrics" / "newsroom.prom").read_text(encoding="utf-8"))
    return records, types, samples


def test_family_types(exported: tuple[list[dict[str, Any]], dict[str, str], Samples]) -> None:
    _, types, _ = exported
    assert types == {
        "newsroom_llm_calls": "counter", "newsroom_llm_input_tokens": "counter",
        "newsroom_llm_cached_input_tokens": "counter", "newsroom_llm_output_tokens": "counter",
        "newsroom_llm_cost_usd": "counter", "newsroom_llm_calls_unknown_cost": "counter",
        "newsroom_llm_latency_seconds": "histogram", "newsroom_runs": "counter",
        "newsroom_ledger_skipped_lines": "gauge", "newsroom_ledger_last_record_timestamp_seconds": "gauge",
    }


def test_calls_tokens_and_runs(exported: tuple[list[dict[str, Any]], dict[str, str], Samples]) -> None:
    _, _, s = exported
    calls = {k: v for k, v in s.items() if k[0] == "newsroom_llm_calls_total"}
    assert calls == {
        ("newsroom_llm_calls_total", labels("discover", status="ok")): 2.0,
        ("newsroom_llm_calls_total", labels("discover", status="error")): 1.0,
        ("newsroom_llm_calls_total", labels("generate", status="ok")): 2.0,
        ("newsroom_llm_calls_total", labels("generate", "mystery-model", status="ok")): 2.0,
        ("newsroom_llm_calls_total", labels("quality_gate", status="ok")): 1.0,
    }
    for stage, model, tokens_in, tokens_out in [("discover", "scripted", 200, 20), ("generate", "scripted", 200, 20),
                                                ("generate", "mystery-model", 200, 20),
                                                ("quality_gate", "scripted", 100, 10)]:
        assert s[("newsroom_llm_input_tokens_total", labels(stage, model))] == tokens_in
        assert s[("newsroom_llm_output_tokens_total", labels(stage, model))] == tokens_out
        assert s[("newsroom_llm_cached_input_tokens_total", labels(stage, model))] == 0
    assert s[("newsroom_runs_total", frozenset({"status": "published"}.items()))] == 2
    assert s[("newsroom_runs_total", frozenset({"status": "rejected"}.items()))] == 1
    assert s[("newsroom_ledger_skipped_lines", frozenset())] == 0


def test_cost_only_where_known(exported: tuple[list[dict[str, Any]], dict[str, str], Samples]) -> None:
    _, _, s = exported
    cost = {k[1]: v for k, v in s.items() if k[0] == "newsroom_llm_cost_usd_total"}
    # 100 in + 10 out tokens at $1 / $2 per million = $0.00012 a call; the failed attempt cost $0
    assert cost == pytest.approx({labels("discover"): 0.00024, labels("generate"): 0.00024,
                                  labels("quality_gate"): 0.00012}, rel=1e-12, abs=0)
    unknown = {k[1]: v for k, v in s.items() if k[0] == "newsroom_llm_calls_unknown_cost_total"}
    assert unknown == {labels("discover"): 0, labels("generate"): 0, labels("generate", "mystery-model"): 2,
                       labels("quality_gate"): 0}


def test_latency_histogram_matches_the_ledger(
        exported: tuple[list[dict[str, Any]], dict[str, str], Samples]) -> None:
    records, _, s = exported
    calls = [r for r in records if r["type"] == "llm_call"]
    for key in {(c["stage"], c["model"]) for c in calls}:
        seconds = [c["duration_ms"] / 1000 for c in calls if (c["stage"], c["model"]) == key]
        lab = labels(*key)
        assert s[("newsroom_llm_latency_seconds_count", lab)] == len(seconds)
        assert s[("newsroom_llm_latency_seconds_sum", lab)] == pytest.approx(math.fsum(seconds), rel=1e-12)
        for le in LATENCY_BUCKETS_S:
            bucket = lab | {("le", repr(le))}
            assert s[("newsroom_llm_latency_seconds_bucket", bucket)] == sum(1 for x in seconds if x <= le)
        assert s[("newsroom_llm_latency_seconds_bucket", lab | {("le", "+Inf")})] == len(seconds)


def test_last_record_timestamp(exported: tuple[list[dict[str, Any]], dict[str, str], Samples]) -> None:
    records, _, s = exported
    newest = max(datetime.fromisoformat(r["ts"].replace("Z", "+00:00")).timestamp() for r in records)
    assert s[("newsroom_ledger_last_record_timestamp_seconds", frozenset())] == pytest.approx(newest, abs=1e-3)


def test_histogram_buckets_are_exact() -> None:
    def call(ms: float) -> dict[str, Any]:
        return {"type": "llm_call", "stage": "draft", "model": "m", "provider": "p", "status": "ok",
                "input_tokens": 1, "output_tokens": 1, "duration_ms": ms, "cost_usd": 0.25}

    _, s = parse(render([call(40), call(100), call(1500), call(400_000)]))
    lab = frozenset({"stage": "draft", "model": "m", "provider": "p"}.items())
    buckets = {dict(k[1])["le"]: v for k, v in s.items() if k[0] == "newsroom_llm_latency_seconds_bucket"}
    assert buckets == {"0.05": 1, "0.1": 2, "0.25": 2, "0.5": 2, "1.0": 2, "2.5": 3, "5.0": 3, "10.0": 3,
                       "30.0": 3, "60.0": 3, "120.0": 3, "300.0": 3, "+Inf": 4}
    assert s[("newsroom_llm_latency_seconds_sum", lab)] == pytest.approx(401.64)
    assert s[("newsroom_llm_cost_usd_total", lab)] == 1.0
    assert s[("newsroom_llm_calls_unknown_cost_total", lab)] == 0


def test_awkward_label_values_round_trip() -> None:
    odd = 'we"ird\\stage\nname'
    record = {"type": "llm_call", "stage": odd, "model": "m{1}", "provider": "p", "status": "ok",
              "input_tokens": 3, "output_tokens": 4, "duration_ms": 1, "cost_usd": None}
    _, s = parse(render([record]))
    lab = frozenset({"stage": odd, "model": "m{1}", "provider": "p"}.items())
    assert s[("newsroom_llm_input_tokens_total", lab)] == 3
    assert s[("newsroom_llm_calls_unknown_cost_total", lab)] == 1
    assert not [k for k in s if k[0] == "newsroom_llm_cost_usd_total"]  # unknown is absent, never 0


def test_empty_ledger(workspace: Path) -> None:
    result = invoke(workspace, "export", "--prometheus", "empty.prom", "--json")
    assert result.exit_code == 0, result.output
    db = workspace / ".newsroom" / "newsroom.sqlite"
    assert json.loads(result.stdout) == {"prometheus": "empty.prom", "jsonl": None, "calls": 0, "runs": 0,
                                         "ledger": f"sqlite:///{db} (and {workspace / 'logs' / 'execution_roi.jsonl'})",
                                         "skipped_lines": 0}
    _, s = parse((workspace / "empty.prom").read_text(encoding="utf-8"))
    assert s == {("newsroom_ledger_skipped_lines", frozenset()): 0}


def test_rewrite_is_atomic_and_leaves_no_temp_file(workspace: Path, ledger_path: Path) -> None:
    build_ledger(ledger_path)
    target = workspace / "node.prom"
    target.write_text("stale")
    assert invoke(workspace, "export", "--prometheus", str(target)).exit_code == 0
    assert [p.name for p in workspace.iterdir() if p.name.startswith("node.prom")] == ["node.prom"]
    assert "newsroom_llm_calls_total" in target.read_text(encoding="utf-8")


def test_skipped_lines_are_counted(workspace: Path, ledger_path: Path) -> None:
    build_ledger(ledger_path)
    with ledger_path.open("a") as fh:
        fh.write("garbage\n")
    result = invoke(workspace, "export", "--prometheus", "m.prom")
    assert result.exit_code == 0 and "skipped 1 unreadable ledger line" in result.stderr
    _, s = parse((workspace / "m.prom").read_text(encoding="utf-8"))
    assert s[("newsroom_ledger_skipped_lines", frozenset())] == 1


def test_bad_paths(workspace: Path) -> None:
    (workspace / "afile").write_text("x")
    result = invoke(workspace, "export", "--prometheus", "afile/m.prom")
    assert isinstance(result.exception, ConfigError) and result.exception.exit_code == 2
    assert "afile/m.prom" in str(result.exception)
    (workspace / "adir").mkdir()
    assert invoke(workspace, "export", "--prometheus", "adir").exit_code == 2  # click: not a file
    with pytest.raises(ConfigError, match="writable"):
        write_prometheus(workspace / "adir", [])


def test_warns_when_the_collector_would_ignore_the_file(workspace: Path) -> None:
    result = invoke(workspace, "export", "--prometheus", "metrics.txt")
    assert result.exit_code == 0 and "reads only *.prom files" in result.stderr
    assert result.stdout == "wrote metrics.txt (0 LLM calls, 0 runs)\n"
