"""Aggregations over ledger records for ``newsroom roi summary`` and ``roi calls``."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile; ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def _group(calls: list[dict[str, Any]]) -> dict[str, Any]:
    costs = [c.get("cost_usd") for c in calls]
    latencies = [float(c.get("duration_ms") or 0) for c in calls]
    return {
        "calls": len(calls),
        "failures": sum(1 for c in calls if c.get("status") != "ok"),
        "input_tokens": sum(int(c.get("input_tokens") or 0) for c in calls),
        "cached_input_tokens": sum(int(c.get("cached_input_tokens") or 0) for c in calls),
        "output_tokens": sum(int(c.get("output_tokens") or 0) for c in calls),
        # Unknown if any call's price is unknown: a partial sum would understate the cost.
        "cost_usd": None if any(c is None for c in costs) else round(sum(costs), 8),  # type: ignore[arg-type]
        "latency_ms_p50": percentile(latencies, 50),
        "latency_ms_p95": percentile(latencies, 95),
    }


def summarize(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Totals, and breakdowns by run, stage and model."""
    records = list(records)
    calls = [r for r in records if r.get("type") == "llm_call"]
    runs_meta: dict[str, dict[str, Any]] = {}
    by: dict[str, dict[str, list[dict[str, Any]]]] = {k: defaultdict(list) for k in ("run", "stage", "model")}
    for c in calls:
        by["run"][str(c.get("execution_id"))].append(c)
        by["stage"][str(c.get("stage"))].append(c)
        by["model"][f"{c.get('provider')}/{c.get('model')}"].append(c)
    for r in records:
        if r.get("type") == "run":
            runs_meta[str(r.get("execution_id"))] = {"status": r.get("status"), "topic": r.get("topic"),
                                                     "duration_s": r.get("duration_s")}
    runs = {k: {**_group(v), **runs_meta.get(k, {})} for k, v in by["run"].items()}
    return {
        "total": _group(calls),
        "runs": runs,
        "stages": {k: _group(v) for k, v in by["stage"].items()},
        "models": {k: _group(v) for k, v in by["model"].items()},
    }


def runs_by_time(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every run, oldest first: ``summarize``'s per-run fields plus ``execution_id`` and ``started``.

    Unlike ``summarize``'s ``runs``, this includes a run that wrote a run record but no call record
    (it stopped before its first call), with zero calls. ``started`` is the earliest ``ts`` of the
    run's records (an ISO 8601 string, ``""`` if none carries one).
    """
    records = list(records)
    runs = summarize(records)["runs"]
    started: dict[str, str] = {}
    for r in records:
        if r.get("type") not in ("llm_call", "run"):
            continue
        key, ts = str(r.get("execution_id")), str(r.get("ts") or "")
        if ts and (key not in started or ts < started[key]):
            started[key] = ts
        if r.get("type") == "run" and key not in runs:
            runs[key] = {**_group([]), "status": r.get("status"), "topic": r.get("topic"),
                         "duration_s": r.get("duration_s")}
    ordered = [{"execution_id": key, "started": started.get(key, ""), **group} for key, group in runs.items()]
    return sorted(ordered, key=lambda run: (run["started"], run["execution_id"]))
