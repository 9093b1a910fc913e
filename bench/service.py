"""Load bench for ``newsroom serve``: many clients POST articles at once and poll them to the end.

    .venv/bin/python bench/service.py                  # 200 POSTs, 20 clients, fake provider 1-3 s a call
    .venv/bin/python bench/service.py --posts 20 --out /tmp/s.md   # a quick check of the harness

It starts the fake OpenAI-compatible provider (``tests/fakes/provider.py``) and one ``newsroom serve``
(``--workers-in-process W``) on a fresh workspace (SQLite), then ``--clients`` threads each POST their
share of ``--posts`` articles (each with its own Idempotency-Key) and poll ``GET /v1/articles/{id}``
once a second until every run has finished. It checks that every POST was accepted, that the
database holds exactly one run per POST (none lost, none doubled) and that every run finished, and
writes the latency percentiles of POST and GET, the outcome counts and what else the machine was
running to ``bench/service.md``. Every number is measured in that run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(REPO / "src"), str(REPO)]

from tests.fakes.provider import FakeProvider  # noqa: E402
from tests.service.conftest import FINISHED, TOKEN, service_env, start  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def spread(values: list[float]) -> str:
    return f"{pct(values, 50) * 1000:.0f} / {pct(values, 95) * 1000:.0f} / {max(values) * 1000:.0f} ms"


def machine() -> dict[str, str]:
    load = os.getloadavg()
    top = [line[:140] for line in subprocess.run(["ps", "-eo", "pcpu,rss,args", "--sort=-pcpu"], capture_output=True,
                                                 text=True, check=False).stdout.splitlines()[:8]]
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "?")
    return {"load": f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", "top": "\n".join(top), "cpu": cpu,
            "cpus": str(len(os.sched_getaffinity(0)))}


def client(base: str, n: int, name: str, posts: list[float], gets: list[float], ids: list[str],
           errors: list[str], lock: threading.Lock) -> None:
    mine: list[str] = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as c:
        for i in range(n):
            started = time.perf_counter()
            r = c.post("/v1/articles", json={"topic": f"battery recycling, bench {name}-{i}"},
                       headers={"Idempotency-Key": f"bench-{name}-{i}"})
            with lock:
                posts.append(time.perf_counter() - started)
                if r.status_code != 202:
                    errors.append(f"POST {r.status_code} {r.text[:200]}")
                    continue
                ids.append(r.json()["execution_id"])
            mine.append(r.json()["execution_id"])
        waiting = set(mine)
        while waiting:
            time.sleep(1.0)
            for execution_id in sorted(waiting):
                started = time.perf_counter()
                r = c.get(f"/v1/articles/{execution_id}")
                with lock:
                    gets.append(time.perf_counter() - started)
                if r.status_code != 200:
                    with lock:
                        errors.append(f"GET {r.status_code} {r.text[:200]}")
                elif r.json()["status"] in FINISHED:
                    waiting.discard(execution_id)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--workers-in-process", type=int, default=32)
    parser.add_argument("--latency", type=float, nargs=2, default=(1.0, 3.0))
    parser.add_argument("--out", type=Path, default=BENCH / "service.md")
    args = parser.parse_args()
    before = machine()
    fake = FakeProvider(latency=tuple(args.latency))
    url = fake.start()
    tmp = Path(tempfile.mkdtemp(prefix="newsroom-bench-service-"))
    served = start(tmp / "ws", service_env(tmp / "home", url), "--workers-in-process", str(args.workers_in_process))
    posts: list[float] = []
    gets: list[float] = []
    ids: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()
    share = [args.posts // args.clients + (i < args.posts % args.clients) for i in range(args.clients)]
    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(served.base, n, f"c{i}", posts, gets, ids, errors, lock))
               for i, n in enumerate(share)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    with served.client() as c:
        runs = c.get("/v1/runs", params={"limit": 1000}).json()["runs"]
        metrics = c.get("/metrics").text
    after = machine()
    served.proc.send_signal(signal.SIGTERM)
    served.proc.wait(120)
    fake.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    statuses = Counter(r["status"] for r in runs)
    calls = sum(float(line.split()[-1]) for line in metrics.splitlines() if line.startswith("newsroom_llm_calls_total"))
    checks = {
        "every POST accepted (202)": len(ids) == args.posts and not [e for e in errors if e.startswith("POST")],
        "one run per POST in the database (none lost, none doubled)": sorted(r["execution_id"] for r in runs)
        == sorted(ids) and len(set(ids)) == args.posts,
        "every run finished": all(r["status"] in FINISHED for r in runs) and len(runs) == args.posts,
    }
    report = f"""# `newsroom serve` under load (bench/service.py)

Measured {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} by `python bench/service.py --posts {args.posts} \
--clients {args.clients} --workers-in-process {args.workers_in_process} --latency {args.latency[0]:g} \
{args.latency[1]:g}`.

One `newsroom serve` (SQLite database, {args.workers_in_process} in-process workers, style memory off, every
other flag at its default) in front of the fake OpenAI-compatible provider (`tests/fakes/provider.py`,
{args.latency[0]:g}-{args.latency[1]:g} s per call, uniform). {args.clients} client threads POST
{args.posts} articles between them (each with its own Idempotency-Key), then poll
`GET /v1/articles/{{id}}` once a second until every run has finished.

| check | result |
|---|---|
""" + "".join(f"| {k} | {'yes' if v else '**NO**'} |\n" for k, v in checks.items()) + f"""
| measurement | value |
|---|---|
| POST /v1/articles latency p50 / p95 / max (n={len(posts)}) | {spread(posts)} |
| GET /v1/articles/{{id}} latency p50 / p95 / max (n={len(gets)}, under load) | {spread(gets)} |
| wall time, first POST to last run finished | {wall:.0f} s |
| runs finished per minute | {len(runs) / wall * 60:.1f} |
| outcomes | {', '.join(f'{k} {v}' for k, v in sorted(statuses.items()))} |
| LLM calls (from /metrics) / calls the fake provider answered | {calls:.0f} / {fake.count} |
| mean POST latency | {statistics.mean(posts) * 1000:.0f} ms |
| errors | {len(errors)}{': ' + '; '.join(errors[:3]) if errors else ''} |

## What else was running

{before['cpu']}, {before['cpus']} usable CPUs. Load average before: {before['load']}; after: {after['load']}.
The bench itself (clients, fake provider) runs on the same cores as the server.
Busiest processes at the start:

```
{before['top']}
```
"""
    args.out.write_text(report)
    print(report)
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
