"""Cluster benchmark: flows per minute with 1, 2 and 4 workers on Postgres, and the engine's cost per LLM call.

    PYTHONPATH=src:. .venv/bin/python bench/cluster.py            # writes bench/cluster.md and bench/cluster.json
    PYTHONPATH=src:. .venv/bin/python bench/cluster.py --quick    # small n: checks the harness, not numbers to quote
    .venv/bin/python bench/run.py --only cluster                  # the same, as one of make bench's measurements

1. Throughput: a private Postgres (tests/pg.py, fsync on) and the fake OpenAI-compatible provider
   (tests/fakes/provider.py, latency uniform 1-3 s per call, the scripted newsroom's replies). N real
   ``newsroom worker --concurrency 2`` processes, each with its own HOME and workspace; once all have
   beaten, ``newsroom submit`` enqueues 4 topics per worker; the clock stops when ``runs`` shows every run
   finished. Flows per minute = runs / (last finish - submit) * 60. Worker CPU is read from /proc.
2. Engine cost per LLM call: ``Metered.complete`` on ``ScriptedModel(default="ok")`` (zero latency) three
   ways: *bare* (the path before the engine: Metered + the JSONL ledger), *ledger* (+ the call's key, its
   replay lookup and its row in the database ledger, JSONL mirror on SQLite as the product does), *engine*
   (the same, each call inside its own DBOS step of a workflow, as a run's stages are). On the embedded
   SQLite file and on Postgres; median of repeats.

Every number comes from this run; the machine's load is printed before and after each part.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
for p in (str(REPO), str(REPO / "src")):
    if p not in sys.path:
        sys.path.insert(0, p)

from dbos import DBOS  # noqa: E402

BENCH_WORKFLOW = "newsroom.bench.calls"


def log(message: str) -> None:
    print(f"[cluster {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load() -> dict[str, Any]:
    """Load average and the busiest other processes right now."""
    one, five, fifteen = os.getloadavg()
    ps = subprocess.run(["ps", "-eo", "pcpu,etimes,args", "--sort=-pcpu", "--no-headers"], capture_output=True,
                        text=True).stdout.splitlines()
    busy = [" ".join(x.split())[:110] for x in ps if float(x.split()[0]) >= 5.0][:6]
    return {"load": [round(one, 2), round(five, 2), round(fifteen, 2)], "top": busy}


# -- 1. throughput ------------------------------------------------------------------------------
def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def throughput(server: str, workers: int, per_worker: int, root: Path) -> dict[str, Any]:
    import sqlalchemy as sa
    from tests.cluster.conftest import DONE, Cluster
    from tests.fakes.provider import FakeProvider

    db = f"bench_w{workers}"
    admin = sa.create_engine(server.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{db}"'))
    admin.dispose()
    url = server.rsplit("/", 1)[0] + "/" + db
    fake = FakeProvider(latency=(1.0, 3.0))
    cluster = Cluster(root=root / db, db_url=url, provider_url=fake.start())
    cluster.root.mkdir(parents=True)
    before = load()
    try:
        for i in range(workers):
            cluster.start_worker(f"w{i + 1}", "--concurrency", "2")
        engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:  # every worker up and beating: their start-up is not timed
            try:
                with engine.connect() as conn:
                    if conn.execute(sa.text("SELECT count(*) FROM newsroom_workers")).scalar() == workers:
                        break
            except sa.exc.SQLAlchemyError:
                pass
            time.sleep(0.5)
        else:
            raise RuntimeError("the workers did not start")
        engine.dispose()
        cpu0 = {w.name: _cpu_s(w.proc.pid) for w in cluster.workers.values()}
        n = workers * per_worker
        started = time.monotonic()
        ids = cluster.submit([f"bench topic {i + 1} on recycling" for i in range(n)])
        while True:
            runs = cluster.runs()
            if all(runs[i].status in DONE for i in ids):
                break
            if time.monotonic() - started > 1800:
                raise RuntimeError("runs did not finish in 30 minutes")
            time.sleep(0.5)
        elapsed = time.monotonic() - started
        cpu = sum(_cpu_s(w.proc.pid) - cpu0[w.name] for w in cluster.workers.values())
        statuses = [runs[i].status for i in ids]
        for w in cluster.workers.values():
            w.proc.send_signal(signal.SIGTERM)
        for w in cluster.workers.values():
            w.proc.wait(timeout=120)
    finally:
        cluster.stop()
        fake.stop()
    result = {"workers": workers, "concurrency_per_worker": 2, "runs": n, "seconds": round(elapsed, 1),
              "flows_per_min": round(n / elapsed * 60, 2), "provider_requests": fake.count,
              "worker_cpu_s_per_flow": round(cpu / n, 2),
              "statuses": {s: statuses.count(s) for s in sorted(set(statuses))},
              "load_before": before, "load_after": load()}
    log(f"throughput: {workers} worker(s): {n} runs in {elapsed:.1f} s = {result['flows_per_min']} flows/min")
    return result


# -- 2. engine cost per call --------------------------------------------------------------------
_state: dict[str, Any] = {}


def _metered(url: str, execution_id: str, engine_path: bool) -> Any:
    from newsroom.llm.metered import Metered
    from newsroom.llm.replay import Replay
    from newsroom.llm.scripted import ScriptedModel
    from newsroom.roi.db_ledger import DbLedger
    from newsroom.roi.ledger import RoiLedger

    model = ScriptedModel(default="ok")
    if not engine_path:
        return Metered(model, RoiLedger(_state["tmp"] / f"{execution_id}.jsonl"), execution_id=execution_id)
    mirror = _state["tmp"] / f"{execution_id}.jsonl" if url.startswith("sqlite:") else None
    ledger = DbLedger(url, mirror=mirror)
    return Metered(model, ledger, execution_id=execution_id, replay=Replay(execution_id, ledger))


def _calls(metered: Any, n: int, in_steps: bool) -> float:
    from newsroom.durable import step
    from newsroom.llm.base import ChatRequest

    request = ChatRequest.of("Summarise this benchmark in one word.", system="You are terse.", max_tokens=16)
    started = time.perf_counter()
    for i in range(n):
        if in_steps:
            step(f"call:{i}", lambda: metered.complete(request, stage="bench", agent="bench").text)
        else:
            metered.complete(request, stage="bench", agent="bench")
    return (time.perf_counter() - started) / n


@DBOS.workflow(name=BENCH_WORKFLOW)
def _calls_in_workflow(url: str, n: int) -> float:
    metered = _metered(url, DBOS.workflow_id or "", engine_path=True)
    try:
        return _calls(metered, n, in_steps=True)
    finally:
        metered.close()


def engine_cost(url: str, kind: str, n: int, repeats: int, tmp: Path) -> dict[str, Any]:
    from dbos import SetWorkflowID

    from newsroom import engine
    from newsroom.config import Settings

    _state["tmp"] = tmp
    settings = Settings.load(workspace=tmp, database_url=url)
    engine.launch(settings)
    samples: dict[str, list[float]] = {"bare": [], "ledger": [], "engine": []}
    before = load()
    try:
        for r in range(repeats + 1):  # the first round warms up and is not counted
            for name in ("bare", "ledger", "engine"):
                eid = f"bench-{kind}-{name}-{r}"
                if name == "engine":
                    with SetWorkflowID(eid):
                        per_call = _calls_in_workflow(url, n)
                else:
                    metered = _metered(url, eid, engine_path=name == "ledger")
                    per_call = _calls(metered, n, in_steps=False)
                    metered.close()
                if r:
                    samples[name].append(per_call * 1e6)
            if r:
                log(f"engine cost on {kind}: repeat {r}/{repeats}: "
                    + ", ".join(f"{k} {v[-1]:.0f} us" for k, v in samples.items()))
    finally:
        engine.shutdown()
    med = {k: statistics.median(v) for k, v in samples.items()}
    return {"database": kind, "n": n, "repeats": repeats, "median_us": {k: round(v, 1) for k, v in med.items()},
            "samples_us": {k: [round(x, 1) for x in v] for k, v in samples.items()},
            "engine_cost_us": round(med["engine"] - med["bare"], 1),
            "ledger_cost_us": round(med["ledger"] - med["bare"], 1),
            "step_cost_us": round(med["engine"] - med["ledger"], 1), "load_before": before, "load_after": load()}


# -- report -------------------------------------------------------------------------------------
def markdown(doc: dict[str, Any]) -> str:
    m = doc["machine"]
    lines = ["# Cluster benchmark", "",
             f"Measured {doc['date']} on {m['cpus']} CPUs ({m['cpu']}), commit {doc['commit']}"
             f"{' (QUICK sizes: do not quote)' if doc['quick'] else ''}; total {doc['seconds']:.0f} s. "
             "Produced by `PYTHONPATH=src:. .venv/bin/python bench/cluster.py`; method in its docstring.", "",
             f"Load average (1, 5, 15 min) at the start {doc['load_start']['load']}, at the end "
             f"{doc['load_end']['load']}. Processes using 5 % CPU or more (%CPU averaged over their life, "
             "seconds running, command line), at the start:", "",
             *[f"- `{p}`" for p in doc["load_start"]["top"]], "", "and at the end:", "",
             *[f"- `{p}`" for p in doc["load_end"]["top"]], "",
             "## Throughput on Postgres (fake provider, 1-3 s per call, 11 calls per flow)", "",
             "Runs submitted with `--flag style_memory=false` (no embedder in the workers): this measures the "
             "engine and the flow, not the style store.", "",
             "| workers (x2 runs each) | runs | seconds | flows/min | worker CPU s per flow | outcomes "
             "| load before -> after |",
             "|---|---|---|---|---|---|---|"]
    for t in doc["throughput"]:
        lines.append(f"| {t['workers']} | {t['runs']} | {t['seconds']} | **{t['flows_per_min']}** | "
                     f"{t['worker_cpu_s_per_flow']} | {t['statuses']} | {t['load_before']['load'][0]} -> "
                     f"{t['load_after']['load'][0]} |")
    lines += ["", "## Engine cost per LLM call (zero-latency scripted model)", "",
              "| database | bare Metered (us/call) | + key, replay lookup, ledger row | + DBOS step (engine) | "
              "engine cost per call | of which the step | load before -> after |",
              "|---|---|---|---|---|---|---|"]
    for e in doc["engine_cost"]:
        md = e["median_us"]
        lines.append(f"| {e['database']} | {md['bare']} | {md['ledger']} | {md['engine']} | "
                     f"**{e['engine_cost_us']} us** | {e['step_cost_us']} us | {e['load_before']['load'][0]} -> "
                     f"{e['load_after']['load'][0]} |")
    n = doc["engine_cost"][0]["n"] if doc["engine_cost"] else 0
    lines += ["", f"Medians of {doc['engine_cost'][0]['repeats'] if doc['engine_cost'] else 0} repeats of {n} calls "
              "each, after a warm-up round. The step is a DBOS `run_step` per call (a run has one per stage, "
              "several calls each, so this is an upper bound on the step's share).", "",
              "## What else was running", "",
              "The machine has 2 cores shared with other work (other sessions' evals, benchmarks and tests: "
              "the process lists above, and per part in cluster.json). The fake provider, Postgres, the "
              "benchmark and every worker ran on the same 2 cores; on N machines each worker has its own. "
              "A flow spends most of its time waiting for the provider (11 calls at 1-3 s), so 2 runs per "
              "worker at ~25 s a run bound one worker near 4.8 flows/min; worker CPU per flow is in the table.", ""]
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    import re

    cpu = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
    return {"cpus": os.cpu_count(), "cpu": cpu.group(1) if cpu else "?"}


def run(quick: bool) -> dict[str, Any]:
    from tests.pg import postgres_server

    started = time.perf_counter()
    doc: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "quick": quick,
                           "machine": machine(), "load_start": load(),
                           "commit": subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                                                    capture_output=True, text=True).stdout.strip()}
    log(f"load at start {doc['load_start']['load']}")
    with tempfile.TemporaryDirectory(prefix="newsroom-cluster-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        with postgres_server(fsync=True) as server:
            n, repeats = (50, 2) if quick else (300, 5)
            doc["engine_cost"] = [engine_cost(f"sqlite:///{tmp / 'engine.sqlite'}", "SQLite (embedded)", n, repeats,
                                              tmp),
                                  engine_cost(server, "Postgres 15 (loopback)", n, repeats, tmp)]
            per_worker = 2 if quick else 4
            doc["throughput"] = [throughput(server, w, per_worker, tmp) for w in ((1, 2) if quick else (1, 2, 4))]
    doc["load_end"] = load()
    doc["seconds"] = time.perf_counter() - started
    log(f"load at end {doc['load_end']['load']}")
    return doc


def measure(ctx: Any) -> dict[str, Any]:
    """``bench/run.py --only cluster``: the same measurements as run.py metrics."""
    from bench_common import metric

    doc = run(ctx.quick)
    metrics = [metric(f"cluster.flows_per_min_{t['workers']}w", f"flows per minute, {t['workers']} worker(s) x2 "
                      "on Postgres (fake provider 1-3 s/call)", t["flows_per_min"], "flows/min", n=t["runs"],
                      stat="one batch") for t in doc["throughput"]]
    metrics += [metric(f"cluster.engine_cost_us_{e['database'].split()[0].lower()}",
                       f"engine cost per LLM call on {e['database']} (step + key + ledger row, vs bare Metered)",
                       e["engine_cost_us"], "us", n=e["n"] * e["repeats"], stat=f"median of {e['repeats']} repeats")
                for e in doc["engine_cost"]]
    method = " ".join((__doc__ or "").split("\n\n", 2)[2].split())
    return {"title": "Cluster: throughput and engine cost", "method": method,
            "metrics": metrics, "notes": [f"load {doc['load_start']['load']} -> {doc['load_end']['load']}"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=str(REPO / "bench" / "cluster"), metavar="PREFIX")
    args = parser.parse_args()
    doc = run(args.quick)
    Path(args.out + ".json").write_text(json.dumps(doc, indent=2) + "\n")
    Path(args.out + ".md").write_text(markdown(doc))
    print(markdown(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
