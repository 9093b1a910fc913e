"""1. Metered overhead: ``Metered.complete`` against the bare ``ChatModel.complete`` it wraps.

The model is ``ScriptedModel(default="ok")``: zero latency, so the difference is the wrapper alone
(pre-call budget check, tenacity's retry loop, pricing, the record and the ledger append).
Blocks of ``n`` calls run in rotating order (bare, on, off) per repeat; the reported per-call time
is the median over repeats of (block time / n).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

from bench_common import WorkerContext, log, median, metric

TARGET_US = 50.0


def _block(fn: Callable[[], None], n: int) -> tuple[float, float]:
    """Wall and process-CPU seconds per call for ``n`` calls of ``fn``."""
    gc.collect()
    cpu, started = time.process_time(), time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - started) / n, (time.process_time() - cpu) / n


def measure(ctx: WorkerContext) -> dict[str, Any]:
    from newsroom.llm.base import ChatRequest
    from newsroom.llm.metered import Metered
    from newsroom.llm.scripted import ScriptedModel
    from newsroom.roi.ledger import RoiLedger

    n, repeats = (2_000, 3) if ctx.quick else (20_000, 5)
    request = ChatRequest.of("Summarise this benchmark in one word.", system="You are terse.", max_tokens=16)
    model = ScriptedModel(default="ok")
    ledger_path = ctx.tmp / "ledger-on.jsonl"
    on = Metered(model, RoiLedger(ledger_path), execution_id="bench-on")
    off = Metered(model, RoiLedger(ctx.tmp / "ledger-off.jsonl", enabled=False), execution_id="bench-off")
    calls: dict[str, Callable[[], Any]] = {
        "bare": lambda: model.complete(request),
        "on": lambda: on.complete(request, stage="bench", agent="bench"),
        "off": lambda: off.complete(request, stage="bench", agent="bench"),
    }
    warmup = 500
    for fn in calls.values():
        _block(fn, warmup)
    per_call: dict[str, list[float]] = {k: [] for k in calls}
    cpu_per_call: dict[str, list[float]] = {k: [] for k in calls}
    order = list(calls)
    for r in range(repeats):
        for name in order[r % 3:] + order[:r % 3]:
            model.calls.clear()  # ScriptedModel keeps every call; do not let the list grow across blocks
            wall, cpu = _block(calls[name], n)
            per_call[name].append(wall * 1e6)
            cpu_per_call[name].append(cpu * 1e6)
        log(f"metered: repeat {r + 1}/{repeats}: " + ", ".join(f"{k} {v[-1]:.2f} us" for k, v in per_call.items()))
    model.calls.clear()
    lines = sum(1 for _ in ledger_path.open("rb"))
    expected = warmup + n * repeats
    result = _result(per_call, n, repeats, lines, expected)
    cbare, con, coff = (median(cpu_per_call[k]) for k in ("bare", "on", "off"))
    result["notes"].append(f"the same blocks in process CPU time (less sensitive to other load): bare {cbare:.2f} us, "
                           f"overhead on {con - cbare:.2f} us, off {coff - cbare:.2f} us per call")
    result["cpu_time_us"] = {k: [round(x, 3) for x in v] for k, v in cpu_per_call.items()}
    return result


def _result(per_call: dict[str, list[float]], n: int, repeats: int, lines: int, expected: int) -> dict[str, Any]:
    bare, on, off = (median(per_call[k]) for k in ("bare", "on", "off"))
    stat = f"median of {repeats} repeats of {n:,} calls"
    metrics = [
        metric("metered.bare_us", "bare ScriptedModel.complete per call", bare, "us", n=n * repeats, stat=stat,
               samples=per_call["bare"]),
        metric("metered.overhead_on_us", "Metered overhead per call, telemetry on (ledger written)", on - bare, "us",
               n=n * repeats, stat=stat, target=("<", TARGET_US), ratio=on / bare, ratio_of="metered(on) / bare",
               samples=per_call["on"], metered_per_call_us=round(on, 3)),
        metric("metered.overhead_off_us", "Metered overhead per call, telemetry off (enabled=False)", off - bare,
               "us", n=n * repeats, stat=stat, target=("<", TARGET_US), ratio=off / bare,
               ratio_of="metered(off) / bare", samples=per_call["off"], metered_per_call_us=round(off, 3)),
    ]
    return {
        "title": "Metered overhead",
        "method": ("Blocks of n calls of the same ChatRequest, per repeat in rotating order: bare "
                   "ScriptedModel(default='ok').complete, Metered.complete with RoiLedger on a temp file, "
                   "Metered.complete with RoiLedger(enabled=False). Overhead = median(metered) - median(bare) "
                   "per call (perf_counter, gc enabled, gc.collect() before each block); 500 warm-up calls each."),
        "metrics": metrics,
        "notes": [f"ledger lines written with telemetry on: {lines:,} (expected {expected:,}: every call recorded)"],
    }
