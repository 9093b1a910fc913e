"""5. Flow throughput on the scripted model: crewAI Flow (``flow_engine`` on) against the plain sequence.

The replies are the scripted newsroom of ``tests/stages/conftest.py`` (imported, so the benchmark
follows the tests when the stages change): a clean article that the editor publishes on the first
round, nine LLM calls per flow. Style memory is off, as in those tests, so this measures the
orchestration (crewAI crews, the Flow, the checker, Metered and the ledger), not the embedder.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from bench_common import REPO, WorkerContext, log, median, metric

TOPIC = "battery recycling"


def _one(ctx: WorkerContext, engine: str, i: int) -> tuple[float, str]:
    from tests.stages.conftest import CLEAN_SECTIONS, script

    from newsroom.api import generate_article
    from newsroom.config import Settings
    from newsroom.llm.scripted import ScriptedModel

    settings = Settings.load(workspace=ctx.workspace,
                             flag_overrides={"style_memory": "off", "flow_engine": engine})
    model = ScriptedModel(default=script([CLEAN_SECTIONS]))
    started = time.perf_counter()
    result = generate_article(TOPIC, settings=settings, model=model, out_dir=ctx.workspace / "out" / f"{engine}-{i}")
    return time.perf_counter() - started, result.status


def _batch_available() -> bool:
    from newsroom.cli import cli

    return "batch" in cli.commands


def measure(ctx: WorkerContext) -> dict[str, Any]:
    sys.path.insert(0, str(REPO))  # for tests.stages.conftest
    runs = 2 if ctx.quick else 8
    first = {engine: _one(ctx, engine, 0)[0] for engine in ("on", "off")}  # imports crewAI, builds the Flow class
    times: dict[str, list[float]] = {"on": [], "off": []}
    statuses: set[str] = set()
    for r in range(runs):
        for engine in (("on", "off") if r % 2 == 0 else ("off", "on")):
            seconds, status = _one(ctx, engine, r + 1)
            times[engine].append(seconds)
            statuses.add(status)
        log(f"flow: run {r + 1}/{runs}: on {times['on'][-1]:.2f} s, off {times['off'][-1]:.2f} s")
    on, off = median(times["on"]), median(times["off"])
    stat = f"60 / median of {runs} flows, alternating order, after one warm-up flow each"
    batch = _batch_available()
    return {
        "title": "Flow throughput (scripted)",
        "method": ("generate_article on ScriptedModel(default=script([CLEAN_SECTIONS])) from tests/stages/conftest.py, "
                   "flags style_memory=off and flow_engine=on|off, a new output dir per flow, one process; "
                   "wall time per flow (perf_counter)."),
        "metrics": [
            metric("flow.on_per_min", "flows per minute, single, flow_engine on (crewAI Flow)", 60 / on,
                   "flows/min", n=runs, stat=stat, ratio=on / off, ratio_of="time per flow, Flow / plain sequence",
                   samples=times["on"]),
            metric("flow.off_per_min", "flows per minute, single, flow_engine off (plain sequence)", 60 / off,
                   "flows/min", n=runs, stat=stat, samples=times["off"]),
            metric("flow.first_on_s", "first flow in the process, flow_engine on (imports crewAI)", first["on"], "s",
                   n=1),
            metric("flow.first_off_s", "first flow with flow_engine off (after the one above)", first["off"], "s",
                   n=1),
        ],
        "notes": [f"statuses of the timed flows: {sorted(statuses)}",
                  f"per-flow overhead of the Flow engine: {(on - off) * 1000:.0f} ms (median on - median off)"],
        "not_measured": [] if batch else ["batch throughput: there is no `newsroom batch` command yet"],
    }
