"""``/metrics``: Prometheus exposition read from the database at scrape time.

Nothing is counted in this process's memory: a collector reads the ledger table (every call any
worker on the database made) and the runs at each scrape, so every server of a blue-green pair
reports the same totals, and a restart loses nothing. Names (the OpenTelemetry GenAI attribute
each label comes from in brackets):

- ``newsroom_llm_calls_total{provider,model,stage,status}`` (``gen_ai.provider.name``,
  ``gen_ai.request.model``): every call attempt in the ledger;
- ``newsroom_llm_input_tokens_total`` / ``newsroom_llm_output_tokens_total`` /
  ``newsroom_llm_cached_input_tokens_total`` (``gen_ai.usage.input_tokens`` ...): provider-reported;
- ``newsroom_llm_cost_usd_total``: the calls whose price is known; ``newsroom_llm_unpriced_calls_total``
  counts the others (their cost is unknown, never a made-up 0);
- ``newsroom_llm_call_duration_seconds`` (histogram, ``gen_ai.client.operation.duration``);
- ``newsroom_runs{status}``: runs in the database by the product's status;
- ``newsroom_queue_depth``: runs waiting on the queue.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from newsroom.service.runtime import Runtime

log = logging.getLogger(__name__)
BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
LABELS = ("provider", "model", "stage")


@dataclass
class _Group:
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # by status
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cost_usd: float = 0.0
    unpriced: int = 0
    durations: list[float] = field(default_factory=list)


def ledger_groups(url: str) -> dict[tuple[str, str, str], _Group]:
    """The ledger's calls added up by (provider, model, stage)."""
    from newsroom.store import engine, ledger

    groups: dict[tuple[str, str, str], _Group] = defaultdict(_Group)
    query = sa.select(ledger.c.record).where(ledger.c.type == "llm_call")
    with engine(url).connect() as conn:
        for (raw,) in conn.execute(query):
            try:
                r = json.loads(raw)
            except ValueError:
                continue
            g = groups[(str(r.get("provider")), str(r.get("model")), str(r.get("stage")))]
            g.calls[str(r.get("status"))] += 1
            g.input_tokens += int(r.get("input_tokens") or 0)
            g.output_tokens += int(r.get("output_tokens") or 0)
            g.cached_input_tokens += int(r.get("cached_input_tokens") or 0)
            if r.get("cost_usd") is None:
                g.unpriced += 1
            else:
                g.cost_usd += float(r["cost_usd"])
            g.durations.append(float(r.get("duration_ms") or 0) / 1000)
    return groups


def _histogram(values: list[float]) -> list[tuple[str, float]]:
    buckets = [(str(b), float(sum(v <= b for v in values))) for b in BUCKETS]
    return [*buckets, ("+Inf", float(len(values)))]


class LedgerCollector(Collector):
    """Reads the ledger and the runs at each scrape (see the module docstring for the names)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        yield from self._calls()
        yield from self._runs()

    def _calls(self) -> Iterator[Metric]:
        calls = CounterMetricFamily("newsroom_llm_calls", "LLM call attempts in the ledger",
                                    labels=[*LABELS, "status"])
        names = {"input_tokens": "prompt tokens, cached ones included", "output_tokens": "completion tokens",
                 "cached_input_tokens": "prompt tokens served from the provider's cache"}
        tokens = {k: CounterMetricFamily(f"newsroom_llm_{k}", f"Provider-reported {v}", labels=list(LABELS))
                  for k, v in names.items()}
        cost = CounterMetricFamily("newsroom_llm_cost_usd", "Cost of the calls whose price is known (USD)",
                                   labels=list(LABELS))
        unpriced = CounterMetricFamily("newsroom_llm_unpriced_calls", "Calls whose price is unknown",
                                       labels=list(LABELS))
        latency = HistogramMetricFamily("newsroom_llm_call_duration_seconds", "LLM call latency",
                                        labels=list(LABELS))
        for key, g in sorted(ledger_groups(self.runtime.settings.db_url).items()):
            labels = list(key)
            for status, n in sorted(g.calls.items()):
                calls.add_metric([*labels, status], n)
            for name, family in tokens.items():
                family.add_metric(labels, getattr(g, name))
            cost.add_metric(labels, g.cost_usd)
            unpriced.add_metric(labels, g.unpriced)
            latency.add_metric(labels, _histogram(g.durations), sum(g.durations))
        yield from (calls, *tokens.values(), cost, unpriced, latency)

    def _runs(self) -> Iterator[Metric]:
        from newsroom.engine import QUEUE, WORKFLOW
        from newsroom.runs import STATUSES, view

        client = self.runtime.client
        found = client.list_workflows(name=WORKFLOW, load_input=False, load_output=True)
        counts = dict.fromkeys(STATUSES, 0)
        for w in found:
            status = view(w).status
            counts[status] = counts.get(status, 0) + 1
        runs = GaugeMetricFamily("newsroom_runs", "Runs in the database by status", labels=["status"])
        for status, n in counts.items():
            runs.add_metric([status], n)
        queued = client.list_workflows(status="ENQUEUED", queue_name=QUEUE, load_input=False, load_output=False)
        depth = GaugeMetricFamily("newsroom_queue_depth", "Runs waiting on the queue", value=len(queued))
        yield from (runs, depth)


def exposition(runtime: Runtime) -> tuple[bytes, str]:
    """The text format of every metric, read now."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LedgerCollector(runtime))
    return generate_latest(registry), CONTENT_TYPE_LATEST
