"""The ROI ledger as Prometheus metrics (``newsroom roi export --prometheus FILE``).

Written in the text exposition format for node-exporter's textfile collector (name the file
``*.prom`` in the collector's directory and run the export from cron or a timer). The ledger is
append-only, so every ``*_total`` here is a true counter: it only grows between exports.

Families (labels in braces; ``stage``, ``model`` (the requested model) and ``provider`` come
from the call records):

- ``newsroom_llm_calls_total{stage,model,provider,status}``: call attempts, ``status`` ok|error
- ``newsroom_llm_input_tokens_total``, ``newsroom_llm_cached_input_tokens_total``,
  ``newsroom_llm_output_tokens_total`` ``{stage,model,provider}``
- ``newsroom_llm_cost_usd_total{stage,model,provider}``: the sum over calls of *known* price only;
  a label set whose every call is unpriced has no cost series (absent, never a made-up 0)
- ``newsroom_llm_calls_unknown_cost_total{stage,model,provider}``: calls whose price is unknown
- ``newsroom_llm_latency_seconds{stage,model,provider}``: histogram of call durations
- ``newsroom_runs_total{status}``: finished runs (those that wrote a run record)
- ``newsroom_ledger_skipped_lines``: unreadable ledger lines; ``newsroom_ledger_last_record_timestamp_seconds``
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from newsroom.errors import ConfigError
from newsroom.safeio import write_atomic

LATENCY_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
_CALL_LABELS = ["stage", "model", "provider"]


def _key(call: dict[str, Any]) -> tuple[str, str, str]:
    return (str(call.get("stage")), str(call.get("model")), str(call.get("provider")))


def _timestamp(records: Sequence[dict[str, Any]]) -> float | None:
    latest = None
    for record in records:
        try:
            ts = datetime.fromisoformat(str(record.get("ts")).replace("Z", "+00:00")).timestamp()
        except ValueError:
            continue
        latest = ts if latest is None else max(latest, ts)
    return latest


def _histogram(seconds: list[float]) -> list[tuple[str, float]]:
    buckets = [(repr(le), float(sum(1 for s in seconds if s <= le))) for le in LATENCY_BUCKETS_S]
    return [*buckets, ("+Inf", float(len(seconds)))]


class LedgerCollector(Collector):
    """A prometheus_client collector that turns ledger records into metric families."""

    def __init__(self, records: Iterable[dict[str, Any]], *, skipped_lines: int = 0) -> None:
        self.records = list(records)
        self.skipped_lines = skipped_lines

    def collect(self) -> Iterator[Metric]:
        """Yield every metric family (computed from the records on each call)."""
        calls = [r for r in self.records if r.get("type") == "llm_call"]
        groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
        for call in calls:
            groups[_key(call)].append(call)

        by_status = CounterMetricFamily("newsroom_llm_calls", "LLM call attempts, from the ROI ledger.",
                                        labels=[*_CALL_LABELS, "status"])
        for key, status in sorted({(_key(c), str(c.get("status"))) for c in calls}):
            by_status.add_metric([*key, status], sum(1 for c in groups[key] if str(c.get("status")) == status))
        yield by_status

        for field, what in (("input_tokens", "Prompt tokens, cached ones included"),
                            ("cached_input_tokens", "Prompt tokens read from the provider's cache"),
                            ("output_tokens", "Completion tokens")):
            family = CounterMetricFamily(f"newsroom_llm_{field}", f"{what}, provider-reported.", labels=_CALL_LABELS)
            for key, group in sorted(groups.items()):
                family.add_metric(list(key), sum(int(c.get(field) or 0) for c in group))
            yield family

        cost = CounterMetricFamily("newsroom_llm_cost_usd", "LLM cost in USD of the calls whose price is known.",
                                   labels=_CALL_LABELS)
        unknown = CounterMetricFamily("newsroom_llm_calls_unknown_cost",
                                      "LLM call attempts whose price is unknown (model not in the price table).",
                                      labels=_CALL_LABELS)
        latency = HistogramMetricFamily("newsroom_llm_latency_seconds", "LLM call attempt duration.",
                                        labels=_CALL_LABELS)
        for key, group in sorted(groups.items()):
            known = [float(c["cost_usd"]) for c in group if c.get("cost_usd") is not None]
            if known:
                cost.add_metric(list(key), math.fsum(known))
            unknown.add_metric(list(key), len(group) - len(known))
            seconds = [float(c.get("duration_ms") or 0) / 1000 for c in group]
            latency.add_metric(list(key), _histogram(seconds), math.fsum(seconds))
        yield from (cost, unknown, latency)
        yield from self._ledger_families()

    def _ledger_families(self) -> Iterator[Metric]:
        runs = CounterMetricFamily("newsroom_runs", "Finished runs (one run record each), by status.",
                                   labels=["status"])
        statuses: dict[str, int] = defaultdict(int)
        for record in self.records:
            if record.get("type") == "run":
                statuses[str(record.get("status"))] += 1
        for status, count in sorted(statuses.items()):
            runs.add_metric([status], count)
        yield runs
        yield GaugeMetricFamily("newsroom_ledger_skipped_lines", "Unreadable ledger lines skipped by this export.",
                    value=self.skipped_lines)
        latest = _timestamp(self.records)
        if latest is not None:
            yield GaugeMetricFamily("newsroom_ledger_last_record_timestamp_seconds",
                        "Unix time of the newest ledger record.", value=latest)


def registry(records: Iterable[dict[str, Any]], *, skipped_lines: int = 0) -> CollectorRegistry:
    """A fresh ``CollectorRegistry`` holding only the ledger's metrics."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(LedgerCollector(records, skipped_lines=skipped_lines))
    return reg


def render(records: Iterable[dict[str, Any]], *, skipped_lines: int = 0) -> str:
    """The metrics as exposition text (what ``write_prometheus`` writes)."""
    return generate_latest(registry(records, skipped_lines=skipped_lines)).decode("utf-8")


def write_prometheus(path: Path | str, records: Iterable[dict[str, Any]], *, skipped_lines: int = 0) -> None:
    """Write the metrics to ``path`` atomically, mode 0600 (``safeio.write_atomic``: a temp file, then rename).

    A path that is a symlink, device, FIFO or directory is a ``ConfigError``; so is a failed write.
    """
    path = Path(path)
    try:
        write_atomic(path, render(records, skipped_lines=skipped_lines), option="--prometheus")
    except OSError as exc:
        raise ConfigError(f"cannot write the metrics to {str(path)!r}: {_why(path, exc)}; "
                          "give --prometheus a writable file path") from None


def _why(path: Path, exc: OSError) -> str:
    blocker = next((p for p in path.parents if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        return f"{str(blocker)!r} is a file, not a directory"
    return exc.strerror or str(exc)


def write_jsonl(path: Path | str, records: Iterable[dict[str, Any]]) -> None:
    """Write every record as one JSON line, atomically and 0600 (the ledger's own record shape)."""
    import json

    path = Path(path)
    text = "".join(json.dumps(r, separators=(",", ":"), ensure_ascii=False, default=str) + "\n" for r in records)
    try:
        write_atomic(path, text, option="--jsonl")
    except OSError as exc:
        raise ConfigError(f"cannot write the ledger to {str(path)!r}: {_why(path, exc)}; "
                          "give --jsonl a writable file path") from None
