from __future__ import annotations

from typing import Any

import pytest

from newsroom.roi.summary import percentile, summarize


@pytest.mark.parametrize(("pct", "expected"), [(5, 15), (30, 20), (40, 20), (50, 35), (95, 50), (100, 50)])
def test_nearest_rank_percentile(pct: float, expected: float) -> None:
    assert percentile([50, 15, 40, 20, 35], pct) == expected


def test_percentile_of_twenty_values() -> None:
    values = [float(v) for v in range(20, 0, -1)]
    assert percentile(values, 50) == 10.0
    assert percentile(values, 95) == 19.0
    assert percentile([], 50) is None
    assert percentile([7.0], 95) == 7.0


def call(run: str, stage: str, model: str = "gpt-4o-mini", *, inp: int = 100, out: int = 10,
         cached: int = 0, ms: float = 100.0, cost: float | None = 0.01, status: str = "ok") -> dict[str, Any]:
    return {"type": "llm_call", "execution_id": run, "stage": stage, "agent": "a", "provider": "openai",
            "model": model, "input_tokens": inp, "cached_input_tokens": cached, "output_tokens": out,
            "duration_ms": ms, "cost_usd": cost, "status": status, "attempt": 1}


RECORDS = [
    call("r1", "discover", inp=100, out=10, ms=100, cost=0.01),
    call("r1", "draft", inp=200, out=20, cached=50, ms=200, cost=0.02),
    call("r1", "draft", inp=0, out=0, ms=50, cost=0.0, status="error"),
    {"type": "run", "execution_id": "r1", "status": "published", "topic": "tides", "duration_s": 1.5,
     "input_tokens": 999_999},
    call("r2", "draft", "claude-3-5-haiku", inp=300, out=30, ms=400, cost=0.04),
    call("r2", "review", "claude-3-5-haiku", inp=400, out=40, ms=300, cost=0.05),
]


def test_totals() -> None:
    total = summarize(RECORDS)["total"]
    assert total["calls"] == 5  # run records are not calls
    assert total["failures"] == 1
    assert total["input_tokens"] == 1000
    assert total["cached_input_tokens"] == 50
    assert total["output_tokens"] == 100
    assert total["cost_usd"] == pytest.approx(0.12)
    assert total["latency_ms_p50"] == 200.0  # of 50, 100, 200, 300, 400
    assert total["latency_ms_p95"] == 400.0


def test_by_run_carries_the_run_record_fields() -> None:
    runs = summarize(RECORDS)["runs"]
    assert set(runs) == {"r1", "r2"}
    assert runs["r1"]["calls"] == 3
    assert runs["r1"]["input_tokens"] == 300  # from its calls, not the run record
    assert (runs["r1"]["status"], runs["r1"]["topic"], runs["r1"]["duration_s"]) == ("published", "tides", 1.5)
    assert runs["r2"]["cost_usd"] == pytest.approx(0.09)
    assert "status" not in runs["r2"]  # no run record (yet): e.g. a crashed run


def test_by_stage_and_model() -> None:
    summary = summarize(RECORDS)
    assert {k: v["calls"] for k, v in summary["stages"].items()} == {"discover": 1, "draft": 3, "review": 1}
    assert summary["stages"]["draft"]["failures"] == 1
    assert summary["stages"]["draft"]["latency_ms_p50"] == 200.0  # of 50, 200, 400
    assert {k: v["calls"] for k, v in summary["models"].items()} == {
        "openai/gpt-4o-mini": 3, "openai/claude-3-5-haiku": 2}
    assert summary["models"]["openai/claude-3-5-haiku"]["output_tokens"] == 70


def test_cost_is_unknown_when_any_call_cost_is_unknown() -> None:
    records = [*RECORDS, call("r3", "draft", "mystery", cost=None)]
    summary = summarize(records)
    assert summary["total"]["cost_usd"] is None
    assert summary["runs"]["r3"]["cost_usd"] is None
    assert summary["stages"]["draft"]["cost_usd"] is None
    assert summary["models"]["openai/mystery"]["cost_usd"] is None
    # groups without the unknown call keep a known cost
    assert summary["runs"]["r1"]["cost_usd"] == pytest.approx(0.03)
    assert summary["stages"]["review"]["cost_usd"] == pytest.approx(0.05)


def test_empty_ledger() -> None:
    summary = summarize([])
    assert summary["total"]["calls"] == 0
    assert summary["total"]["latency_ms_p50"] is None
    assert summary["runs"] == summary["stages"] == summary["models"] == {}
