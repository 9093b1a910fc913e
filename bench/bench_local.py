"""3. Local model throughput: the whole stack against xllamacpp called directly, on one server.

The default catalogue model (``Settings`` defaults). Stack: ``Metered.complete`` -> ``LocalChatModel``
(openai SDK, HTTP on loopback) -> the embedded llama.cpp server. Direct:
``Server.handle_chat_completions(dict)`` on the same xllamacpp server object (no HTTP, no SDK, no
Metered). The request is identical: same messages, max_tokens, temperature 0, seed, and the same
prose sampling fields ``LocalChatModel`` sends for this model.
"""

from __future__ import annotations

import time
from typing import Any

from bench_common import WorkerContext, log, median, metric

PROMPT = ("Explain, in plain English and in several paragraphs, how a new offshore wind farm is connected to "
          "the national electricity grid and why the connection can take years.")
MAX_TOKENS = 128
SEED = 42


def _server(model: Any) -> Any:
    """The LocalServer the factory's model uses: the registry hands back the instance for an equal config."""
    from newsroom.llm.local import LocalServer

    return LocalServer.shared(model.server_config)


Call = tuple[float, int, str, float | None]  # wall seconds, output tokens, text, server-reported decode tok/s


def _stack_call(metered: Any, request: Any) -> Call:
    started = time.perf_counter()
    completion = metered.complete(request, stage="bench", agent="bench")
    elapsed = time.perf_counter() - started
    timings = (getattr(completion.raw, "model_extra", None) or {}).get("timings") or {}
    return elapsed, completion.usage.output_tokens, completion.text, timings.get("predicted_per_second")


def _direct_call(xserver: Any, payload: dict[str, Any]) -> Call:
    started = time.perf_counter()
    resp = xserver.handle_chat_completions(dict(payload))
    elapsed = time.perf_counter() - started
    if "choices" not in resp:
        raise RuntimeError(f"xllamacpp returned an error: {resp}")
    return (elapsed, int(resp["usage"]["completion_tokens"]), resp["choices"][0]["message"]["content"],
            (resp.get("timings") or {}).get("predicted_per_second"))


def measure(ctx: WorkerContext) -> dict[str, Any]:
    from newsroom.config import Settings
    from newsroom.llm.base import ChatRequest
    from newsroom.llm.factory import build_model
    from newsroom.llm.local import LocalChatModel
    from newsroom.llm.metered import Metered
    from newsroom.roi.ledger import RoiLedger

    runs = 2 if ctx.quick else 6
    settings = Settings.load(workspace=ctx.workspace)
    model = build_model(settings)
    if not isinstance(model, LocalChatModel):
        raise RuntimeError(f"expected the local provider, got {type(model).__name__}")
    metered = Metered(model, RoiLedger(ctx.tmp / "ledger.jsonl"), execution_id="bench-local")
    started = time.perf_counter()
    url = model.server_url()
    start_s = time.perf_counter() - started
    server = _server(model)
    if server.base_url != url:
        raise RuntimeError("could not reach the LocalServer instance the model uses")
    xserver = server._server  # LocalServer exposes no public handle to the xllamacpp.Server (see README)
    request = ChatRequest.of(PROMPT, max_tokens=MAX_TOKENS, temperature=0.0, seed=SEED)
    payload = {"model": model.model_name, "messages": [{"role": "user", "content": PROMPT}],
               "max_tokens": MAX_TOKENS, "temperature": 0.0, "seed": SEED, **model.sampling.prose}
    calls = {"stack": lambda: _stack_call(metered, request), "direct": lambda: _direct_call(xserver, payload)}
    for fn in calls.values():  # warm-up: fills the prompt cache for both paths alike
        fn()
    out: dict[str, list[Call]] = {"stack": [], "direct": []}
    for r in range(runs):
        for name in (("stack", "direct") if r % 2 == 0 else ("direct", "stack")):
            out[name].append(calls[name]())
        log(f"local: run {r + 1}/{runs}: " + ", ".join(f"{k} {v[-1][1] / v[-1][0]:.1f} tok/s" for k, v in out.items()))
    return _result(out, start_s, runs)


def _result(out: dict[str, list[Call]], start_s: float, runs: int) -> dict[str, Any]:
    tps = {k: [c[1] / c[0] for c in v] for k, v in out.items()}
    secs = {k: [c[0] for c in v] for k, v in out.items()}
    tokens = {k: sorted({c[1] for c in v}) for k, v in out.items()}
    texts_equal = {c[2] for c in out["stack"]} == {c[2] for c in out["direct"]}
    server_tps = {k: [c[3] for c in v if c[3]] for k, v in out.items()}
    server_note = ", ".join(f"{k} {median(v):.1f}" for k, v in server_tps.items() if v) or "not reported"
    stack, direct = median(tps["stack"]), median(tps["direct"])
    stat = f"median of {runs} calls, alternating order"
    return {
        "title": "Local model throughput (the default model)",
        "method": (f"One prompt, max_tokens={MAX_TOKENS}, temperature 0, seed {SEED}, the model's prose sampling as "
                   "LocalChatModel sends it; one warm-up call per path, then alternating calls. "
                   "Throughput = completion_tokens "
                   "(provider usage) / wall time of the call (perf_counter around it)."),
        "metrics": [
            metric("local.stack_tps", "output tokens/s, Metered -> LocalChatModel (openai SDK) -> server", stack,
                   "tok/s", n=runs, stat=stat, ratio=stack / direct, ratio_of="stack / direct xllamacpp",
                   samples=tps["stack"]),
            metric("local.direct_tps", "output tokens/s, xllamacpp handle_chat_completions(dict) direct", direct,
                   "tok/s", n=runs, stat=stat, samples=tps["direct"]),
            metric("local.overhead_pct", "stack overhead in time per token", (direct / stack - 1) * 100, "%",
                   n=runs, stat="median direct tok/s / median stack tok/s - 1", ratio=direct / stack,
                   ratio_of="direct tok/s / stack tok/s"),
            metric("local.overhead_ms", "stack overhead per call", (median(secs["stack"]) - median(secs["direct"]))
                   * 1000, "ms", n=runs, stat="median stack - median direct call time"),
            metric("local.server_start_s", "embedded llama.cpp server start (model load)", start_s, "s", n=1),
        ],
        "notes": [f"completion tokens per call: stack {tokens['stack']}, direct {tokens['direct']}",
                  f"the two paths produced identical text: {texts_equal}",
                  f"llama.cpp's own decode rate (timings.predicted_per_second, median): {server_note} tok/s; a "
                  "drop in both paths together means the server got less CPU, not that the stack got slower"],
    }
